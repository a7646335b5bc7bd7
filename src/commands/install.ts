import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { install, MAX_NAME, VNODE_BILLING, type InstallOptions, type InstallResult } from '../steps/virtual-node/install.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { parseDuration } from '../util/duration.js';
import type { AddonInstallOptions, AddonInstallResult } from '../steps/addon/addon.js';
import { defineCommand, flag, read, readFlags, type Values } from './define.js';
import { checked, durationFlag, securityGroupFlag, vswitchFlag } from './flags.js';
import { parseClusterDns, parseClusterDomain, parseCustomResources, parseTags, parseTaint } from './vnode-flags.js';
import { VNODE_ACCESS } from './contract.js';

// the tests take these parsers from here
export { parseClusterDns, parseClusterDomain, parseCustomResources, parseTag, parseTags, parseTaint } from './vnode-flags.js';

/** vnode's own tags: cluster, name, identity, and on an update's replacement the node it replaces. */
export const VNODE_TAGS = 4;

const RESOURCE_GROUP = /^rg-[a-z0-9]+$/;
const ZONE = /^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*$/;
const CLUSTER_NAME = /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5-]{0,62}$/;

function count(raw: unknown): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw usageError('InvalidCount', `invalid --count "${String(raw)}": expected a whole number from 1 to 100 (one virtual node per 3000 pods)`);
  return n;
}

/** Both modes' flags, declared once: each mode refuses the other's (checkModeFlags). */
export const installFlags = {
  mode: flag('--mode <mode>', 'vnode: ECI-hosted VNode (CreateVirtualNode); addon: the ack-virtual-node add-on (controller: its former name)', read.given,
    { choices: ['vnode', 'addon', 'controller'], default: 'vnode' }),
  kubeProxy: flag('--no-kube-proxy', 'addon mode: ECI pods run without kube-proxy (eci-profile enableClusterIp=false; for jobs or large scale)', read.unlessNegated),
  clusterName: flag('--cluster-name <name>', 'addon mode: the name to register this cluster with in ACK One (default vnode-<first 8 of kube-system\'s uid>)',
    read.optional((v) => checked('--cluster-name', v, CLUSTER_NAME, '1-63 letters, digits, Chinese characters and hyphens, not starting with a hyphen'))),
  privateAddress: flag('--private-address', 'addon mode: the agent connects over the VPC (Express Connect, VPN, CEN) instead of the internet; the registration gets no public endpoint', read.bool),
  activateAck: flag('--activate-ack', 'addon mode: activate the Container Service (OpenAckService) if this account has not; the account or AdministratorAccess only', read.bool),
  agentManifest: flag('--agent-manifest <file>', 'addon mode: apply this agent manifest exported from the ACK One console instead of calling DescribeExternalAgent (- for stdin)', read.text),
  vswitches: vswitchFlag('vSwitch id(s) of one VPC, comma-separated or repeated (1-10)'),
  securityGroup: securityGroupFlag('security group of that VPC'),
  name: flag('--name <name>', 'virtual node name (with --count n: <name>-1..n)', read.given, { default: 'vnode' }),
  bootstrap: flag('--bootstrap', 'TLS-bootstrap kubeconfig (Kubernetes 1.19+) and TlsBootstrapEnabled=true', read.bool),
  kubeconfigFile: flag('--kubeconfig-file <path>', 'use an existing kubeconfig instead of creating the identity: only its current context (or --file-context), that cluster and user, files inlined, is sent', read.text),
  fileContext: flag('--file-context <name>', 'with --kubeconfig-file: the context to send', read.text),
  force: flag('--force', 'with --kubeconfig-file: send it even if its user is a cluster admin', read.bool),
  server: flag('--server <url>', 'API server address the virtual node uses (must be reachable from the VPC)', read.optional(parseServer)),
  ttl: flag('--ttl <duration>', 'bootstrap token lifetime', (raw) => ({ text: String(raw), ms: parseDuration('--ttl', String(raw)) }), { default: '24h' }),
  extraPrivilege: flag('--extra-privilege', 'also grant endpoints create/update (Kubernetes 1.13)', read.bool),
  tags: flag('--tag <k=v>', 'ECI tag, repeatable', (raw) => ({ given: raw !== undefined, tags: parseTags(read.list(raw)) }), { repeatable: true }),
  taints: flag('--taint <key=value:Effect>', 'extra node taint, repeatable', (raw) => read.optionalList(raw)?.map(parseTaint), { repeatable: true }),
  resourceGroup: flag('--resource-group <id>', 'resource group', read.optional((v) => checked('--resource-group', v, RESOURCE_GROUP, 'a resource group id such as rg-acfm...'))),
  zone: flag('--zone <id>', 'zone (default: spread over the vSwitches\' zones)', read.optional((v) => checked('--zone', v, ZONE, 'a zone id such as cn-hangzhou-h'))),
  customResources: flag('--custom-resources <list>', 'e.g. example.com/gpu=100,example.com/fpga=10', read.optional(parseCustomResources)),
  clusterDns: flag('--cluster-dns <ip>', 'cluster DNS address for the pods', read.optional(parseClusterDns)),
  clusterDomain: flag('--cluster-domain <domain>', 'cluster domain, e.g. cluster.local', read.optional(parseClusterDomain)),
  count: flag('--count <n>', 'number of virtual nodes (one per 3000 pods)', count, { default: '1' }),
  daemonsetAffinity: flag('--no-daemonset-affinity', 'leave DaemonSets as they are', read.unlessNegated),
  timeoutMs: durationFlag('--timeout <duration>', 'how long to wait for Ready', '10m'),
  wait: flag('--no-wait', 'return once the virtual nodes are requested', read.unlessNegated),
};
type InstallFlags = Values<typeof installFlags>;

/** The VNode install's options (the tests give raw flag values). */
export function parseOptions(raw: Record<string, unknown>, cwd: string): ReturnType<typeof vnodeOptions> {
  return vnodeOptions(readFlags(installFlags, raw), cwd);
}

function vnodeOptions(o: InstallFlags, cwd: string): Omit<InstallOptions, 'vswitches' | 'securityGroup'> & { vswitches: string[] | undefined; securityGroup: string | undefined } {
  // the name is a Node label value (at most 63); with --count the longest is <name>-<count>
  const maxName = o.count === 1 ? MAX_NAME : MAX_NAME - 1 - String(o.count).length;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(o.name) || o.name.length > maxName) {
    const shown = o.name.length > 80 ? o.name.slice(0, 77) + '...' : o.name;
    throw usageError('InvalidName', `invalid --name "${shown}" (${o.name.length} characters): 2-${maxName} lowercase letters, digits, '.' or '-', `
      + `starting and ending with a letter or digit${o.count > 1 ? ` (with --count ${o.count}, "-${o.count}" is appended)` : ''}`);
  }
  const tags = o.tags.tags;
  if (tags.length > 20 - VNODE_TAGS) throw usageError('TooManyTags', `${tags.length} --tag given: at most ${20 - VNODE_TAGS} (ECI allows 20 and vnode adds ${VNODE_TAGS} of its own)`);
  const taints = o.taints ?? [];
  if (taints.length > 20) throw usageError('TooManyTaints', `${taints.length} --taint given: at most 20`);
  if (o.kubeconfigFile !== undefined && (o.server !== undefined || o.extraPrivilege)) {
    throw usageError('ConflictingFlags', '--kubeconfig-file uses an existing kubeconfig: --server and --extra-privilege apply only when vnode creates it');
  }
  const kubeconfigFile = o.kubeconfigFile === undefined ? undefined : path.resolve(cwd, o.kubeconfigFile);
  if (kubeconfigFile !== undefined) {
    // checked even when nothing will be created: a wrong path is a mistake either way
    try { accessSync(kubeconfigFile, constants.R_OK); } catch {
      throw usageError('KubeconfigFileMissing', `--kubeconfig-file ${kubeconfigFile}: no such readable file`, 'give the path of an existing kubeconfig, or leave the flag out to have vnode create the identity');
    }
  }
  if (kubeconfigFile === undefined && (o.fileContext !== undefined || o.force)) throw usageError('ConflictingFlags', '--file-context and --force apply only with --kubeconfig-file');
  return {
    vswitches: o.vswitches, securityGroup: o.securityGroup, name: o.name, bootstrap: o.bootstrap, tags, taints, count: o.count, kubeconfigFile, force: o.force,
    fileContext: o.fileContext, server: o.server, resourceGroup: o.resourceGroup, zone: o.zone, customResources: o.customResources, clusterDns: o.clusterDns,
    clusterDomain: o.clusterDomain, daemonsetAffinity: o.daemonsetAffinity, timeoutMs: o.timeoutMs, wait: o.wait, ttlMs: o.ttl.ms, extraPrivilege: o.extraPrivilege,
  };
}

/** A missing required value: chosen from the cloud's list on a terminal, else exit 2 naming the flag. */
async function ask(ctx: Context, parsed: ReturnType<typeof parseOptions>): Promise<InstallOptions> {
  let { vswitches, securityGroup } = parsed;
  if (!vswitches || !securityGroup) {
    if (!ctx.prompt.interactive) {
      const flag = !vswitches ? '--vswitch' : '--security-group';
      throw usageError('MissingFlag', `${flag} is required`, `pass ${flag} <id>${!vswitches ? ' (1-10, comma-separated, of one VPC)' : ''}`);
    }
    const cloud = await ctx.cloud();
    if (!vswitches) {
      const all = (await cloud.vpc.describeVSwitches({})).filter((v) => v.status === 'Available');
      if (all.length === 0) throw usageError('NoVSwitches', `no Available vSwitch in region ${cloud.regionId}`);
      const chosen = await ctx.prompt.select('vSwitch for the virtual node', all.map((v) => ({ name: `${v.id}  ${v.zoneId}  ${v.cidr}  ${v.vpcId}  ${v.name}`, value: v.id })));
      vswitches = [chosen];
    }
    if (!securityGroup) {
      const [vsw] = await cloud.vpc.describeVSwitches({ vSwitchId: vswitches[0]! });
      const groups = await cloud.ecs.describeSecurityGroups({ vpcId: vsw?.vpcId ?? '' });
      if (groups.length === 0) throw usageError('NoSecurityGroups', `no security group in ${vsw?.vpcId ?? 'that VPC'}`);
      securityGroup = await ctx.prompt.select('security group', groups.map((g) => ({ name: `${g.id}  ${g.type}  ${g.name}`, value: g.id })));
    }
  }
  return { ...parsed, vswitches, securityGroup };
}

const SNIPPET = `To run a pod on a virtual node, add to its spec:
  nodeSelector:
    k8s.aliyun.com/vnode: "true"
  tolerations:
  - key: k8s.aliyun.com/vnode
    operator: Equal
    value: "true"
    effect: NoSchedule
(or label the pod or its namespace alibabacloud.com/eci=true where the eci-profile webhook runs).`;

function render(r: InstallResult): string {
  const lines: string[] = [];
  for (const n of r.nodes) {
    if (n.action === 'would create') lines.push(`(dry run) would create virtual node ${n.name} in ${n.zone}`);
    else if (n.action === 'already installed') lines.push(`Virtual node ${n.name} (${n.virtualNodeId}) is already installed: ${n.status} in ECI, node ${n.nodeName}.`);
    else lines.push(`Virtual node ${n.name} (${n.virtualNodeId}) created in ${n.zone}: ${n.status}${n.status === 'Ready' ? `, node ${n.nodeName} is Ready` : ''}.`);
  }
  for (const d of r.daemonSets) lines.push(`DaemonSet ${d.namespace}/${d.name}: ${d.action === 'patched' ? 'now excludes virtual nodes' : d.action}.`);
  const creating = r.nodes.filter((n) => n.action === 'would create').length;
  if (r.dryRun && creating > 0) lines.push(`(dry run) cost: ${creating} new VNode(s); ${VNODE_BILLING}.`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('', SNIPPET);
  return lines.join('\n');
}

const ADDON_SNIPPET = `To run a pod on a virtual node, label it (or its namespace) alibabacloud.com/eci=true: the add-on's vk-webhook
adds what it needs. Or add to its spec:
  nodeSelector:
    type: virtual-kubelet
  tolerations:
  - key: virtual-kubelet.io/provider
    operator: Exists
ECI settings: \`vnode config get|set\` (eci-profile, applied to new pods without a restart). More nodes: add vSwitches of
other zones (\`vnode config set vswitch=...\`): the add-on runs one node per zone.`;

function renderAddon(r: AddonInstallResult): string {
  const lines: string[] = [];
  const reg = r.registration;
  if (r.dryRun) {
    for (const c of reg.calls) lines.push(`(dry run) would call ${c}`);
    if (reg.action !== 'would create') lines.push(`Registered cluster: ${reg.name} (${reg.clusterId}), ${reg.state}.`);
    lines.push(r.addon.action === 'would install' ? `(dry run) would call InstallClusterAddons ${r.addon.name}${r.addon.version ? ` ${r.addon.version}` : ''} and follow its task` : `Add-on ${r.addon.name} ${r.addon.version}: already installed.`);
    for (const c of r.profile) lines.push(`(dry run) eci-profile ${c.key}: ${c.from ?? '(unset)'} -> ${c.to}`);
  } else {
    lines.push(`Registered cluster: ${reg.name} (${reg.clusterId}), ${reg.state}${reg.action === 'existing' ? '' : ` (${reg.action})`}.`);
    for (const a of reg.agent) if (a.action !== 'unchanged') lines.push(`Agent: ${a.object} ${a.action}.`);
    lines.push(`Add-on ${r.addon.name} ${r.addon.version}: ${r.addon.action === 'installed' ? 'installed, active' : 'already installed, active'}.`);
    for (const c of r.profile) lines.push(`eci-profile ${c.key}: ${c.from ?? '(unset)'} -> ${c.to}`);
    if (r.nodes.length) lines.push(`${r.nodes.length} virtual node(s) ${r.nodes.every((n) => n.ready) ? 'Ready' : 'expected'}: ${r.nodes.map((n) => n.name).join(', ')}.`);
  }
  for (const d of r.daemonSets) lines.push(`DaemonSet ${d.namespace}/${d.name}: ${d.action === 'patched' ? 'now excludes virtual nodes' : d.action}.`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('', ADDON_SNIPPET);
  return lines.join('\n');
}

/** Flags of one mode given to the other: exit 2 before anything is read. */
function checkModeFlags(o: InstallFlags, mode: string): void {
  const vnodeOnly: [string, boolean][] = [
    ['--bootstrap', o.bootstrap], ['--kubeconfig-file', o.kubeconfigFile !== undefined], ['--server', o.server !== undefined],
    ['--extra-privilege', o.extraPrivilege], ['--tag', o.tags.given], ['--taint', o.taints !== undefined], ['--zone', o.zone !== undefined],
    ['--custom-resources', o.customResources !== undefined], ['--cluster-dns', o.clusterDns !== undefined], ['--cluster-domain', o.clusterDomain !== undefined],
    ['--count', o.count !== 1], ['--name', o.name !== 'vnode'], ['--ttl', o.ttl.text !== '24h'],
  ];
  const addonOnly: [string, boolean][] = [['--no-kube-proxy', !o.kubeProxy], ['--cluster-name', o.clusterName !== undefined], ['--private-address', o.privateAddress],
    ['--agent-manifest', o.agentManifest !== undefined], ['--activate-ack', o.activateAck]];
  const wrong = (mode === 'addon' ? vnodeOnly : addonOnly).filter(([, given]) => given).map(([f]) => f);
  if (wrong.length > 0) {
    throw usageError('ConflictingFlags', `${wrong.join(', ')} ${wrong.length === 1 ? 'does' : 'do'} not apply to --mode ${mode}`,
      mode === 'addon' ? 'addon mode takes --vswitch, --security-group, --no-kube-proxy, --resource-group, --cluster-name, --private-address, --agent-manifest, --activate-ack'
        : 'add --mode addon for the in-cluster ack-virtual-node add-on');
  }
}

/** The add-on install's options (the tests give raw flag values). */
export function parseAddonOptions(raw: Record<string, unknown>): AddonInstallOptions {
  return addonOptions(readFlags(installFlags, raw));
}

function addonOptions(o: InstallFlags): AddonInstallOptions {
  return {
    vswitches: o.vswitches ?? [], securityGroup: o.securityGroup, kubeProxy: o.kubeProxy ? undefined : false, registrationName: o.clusterName,
    privateAddress: o.privateAddress, daemonsetAffinity: o.daemonsetAffinity, resourceGroup: o.resourceGroup, timeoutMs: o.timeoutMs, wait: o.wait,
    activateAck: o.activateAck,
  };
}

export default defineCommand({
  description: 'Create virtual node(s) for this cluster and wait until they are Ready, keeping DaemonSets off them: with ECI CreateVirtualNode '
    + '(--mode vnode, the default), or as Alibaba\'s in-cluster ack-virtual-node add-on (--mode addon): the cluster is registered with ACK One '
    + '(a registered cluster and its agent), the add-on is installed through the Container Service API and uses the AccessKey of `vnode ram grant`. '
    + 'Re-running changes nothing; an interrupted install is completed by a re-run.',
  flags: installFlags,
  mutates: true,
  contract: {
    cloud: { always: ['eci:DescribeRegions', 'eci:DescribeVirtualNodes', 'vpc:DescribeVSwitches', 'ecs:DescribeSecurityGroups', 'ecs:DescribeSecurityGroupAttribute', 'ram:GetRole', 'ram:CreateServiceLinkedRole',
      'eci:CreateVirtualNode'], when: { '--mode addon': ['cs:DescribeClustersForRegion', 'cs:CheckServiceRole', 'cs:CreateCluster', 'cs:DescribeClusterDetail', 'cs:DescribeExternalAgent', 'cs:DeleteCluster', 'cs:InstallClusterAddons',
      'cs:DescribeTaskInfo', 'cs:GetClusterAddonInstance', 'cs:ListAddons'], '--activate-ack': ['cs:OpenAckService'] } },
    kubernetes: VNODE_ACCESS,
    // the add-on route applies whatever the agent manifest holds (Alibaba's, a cluster-admin binding among it)
    kubernetesByFlag: { '--mode addon': [{ group: '*', resources: ['*'], verbs: ['*'] }] },
    risk: 'delete-or-bill',
    waits: 'each virtual node Ready and its Node registered',
    converges: true,
  },
  async run(ctx, o) {
    let mode = o.mode;
    if (mode === 'controller') {
      ctx.out.warn('--mode controller is now --mode addon: the in-cluster controller is installed as the ack-virtual-node add-on of an ACK One registered cluster');
      mode = 'addon';
    }
    checkModeFlags(o, mode);
    if (mode === 'addon') {
      const { readAgentManifest } = await import('./cluster/register.js');
      const opts = { ...addonOptions(o), agentManifest: await readAgentManifest(ctx, o.agentManifest) };
      // loaded only for this mode: the VNode install path stays as small as it was
      const { installAddon } = await import('../steps/addon/addon.js');
      const r = await installAddon(ctx, opts);
      ctx.out.result(r, () => renderAddon(r));
      return;
    }
    const opts = await ask(ctx, vnodeOptions(o, ctx.cwd));
    const r = await install(ctx, opts);
    ctx.out.result(r, () => render(r));
  },
});
