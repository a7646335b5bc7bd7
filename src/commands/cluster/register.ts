import { checkAgentManifest, checkRegistrationName, register, type RegisterResult } from '../../steps/addon/registration.js';
import { defineCommand, flag, read } from '../define.js';
import { durationFlag, securityGroupFlag, vswitchFlag } from '../flags.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { AGENT_MANIFEST_ACCESS, LOCK_ACCESS } from '../contract.js';

/** --agent-manifest FILE (or - for stdin), read and checked before anything else happens. */
export async function readAgentManifest(ctx: Context, raw: unknown): Promise<string | undefined> {
  if (raw === undefined) return undefined;
  const file = String(raw);
  let text: string | undefined;
  if (file === '-') text = await ctx.readStdin();
  else {
    const { readFile } = await import('node:fs/promises');
    text = await readFile((await import('node:path')).resolve(ctx.cwd, file), 'utf8').catch(() => undefined);
    if (text === undefined) throw usageError('AgentManifestMissing', `--agent-manifest ${file}: no such file (or not readable)`);
  }
  if (!text?.trim()) throw usageError('InvalidAgentManifest', `--agent-manifest ${file}: empty`);
  checkAgentManifest(text, file);
  return text;
}

function render(r: RegisterResult): string {
  if (r.dryRun) {
    const lines = r.calls.map((c) => `(dry run) would call ${c}`);
    if (r.action !== 'would create') lines.unshift(`Registered cluster: ${r.name} (${r.clusterId}), ${r.state}.`);
    if (lines.length === 1 && r.state === 'running') lines.push('Nothing to do.');
    lines.push('No changes were applied; run again without --dry-run to apply them.');
    return lines.join('\n');
  }
  const lines = [`Registered cluster ${r.name} (${r.clusterId}): ${r.state}${r.action === 'existing' ? ', already registered' : ` (${r.action})`}.`];
  for (const a of r.agent) if (a.action !== 'unchanged') lines.push(`Agent: ${a.object} ${a.action}.`);
  lines.push('Next: `vnode install --mode addon` installs the ack-virtual-node add-on.');
  return lines.join('\n');
}

export default defineCommand({
  description: 'Register this cluster with ACK One as a registered cluster (CreateCluster, cluster_type ExternalKubernetes), apply the agent '
    + 'manifest DescribeExternalAgent returns (or --agent-manifest), and wait until the cluster is running. The registration is recorded in '
    + 'kube-system/vnode-registration, so a re-run from any machine finds it; an existing registration of the same name is adopted.',
  flags: {
    name: flag('--name <name>', 'registration name (default vnode-<first 8 of kube-system\'s uid>)', read.optional((n) => { checkRegistrationName(n); return n; })),
    vswitches: vswitchFlag('vSwitch id(s) of the VPC the cluster is attached to (needed to create the registration)'),
    securityGroup: securityGroupFlag('security group of that VPC'),
    privateAddress: flag('--private-address', 'the agent connects over the VPC (Express Connect, VPN, CEN) instead of the internet; the registration gets no public endpoint', read.bool),
    activateAck: flag('--activate-ack', 'activate the Container Service (OpenAckService) if this account has not; the account or AdministratorAccess only', read.bool),
    agentManifest: flag('--agent-manifest <file>', 'apply this agent manifest, exported from the ACK One console, instead of calling DescribeExternalAgent (- for stdin)', read.text),
    timeoutMs: durationFlag('--timeout <duration>', 'how long to wait for the agent to connect', '5m'),
  },
  mutates: true,
  contract: {
    cloud: { always: ['cs:DescribeClustersForRegion', 'cs:CheckServiceRole', 'vpc:DescribeVSwitches', 'ecs:DescribeSecurityGroups', 'ecs:DescribeSecurityGroupAttribute', 'cs:CreateCluster', 'cs:DescribeClusterDetail',
      'cs:DescribeExternalAgent', 'cs:DeleteCluster'], when: { '--activate-ack': ['cs:OpenAckService'] } },
    kubernetes: [LOCK_ACCESS, ...AGENT_MANIFEST_ACCESS],
    risk: 'delete-or-bill',
    waits: 'the registration to be running (its agent connected)',
    converges: true,
  },
  async run(ctx, o) {
    const agentManifest = await readAgentManifest(ctx, o.agentManifest);
    const r = await register(ctx, { ...o, vswitches: o.vswitches ?? [], agentManifest });
    ctx.out.result(r, () => render(r));
  },
});
