import type { CloudPorts, ContainerGroupInfo } from '../../cloud/port.js';
import { ensureHashed } from '../../cluster/ensure.js';
import { nodeUsable } from '../virtual-node/node-of.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { NAME_LABEL } from '../virtual-node/install.js';
import {
  CONTROLLER, ECI_PROFILE, MODE_LABEL, NAMESPACE, nodeName, ordinalOf, POD_LABELS, settingsOf, type ControllerSettings,
} from './manifest.js';

export const STS_REF = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NAMESPACE, name: CONTROLLER };
export const PROFILE_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: ECI_PROFILE };

export interface ControllerInstall {
  statefulSet: KubeObject;
  settings: ControllerSettings;
}

/** vnode's controller install, if there is one; a virtual-node-eci vnode did not write is refused (it is not ours to change). */
export async function readController(cluster: ClusterPort): Promise<ControllerInstall | undefined> {
  const sts = await cluster.get<KubeObject>(STS_REF);
  if (!sts) return undefined;
  if (sts.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
    throw usageError('NotManaged', `StatefulSet ${NAMESPACE}/${CONTROLLER} exists but vnode did not create it (another virtual-node addon?)`, 'vnode changes only what it created; remove that addon first');
  }
  return { statefulSet: sts, settings: settingsOf(sts) };
}

export async function requireController(cluster: ClusterPort): Promise<ControllerInstall> {
  const c = await readController(cluster);
  if (!c) throw usageError('NotInstalled', `no in-cluster controller is installed (no StatefulSet ${NAMESPACE}/${CONTROLLER})`, 'install one with `vnode install --mode controller --vswitch <id> --security-group <id>`');
  return c;
}

export { ensureHashed as ensureStatefulSet };

/** Waits for the replicas' Nodes, then labels them vnode's (so uninstall and status find them without the StatefulSet). */
export async function waitNodesReady(ctx: Context, cluster: ClusterPort, ordinals: number[], timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (const i of ordinals) {
    const name = nodeName(i);
    await ctx.status.step(`Waiting for node ${name} to be Ready`, () => cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Node', name }, nodeUsable,
      { timeoutMs: Math.max(1, deadline - Date.now()), signal: ctx.signal }));
    await cluster.patch({ apiVersion: 'v1', kind: 'Node', name }, { metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [MODE_LABEL]: 'controller', [NAME_LABEL]: CONTROLLER } } }, 'merge');
  }
}

/**
 * Replicas run with the env they started with: after a change of the template (or of the Secret's key) each replica
 * whose revision is not the current one is deleted, and the StatefulSet starts it again with the new env.
 */
export async function restartStale(ctx: Context, cluster: ClusterPort, opts: { all?: boolean } = {}): Promise<string[]> {
  const sts = await cluster.waitFor<KubeObject>(STS_REF, (o) => {
    const st = o?.status as { observedGeneration?: number } | undefined;
    return !o || (st?.observedGeneration ?? 0) >= Number(o.metadata.generation ?? 0);
  }, { timeoutMs: 60_000, signal: ctx.signal });
  if (!sts) return [];
  const revision = (sts.status as { updateRevision?: string } | undefined)?.updateRevision;
  const pods = await cluster.list<KubeObject>('v1', 'Pod', { namespace: NAMESPACE, labelSelector: `app=${POD_LABELS.app}` });
  const stale = pods.filter((p) => !p.metadata.deletionTimestamp && (opts.all || p.metadata.labels?.['controller-revision-hash'] !== revision));
  for (const p of stale) await cluster.deletePod(NAMESPACE, p.metadata.name!, undefined);
  return stale.map((p) => p.metadata.name!);
}

/** The controller's Nodes: by vnode's label, and by name for replicas that registered before vnode labelled them. */
export async function controllerNodes(cluster: ClusterPort, replicas: number): Promise<KubeObject[]> {
  const labelled = await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `${MODE_LABEL}=controller` });
  const byName = new Map(labelled.map((n) => [n.metadata.name!, n]));
  for (let i = 0; i < replicas; i++) {
    if (byName.has(nodeName(i))) continue;
    const n = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: nodeName(i) });
    if (n) byName.set(n.metadata.name!, n);
  }
  return [...byName.values()].sort((a, b) => (ordinalOf(b.metadata.name!) ?? 0) - (ordinalOf(a.metadata.name!) ?? 0));
}

/** Container groups the controller made for one of its nodes (NodeName repeats across clusters: the cluster id narrows it). */
export async function containerGroupsOf(cloud: CloudPorts, node: string, clusterId: string): Promise<ContainerGroupInfo[]> {
  return cloud.eci.describeContainerGroups({ tags: [{ key: 'NodeName', value: node }, { key: 'ClusterId', value: clusterId }] });
}

export function describeGroups(groups: ContainerGroupInfo[]): string {
  return groups.map((c) => `${c.id} (${c.tags.find((x) => x.key === 'NameSpace')?.value ?? '?'}/${c.tags.find((x) => x.key === 'PodName')?.value ?? '?'})`).join(', ');
}
