import { assumedNodeName, INSTANCE_ANNOTATION, TAG_CLUSTER_NAME, TAG_NODE_NAME, TERMINAL_STATUSES } from '../../assumptions.js';
import type { CloudPorts, ContainerGroupInfo, VirtualNodeInfo } from '../../cloud/port.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';

export interface Stray { id: string; node: string; pod: string }

const tagOf = (g: ContainerGroupInfo, k: string): string | undefined => g.tags.find((t) => t.key === k)?.value;

/**
 * Instances of this cluster whose virtual node is gone: tagged with the cluster (ClusterName) or with the Node name
 * of one of its deleted VNodes (still listed as Cleaned), on no live VNode's Node, and claimed by no pod of the
 * cluster (the documented annotation). The tags are an ASSUMPTION (see assumptions.ts): these are candidates that
 * only an explicit --cleanup-orphans deletes.
 */
export async function findStrays(cluster: ClusterPort, cloud: CloudPorts, clusterId: string, vnodes: VirtualNodeInfo[], liveNodeNames: string[]): Promise<Stray[]> {
  const groups = new Map<string, ContainerGroupInfo>();
  for (const g of await cloud.eci.describeContainerGroups({ tags: [{ key: TAG_CLUSTER_NAME, value: clusterId }] })) groups.set(g.id, g);
  for (const v of vnodes.filter((x) => x.status === 'Cleaned')) {
    for (const g of await cloud.eci.describeContainerGroups({ tags: [{ key: TAG_NODE_NAME, value: assumedNodeName(cloud.regionId, v.id) }] })) groups.set(g.id, g);
  }
  if (groups.size === 0) return [];
  const live = new Set(liveNodeNames);
  const claimed = new Set((await cluster.list<KubeObject>('v1', 'Pod', {})).map((p) => p.metadata.annotations?.[INSTANCE_ANNOTATION]).filter(Boolean));
  return [...groups.values()]
    .filter((g) => !claimed.has(g.id) && !live.has(tagOf(g, TAG_NODE_NAME) ?? '') && !TERMINAL_STATUSES.includes(g.status) && g.status !== 'Terminating')
    .map((g) => ({ id: g.id, node: tagOf(g, TAG_NODE_NAME) ?? '?', pod: `${tagOf(g, 'NameSpace') ?? '?'}/${tagOf(g, 'PodName') ?? '?'}` }));
}
