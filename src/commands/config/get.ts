import type { Command } from 'commander';
import { getConfig, type ConfigView } from '../../steps/addon/profile.js';
import type { CommandModule } from '../registry.js';
import { READ } from '../contract.js';

function render(v: ConfigView): string {
  const lines = [
    `vswitch:         ${v.vswitch ?? '-'}`, `security-group:  ${v['security-group'] ?? '-'}`, `kube-proxy:      ${v['kube-proxy'] ?? '-'}`,
    `resource-group:  ${v['resource-group'] ?? '-'}`, `vpc:             ${v.vpc ?? '-'}`, `nodes:           ${v.nodes.join(', ') || '-'}`,
    `(from ConfigMap ${v.configMap}; other keys: ${Object.keys(v['eci-profile']).filter((k) => !['vSwitchIds', 'securityGroupId', 'enableClusterIp', 'resourceGroupId', 'vpcId'].includes(k)).join(', ') || 'none'})`,
  ];
  return lines.join('\n');
}

const command: CommandModule = {
  contract: {
    cloud: { always: [] },
    kubernetes: [{ group: '', resources: ['configmaps'], verbs: READ }],
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd.description('Show the ack-virtual-node add-on\'s ECI settings, as its kube-system/eci-profile ConfigMap holds them.');
  },
  async run(ctx) {
    const v = await getConfig(ctx);
    ctx.out.result(v, () => render(v));
  },
};

export default command;
