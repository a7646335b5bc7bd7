import { clusterUid } from '../../cluster/cluster-id.js';
import { describeRef, MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject, type ObjectRef } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { classify, drainNode, type DrainOptions, type DrainResult } from '../drain/drain.js';
import { deletionToken } from '../virtual-node/uninstall.js';
import { containerGroupsOf, controllerNodes, describeGroups, PROFILE_REF, readController, STS_REF } from './controller.js';
import { CONTROLLER, NAMESPACE, POD_LABELS, RBAC, ROLE } from './manifest.js';

export interface ControllerUninstallOptions {
  drain: boolean;
  drainOptions: DrainOptions;
  force: boolean;
  cleanupOrphans: boolean;
}

export interface ControllerUninstallResult {
  found: boolean;
  drained: DrainResult[];
  orphansDeleted: string[];
  deleted: string[];
  wouldDelete?: string[];
}

const OBJECTS: ObjectRef[] = [
  { apiVersion: RBAC, kind: 'ClusterRoleBinding', name: ROLE },
  { apiVersion: RBAC, kind: 'ClusterRole', name: ROLE },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespace: NAMESPACE, name: CONTROLLER },
  PROFILE_REF,
];

async function ours(cluster: ClusterPort, ref: ObjectRef): Promise<boolean> {
  return (await cluster.get<KubeObject>(ref))?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** Is anything of a controller install left (the StatefulSet, its Nodes, its RBAC or eci-profile)? */
export async function controllerPresent(cluster: ClusterPort): Promise<boolean> {
  if (await readController(cluster)) return true;
  if ((await controllerNodes(cluster, 0)).length > 0) return true;
  for (const r of OBJECTS) if (await ours(cluster, r)) return true;
  return false;
}

/**
 * Removes the in-cluster controller without losing pods or leaving ECI instances: drain every node, check ECI for
 * instances left on each, delete the StatefulSet (and wait for its replicas to stop), the Nodes, then RBAC and
 * eci-profile. alibaba-addon-secret and the RAM user stay: they belong to `vnode ram revoke`.
 */
export async function uninstallController(ctx: Context, opts: ControllerUninstallOptions): Promise<ControllerUninstallResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const install = await readController(cluster);
  const nodes = await controllerNodes(cluster, install?.settings.replicas ?? 0);
  const result: ControllerUninstallResult = { found: Boolean(install) || nodes.length > 0, drained: [], orphansDeleted: [], deleted: [] };
  const leftObjects: ObjectRef[] = [];
  for (const r of OBJECTS) if (await ours(cluster, r)) leftObjects.push(r);
  if (leftObjects.length > 0) result.found = true;
  if (!result.found) return result;

  if (!opts.drain && !opts.force) {
    const busy: string[] = [];
    for (const n of nodes) {
      const pods = await cluster.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${n.metadata.name}` });
      for (const p of pods) {
        const phase = (p.status as { phase?: string } | undefined)?.phase;
        if (classify(p, { force: true, deleteEmptydirData: true }) === 'evict' && phase !== 'Succeeded' && phase !== 'Failed') busy.push(`${p.metadata.namespace}/${p.metadata.name} on ${n.metadata.name}`);
      }
    }
    if (busy.length > 0) {
      throw operationError('PodsRunning', `${busy.length} pod(s) still run on the controller's virtual node(s): ${busy.slice(0, 20).join(', ')}${busy.length > 20 ? ', …' : ''}; removing them now would leave their ECI instances running and billed`, {
        hint: 'pass --drain to evict them first (or --force to delete anyway)',
      });
    }
  }
  const cloud = await ctx.cloud();
  const clusterId = install?.settings.clusterId || (await clusterUid(cluster));

  if (flags.dryRun) {
    const would: string[] = [];
    for (const n of nodes) {
      if (opts.drain) for (const p of (await drainNode(ctx, cluster, n.metadata.name!, opts.drainOptions)).wouldEvict ?? []) would.push(`evict pod ${p.namespace}/${p.name}`);
      for (const cg of await containerGroupsOf(cloud, n.metadata.name!, clusterId)) would.push(`${opts.cleanupOrphans ? 'delete' : 'stop at'} ECI container group ${cg.id}`);
    }
    if (install) would.push(`delete StatefulSet ${NAMESPACE}/${CONTROLLER}`);
    for (const n of nodes) would.push(`delete Node ${n.metadata.name}`);
    for (const r of leftObjects) would.push(`delete ${describeRef(r)}`);
    return { ...result, wouldDelete: would };
  }

  const checkpoint = (left: string): void => {
    if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `uninstall of the controller interrupted; left to do: ${left}`, { hint: 'run the same command again to finish' });
  };
  for (const n of nodes) {
    const name = n.metadata.name!;
    checkpoint(`drain and remove ${nodes.map((x) => x.metadata.name).join(', ')}, then the StatefulSet, RBAC and eci-profile`);
    if (opts.drain) result.drained.push(await drainNode(ctx, cluster, name, opts.drainOptions));
    const left = await status.step(`Checking ${name} for ECI instances left behind`, () => containerGroupsOf(cloud, name, clusterId), (l) => (l.length ? `${l.length} found` : 'none'));
    if (left.length > 0) {
      if (!opts.cleanupOrphans) {
        throw operationError('OrphanedInstances', `${left.length} ECI container group(s) of ${name} still exist and are billed: ${describeGroups(left)}`, {
          hint: 'pass --cleanup-orphans to delete them (DeleteContainerGroup), or remove their pods first',
        });
      }
      for (const cg of left) {
        await status.step(`Deleting ECI container group ${cg.id}`, () => cloud.eci.deleteContainerGroup(cg.id, deletionToken('cg', cg.id)));
        result.orphansDeleted.push(cg.id);
      }
    }
  }
  checkpoint('delete the StatefulSet, the Nodes, RBAC and eci-profile');
  if (install) {
    await status.step(`Deleting StatefulSet ${NAMESPACE}/${CONTROLLER}`, () => cluster.delete(STS_REF));
    result.deleted.push(`StatefulSet ${NAMESPACE}/${CONTROLLER}`);
  }
  // its replicas stop before their Nodes go, so none registers its Node again
  const replicas = await cluster.list<KubeObject>('v1', 'Pod', { namespace: NAMESPACE, labelSelector: `app=${POD_LABELS.app}` });
  for (const p of replicas) {
    await cluster.deletePod(NAMESPACE, p.metadata.name!, undefined);
    await cluster.waitFor({ apiVersion: 'v1', kind: 'Pod', namespace: NAMESPACE, name: p.metadata.name! }, (o) => !o, { timeoutMs: 120_000, signal: ctx.signal });
  }
  for (const n of nodes) {
    checkpoint(`delete Nodes ${nodes.map((x) => x.metadata.name).join(', ')}, RBAC and eci-profile`);
    const name = n.metadata.name!;
    if (await status.step(`Deleting node ${name}`, () => cluster.delete({ apiVersion: 'v1', kind: 'Node', name }))) result.deleted.push(`Node ${name}`);
    await cluster.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'kube-node-lease', name });
  }
  for (const r of leftObjects) if (await cluster.delete(r)) result.deleted.push(describeRef(r));
  return result;
}
