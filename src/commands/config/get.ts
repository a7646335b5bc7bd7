import type { Command } from 'commander';
import { getConfig, type ConfigView } from '../../steps/controller/config.js';
import type { CommandModule } from '../registry.js';

function render(v: ConfigView): string {
  const lines = [
    `region:          ${v.region}`, `vswitch:         ${v.vswitch}`, `security-group:  ${v['security-group']}`, `kube-proxy:      ${v['kube-proxy']}`,
    `replicas:        ${v.replicas}`, `image:           ${v.image}`, `resource-group:  ${v['resource-group'] ?? '-'}`,
  ];
  for (const d of v.drift) lines.push(`warning: ${d}`);
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Show the in-cluster controller\'s ECI settings (its env and kube-system/eci-profile).');
  },
  async run(ctx) {
    const v = await getConfig(ctx);
    ctx.out.result(v, () => render(v));
  },
};

export default command;
