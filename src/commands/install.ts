import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Tag, Taint } from '../cloud/port.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { install, MAX_NAME, VNODE_BILLING, TAG_CLUSTER, TAG_IDENTITY, TAG_NAME, TAG_REPLACES, type InstallOptions, type InstallResult } from '../steps/virtual-node/install.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { parseDuration } from '../util/duration.js';
import type { AddonInstallOptions, AddonInstallResult } from '../steps/addon/addon.js';
import { collect, parseNetworkFlags } from './flags.js';
import type { CommandModule } from './registry.js';

/** vnode's own tags: cluster, name, identity, and on an update's replacement the node it replaces. */
export const VNODE_TAGS = 4;

export function parseTaint(s: string): Taint {
  const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([-A-Za-z0-9_.]*))?:(NoSchedule|NoExecute|PreferNoSchedule)$/.exec(s);
  if (!m) throw usageError('InvalidTaint', `invalid --taint "${s}": expected key=value:Effect with Effect NoSchedule, NoExecute or PreferNoSchedule`);
  return { key: m[1]!, value: m[2] ?? '', effect: m[3]! };
}

export function parseTag(s: string): Tag {
  const i = s.indexOf('=');
  if (i < 0) throw usageError('InvalidTag', `invalid --tag "${s}": expected key=value (key=  for an empty value)`);
  const key = s.slice(0, i);
  const value = s.slice(i + 1);
  // ECI's rules for tag keys and values
  if (!key || key.length > 64 || /^(aliyun|acs:|https?:\/\/)/i.test(key) || value.length > 128 || /^(aliyun|acs:|https?:\/\/)/i.test(value)) {
    throw usageError('InvalidTag', `invalid --tag "${s}": expected key=value, key 1-64 characters and value at most 128, neither starting with aliyun, acs:, http:// or https://`);
  }
  if (RESERVED_TAGS.includes(key)) throw usageError('ReservedTag', `invalid --tag "${s}": ${key} is one of vnode's own tags (${RESERVED_TAGS.join(', ')}); choose another key`);
  return { key, value };
}

const RESERVED_TAGS = [TAG_CLUSTER, TAG_NAME, TAG_IDENTITY, TAG_REPLACES];

/** Tags with distinct keys: ECI keeps one value per key, so a repeated key is a mistake. */
export function parseTags(values: string[]): Tag[] {
  const tags = values.map(parseTag);
  const seen = new Map<string, string>();
  for (const [i, t] of tags.entries()) {
    const prev = seen.get(t.key);
    if (prev !== undefined) throw usageError('DuplicateTag', `--tag ${t.key} is given twice ("${prev}" and "${values[i]}"): a key takes one value`);
    seen.set(t.key, values[i]!);
  }
  return tags;
}

// an extended resource: [DNS-subdomain prefix/]name, as Kubernetes qualifies resource names
const RESOURCE_NAME = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** ECI's CustomResources: name=count pairs, comma-separated (example.com/gpu=100,example.com/fpga=10). */
export function parseCustomResources(s: string): string {
  const pairs = s.split(',');
  const seen = new Set<string>();
  for (const p of pairs) {
    const m = /^([^=]+)=(\d{1,9})$/.exec(p.trim());
    const bad = !m ? `"${p}" is not name=count` : !RESOURCE_NAME.test(m[1]!) ? `"${m[1]}" is not a resource name` : seen.has(m[1]!) ? `"${m[1]}" is given twice` : undefined;
    if (bad) throw usageError('InvalidCustomResources', `invalid --custom-resources "${s}": ${bad}; expected name=count pairs separated by commas, e.g. example.com/gpu=100,example.com/fpga=10`);
    seen.add(m![1]!);
  }
  return pairs.map((p) => p.trim()).join(',');
}

export function parseClusterDns(s: string): string {
  const ips = s.split(',').map((x) => x.trim());
  const bad = ips.find((ip) => isIP(ip) === 0);
  if (bad !== undefined) throw usageError('InvalidClusterDns', `invalid --cluster-dns "${s}": "${bad}" is not an IP address; expected the cluster DNS Service's IP, e.g. 10.96.0.10`);
  return ips.join(',');
}

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseClusterDomain(s: string): string {
  if (s.length > 253 || !s.split('.').every((l) => DNS_LABEL.test(l))) {
    throw usageError('InvalidClusterDomain', `invalid --cluster-domain "${s}": expected a DNS domain of lowercase labels separated by dots, e.g. cluster.local`);
  }
  return s;
}

export function parseOptions(raw: Record<string, unknown>, cwd: string): Omit<InstallOptions, 'vswitches' | 'securityGroup'> & { vswitches: string[] | undefined; securityGroup: string | undefined } {
  const { vswitches, securityGroup } = parseNetworkFlags(raw);
  const count = Number(raw.count);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw usageError('InvalidCount', `invalid --count "${String(raw.count)}": expected a whole number from 1 to 100 (one virtual node per 3000 pods)`);
  const name = String(raw.name);
  // the name is a Node label value (at most 63); with --count the longest is <name>-<count>
  const maxName = count === 1 ? MAX_NAME : MAX_NAME - 1 - String(count).length;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) || name.length > maxName) {
    throw usageError('InvalidName', `invalid --name "${name.length > 80 ? name.slice(0, 77) + '...' : name}" (${name.length} characters): 2-${maxName} lowercase letters, digits, '.' or '-', starting and ending with a letter or digit${count > 1 ? ` (with --count ${count}, "-${count}" is appended)` : ''}`);
  }
  const tags = parseTags((raw.tag as string[] | undefined) ?? []);
  if (tags.length > 20 - VNODE_TAGS) throw usageError('TooManyTags', `${tags.length} --tag given: at most ${20 - VNODE_TAGS} (ECI allows 20 and vnode adds ${VNODE_TAGS} of its own)`);
  const taints = ((raw.taint as string[] | undefined) ?? []).map(parseTaint);
  if (taints.length > 20) throw usageError('TooManyTaints', `${taints.length} --taint given: at most 20`);
  const bootstrap = Boolean(raw.bootstrap);
  if (raw.kubeconfigFile !== undefined && (raw.server !== undefined || raw.extraPrivilege)) {
    throw usageError('ConflictingFlags', '--kubeconfig-file uses an existing kubeconfig: --server and --extra-privilege apply only when vnode creates it');
  }
  if (raw.kubeconfigFile !== undefined) {
    // checked even when nothing will be created: a wrong path is a mistake either way
    const file = path.resolve(cwd, String(raw.kubeconfigFile));
    try { accessSync(file, constants.R_OK); } catch { throw usageError('KubeconfigFileMissing', `--kubeconfig-file ${file}: no such readable file`, 'give the path of an existing kubeconfig, or leave the flag out to have vnode create the identity'); }
  }
  if (raw.kubeconfigFile === undefined && (raw.fileContext !== undefined || raw.force)) {
    throw usageError('ConflictingFlags', '--file-context and --force apply only with --kubeconfig-file');
  }
  return {
    vswitches, securityGroup, name, bootstrap, tags, taints, count,
    kubeconfigFile: raw.kubeconfigFile === undefined ? undefined : path.resolve(cwd, String(raw.kubeconfigFile)),
    force: raw.force === true,
    fileContext: raw.fileContext === undefined ? undefined : String(raw.fileContext),
    server: raw.server === undefined ? undefined : parseServer(String(raw.server)),
    resourceGroup: raw.resourceGroup === undefined ? undefined : checked('--resource-group', String(raw.resourceGroup), /^rg-[a-z0-9]+$/, 'a resource group id such as rg-acfm...'),
    zone: raw.zone === undefined ? undefined : checked('--zone', String(raw.zone), /^[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*$/, 'a zone id such as cn-hangzhou-h'),
    customResources: raw.customResources === undefined ? undefined : parseCustomResources(String(raw.customResources)),
    clusterDns: raw.clusterDns === undefined ? undefined : parseClusterDns(String(raw.clusterDns)),
    clusterDomain: raw.clusterDomain === undefined ? undefined : parseClusterDomain(String(raw.clusterDomain)),
    daemonsetAffinity: raw.daemonsetAffinity !== false,
    timeoutMs: parseDuration('--timeout', String(raw.timeout)),
    wait: raw.wait !== false,
    ttlMs: parseDuration('--ttl', String(raw.ttl)),
    extraPrivilege: Boolean(raw.extraPrivilege),
  };
}

function checked(flag: string, value: string, re: RegExp, valid: string): string {
  if (!re.test(value)) throw usageError('InvalidFlag', `invalid ${flag} "${value}": expected ${valid}`);
  return value;
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
function checkModeFlags(raw: Record<string, unknown>, mode: string): void {
  const vnodeOnly: [string, boolean][] = [
    ['--bootstrap', Boolean(raw.bootstrap)], ['--kubeconfig-file', raw.kubeconfigFile !== undefined], ['--server', raw.server !== undefined],
    ['--extra-privilege', Boolean(raw.extraPrivilege)], ['--tag', raw.tag !== undefined], ['--taint', raw.taint !== undefined], ['--zone', raw.zone !== undefined],
    ['--custom-resources', raw.customResources !== undefined], ['--cluster-dns', raw.clusterDns !== undefined], ['--cluster-domain', raw.clusterDomain !== undefined],
    ['--count', String(raw.count) !== '1'], ['--name', String(raw.name) !== 'vnode'], ['--ttl', String(raw.ttl) !== '24h'],
  ];
  const addonOnly: [string, boolean][] = [['--no-kube-proxy', raw.kubeProxy === false], ['--cluster-name', raw.clusterName !== undefined], ['--private-address', Boolean(raw.privateAddress)],
    ['--agent-manifest', raw.agentManifest !== undefined]];
  const wrong = (mode === 'addon' ? vnodeOnly : addonOnly).filter(([, given]) => given).map(([f]) => f);
  if (wrong.length > 0) {
    throw usageError('ConflictingFlags', `${wrong.join(', ')} ${wrong.length === 1 ? 'does' : 'do'} not apply to --mode ${mode}`,
      mode === 'addon' ? 'addon mode takes --vswitch, --security-group, --no-kube-proxy, --resource-group, --cluster-name, --private-address, --agent-manifest' : 'add --mode addon for the in-cluster ack-virtual-node add-on');
  }
}

export function parseAddonOptions(raw: Record<string, unknown>): AddonInstallOptions {
  const net = parseNetworkFlags(raw);
  const vswitches = net.vswitches ?? [];
  const securityGroup = net.securityGroup;
  const clusterName = raw.clusterName === undefined ? undefined : checked('--cluster-name', String(raw.clusterName), /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5-]{0,62}$/, '1-63 letters, digits, Chinese characters and hyphens, not starting with a hyphen');
  return {
    vswitches, securityGroup, kubeProxy: raw.kubeProxy === false ? false : undefined, registrationName: clusterName, privateAddress: Boolean(raw.privateAddress),
    daemonsetAffinity: raw.daemonsetAffinity !== false,
    resourceGroup: raw.resourceGroup === undefined ? undefined : checked('--resource-group', String(raw.resourceGroup), /^rg-[a-z0-9]+$/, 'a resource group id such as rg-acfm...'),
    timeoutMs: parseDuration('--timeout', String(raw.timeout)), wait: raw.wait !== false,
  };
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Create virtual node(s) for this cluster and wait until they are Ready, keeping DaemonSets off them: with ECI CreateVirtualNode ' +
        '(--mode vnode, the default), or as Alibaba\'s in-cluster ack-virtual-node add-on (--mode addon): the cluster is registered with ACK One ' +
        '(a registered cluster and its agent), the add-on is installed through the Container Service API and uses the AccessKey of `vnode ram grant`. ' +
        'Re-running changes nothing; an interrupted install is completed by a re-run.')
      .addOption(new Option('--mode <mode>', 'vnode: ECI-hosted VNode (CreateVirtualNode); addon: the ack-virtual-node add-on (controller: its former name)').choices(['vnode', 'addon', 'controller']).default('vnode'))
      .addOption(new Option('--no-kube-proxy', 'addon mode: ECI pods run without kube-proxy (eci-profile enableClusterIp=false; for jobs or large scale)'))
      .addOption(new Option('--cluster-name <name>', 'addon mode: the name to register this cluster with in ACK One (default vnode-<first 8 of kube-system\'s uid>)'))
      .addOption(new Option('--private-address', 'addon mode: the agent connects over the VPC (Express Connect, VPN, CEN) instead of the internet; the registration gets no public endpoint'))
      .addOption(new Option('--agent-manifest <file>', 'addon mode: apply this agent manifest exported from the ACK One console instead of calling DescribeExternalAgent (- for stdin)'))
      .addOption(new Option('--vswitch <ids>', 'vSwitch id(s) of one VPC, comma-separated or repeated (1-10)').argParser(collect))
      .addOption(new Option('--security-group <id>', 'security group of that VPC'))
      .addOption(new Option('--name <name>', 'virtual node name (with --count n: <name>-1..n)').default('vnode'))
      .addOption(new Option('--bootstrap', 'TLS-bootstrap kubeconfig (Kubernetes 1.19+) and TlsBootstrapEnabled=true'))
      .addOption(new Option('--kubeconfig-file <path>', 'use an existing kubeconfig instead of creating the identity: only its current context (or --file-context), that cluster and user, files inlined, is sent'))
      .addOption(new Option('--file-context <name>', 'with --kubeconfig-file: the context to send'))
      .addOption(new Option('--force', 'with --kubeconfig-file: send it even if its user is a cluster admin'))
      .addOption(new Option('--server <url>', 'API server address the virtual node uses (must be reachable from the VPC)'))
      .addOption(new Option('--ttl <duration>', 'bootstrap token lifetime').default('24h'))
      .addOption(new Option('--extra-privilege', 'also grant endpoints create/update (Kubernetes 1.13)'))
      .addOption(new Option('--tag <k=v>', 'ECI tag, repeatable').argParser(collect))
      .addOption(new Option('--taint <key=value:Effect>', 'extra node taint, repeatable').argParser(collect))
      .addOption(new Option('--resource-group <id>', 'resource group'))
      .addOption(new Option('--zone <id>', 'zone (default: spread over the vSwitches\' zones)'))
      .addOption(new Option('--custom-resources <list>', 'e.g. example.com/gpu=100,example.com/fpga=10'))
      .addOption(new Option('--cluster-dns <ip>', 'cluster DNS address for the pods'))
      .addOption(new Option('--cluster-domain <domain>', 'cluster domain, e.g. cluster.local'))
      .addOption(new Option('--count <n>', 'number of virtual nodes (one per 3000 pods)').default('1'))
      .addOption(new Option('--no-daemonset-affinity', 'leave DaemonSets as they are'))
      .addOption(new Option('--timeout <duration>', 'how long to wait for Ready').default('10m'))
      .addOption(new Option('--no-wait', 'return once the virtual nodes are requested'));
  },
  async run(ctx, _args, raw) {
    let mode = String(raw.mode);
    if (mode === 'controller') {
      ctx.out.warn('--mode controller is now --mode addon: the in-cluster controller is installed as the ack-virtual-node add-on of an ACK One registered cluster');
      mode = 'addon';
    }
    checkModeFlags(raw, mode);
    if (mode === 'addon') {
      const { readAgentManifest } = await import('./cluster/register.js');
      const opts = { ...parseAddonOptions(raw), agentManifest: await readAgentManifest(ctx, raw.agentManifest) };
      // loaded only for this mode: the VNode install path stays as small as it was
      const { installAddon } = await import('../steps/addon/addon.js');
      const r = await installAddon(ctx, opts);
      ctx.out.result(r, () => renderAddon(r));
      return;
    }
    const opts = await ask(ctx, parseOptions(raw, ctx.cwd));
    const r = await install(ctx, opts);
    ctx.out.result(r, () => render(r));
  },
};

export default command;
