import { defineCommand, flag, read } from './define.js';
import type { DoctorResult } from '../steps/doctor/doctor.js';
import { table } from './status.js';
import { LOCK_ACCESS, READ } from './contract.js';

function render(r: DoctorResult, color: (s: string, status: string) => string): string {
  const rows = r.checks.map((c) => [color(c.status, c.status), c.check, c.target || '-', c.message]);
  const lines = [table([['STATUS', 'CHECK', 'TARGET', 'DETAIL'], ...rows])];
  const hints = r.checks.filter((c) => c.status !== 'PASS' && c.hint);
  if (hints.length > 0) lines.push('', 'To fix:', ...hints.map((c) => `  ${c.check}${c.target ? ` (${c.target})` : ''}: ${c.hint}`));
  lines.push('', `${r.summary.PASS} passed, ${r.summary.WARN} warning(s), ${r.summary.FAIL} failed.`);
  return lines.join('\n');
}

export default defineCommand({
  description: 'Check what keeps virtual nodes working: API server version; each node Ready in ECI and in the cluster (with its last warning); '
    + 'DaemonSets kept off them; their credentials; the addon\'s AccessKey and RAM policy (controller mode); the security group\'s kubelet ports; '
    + 'the server address; ECI instances with no pod (billed) and pods with no instance; pods per node; the scheduling webhook\'s certificate. '
    + 'Exit 1 when a check fails.',
  args: [['[name]', 'only this virtual node (name, VNode id or Node name)']],
  flags: {
    fix: flag('--fix', 'repair what can be repaired in place (re-apply the DaemonSet exclusion)', read.bool),
  },
  mutates: (o) => o.fix,
  contract: {
    cloud: { always: ['eci:DescribeRegions', 'eci:DescribeVirtualNodes', 'ram:GetRole', 'eci:DescribeContainerGroups', 'eci:DescribeContainerGroupPrice', 'ecs:DescribeSecurityGroupAttribute', 'vpc:DescribeVSwitches',
      'ecs:DescribeSecurityGroups', 'cs:DescribeClustersForRegion',
      'cs:CheckServiceRole', 'cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:ListAddons', 'cs:DescribeAddon', 'ram:ListPoliciesForUser'], when: { '--fix': [] } },
    kubernetes: [{ group: '*', resources: ['*'], verbs: READ }, { group: 'authorization.k8s.io', resources: ['selfsubjectaccessreviews'], verbs: ['create'] }],
    kubernetesByFlag: { '--fix': [LOCK_ACCESS, { group: 'apps', resources: ['daemonsets'], verbs: ['patch', 'update'] }] },
    risk: { always: 'read', when: { '--fix': 'change' } },
    converges: true,
  },
  async run(ctx, o, args) {
    const { runDoctor } = await import('../steps/doctor/doctor.js');
    const r = await ctx.status.step('Running checks', () => runDoctor(ctx, { name: args[0], fix: o.fix }), (x) => `${x.checks.length} checks`);
    const paint = (s: string, status: string): string => (status === 'FAIL' ? ctx.out.color.red(s) : status === 'WARN' ? ctx.out.color.yellow(s) : ctx.out.color.green(s));
    ctx.out.result(r, () => render(r, paint));
    return r.summary.FAIL > 0 ? 1 : 0;
  },
});
