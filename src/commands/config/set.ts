import type { Command } from 'commander';
import { CONFIG_KEYS, parseAssignments, setConfig, type SetConfigResult } from '../../steps/addon/profile.js';
import type { CommandModule } from '../registry.js';
import { LOCK_ACCESS, WRITE } from '../contract.js';

function render(r: SetConfigResult): string {
  if (r.changes.length === 0) return 'Nothing to change: eci-profile already has these settings.';
  const lines = r.changes.map((c) => `${r.dryRun ? '(dry run) ' : ''}${c.key}: ${c.from ?? '(unset)'} -> ${c.to}`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('Updated kube-system/eci-profile. The add-on reads it live: ECI pods created from now on use the new settings (no restart); running pods keep theirs until they are recreated.');
  return lines.join('\n');
}

const command: CommandModule = {
  mutates: () => true,
  contract: {
    cloud: { always: ['vpc:DescribeVSwitches', 'ecs:DescribeSecurityGroups', 'ecs:DescribeSecurityGroupAttribute'] },
    kubernetes: [LOCK_ACCESS, { group: '', resources: ['configmaps'], verbs: WRITE }],
    risk: 'change',
    converges: true,
  },
  configure(cmd: Command) {
    cmd
      .description(`Change the ack-virtual-node add-on's ECI settings (${Object.keys(CONFIG_KEYS).join(', ')}) in kube-system/eci-profile, its documented ` +
        'keys. Hot: applies to new ECI pods, no restart. A vSwitch in a new zone adds a virtual node for that zone. --dry-run shows the change.')
      .argument('<key=value...>', 'vswitch=vsw-a,vsw-b | security-group=sg-x | kube-proxy=true|false | resource-group=rg-x');
  },
  async run(ctx, args) {
    const r = await setConfig(ctx, parseAssignments(args));
    ctx.out.result(r, () => render(r));
  },
};

export default command;
