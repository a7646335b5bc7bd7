import { usageError } from '../../errors.js';
import { POLICY_FLAGS } from '../../steps/scheduling/policy.js';
import { applySelector, parsePairs, type SelectorChange } from '../../steps/scheduling/selectors.js';
import { defineCommand, flag, read } from '../define.js';
import { SELECTOR_ACCESS } from '../contract.js';

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

const pairs = (flagName: string, anyValue = false) => (raw: unknown): Record<string, string> => parsePairs(flagName, read.list(raw), { anyValue });

export default defineCommand({
  description: 'Add (or replace) a selector: the pods it matches get its policy and effect. Without the ack-virtual-node add-on it is a Selector '
    + '(eci.aliyun.com/v1, the format of Alibaba\'s eci-profile) applied by vnode\'s scheduling server: fair (virtual nodes allowed), normal-node-only, '
    + 'normal-node-prefer (burst to virtual nodes when normal nodes are full) or virtual-node-only; the highest --priority wins. With the add-on it is an '
    + 'entry of eci-profile\'s `selectors`, applied by the add-on\'s vk-webhook in list order. The effect\'s labels and annotations never override the pod\'s own.',
  args: [['<name>', 'selector name']],
  flags: {
    pod: flag('--pod-selector <k=v,...>', 'pod labels that must all match', pairs('--pod-selector'), { repeatable: true }),
    namespace: flag('--namespace-selector <k=v,...>', 'namespace labels that must all match', pairs('--namespace-selector'), { repeatable: true }),
    policy: flag('--policy <policy>', 'where matched pods may run (required without the add-on)', (raw) => (raw === undefined ? undefined : POLICY_FLAGS[String(raw)]),
      { choices: Object.keys(POLICY_FLAGS) }),
    priority: flag('--priority <n>', 'the highest matching selector wins (default 0; a pod\'s own alibabacloud.com/eci=true label always wins)', parsePriority),
    annotations: flag('--annotation <k=v>', 'added to matched pods, repeatable (e.g. k8s.aliyun.com/eci-use-specs=2-4Gi)', pairs('--annotation', true), { repeatable: true }),
    labels: flag('--label <k=v>', 'added to matched pods, repeatable', pairs('--label'), { repeatable: true }),
  },
  mutates: true,
  contract: {
    cloud: { always: [] },
    kubernetes: SELECTOR_ACCESS,
    risk: 'change',
    converges: true,
  },
  async run(ctx, o, args) {
    const r = await applySelector(ctx, { name: args[0]!, ...o });
    ctx.out.result(r, () => renderChange(r));
  },
});
