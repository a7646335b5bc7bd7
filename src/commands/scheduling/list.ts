import type { Command } from 'commander';
import { selectorRows } from '../../steps/scheduling/selectors.js';
import type { CommandModule } from '../registry.js';
import { table } from '../status.js';
import { SCHEDULING_READ } from '../contract.js';

const pairs = (m: Record<string, string> | null | undefined): string => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-';

const command: CommandModule = {
  contract: {
    cloud: { always: [] },
    kubernetes: SCHEDULING_READ,
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd.description('List the selectors in force, in the order they win: Selectors and the built-in label shortcuts (vnode\'s engine), ' +
      'or the ack-virtual-node add-on\'s eci-profile selectors in list order.');
  },
  async run(ctx) {
    const r = await selectorRows(ctx);
    if (r.engine === 'addon') {
      ctx.out.result({ engine: 'addon', selectors: r.addon }, () => (r.addon.length === 0 ? 'No selector in kube-system/eci-profile.' : table([
        ['NAME', 'POD SELECTOR', 'NAMESPACE SELECTOR', 'LABELS', 'ANNOTATIONS'],
        ...r.addon.map((s) => [s.name, pairs(s.objectSelector?.matchLabels), pairs(s.namespaceSelector?.matchLabels), pairs(s.effect?.labels), pairs(s.effect?.annotations)])])));
      return;
    }
    ctx.out.result({ engine: 'vnode', selectors: r.rows }, () => [table([
      ['NAME', 'POLICY', 'PRIORITY', 'POD SELECTOR', 'NAMESPACE SELECTOR', 'LABELS', 'ANNOTATIONS', 'BY'],
      ...r.rows.map((s) => [s.name, s.policy, String(s.priority), pairs(s.podSelector), pairs(s.namespaceSelector), pairs(s.labels), pairs(s.annotations), s.origin])]),
    ...r.rows.filter((s) => s.problem).map((s) => `Selector ${s.name} is NOT APPLIED (no webhook entry): ${s.problem}.`)].join('\n'));
  },
};

export default command;
