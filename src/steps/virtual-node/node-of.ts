import { assumedNodeName } from '../../assumptions.js';
import type { VirtualNodeInfo } from '../../cloud/port.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';

/** The documented label every VNode's Node carries. */
export const VNODE_NODE_SELECTOR = 'k8s.aliyun.com/vnode=true';

const internalIps = (n: KubeObject): string[] =>
  ((n.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);

/**
 * The Node a VNode registered: the one reporting the VNode's IntranetIp (what DescribeVirtualNodes returns) as its
 * InternalIP; the assumed name `<region>.<id>` only when no Node reports that address.
 */
export function nodeOfVirtualNode(nodes: KubeObject[], v: Pick<VirtualNodeInfo, 'id' | 'intranetIp'>, region: string): KubeObject | undefined {
  if (v.intranetIp) {
    const byIp = nodes.find((n) => internalIps(n).includes(v.intranetIp));
    if (byIp) return byIp;
  }
  const name = assumedNodeName(region, v.id);
  return nodes.find((n) => n.metadata.name === name);
}

/** Every Node that looks like a VNode's (documented label), for matching with nodeOfVirtualNode. */
export function listVirtualNodeNodes(cluster: ClusterPort): Promise<KubeObject[]> {
  return cluster.list<KubeObject>('v1', 'Node', { labelSelector: VNODE_NODE_SELECTOR });
}

export async function findNodeOf(cluster: ClusterPort, v: Pick<VirtualNodeInfo, 'id' | 'intranetIp'>, region: string): Promise<KubeObject | undefined> {
  return nodeOfVirtualNode(await listVirtualNodeNodes(cluster), v, region)
    ?? await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: assumedNodeName(region, v.id) });
}

/** Ready, and schedulable by the node-lifecycle controller's measure: its not-ready taint is gone too. */
export { nodeUsable } from '../ground/virtual-nodes.js';
