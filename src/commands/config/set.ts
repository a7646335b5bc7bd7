import type { Command } from 'commander';
import { CONFIG_KEYS, parseAssignments, setConfig, type SetConfigResult } from '../../steps/controller/config.js';
import type { CommandModule } from '../registry.js';

function render(r: SetConfigResult): string {
  if (r.changes.length === 0) return `Nothing to change: the controller already has these settings.${r.restarted.length ? ` Restarted ${r.restarted.join(', ')} (they ran older settings).` : ''}`;
  const lines = r.changes.map((c) => `${r.dryRun ? '(dry run) ' : ''}${c.key}: ${c.from} -> ${c.to}`);
  if (r.dryRun) {
    lines.push('No changes were applied; run again without --dry-run to apply them.');
  } else {
    lines.push(`Updated the controller's env and kube-system/eci-profile${r.restarted.length ? `; restarted ${r.restarted.join(', ')}` : ''}.`);
    lines.push('New ECI pods use the new settings; pods that run keep theirs until they are recreated.');
  }
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description(`Change the in-cluster controller's ECI settings (${CONFIG_KEYS.join(', ')}): its env and kube-system/eci-profile together, ` +
        'then restart its replicas. Applies to new ECI pods only. --dry-run shows the change.')
      .argument('<key=value...>', 'vswitch=vsw-a,vsw-b | security-group=sg-x | kube-proxy=true|false');
  },
  async run(ctx, args) {
    const r = await setConfig(ctx, parseAssignments(args));
    ctx.out.result(r, () => render(r));
  },
};

export default command;
