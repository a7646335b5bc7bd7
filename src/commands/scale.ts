import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { MAX_REPLICAS } from '../steps/controller/manifest.js';
import { scaleController, type ScaleResult } from '../steps/controller/scale.js';
import { parseDuration } from '../util/duration.js';
import { addDrainOptions, parseDrainOptions, renderDrain } from './drain.js';
import type { CommandModule } from './registry.js';

function render(r: ScaleResult): string {
  const lines: string[] = [];
  const pre = r.dryRun ? '(dry run) would ' : '';
  for (const d of r.drained) lines.push(renderDrain(d));
  if (r.from === r.to && r.removed.length === 0) lines.push(`StatefulSet kube-system/virtual-node-eci already has ${r.to} replica(s); nothing changed.`);
  else lines.push(`${r.dryRun ? '(dry run) would scale' : 'Scaled'} StatefulSet kube-system/virtual-node-eci from ${r.from} to ${r.to}.`);
  if (r.added.length) lines.push(`${pre}${r.dryRun ? 'add' : 'Added (Ready)'}: ${r.added.join(', ')}`);
  if (r.removed.length) lines.push(`${pre}${r.dryRun ? 'remove' : 'Removed (drained, no ECI instance left)'}: ${r.removed.join(', ')}`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    addDrainOptions(cmd
      .description('Change the number of virtual nodes of the in-cluster controller (StatefulSet kube-system/virtual-node-eci). Scaling down ' +
        'drains the removed nodes first, highest ordinal first as the StatefulSet removes them (PodDisruptionBudgets honoured), and stops ' +
        'rather than lose a pod or leave an ECI instance behind.')
      .requiredOption('--replicas <n>', `number of virtual nodes, 0-${MAX_REPLICAS}`));
    cmd.addOption(new Option('--wait-timeout <duration>', 'how long to wait for new nodes to be Ready').default('10m'));
  },
  async run(ctx, _args, raw) {
    const replicas = Number(raw.replicas);
    if (!/^\d+$/.test(String(raw.replicas)) || replicas > MAX_REPLICAS) {
      throw usageError('InvalidReplicas', `invalid --replicas "${String(raw.replicas)}": expected a whole number from 0 to ${MAX_REPLICAS}`);
    }
    const r = await scaleController(ctx, { replicas, drainOptions: parseDrainOptions(raw), timeoutMs: parseDuration('--wait-timeout', String(raw.waitTimeout)) });
    ctx.out.result(r, () => render(r));
  },
};

export default command;
