import type { Command } from 'commander';
import { listSelectors, type ProfileSelector } from '../../steps/scheduling/selectors.js';
import type { CommandModule } from '../registry.js';
import { table } from '../status.js';

const pairs = (m: Record<string, string> | undefined): string => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-';

function render(list: ProfileSelector[]): string {
  if (list.length === 0) return 'No selector in kube-system/eci-profile.';
  return table([['NAME', 'POD SELECTOR', 'NAMESPACE SELECTOR', 'LABELS', 'ANNOTATIONS'],
    ...list.map((s) => [s.name, pairs(s.objectSelector?.matchLabels), pairs(s.namespaceSelector?.matchLabels), pairs(s.effect?.labels), pairs(s.effect?.annotations)])]);
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('List the selectors of the ack-virtual-node add-on\'s eci-profile, in the order they are matched.');
  },
  async run(ctx) {
    const list = await listSelectors(ctx);
    ctx.out.result({ selectors: list }, () => render(list));
  },
};

export default command;
