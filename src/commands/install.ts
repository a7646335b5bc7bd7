import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Tag, Taint } from '../cloud/port.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { install, type InstallOptions, type InstallResult } from '../steps/install.js';
import { parseServer } from '../steps/kubeconfig-file.js';
import { parseDuration } from '../util/duration.js';
import { collect } from './flags.js';
import type { CommandModule } from './registry.js';

const VNODE_TAGS = 3;

export function parseTaint(s: string): Taint {
  const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([-A-Za-z0-9_.]*))?:(NoSchedule|NoExecute|PreferNoSchedule)$/.exec(s);
  if (!m) throw usageError('InvalidTaint', `invalid --taint "${s}": expected key=value:Effect with Effect NoSchedule, NoExecute or PreferNoSchedule`);
  return { key: m[1]!, value: m[2] ?? '', effect: m[3]! };
}

export function parseTag(s: string): Tag {
  const i = s.indexOf('=');
  const key = i < 0 ? s : s.slice(0, i);
  const value = i < 0 ? '' : s.slice(i + 1);
  if (!key || key.length > 128 || /^(aliyun|acs:)/i.test(key) || value.length > 128) {
    throw usageError('InvalidTag', `invalid --tag "${s}": expected key=value, key 1-128 characters not starting with aliyun or acs:, value at most 128`);
  }
  return { key, value };
}

export function parseOptions(raw: Record<string, unknown>, cwd: string): Omit<InstallOptions, 'vswitches' | 'securityGroup'> & { vswitches: string[] | undefined; securityGroup: string | undefined } {
  const vswitches = (raw.vswitch as string[] | undefined)?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (vswitches) {
    for (const v of vswitches) if (!/^vsw-[a-z0-9]+$/.test(v)) throw usageError('InvalidVSwitch', `invalid --vswitch "${v}": expected a vSwitch id such as vsw-bp1...`);
    if (vswitches.length < 1 || vswitches.length > 10) throw usageError('TooManyVSwitches', `${vswitches.length} vSwitches given: a virtual node takes 1 to 10 vSwitches (of one VPC)`);
    if (new Set(vswitches).size !== vswitches.length) throw usageError('DuplicateVSwitch', `--vswitch lists a vSwitch twice: ${vswitches.join(',')}`);
  }
  const securityGroup = raw.securityGroup === undefined ? undefined : String(raw.securityGroup);
  if (securityGroup !== undefined && !/^sg-[a-z0-9]+$/.test(securityGroup)) throw usageError('InvalidSecurityGroup', `invalid --security-group "${securityGroup}": expected an id such as sg-bp1...`);
  const name = String(raw.name);
  if (!/^[a-z0-9][a-z0-9.-]{0,116}[a-z0-9]$/.test(name)) {
    throw usageError('InvalidName', `invalid --name "${name}": 2-118 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit`);
  }
  const tags = ((raw.tag as string[] | undefined) ?? []).map(parseTag);
  if (tags.length > 20 - VNODE_TAGS) throw usageError('TooManyTags', `${tags.length} --tag given: at most ${20 - VNODE_TAGS} (ECI allows 20 and vnode adds ${VNODE_TAGS} of its own)`);
  const taints = ((raw.taint as string[] | undefined) ?? []).map(parseTaint);
  if (taints.length > 20) throw usageError('TooManyTaints', `${taints.length} --taint given: at most 20`);
  const count = Number(raw.count);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw usageError('InvalidCount', `invalid --count "${String(raw.count)}": expected a whole number from 1 to 100 (one virtual node per 3000 pods)`);
  const bootstrap = Boolean(raw.bootstrap);
  if (raw.kubeconfigFile !== undefined && (raw.server !== undefined || raw.extraPrivilege)) {
    throw usageError('ConflictingFlags', '--kubeconfig-file uses an existing kubeconfig: --server and --extra-privilege apply only when vnode creates it');
  }
  return {
    vswitches, securityGroup, name, bootstrap, tags, taints, count,
    kubeconfigFile: raw.kubeconfigFile === undefined ? undefined : path.resolve(cwd, String(raw.kubeconfigFile)),
    server: raw.server === undefined ? undefined : parseServer(String(raw.server)),
    resourceGroup: raw.resourceGroup as string | undefined,
    zone: raw.zone as string | undefined,
    customResources: raw.customResources as string | undefined,
    clusterDns: raw.clusterDns as string | undefined,
    clusterDomain: raw.clusterDomain as string | undefined,
    daemonsetAffinity: raw.daemonsetAffinity !== false,
    timeoutMs: parseDuration('--timeout', String(raw.timeout)),
    wait: raw.wait !== false,
    ttlMs: parseDuration('--ttl', String(raw.ttl)),
    extraPrivilege: Boolean(raw.extraPrivilege),
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
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('', SNIPPET);
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Create virtual node(s) with ECI CreateVirtualNode for this cluster, wait until they are Ready, and keep DaemonSets off them. ' +
        'Re-running with the same name changes nothing; an interrupted install is completed by a re-run.')
      .addOption(new Option('--vswitch <ids>', 'vSwitch id(s) of one VPC, comma-separated or repeated (1-10)').argParser(collect))
      .addOption(new Option('--security-group <id>', 'security group of that VPC'))
      .addOption(new Option('--name <name>', 'virtual node name (with --count n: <name>-1..n)').default('vnode'))
      .addOption(new Option('--bootstrap', 'TLS-bootstrap kubeconfig (Kubernetes 1.19+) and TlsBootstrapEnabled=true'))
      .addOption(new Option('--kubeconfig-file <path>', 'use an existing vnode-config instead of creating the identity'))
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
    const opts = await ask(ctx, parseOptions(raw, ctx.cwd));
    const r = await install(ctx, opts);
    ctx.out.result(r, () => render(r));
  },
};

export default command;
