import type { Command } from 'commander';
import { deregister, type DeregisterResult } from '../../steps/addon/registration.js';
import type { CommandModule } from '../registry.js';
import { LOCK_ACCESS } from '../contract.js';

function render(r: DeregisterResult): string {
  if (r.dryRun) return [...(r.would ?? []).map((w) => `(dry run) would ${w}`), ...(r.would?.length ? [] : ['(dry run) nothing to do']), 'No changes were applied; run again without --dry-run to apply them.'].join('\n');
  if (!r.clusterId && r.agentDeleted.length === 0) return 'This cluster is not registered with ACK One: nothing to do.';
  const lines = [r.clusterDeleted ? `Registered cluster ${r.clusterId} deleted (DeleteCluster).` : `Registered cluster ${r.clusterId ?? '(unrecorded)'} was already gone from ACK One.`];
  if (r.agentDeleted.length) lines.push(`Agent objects deleted: ${r.agentDeleted.join(', ')}`);
  lines.push('alibaba-addon-secret and the RAM user stay: see `vnode ram revoke`.');
  return lines.join('\n');
}

const command: CommandModule = {
  mutates: () => true,
  contract: {
    cloud: { always: ['cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:DeleteCluster'] },
    kubernetes: [LOCK_ACCESS, { group: '*', resources: ['*'], verbs: ['get', 'list', 'delete'] }],
    risk: 'delete-or-bill',
    waits: 'the registration to be deleted',
    converges: true,
  },
  configure(cmd: Command) {
    cmd.description('Deregister this cluster from ACK One (DeleteCluster) and delete the agent objects vnode applied. Refused while the ' +
      'ack-virtual-node add-on is installed: `vnode uninstall ack-virtual-node --drain --deregister` removes both in order.');
  },
  async run(ctx) {
    const r = await deregister(ctx);
    ctx.out.result(r, () => render(r));
  },
};

export default command;
