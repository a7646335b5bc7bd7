import { createHash } from 'node:crypto';
import type { CloudPorts, Tag, Taint, VirtualNodeInfo, VirtualNodeUpdate } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { errorText, operationError, usageError, withContext } from '../../errors.js';
import { DEFAULT_APPROVER_IMAGE } from '../identity/identity.js';
import { provisionIdentity } from '../identity/kubeconfig.js';
import { drainRefusals, refuseDrain, type DrainOptions, type DrainResult } from '../drain/drain.js';
import { NodeRetirement } from '../drain/retire.js';
import { findNodeOf } from './node-of.js';
import { keepDaemonSetsOff } from '../ground/daemonset-affinity.js';
import { VNODE_BILLING, identityName, NAME_LABEL, TAG_CLUSTER, TAG_IDENTITY, TAG_NAME, TAG_REPLACES, VNODE_LABELS, VNODE_TAINT, waitReadyAndLabel } from './install.js';
import { asInput, checkNetwork } from '../ground/preflight.js';
import { deletionToken } from '../../cloud/tokens.js';

export { TAG_REPLACES } from './install.js';

export interface UpdateOptions {
  name: string;
  rename: string | undefined;
  tags: Tag[];
  customResources: string | undefined;
  clusterDns: string | undefined;
  clusterDomain: string | undefined;
  vswitches: string[] | undefined;
  securityGroup: string | undefined;
  taints: Taint[] | undefined;
  bootstrap: boolean | undefined;
  recreate: boolean;
  server: string | undefined;
  drain: DrainOptions;
  /** Remove the old node even when pods come back to it (their instances are deleted; their controllers recreate them). */
  force: boolean;
  waitTimeoutMs: number;
}

export interface Change { field: string; from: string; to: string; path: 'in place' | 'replacement' }

export interface UpdateResult {
  name: string;
  virtualNodeId: string;
  changes: Change[];
  path: 'none' | 'in place' | 'replacement';
  replacedBy: string | null;
  drained: DrainResult | null;
  dryRun: boolean;
}

const OWN_TAGS = [TAG_CLUSTER, TAG_NAME, TAG_IDENTITY, TAG_REPLACES];
const tagOf = (v: VirtualNodeInfo, key: string): string | undefined => v.tags.find((t) => t.key === key)?.value;
const show = (x: string | undefined): string => (x === undefined || x === '' ? '(none)' : x);
const taintText = (t: Taint): string => `${t.key}=${t.value}:${t.effect}`;

function nodeTaints(node: KubeObject | undefined): Taint[] {
  const all = ((node?.spec as { taints?: Taint[] } | undefined)?.taints ?? []);
  return all.filter((t) => !(t.key === VNODE_TAINT.key && t.effect === VNODE_TAINT.effect) && !t.key.startsWith('node.kubernetes.io/')).map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect }));
}

/** What changes, and how: UpdateVirtualNode for what it can change, a replacement for the rest. */
export function planChanges(v: VirtualNodeInfo, node: KubeObject | undefined, o: UpdateOptions): Change[] {
  const changes: Change[] = [];
  if (o.rename && o.rename !== o.name) changes.push({ field: 'name', from: o.name, to: o.rename, path: 'in place' });
  for (const t of o.tags) if (tagOf(v, t.key) !== t.value) changes.push({ field: `tag ${t.key}`, from: show(tagOf(v, t.key)), to: t.value, path: 'in place' });
  // ECI does not report these; setting them again is harmless
  if (o.customResources !== undefined) changes.push({ field: 'custom-resources', from: '(not reported by ECI)', to: o.customResources, path: 'in place' });
  if (o.clusterDns !== undefined) changes.push({ field: 'cluster-dns', from: '(not reported by ECI)', to: o.clusterDns, path: 'in place' });
  if (o.clusterDomain !== undefined) changes.push({ field: 'cluster-domain', from: '(not reported by ECI)', to: o.clusterDomain, path: 'in place' });
  if (o.vswitches && o.vswitches.join(',') !== v.vSwitchIds.join(',')) changes.push({ field: 'vswitch', from: v.vSwitchIds.join(','), to: o.vswitches.join(','), path: 'replacement' });
  if (o.securityGroup && o.securityGroup !== v.securityGroupId) changes.push({ field: 'security-group', from: v.securityGroupId, to: o.securityGroup, path: 'replacement' });
  if (o.taints) {
    const have = nodeTaints(node).map(taintText).sort().join(',');
    const want = o.taints.map(taintText).sort().join(',');
    if (have !== want) changes.push({ field: 'taints', from: show(have), to: show(want), path: 'replacement' });
  }
  const identity = tagOf(v, TAG_IDENTITY) ?? '';
  const mode = identity.startsWith('bootstrap:') ? 'bootstrap' : identity === 'external' ? 'external' : 'serviceaccount';
  if (o.bootstrap !== undefined) {
    const want = o.bootstrap ? 'bootstrap' : 'serviceaccount';
    if (want !== mode) changes.push({ field: 'kubeconfig', from: mode, to: want, path: 'replacement' });
  }
  if (o.recreate && !changes.some((c) => c.path === 'replacement')) changes.push({ field: 'recreate', from: v.id, to: 'a new virtual node', path: 'replacement' });
  return changes;
}

/**
 * `vnode update <name>`: in place where UpdateVirtualNode can; otherwise a replacement that loses no pod: create the
 * new virtual node, wait until Ready, drain the old one (PodDisruptionBudgets honoured), check no ECI instance is left
 * on it, delete it. The replacement carries the old node's id in a tag, so a re-run after an interrupt continues.
 */
export async function updateVirtualNode(ctx: Context, o: UpdateOptions): Promise<UpdateResult> {
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud().catch(asInput);
  const clusterId = await clusterUid(cluster);
  const mine = (await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }, { key: TAG_NAME, value: o.name }] }))
    .filter((v) => v.status !== 'Cleaned');
  const successor = mine.find((v) => tagOf(v, TAG_REPLACES) && mine.some((x) => x.id === tagOf(v, TAG_REPLACES)));
  const current = successor ? mine.find((x) => x.id === tagOf(successor, TAG_REPLACES))! : mine.find((v) => !tagOf(v, TAG_REPLACES)) ?? mine[0];
  if (!current) {
    throw usageError('VirtualNodeNotFound', `no virtual node "${o.name}" in this cluster`, 'see `vnode status` for the installed ones');
  }
  const node = await findNodeOf(cluster, current, cloud.regionId);
  const changes = successor
    ? [{ field: 'replacement', from: current.id, to: successor.id, path: 'replacement' as const }]
    : planChanges(current, node, o);
  const replace = changes.some((c) => c.path === 'replacement');
  const inPlace = changes.filter((c) => c.path === 'in place');
  const base = { name: o.rename ?? o.name, virtualNodeId: current.id, changes, path: replace ? 'replacement' as const : inPlace.length ? 'in place' as const : 'none' as const, drained: null, dryRun: ctx.flags.dryRun };
  if (replace && (o.vswitches || o.securityGroup)) {
    await checkNetwork(cloud, { vswitches: o.vswitches ?? current.vSwitchIds, securityGroup: o.securityGroup ?? current.securityGroupId }).catch(asInput);
  }
  // ECI allows 20 tags; checked before anything is created
  const kept = current.tags.filter((t) => !OWN_TAGS.includes(t.key) && !o.tags.some((x) => x.key === t.key));
  const tagCount = replace ? kept.length + o.tags.length + OWN_TAGS.length : new Set([...current.tags.map((t) => t.key), ...o.tags.map((t) => t.key)]).size;
  if (tagCount > 20) {
    throw usageError('TooManyTags', `virtual node ${o.name} would carry ${tagCount} tags (ECI allows 20; vnode keeps ${OWN_TAGS.length} of its own on a replacement): ${kept.length} kept and ${o.tags.length} given`,
      'remove some with the ECI console, or give fewer --tag');
  }
  if (ctx.flags.dryRun || changes.length === 0) return { ...base, replacedBy: successor?.id ?? null };

  if (!replace) {
    const change: VirtualNodeUpdate = {
      ...(o.rename ? { name: o.rename } : {}), ...(o.customResources !== undefined ? { customResources: o.customResources } : {}),
      ...(o.clusterDns !== undefined ? { clusterDns: o.clusterDns } : {}), ...(o.clusterDomain !== undefined ? { clusterDomain: o.clusterDomain } : {}),
      tags: [...o.tags, ...(o.rename ? [{ key: TAG_NAME, value: o.rename }] : [])],
    };
    if (current.status !== 'Ready') throw usageError('NotReady', `virtual node ${o.name} is ${current.status} in ECI; UpdateVirtualNode needs it Ready`, `see \`vnode status ${o.name}\``);
    const token = `vnode-upd-${createHash('sha256').update(`${current.id}/${JSON.stringify(change)}`).digest('hex').slice(0, 40)}`;
    await ctx.status.step(`Updating virtual node ${o.name} in place`, () => cloud.eci.updateVirtualNode(current.id, change, token));
    if (o.rename && node) await cluster.patch({ apiVersion: 'v1', kind: 'Node', name: node.metadata.name! }, { metadata: { labels: { [NAME_LABEL]: o.rename } } }, 'merge');
    return { ...base, replacedBy: null };
  }
  return { ...base, ...(await replaceNode(ctx, cluster, cloud, current, node, successor, o, clusterId)) };
}

async function replaceNode(ctx: Context, cluster: ClusterPort, cloud: CloudPorts, current: VirtualNodeInfo, node: KubeObject | undefined, successor: VirtualNodeInfo | undefined,
  o: UpdateOptions, clusterId: string): Promise<{ replacedBy: string; drained: DrainResult | null }> {
  const deadline = o.waitTimeoutMs > 0 ? Date.now() + o.waitTimeoutMs : Infinity;
  const oldIdentity = tagOf(current, TAG_IDENTITY) ?? '';
  let next = successor;
  let identityTag = next ? tagOf(next, TAG_IDENTITY) ?? oldIdentity : oldIdentity;
  // what the drain of the old node would refuse, before a replacement is created (and billed)
  const oldNode = node?.metadata.name;
  if (oldNode) refuseDrain(oldNode, await drainRefusals(cluster, [oldNode], o.drain));
  if (!next) {
    const bootstrap = o.bootstrap ?? oldIdentity.startsWith('bootstrap:');
    if (oldIdentity === 'external' && o.bootstrap === undefined) {
      throw usageError('ExternalKubeconfig', `virtual node ${o.name} was installed with --kubeconfig-file, which vnode does not keep`, 'pass --bootstrap or --no-bootstrap to have vnode create its identity');
    }
    const identity = identityName(o.name);
    const r = await provisionIdentity(ctx, {
      file: undefined, name: identity, mode: bootstrap ? 'bootstrap' : 'serviceaccount', ttlMs: 24 * 3600_000, server: o.server,
      extraPrivilege: false, force: true, approverImage: DEFAULT_APPROVER_IMAGE, labels: { [NAME_LABEL]: o.name },
    });
    identityTag = `${bootstrap ? 'bootstrap' : 'sa'}:${identity}`;
    const userTags = current.tags.filter((t) => !OWN_TAGS.includes(t.key) && !o.tags.some((x) => x.key === t.key));
    const taints = o.taints ?? nodeTaints(node);
    const input = {
      name: current.name, vSwitchIds: o.vswitches ?? current.vSwitchIds, securityGroupId: o.securityGroup ?? current.securityGroupId,
      kubeConfig: Buffer.from(r.content ?? '').toString('base64'), tlsBootstrapEnabled: bootstrap,
      // the same zone while the vSwitches stay; ECI picks among new ones
      zoneId: o.vswitches ? undefined : (node?.metadata.labels?.['topology.kubernetes.io/zone'] ?? undefined),
      ...(o.customResources ? { customResources: o.customResources } : {}), ...(o.clusterDns ? { clusterDns: o.clusterDns } : {}), ...(o.clusterDomain ? { clusterDomain: o.clusterDomain } : {}),
      tags: [...userTags, ...o.tags, { key: TAG_CLUSTER, value: clusterId }, { key: TAG_NAME, value: o.name }, { key: TAG_IDENTITY, value: identityTag }, { key: TAG_REPLACES, value: current.id }],
      taints,
      // one replacement per node and change: a retried create returns the same virtual node
      clientToken: `vnode-rep-${createHash('sha256').update(`${current.id}/${JSON.stringify([o.vswitches, o.securityGroup, taints, bootstrap])}`).digest('hex').slice(0, 40)}`,
    };
    ctx.out.info(`Creating a replacement for ${o.name}: until ${current.id} is deleted, two VNodes are billed (${VNODE_BILLING}).`);
    const id = await ctx.status.step(`Creating the replacement of ${o.name}`, () => cloud.eci.createVirtualNode(input), (x) => x);
    next = { ...current, id, status: 'Pending' };
    await keepDaemonSetsOff(cluster, VNODE_LABELS, [VNODE_TAINT, ...taints], false);
  }
  const replacement = next.id;
  try {
    await waitReadyAndLabel(ctx, cloud, cluster, { id: next.id, name: o.name, identityTag }, deadline);

    const retire = new NodeRetirement(ctx, cluster, cloud, node?.metadata.name, { drain: o.drain, force: o.force, cleanupOrphans: false, timeoutMs: o.drain.timeoutMs });
    await retire.prepare();
    const drained = retire.result.drain;
    if (drained && drained.remaining.length > 0) {
      throw operationError('DrainIncomplete', `${drained.remaining.length} pod(s) still on ${node?.metadata.name}: ${drained.remaining.map((p) => `${p.namespace}/${p.name}`).join(', ')}`,
        { hint: 'the old node stays cordoned; run the same update again to continue' });
    }
    await ctx.status.step(`Deleting the old virtual node ${current.id}`, () => cloud.eci.deleteVirtualNode(current.id, deletionToken('vnode', current.id)));
    await retire.finish();
    return { replacedBy: replacement, drained };
  } catch (e) {
    // the replacement stays: say that two VNodes are billed until the re-run finishes
    const left = await cloud.eci.describeVirtualNodes({ ids: [current.id] }).then((v) => v.some((x) => x.status !== 'Cleaned'), () => true);
    if (!left) throw e;
    throw withContext(e, `${errorText(e)}; done: the replacement ${replacement} was created; left: ${current.id} (cordoned${node ? ` as ${node.metadata.name}` : ''}) still exists, so two VNodes are billed`,
      `run the same update again: it continues with ${replacement} and removes ${current.id}${isDrainTimeout(e) ? ' (raise --timeout or relax the PodDisruptionBudget if the drain timed out)' : ''}`);
  }
}

const isDrainTimeout = (e: unknown): boolean => (e as { code?: string }).code === 'DrainTimeout' || (e as { code?: string }).code === 'DrainIncomplete';
