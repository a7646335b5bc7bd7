import type { Command } from 'commander';
import { registrationStatus, type RegistrationStatus } from '../../steps/addon/registration.js';
import type { CommandModule } from '../registry.js';
import { READ } from '../contract.js';

function render(s: RegistrationStatus): string {
  if (!s.clusterId) return `This cluster is not registered with ACK One (no kube-system/vnode-registration).${s.agent.present ? ` An agent Deployment ${s.agent.deployment} exists.` : ''}`;
  return [
    `Registered cluster:  ${s.name} (${s.clusterId})`,
    `State:               ${s.state}${s.meaning ? ` — ${s.meaning}` : ''}`,
    `Access:              ${s.access === 'internet and VPC' ? 'internet and VPC (a public API server endpoint: SLB with EIP, billed)' : s.access === 'VPC only' ? 'VPC only (no public endpoint: the agent needs --private-address)' : 'not reported'}`,
    `Agent:               ${s.agent.present ? `Deployment ${s.agent.deployment}, ${s.agent.ready} available` : `Deployment ${s.agent.deployment} missing`}`,
    `Add-on:              ${s.addon ? `ack-virtual-node ${s.addon.installed} (${s.addon.state})${s.addon.newer.length ? `, newer offered: ${s.addon.newer.join(', ')} (vnode update ack-virtual-node)` : ', the newest offered'}` : 'not installed'}`,
  ].join('\n');
}

const command: CommandModule = {
  contract: {
    cloud: { always: ['cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:ListAddons', 'cs:DescribeAddon'] },
    kubernetes: [{ group: '', resources: ['configmaps'], verbs: READ }, { group: 'apps', resources: ['deployments'], verbs: READ }],
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd.description('Show this cluster\'s ACK One registration: its id, its state (and what the state means for the network), and the agent.');
  },
  async run(ctx) {
    const s = await registrationStatus(ctx);
    ctx.out.result(s, () => render(s));
  },
};

export default command;
