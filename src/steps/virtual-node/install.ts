import { requireAccount } from '../ground/account.js';
import { PROBES, requirePermissions } from '../ground/permissions.js';
import type { CloudPorts, CreateVirtualNodeInput, Tag, Taint, VirtualNodeInfo } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { VnodeError, operationError, throwIfAborted, usageError } from '../../errors.js';
import { confirmDaemonSetPatches, keepDaemonSetsOff, type AffinityChange, type NodeTaint } from '../ground/daemonset-affinity.js';
import { BOOTSTRAP_TOKEN_TYPE, DEFAULT_APPROVER_IMAGE, NAMESPACE } from '../identity/identity.js';
import { clientToken, ensureInstallRecord, findInstallRecord } from './install-record.js';
import { detectClusterDns } from './dns.js';
import { zoneOf } from './zone.js';
import { findNodeOf, nodeUsable } from './node-of.js';
import { pause } from '../../util/sleep.js';
import { assumedNodeName } from '../../assumptions.js';
import { asInput, checkNetwork, checkVersion, type NetworkCheck } from '../ground/preflight.js';
import { provisionIdentity } from '../identity/kubeconfig.js';
import { isClusterAdmin, kubeconfigToSend, serverWarnings } from '../identity/kubeconfig-file.js';

/** Documented (CreateVirtualNode): what each VNode costs while it exists. */
export const VNODE_BILLING = 'each VNode is billed like a resident 2 vCPU / 8 GiB ECI instance while it exists';

export const TAG_CLUSTER = 'vnode-cluster';
export const TAG_NAME = 'vnode-name';
/** "sa:<identity>", "bootstrap:<identity>" or "external" (--kubeconfig-file): which credentials uninstall may remove. */
export const TAG_IDENTITY = 'vnode-identity';
/** On an update's replacement: the VirtualNodeId it replaces (a re-run after an interrupt finds it by this). */
export const TAG_REPLACES = 'vnode-replaces';

export const NAME_LABEL = 'vnode.dev/name';
/** The TAG_IDENTITY value, kept on the Node too: an uninstall interrupted after DeleteVirtualNode still knows it. */
export const IDENTITY_ANNOTATION = 'vnode.dev/identity';
/** Node label values are at most 63 characters, and the name is one (vnode.dev/name). */
export const MAX_NAME = 63;
import { VNODE_LABELS, VNODE_TAINT } from './constants.js';

export { VNODE_LABELS, VNODE_TAINT };

export interface InstallOptions {
  vswitches: string[];
  securityGroup: string;
  name: string;
  bootstrap: boolean;
  kubeconfigFile: string | undefined;
  /** Send a --kubeconfig-file whose user is a cluster admin. */
  force?: boolean;
  /** The context of --kubeconfig-file to send (default: its current one). */
  fileContext?: string | undefined;
  server: string | undefined;
  tags: Tag[];
  taints: Taint[];
  resourceGroup: string | undefined;
  zone: string | undefined;
  customResources: string | undefined;
  clusterDns: string | undefined;
  clusterDomain: string | undefined;
  count: number;
  daemonsetAffinity: boolean;
  timeoutMs: number;
  wait: boolean;
  ttlMs: number;
  extraPrivilege: boolean;
}

export interface InstalledNode {
  name: string;
  virtualNodeId: string | null;
  nodeName: string | null;
  zone: string;
  action: 'created' | 'already installed' | 'would create';
  status: string;
}

export interface InstallResult {
  region: string;
  nodes: InstalledNode[];
  daemonSets: AffinityChange[];
  warnings: string[];
  dryRun: boolean;
  /** What new virtual nodes were given for their pods' DNS (flags, else the cluster's). */
  dns?: { clusterDns: string | null; clusterDomain: string | null };
}

/** The name of the credentials install creates for a virtual node of this name. */
export function identityName(name: string): string {
  return name.replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'vnode';
}

export function nodeNames(name: string, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`);
}

interface Preflight extends NetworkCheck { clusterId: string; existing: Map<string, VirtualNodeInfo> }

async function preflight(cluster: ClusterPort, cloud: CloudPorts, opts: InstallOptions): Promise<Preflight> {
  const warnings = await checkVersion(cluster);
  const net = await checkNetwork(cloud, opts);
  // the caller's permission, with a harmless Describe; it also finds earlier installs
  const id = await clusterUid(cluster);
  const existing = new Map<string, VirtualNodeInfo>();
  const mine = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: id }] });
  for (const n of mine) {
    const name = n.tags.find((t) => t.key === TAG_NAME)?.value;
    if (name) existing.set(name, n);
  }
  return { ...net, warnings: [...warnings, ...net.warnings], clusterId: id, existing };
}

/** Polls ECI (it has no watch) with growing intervals until the virtual node leaves Pending. */
async function waitForEci(ctx: Context, cloud: CloudPorts, id: string, deadline: number): Promise<VirtualNodeInfo> {
  const start = Date.now();
  for (;;) {
    throwIfAborted(ctx.signal);
    const [n] = await cloud.eci.describeVirtualNodes({ ids: [id] });
    if (!n) throw operationError('VirtualNodeGone', `virtual node ${id} disappeared from ECI while waiting for it`);
    if (n.status !== 'Pending') return n;
    // ECI needs tens of seconds for a real node: poll often at first, then gently
    const delay = Date.now() - start < 15_000 ? 250 : 2000;
    if (Date.now() + delay > deadline) throw operationError('Timeout', `virtual node ${id} is still Pending in ECI`, { hint: 'raise --timeout, or check it later with `vnode status`' });
    await new Promise((r) => setTimeout(r, delay));
  }
}

function failedError(n: VirtualNodeInfo): VnodeError {
  const events = n.events.filter((e) => e.type === 'Warning').slice(-3).map((e) => `${e.reason}: ${e.message}`);
  const unreachable = events.some((e) => /server version/.test(e));
  return operationError('VirtualNodeFailed', `virtual node ${n.name} (${n.id}) failed${events.length ? ':\n  ' + events.join('\n  ') : ''}`, {
    hint: unreachable
      ? 'the virtual node cannot reach the API server from the VPC: pass --server with an address reachable there (and allow it in the security group), then uninstall and install again'
      : 'see `vnode status ' + n.name + '`; uninstall it and install again once fixed',
  });
}

/**
 * Waits until ECI says Ready (a Failed node's events are the error) and the Node is Ready, then labels the Node:
 * it is the virtual node's own object, and the labels let uninstall find it without cloud calls.
 */
export async function waitReadyAndLabel(ctx: Context, cloud: CloudPorts, cluster: ClusterPort, v: { id: string; name: string; identityTag: string }, deadline: number): Promise<{ status: string; nodeName: string }> {
  const eci = await ctx.status.step(`Waiting for ${v.name} to be Ready in ECI`, () => waitForEci(ctx, cloud, v.id, deadline), (x) => x.status);
  if (eci.status === 'Failed') {
    ctx.status.end(false);
    throw failedError(eci);
  }
  const nodeName = await ctx.status.step(`Waiting for ${v.name} to register its node`, () => waitForNode(ctx, cluster, cloud.regionId, eci, deadline), (x) => x);
  // Ready, and the node-lifecycle controller has lifted its not-ready taint (on 1.36 some 200 ms later)
  await ctx.status.step(`Waiting for node ${nodeName} to be Ready`, () => cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: nodeName }, nodeUsable,
    { timeoutMs: Math.max(1, deadline - Date.now()), signal: ctx.signal }));
  await cluster.patch({ apiVersion: 'v1', kind: 'Node', name: nodeName }, {
    metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [NAME_LABEL]: v.name }, annotations: { [IDENTITY_ANNOTATION]: v.identityTag } },
  }, 'merge');
  return { status: eci.status, nodeName };
}

/** The Node the VNode registers: found by its IntranetIp, the assumed name as a fallback. */
async function waitForNode(ctx: Context, cluster: ClusterPort, region: string, v: VirtualNodeInfo, deadline: number): Promise<string> {
  for (;;) {
    throwIfAborted(ctx.signal);
    const n = await findNodeOf(cluster, v, region);
    if (n) return n.metadata.name!;
    if (Date.now() + 250 > deadline) throw operationError('Timeout', `virtual node ${v.id} is Ready in ECI but registered no Node (none reports InternalIP ${v.intranetIp})`, { hint: 'raise --timeout, or check it later with `vnode status`' });
    await pause(250, ctx.signal);
  }
}

export async function install(ctx: Context, opts: InstallOptions): Promise<InstallResult> {
  const { status, out, flags } = ctx;
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud().catch(asInput);
  await status.step('Checking the account (ECI)', () => requireAccount(ctx, cloud, ['eci']).catch(asInput));
  const pre = await status.step('Preflight checks', () => preflight(cluster, cloud, opts).catch(asInput), (p) => `VPC ${p.vpcId}, zones ${p.zones.join(', ')}`);
  const warnings = [...pre.warnings];
  if (nodeNames(opts.name, opts.count).some((n) => !pre.existing.has(n))) {
    await status.step('Checking the VNode service-linked role', () => requireAccount(ctx, cloud, ['eci-vnode-role']));
    // CreateVirtualNode comes after the identity objects: whether it is allowed is asked before them
    if (!flags.dryRun) await requirePermissions(ctx, cloud, [PROBES.createVirtualNode]);
  }
  const names = nodeNames(opts.name, opts.count);
  const missing = names.filter((n) => !pre.existing.has(n));
  const nodeTaints: NodeTaint[] = [VNODE_TAINT, ...opts.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect }))];
  if (opts.daemonsetAffinity) await confirmDaemonSetPatches(ctx, await keepDaemonSetsOff(cluster, VNODE_LABELS, nodeTaints, true));
  const identity = identityName(opts.name);
  const identityTag = opts.kubeconfigFile ? 'external' : `${opts.bootstrap ? 'bootstrap' : 'sa'}:${identity}`;
  // a re-run converges on what is installed; it never changes (or claims to change) how an installed node authenticates
  for (const name of names) {
    const have = pre.existing.get(name)?.tags.find((t) => t.key === TAG_IDENTITY)?.value;
    if (have && have !== identityTag) {
      throw usageError('IdentityDiffers', `virtual node ${name} is installed with ${identityText(have)}, and this run asks for ${identityText(identityTag)}: install does not change the identity of an installed node`,
        have === 'external' || identityTag === 'external'
          ? `run it again with the identity flags it was installed with, or replace it: vnode uninstall ${opts.name} --drain, then install with the new flags`
          : `run it again without the identity flags, or switch it: vnode update ${name} ${identityTag.startsWith('bootstrap') ? '--bootstrap' : '--no-bootstrap'} (a replacement, pods moved)`);
    }
  }

  // nor does it move one: other network settings than an installed node's are named, with the command that changes them
  for (const name of names) {
    const e = pre.existing.get(name);
    if (!e) continue;
    const same = (a: string[], b: string[]): boolean => [...a].sort().join(',') === [...b].sort().join(',');
    const diffs = [
      ...(same(e.vSwitchIds, opts.vswitches) ? [] : [`vSwitches ${e.vSwitchIds.join(',')} (this run: ${opts.vswitches.join(',')})`]),
      ...(e.securityGroupId === opts.securityGroup ? [] : [`security group ${e.securityGroupId} (this run: ${opts.securityGroup})`]),
    ];
    if (diffs.length > 0) {
      throw usageError('SettingsDiffer', `virtual node ${name} is installed with ${diffs.join(' and ')}: install does not change an installed node`,
        `run it again with its settings, or change them: vnode update ${name} --vswitch ${opts.vswitches.join(',')} --security-group ${opts.securityGroup} (a replacement, pods moved)`);
    }
  }

  let content: string | undefined;
  let server = opts.server;
  if (missing.length > 0) {
    if (opts.kubeconfigFile) {
      const file = opts.kubeconfigFile;
      const sent = await kubeconfigToSend(file, opts.fileContext, ctx.cwd);
      if (!sent.hasCredential) throw usageError('KubeconfigFileInvalid', `--kubeconfig-file ${file}: user "${sent.user}" of context "${sent.context}" holds no token or client certificate`);
      // the file is stored in ECI: a cluster admin's credentials there would be anyone's who can read the virtual node
      const admin = await isClusterAdmin(sent.yaml);
      if (admin && !opts.force) {
        throw usageError('AdminKubeconfig', `--kubeconfig-file ${file}: user "${sent.user}" is a cluster admin (may do anything); a virtual node needs a node's rights only, and the file is stored in ECI`,
          'create a least-privilege one with `vnode kubeconfig`, or pass --force to send it anyway');
      }
      if (admin === undefined) out.warn(`could not ask the cluster as user "${sent.user}" of --kubeconfig-file whether it is a cluster admin (server ${sent.server})`);
      content = sent.yaml;
      server = sent.server;
      out.info(`Sending context "${sent.context}" of ${file} to ECI: cluster "${sent.cluster}" (${sent.server}), user "${sent.user}"` +
        `${sent.left.contexts + sent.left.users > 0 ? `; ${sent.left.contexts} other context(s) and ${sent.left.users} other user(s) stay here` : ''}`);
      for (const w of serverWarnings(server)) warnings.push(w);
    } else {
      const r = await provisionIdentity(ctx, {
        file: undefined, name: identity, mode: opts.bootstrap ? 'bootstrap' : 'serviceaccount', ttlMs: opts.ttlMs, server: opts.server,
        extraPrivilege: opts.extraPrivilege, force: true, approverImage: DEFAULT_APPROVER_IMAGE,
        // marks these credentials as this install's: uninstall --all finds them even after the nodes are gone
        labels: { [NAME_LABEL]: opts.name },
      });
      content = r.content;
      server = r.result.server;
    }
  } else {
    for (const w of pre.warnings) out.debug(w);
  }
  for (const w of pre.warnings) out.warn(w);

  // DNS inside virtual-node pods: the cluster's, unless the flags say otherwise
  if (missing.length > 0 && (opts.clusterDns === undefined || opts.clusterDomain === undefined)) {
    const dns = await detectClusterDns(cluster);
    opts = { ...opts, clusterDns: opts.clusterDns ?? dns.clusterDns, clusterDomain: opts.clusterDomain ?? dns.clusterDomain };
    if (opts.clusterDns) out.info(`Cluster DNS for the virtual node's pods: ${opts.clusterDns}, domain ${opts.clusterDomain} (${dns.source}; --cluster-dns/--cluster-domain override)`);
    else {
      warnings.push('no kube-dns Service in kube-system: pods on the virtual node will not resolve cluster Services; pass --cluster-dns <the DNS Service IP>');
      out.warn(warnings[warnings.length - 1]!);
    }
  }

  // the ClientTokens of this install derive from its record (see install-record.ts)
  const record = missing.length === 0 ? undefined
    : flags.dryRun ? await findInstallRecord(cluster, opts.name) : await ensureInstallRecord(cluster, opts.name, names, server);
  const inputs = new Map<string, CreateVirtualNodeInput>();
  missing.forEach((name) => {
    const i = names.indexOf(name);
    const zoneId = opts.zone ?? pre.zones[i % pre.zones.length]!;
    inputs.set(name, {
      name, vSwitchIds: opts.vswitches, securityGroupId: opts.securityGroup, kubeConfig: content ? Buffer.from(content).toString('base64') : '',
      tlsBootstrapEnabled: opts.bootstrap, zoneId, ...(opts.resourceGroup ? { resourceGroupId: opts.resourceGroup } : {}),
      ...(opts.customResources ? { customResources: opts.customResources } : {}), ...(opts.clusterDns ? { clusterDns: opts.clusterDns } : {}),
      ...(opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {}),
      tags: [...opts.tags, { key: TAG_CLUSTER, value: pre.clusterId }, { key: TAG_NAME, value: name },
        { key: TAG_IDENTITY, value: identityTag }], taints: opts.taints,
      clientToken: record ? clientToken(pre.clusterId, cloud.regionId, name, record.uid) : '<derived from the install record created on apply>',
    });
  });

  if (flags.dryRun) {
    for (const [name, input] of inputs) {
      const shown = { RegionId: cloud.regionId, ...input, kubeConfig: `<redacted: ${input.kubeConfig.length} bytes of base64>` };
      if (!out.structured) out.print(`# eci:CreateVirtualNode ${name}\n${JSON.stringify(shown, null, 2)}`);
    }
    const ds = await keepDaemonSetsOff(cluster, VNODE_LABELS, nodeTaints, true);
    return {
      region: cloud.regionId, warnings, dryRun: true, daemonSets: opts.daemonsetAffinity ? ds : [], dns: { clusterDns: opts.clusterDns ?? null, clusterDomain: opts.clusterDomain ?? null },
      nodes: await Promise.all(names.map(async (name) => {
        const e = pre.existing.get(name);
        const node = e ? await findNodeOf(cluster, e, cloud.regionId) : undefined;
        return {
          name, virtualNodeId: e?.id ?? null, nodeName: e ? node?.metadata.name ?? assumedNodeName(cloud.regionId, e.id) : null,
          zone: e ? await zoneOf(cloud, node, e.vSwitchIds) ?? '' : inputs.get(name)!.zoneId!, action: e ? 'already installed' : 'would create', status: e?.status ?? 'none',
        };
      })),
    };
  }

  if (missing.length > 0) out.info(`Creating ${missing.length} virtual node(s) (${missing.join(', ')}): ${VNODE_BILLING}.`);
  const nodes: InstalledNode[] = [];
  const ready = new Set<string>();
  let daemonSets: AffinityChange[] = [];
  try {
    for (const name of names) {
      const e = pre.existing.get(name);
      if (e) {
        const node = await findNodeOf(cluster, e, cloud.regionId);
        const zone = await zoneOf(cloud, node, e.vSwitchIds) ?? '';
        nodes.push({ name, virtualNodeId: e.id, nodeName: node?.metadata.name ?? assumedNodeName(cloud.regionId, e.id), zone, action: 'already installed', status: e.status });
        continue;
      }
      const input = inputs.get(name)!;
      // the credentials it carries must still be there: a VNode made with deleted ones fails, and is billed
      if (!(await identityPresent(cluster, identityTag))) throw credentialsGone(name, identityTag);
      const id = await status.step(`Creating virtual node ${name} in ${input.zoneId}`, () => cloud.eci.createVirtualNode(input), (x) => x);
      nodes.push({ name, virtualNodeId: id, nodeName: assumedNodeName(cloud.regionId, id), zone: input.zoneId!, action: 'created', status: 'Pending' });
    }
    if (opts.daemonsetAffinity) {
      daemonSets = await status.step('Keeping DaemonSets off virtual nodes', () => keepDaemonSetsOff(cluster, VNODE_LABELS, nodeTaints, false),
        (c) => `${c.filter((x) => x.action === 'patched').length} patched`);
    }
    if (opts.wait) {
      const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
      for (const n of nodes) {
        // an installed node keeps the identity it has (its tag): the Node's annotation never says otherwise
        const tag = pre.existing.get(n.name)?.tags.find((t) => t.key === TAG_IDENTITY)?.value ?? identityTag;
        const r = await waitReadyAndLabel(ctx, cloud, cluster, { id: n.virtualNodeId!, name: n.name, identityTag: tag }, deadline).catch(async (e: unknown) => {
          // a node that cannot authenticate because its credentials were deleted meanwhile: say that, not a network hint
          if (e instanceof VnodeError && e.code === 'VirtualNodeFailed' && !(await identityPresent(cluster, tag))) throw credentialsGone(n.name, tag, e);
          throw e;
        });
        n.status = r.status;
        n.nodeName = r.nodeName;
        ready.add(n.name);
      }
    }
  } catch (e) {
    if (!(e instanceof VnodeError) || e.source !== 'interrupted') throw e;
    throw interruptedInstall(nodes, names, ready);
  }
  return { region: cloud.regionId, nodes, daemonSets, warnings, dryRun: false, dns: { clusterDns: opts.clusterDns ?? null, clusterDomain: opts.clusterDomain ?? null } };
}

/** Whether the credentials of an identity tag still exist in the cluster (a given kubeconfig is not vnode's to check). */
async function identityPresent(cluster: ClusterPort, tag: string): Promise<boolean> {
  const [mode, name] = tag.split(':') as [string, string | undefined];
  if (!name) return true;
  const sel = { namespace: NAMESPACE, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${INSTANCE_LABEL}=${name}` };
  if (mode === 'sa') return Boolean(await cluster.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: NAMESPACE, name }));
  return (await cluster.list('v1', 'Secret', { ...sel, fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` })).length > 0;
}

function credentialsGone(name: string, tag: string, cause?: unknown): VnodeError {
  return operationError('CredentialsGone', `the credentials of virtual node ${name} (${identityText(tag)}) were deleted while this install ran: another vnode, or another tool, removed them`
    + (cause ? '; the virtual node cannot authenticate' : '; no virtual node was created with them'), {
    hint: cause ? `remove it (vnode uninstall ${name}) and install again` : 'run the same command again: it creates them anew', ...(cause ? { cause } : {}),
  });
}

/** An identity tag in words: sa:<name>, bootstrap:<name> or external. */
function identityText(tag: string): string {
  if (tag === 'external') return 'a kubeconfig given with --kubeconfig-file';
  const [mode, name] = tag.split(':');
  return mode === 'bootstrap' ? `a TLS-bootstrap identity (--bootstrap, ${name})` : `a ServiceAccount identity (${name})`;
}

const listed = (xs: string[]): string => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : xs[0] ?? '');

/** What an interrupted install leaves (not the step it stopped at): the re-run finishes exactly this. */
export function interruptedInstall(nodes: InstalledNode[], names: string[], ready: Set<string>): VnodeError {
  const pending = nodes.filter((n) => !ready.has(n.name)).map((n) => n.name);
  const notCreated = names.filter((n) => !nodes.some((x) => x.name === n));
  const parts = [
    pending.length ? `${listed(pending)} ${pending.length > 1 ? 'are' : 'is'} created in ECI, not yet Ready` : '',
    notCreated.length ? `${listed(notCreated)} not created yet` : '',
  ].filter(Boolean);
  return new VnodeError('interrupted', 'Interrupted', `install interrupted: ${parts.join('; ') || 'nothing left but labelling the nodes'}`, {
    hint: 'run the same command again to finish (nothing is created twice)',
  });
}
