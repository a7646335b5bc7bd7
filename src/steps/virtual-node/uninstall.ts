import type { CloudPorts, ContainerGroupInfo } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject, type ObjectRef } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { errorText, operationError, VnodeError } from '../../errors.js';
import { AFFINITY_ANNOTATION, revertedTerms, terms } from '../ground/daemonset-affinity.js';
import { refuseUnlisted, unlistedInstances } from '../drain/unlisted.js';
import { cordon, drainNode, drainRefusals, refuseDrain, type DrainOptions, type DrainResult } from '../drain/drain.js';
import { busyPods, NodeRetirement } from '../drain/retire.js';
import { findStrays } from '../drain/strays.js';
import { deletionToken } from '../../cloud/tokens.js';
import { TAG_NODE_NAME } from '../../assumptions.js';
import { BOOTSTRAP_TOKEN_TYPE, EXTRA_ENDPOINTS_ROLE, EXTRA_ROLE, NAMESPACE } from '../identity/identity.js';
import { IDENTITY_ANNOTATION, identityName, NAME_LABEL, TAG_CLUSTER, TAG_IDENTITY, TAG_NAME } from './install.js';
import { deleteInstallRecord, installRecordName, listInstallRecords } from './install-record.js';
import { findTargets, select, type Target } from './targets.js';
import { addonPresent } from '../ground/virtual-nodes.js';
import { PROBES, requirePermissions } from '../ground/permissions.js';

export interface UninstallOptions {
  names: string[];
  all: boolean;
  drain: boolean;
  drainOptions: DrainOptions;
  force: boolean;
  cleanupOrphans: boolean;
  keepRbac: boolean;
  revertDaemonsetAffinity: boolean;
}

export interface UninstalledNode {
  name: string;
  virtualNodeId: string | null;
  nodeName: string | null;
  drain: DrainResult | null;
  orphansDeleted: string[];
  /** Every instance vnode deleted (orphans, and with --force those of the pods still on the node). */
  instancesDeleted: string[];
  /** With --force: the pods still bound to the removed node, deleted so their controllers recreate them elsewhere. */
  podsDeleted: string[];
  /** Pods that came back to the node after the drain began. */
  returning: string[];
  virtualNodeDeleted: boolean;
  nodeDeleted: boolean;
}

export interface UninstallResult {
  nodes: UninstalledNode[];
  alreadyGone: string[];
  /** The install names found before this run (so a mistyped name shows next to the real ones). */
  installed?: string[];
  credentialsDeleted: string[];
  sharedDeleted: string[];
  daemonSetsReverted: string[];
  /** With --all --cleanup-orphans: instances of this cluster's earlier-removed virtual nodes, deleted. */
  strays: string[];
  dryRun: boolean;
  wouldDelete?: string[];
}

const RBAC = 'rbac.authorization.k8s.io/v1';

export { deletionToken } from '../../cloud/tokens.js';

const describe = (r: ObjectRef): string => `${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}`;

/** Objects of one identity, found by their labels. */
async function identityObjects(cluster: ClusterPort, identity: string): Promise<ObjectRef[]> {
  const [mode, name] = identity.split(':') as [string, string | undefined];
  if (!name || (mode !== 'sa' && mode !== 'bootstrap')) return [];
  const sel = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${INSTANCE_LABEL}=${name}` };
  const refs: ObjectRef[] = [];
  if (mode === 'sa') {
    for (const b of await cluster.list<KubeObject>(RBAC, 'ClusterRoleBinding', sel)) refs.push({ apiVersion: RBAC, kind: 'ClusterRoleBinding', name: b.metadata.name! });
    for (const s of await cluster.list<KubeObject>('v1', 'Secret', { ...sel, namespace: NAMESPACE })) refs.push({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: s.metadata.name! });
    for (const a of await cluster.list<KubeObject>('v1', 'ServiceAccount', { ...sel, namespace: NAMESPACE })) refs.push({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: NAMESPACE, name: a.metadata.name! });
  } else {
    for (const s of await cluster.list<KubeObject>('v1', 'Secret', { ...sel, namespace: NAMESPACE, fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` })) {
      refs.push({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: s.metadata.name! });
    }
  }
  return refs;
}

/** Identities of credentials that install made (labelled with the virtual node's name), whatever became of the nodes. */
async function installedIdentities(cluster: ClusterPort): Promise<string[]> {
  const sel = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${NAME_LABEL},${INSTANCE_LABEL}` };
  const ids = new Set<string>();
  for (const a of await cluster.list<KubeObject>('v1', 'ServiceAccount', { ...sel, namespace: NAMESPACE })) ids.add(`sa:${a.metadata.labels![INSTANCE_LABEL]}`);
  for (const b of await cluster.list<KubeObject>(RBAC, 'ClusterRoleBinding', sel)) ids.add(`sa:${b.metadata.labels![INSTANCE_LABEL]}`);
  for (const s of await cluster.list<KubeObject>('v1', 'Secret', { ...sel, namespace: NAMESPACE })) {
    ids.add(`${s.type === BOOTSTRAP_TOKEN_TYPE ? 'bootstrap' : 'sa'}:${s.metadata.labels![INSTANCE_LABEL]}`);
  }
  return [...ids];
}

/** What every virtual node of the cluster shares: the extra roles, the group bindings, vnode-approver. */
async function sharedObjects(cluster: ClusterPort): Promise<ObjectRef[]> {
  const sel = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` };
  const refs: ObjectRef[] = [];
  for (const b of await cluster.list<KubeObject>(RBAC, 'ClusterRoleBinding', sel)) {
    const n = b.metadata.name!;
    if (n.startsWith('vnode:bootstrappers:') || n.startsWith('vnode:vnodes:') || n === 'system:vnode-approver') refs.push({ apiVersion: RBAC, kind: 'ClusterRoleBinding', name: n });
  }
  for (const r of await cluster.list<KubeObject>(RBAC, 'ClusterRole', sel)) {
    const n = r.metadata.name!;
    if (n === EXTRA_ROLE || n === EXTRA_ENDPOINTS_ROLE || n === 'system:vnode-approver') refs.push({ apiVersion: RBAC, kind: 'ClusterRole', name: n });
  }
  const approver = [
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: 'vnode-approver-deployment' },
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: 'vnode-approver' },
    { apiVersion: 'v1', kind: 'ServiceAccount', namespace: NAMESPACE, name: 'vnode-approver' },
  ];
  for (const a of approver) {
    const o = await cluster.get<KubeObject>(a);
    if (o?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) refs.push(a);
  }
  return refs;
}

/** Pods that would become orphaned ECI instances if the node went now. */

async function containerGroupsOf(cloud: CloudPorts, t: Target): Promise<ContainerGroupInfo[]> {
  if (!t.nodeName) return [];
  return cloud.eci.describeContainerGroups({ tags: [{ key: TAG_NODE_NAME, value: t.nodeName }] });
}

/** Refusals first, for every node at once: nothing is deleted when any node would lose pods or a drain could not finish. */
async function checkRemovable(cluster: ClusterPort, cloud: CloudPorts, chosen: Target[], opts: Pick<UninstallOptions, 'drain' | 'drainOptions' | 'force'>): Promise<void> {
  const nodes = chosen.filter((t) => t.node && t.nodeName).map((t) => t.nodeName!);
  refuseUnlisted(await unlistedInstances(cluster, cloud, nodes));
  if (opts.drain) {
    refuseDrain(nodes.join(', '), await drainRefusals(cluster, nodes, opts.drainOptions));
  } else if (!opts.force) {
    const busy: string[] = [];
    for (const t of chosen) if (t.node && t.nodeName) for (const p of await busyPods(cluster, t.nodeName)) busy.push(`${p} on ${t.name}`);
    if (busy.length > 0) {
      throw operationError('PodsRunning', `${busy.length} pod(s) still run on the virtual node(s): ${busy.slice(0, 20).join(', ')}${busy.length > 20 ? ', …' : ''}; deleting now would leave their ECI instances running and billed`, {
        hint: 'pass --drain to evict them first (or --force to delete anyway)',
      });
    }
  }
}

/** What uninstall would refuse for these names, checked without changing anything (before another part of a run changes something). */
export async function preflightUninstall(ctx: Context, opts: Pick<UninstallOptions, 'names' | 'all' | 'drain' | 'drainOptions' | 'force'>): Promise<void> {
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud();
  const eci = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: await clusterUid(cluster) }] });
  const { chosen } = select(await findTargets(cluster, eci, cloud.regionId), opts.names, opts.all);
  await checkRemovable(cluster, cloud, chosen, opts);
}

/**
 * Removes virtual nodes without losing pods or leaving ECI instances behind: drain, leftovers, DeleteVirtualNode,
 * the Node, then the credentials no remaining virtual node uses. Every step tolerates "already gone", so a re-run
 * after an interruption finishes the job.
 */
export async function uninstall(ctx: Context, opts: UninstallOptions): Promise<UninstallResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud();
  const clusterId = await clusterUid(cluster);
  const eciBefore = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }] });
  const all = await findTargets(cluster, eciBefore, cloud.regionId);
  const { chosen, missing } = select(all, opts.names, opts.all);
  const result: UninstallResult = { nodes: [], alreadyGone: missing, installed: [...new Set(all.map((t) => t.name))], credentialsDeleted: [], sharedDeleted: [], daemonSetsReverted: [], strays: [], dryRun: flags.dryRun };
  const identities = new Set(chosen.map((t) => t.eci?.tags.find((x) => x.key === TAG_IDENTITY)?.value ?? t.node?.metadata.annotations?.[IDENTITY_ANNOTATION])
    .filter((x): x is string => Boolean(x)));
  // a name with neither VNode nor Node may still have credentials: an earlier uninstall stopped before removing them
  for (const key of missing) for (const mode of ['sa', 'bootstrap']) identities.add(`${mode}:${identityName(key)}`);
  // --all: also the credentials of installs whose nodes an earlier, interrupted run already removed
  if (opts.all) for (const id of await installedIdentities(cluster)) identities.add(id);
  const records = (await listInstallRecords(cluster)).filter((r) => opts.all || chosen.some((t) => r.name === t.name || r.nodes.includes(t.name))
    || missing.some((k) => r.name === k || r.nodes.includes(k)));

  await checkRemovable(cluster, cloud, chosen, opts);

  if (flags.dryRun) {
    const would: string[] = [];
    for (const t of chosen) {
      if (opts.drain && t.node && t.nodeName) {
        const d = await drainNode(ctx, cluster, t.nodeName, opts.drainOptions);
        for (const p of d.wouldEvict ?? []) would.push(`evict pod ${p.namespace}/${p.name}`);
      }
      for (const cg of await containerGroupsOf(cloud, t)) would.push(`${opts.cleanupOrphans ? 'delete' : 'stop at'} ECI container group ${cg.id}`);
      if (t.virtualNodeId && t.eci) would.push(`DeleteVirtualNode ${t.virtualNodeId}`);
      if (t.node) would.push(`delete Node ${t.nodeName}`);
    }
    const remaining = eciBefore.filter((v) => !chosen.some((t) => t.virtualNodeId === v.id));
    for (const id of identities) if (!remaining.some((v) => v.tags.some((x) => x.key === TAG_IDENTITY && x.value === id))) for (const r of await identityObjects(cluster, id)) would.push(`delete ${describe(r)}`);
    if (remaining.length === 0 && !opts.keepRbac) for (const r of await sharedObjects(cluster)) would.push(`delete ${describe(r)}`);
    for (const r of records) would.push(`delete ConfigMap ${NAMESPACE}/${installRecordName(r.name)} (install record)`);
    return { ...result, wouldDelete: would };
  }

  // the drain is a change: whether the calls after it are allowed is asked first
  if (chosen.length > 0) {
    await requirePermissions(ctx, cloud, [...(chosen.some((t) => t.virtualNodeId && t.eci) ? [PROBES.deleteVirtualNode] : []), ...(opts.force || opts.cleanupOrphans ? [PROBES.deleteContainerGroup] : [])]);
  }

  // an interrupt is honoured between steps, naming what is left for the re-run
  let current: { t: Target; u: UninstalledNode } | undefined;
  const checkpoint = (): void => {
    if (!ctx.signal.aborted) return;
    const left: string[] = [];
    const done = new Set(result.nodes.map((u) => u.name));
    for (const t of chosen) {
      if (done.has(t.name)) continue;
      const u = current?.t === t ? current.u : undefined;
      const steps = [t.virtualNodeId && t.eci && !u?.virtualNodeDeleted ? `virtual node ${t.virtualNodeId} still in ECI` : null,
        t.node && !u?.nodeDeleted ? `Node ${t.nodeName} still in the cluster${u?.drain ? ' (drained)' : ''}` : null].filter(Boolean);
      if (steps.length) left.push(`${t.name}: ${steps.join(', ')}`);
    }
    left.push('the credentials no remaining virtual node uses');
    throw new VnodeError('interrupted', 'Interrupted', `uninstall interrupted; left to do: ${left.join('; ')}`, { hint: 'run the same command again to finish' });
  };

  // nothing new lands on a node being removed, and no pod hops from one to another: cordon them all first
  if (opts.drain || opts.force) for (const t of chosen) if (t.node && t.nodeName && !(t.node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) await cordon(cluster, t.nodeName);
  for (const t of chosen) {
    const u: UninstalledNode = { name: t.name, virtualNodeId: t.virtualNodeId, nodeName: t.nodeName, drain: null, orphansDeleted: [], instancesDeleted: [], podsDeleted: [], returning: [], virtualNodeDeleted: false, nodeDeleted: false };
    current = { t, u };
    checkpoint();
    const retire = new NodeRetirement(ctx, cluster, cloud, t.node ? t.nodeName ?? undefined : undefined, {
      drain: opts.drain ? opts.drainOptions : null, force: opts.force, cleanupOrphans: opts.cleanupOrphans, timeoutMs: opts.drainOptions.timeoutMs,
    }, checkpoint);
    try {
      await retire.prepare();
    } finally {
      u.drain = retire.result.drain;
      u.returning = retire.result.returning.map((p) => `${p.namespace}/${p.name}`);
    }
    checkpoint();
    // before DeleteVirtualNode: installing this name again must be a new install with new ClientTokens
    for (const r of records.filter((x) => x.name === t.name || x.nodes.includes(t.name))) await deleteInstallRecord(cluster, r.name);
    // documented: ECI refuses DeleteVirtualNode while an instance exists on the node, so they go first
    await retire.clear();
    u.nodeDeleted = retire.nodeGone;
    checkpoint();
    if (t.virtualNodeId && t.eci) u.virtualNodeDeleted = await deleteEmptied(ctx, cloud, t.virtualNodeId, retire, checkpoint);
    checkpoint();
    u.nodeDeleted = (await retire.finish()).nodeDeleted;
    u.instancesDeleted = retire.result.instancesDeleted;
    u.orphansDeleted = retire.result.instancesDeleted.filter((id) => !retire.result.returning.some((p) => p.instanceId === id));
    u.podsDeleted = retire.result.podsDeleted;
    result.nodes.push(u);
  }
  current = undefined;
  checkpoint();

  const remaining = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }] });
  if (opts.all) {
    // instances of this cluster whose VNode went earlier (an interrupted or forced removal)
    const seen = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }], includeCleaned: true });
    const liveNodes = (await findTargets(cluster, remaining, cloud.regionId)).map((t) => t.nodeName).filter((n): n is string => Boolean(n));
    const strays = await findStrays(cluster, cloud, clusterId, seen, liveNodes);
    if (strays.length > 0 && opts.cleanupOrphans) {
      for (const s of strays) {
        checkpoint();
        if (await status.step(`Deleting ECI instance ${s.id} (was ${s.pod} on ${s.node})`, () => cloud.eci.deleteContainerGroup(s.id, deletionToken('cg', s.id)))) result.strays.push(s.id);
      }
    } else if (strays.length > 0) {
      ctx.out.warn(`ECI lists ${strays.length} instance(s) tagged as this cluster's, on virtual nodes that are gone, that no pod claims: ${strays.map((s) => `${s.id} (${s.pod} on ${s.node})`).join(', ')}. `
        + 'They are found by tags ECI does not document; check them in the ECI console');
    }
  }
  // records of names with no virtual node left (an install interrupted before it created any)
  for (const r of records) if (!remaining.some((v) => r.nodes.includes(v.tags.find((x) => x.key === TAG_NAME)?.value ?? ''))) await deleteInstallRecord(cluster, r.name);
  for (const id of identities) {
    if (remaining.some((v) => v.tags.some((x) => x.key === TAG_IDENTITY && x.value === id))) continue;
    for (const r of await identityObjects(cluster, id)) if (await cluster.delete(r)) result.credentialsDeleted.push(describe(r));
  }
  if (remaining.length === 0) {
    if (!opts.keepRbac) for (const r of await sharedObjects(cluster)) if (await cluster.delete(r)) result.sharedDeleted.push(describe(r));
    if (opts.revertDaemonsetAffinity && await addonPresent(cluster)) ctx.out.warn('DaemonSet affinity kept: the ack-virtual-node add-on\'s virtual nodes remain');
    else if (opts.revertDaemonsetAffinity) result.daemonSetsReverted = await revertAffinity(cluster);
  } else if (opts.revertDaemonsetAffinity) {
    ctx.out.warn(`DaemonSet affinity kept: ${remaining.length} virtual node(s) remain`);
  }
  return result;
}

/**
 * DeleteVirtualNode once the node holds no instance: ECI refuses it while one exists (documented; its code is not,
 * so vnode looks at the instances, not at the code). An instance that appeared meanwhile is deleted and the call
 * retried, a few times.
 */
async function deleteEmptied(ctx: Context, cloud: CloudPorts, id: string, retire: NodeRetirement, checkpoint: () => void): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.status.step(`Deleting virtual node ${id}`, () => cloud.eci.deleteVirtualNode(id, deletionToken('vnd', id)));
    } catch (e) {
      const left = await retire.instancesLeft();
      if (left.length === 0) throw e;
      if (attempt >= 5 || left.every((g) => retire.result.unconfirmed.includes(g.id))) {
        throw operationError('InstancesOnNode', `ECI refuses to delete virtual node ${id} while ${left.length} ECI instance(s) exist on it: ${left.map((g) => `${g.id} (${g.status})`).join(', ')} (${errorText(e)})`, {
          hint: 'delete them first (--cleanup-orphans deletes instances no pod claims; --force also those of pods still there), then run the same command again', cause: e,
        });
      }
      ctx.out.debug(`DeleteVirtualNode ${id} refused with ${left.length} instance(s) on the node; deleting what may go, waiting for what ECI releases, then trying again`);
      checkpoint();
      await retire.clear();
    }
  }
}

/** Removes exactly the expression vnode added to each DaemonSet it annotated. */
async function revertAffinity(cluster: ClusterPort): Promise<string[]> {
  const out: string[] = [];
  for (const ds of await cluster.list<KubeObject>('apps/v1', 'DaemonSet')) {
    if (!ds.metadata.annotations?.[AFFINITY_ANNOTATION]) continue;
    const next = revertedTerms(terms(ds));
    const ref = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: ds.metadata.namespace!, name: ds.metadata.name! };
    await cluster.patch(ref, {
      metadata: { resourceVersion: ds.metadata.resourceVersion, annotations: { [AFFINITY_ANNOTATION]: null } },
      spec: { template: { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: next ? { nodeSelectorTerms: next } : null } } } } },
    }, 'merge');
    out.push(`${ref.namespace}/${ref.name}`);
  }
  return out;
}
