import { Option, type Command } from 'commander';
import { usageError } from '../../errors.js';
import { POLICY_FLAGS } from '../../steps/scheduling/policy.js';
import { applySelector, parsePairs, type SelectorChange } from '../../steps/scheduling/selectors.js';
import { collect } from '../flags.js';
import type { CommandModule } from '../registry.js';

export function renderChange(r: SelectorChange & { engine: 'addon' | 'vnode' }): string {
  const pre = r.dryRun ? '(dry run) ' : '';
  const what = { created: 'added', updated: 'updated', unchanged: 'unchanged (already as given)', deleted: 'removed', 'not found': 'not found — nothing to remove' }[r.action];
  const where = r.engine === 'addon' ? ` in kube-system/eci-profile (${r.selectors.length} selector(s), matched in order)` : ' (Selector, eci.aliyun.com/v1)';
  const lines = [`${pre}Selector ${r.name} ${what}${where}.`];
  const reader = r.engine === 'addon' ? 'The add-on\'s vk-webhook' : 'vnode\'s scheduling server';
  if (!r.dryRun && r.action !== 'unchanged' && r.action !== 'not found') lines.push(`${reader} applies it to pods created from now on; running pods stay where they are.`);
  if (r.dryRun && r.action !== 'unchanged' && r.action !== 'not found') lines.push('No changes were applied; run again without --dry-run to apply them.');
  return lines.join('\n');
}

function parsePriority(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw);
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || n < -(2 ** 31) || n > 2 ** 31 - 1) throw usageError('InvalidPriority', `invalid --priority "${s}": expected a whole number (a 32-bit integer; the highest matching selector wins)`);
  return n;
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Add (or replace) a selector: the pods it matches get its policy and effect. Without the ack-virtual-node add-on it is a Selector ' +
        '(eci.aliyun.com/v1, the format of Alibaba\'s eci-profile) applied by vnode\'s scheduling server: fair (virtual nodes allowed), normal-node-only, ' +
        'normal-node-prefer (burst to virtual nodes when normal nodes are full) or virtual-node-only; the highest --priority wins. With the add-on it is an ' +
        'entry of eci-profile\'s `selectors`, applied by the add-on\'s vk-webhook in list order. The effect\'s labels and annotations never override the pod\'s own.')
      .argument('<name>', 'selector name')
      .addOption(new Option('--pod-selector <k=v,...>', 'pod labels that must all match').argParser(collect))
      .addOption(new Option('--namespace-selector <k=v,...>', 'namespace labels that must all match').argParser(collect))
      .addOption(new Option('--policy <policy>', 'where matched pods may run (required without the add-on)').choices(Object.keys(POLICY_FLAGS)))
      .option('--priority <n>', 'the highest matching selector wins (default 0; a pod\'s own alibabacloud.com/eci=true label always wins)')
      .addOption(new Option('--annotation <k=v>', 'added to matched pods, repeatable (e.g. k8s.aliyun.com/eci-use-specs=2-4Gi)').argParser(collect))
      .addOption(new Option('--label <k=v>', 'added to matched pods, repeatable').argParser(collect));
  },
  async run(ctx, args, raw) {
    const r = await applySelector(ctx, {
      name: args[0]!,
      pod: parsePairs('--pod-selector', (raw.podSelector as string[] | undefined) ?? []),
      namespace: parsePairs('--namespace-selector', (raw.namespaceSelector as string[] | undefined) ?? []),
      annotations: parsePairs('--annotation', (raw.annotation as string[] | undefined) ?? [], { anyValue: true }),
      labels: parsePairs('--label', (raw.label as string[] | undefined) ?? []),
      policy: raw.policy === undefined ? undefined : POLICY_FLAGS[String(raw.policy)],
      priority: parsePriority(raw.priority),
    });
    ctx.out.result(r, () => renderChange(r));
  },
};

export default command;
