import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { nodeReady } from '../../cluster/node-match.js';
import type { NodeTaint } from './daemonset-affinity.js';

/**
 * The two kinds of virtual node every feature speaks of: the ECI-hosted VNode (`<region>.<VirtualNodeId>`) and the
 * ack-virtual-node add-on's node per zone (`virtual-kubelet-<zone>`); their labels, taints, and the add-on's objects
 * in the cluster that tell whether it is there. Names the documents do not give are marked ASSUMPTION where defined.
 */

export const VNODE_TAINT: NodeTaint = { key: 'k8s.aliyun.com/vnode', value: 'true', effect: 'NoSchedule' };
/** The labels every VNode registers with (the ECI documentation's). */
export const VNODE_LABELS: Record<string, string> = {
  type: 'virtual-kubelet', 'k8s.aliyun.com/vnode': 'true', 'kubernetes.io/role': 'agent', 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'linux',
};
/** ECI-hosted VNodes carry type=virtual-kubelet as the add-on's nodes do; this label tells them apart. */
export const VNODE_LABEL = 'k8s.aliyun.com/vnode';

export const ADDON = 'ack-virtual-node';
export const ADDON_NAMESPACE = 'kube-system';
/** The controller the add-on manager deploys. */
export const CONTROLLER_DEPLOYMENT = 'ack-virtual-node-controller';
export const ECI_PROFILE = 'eci-profile';
export const PROFILE_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ADDON_NAMESPACE, name: ECI_PROFILE };
export const CONTROLLER_REF = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ADDON_NAMESPACE, name: CONTROLLER_DEPLOYMENT };
/** One node per zone of eci-profile's vSwitchIds: virtual-kubelet-<region>-<zone letter>, i.e. virtual-kubelet-<zone id>. */
export const ADDON_NODE_PREFIX = 'virtual-kubelet-';
export function nodeNameForZone(zoneId: string): string {
  return `${ADDON_NODE_PREFIX}${zoneId}`;
}
/** The taint on every node of the add-on. */
export const ADDON_TAINT = { key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' };
/** Labels the add-on's nodes register with (as captured from running clusters). */
export const ADDON_NODE_LABELS: Record<string, string> = { type: 'virtual-kubelet', 'kubernetes.io/role': 'agent', 'beta.kubernetes.io/os': 'linux' };

/** The add-on's nodes: virtual-kubelet-<zone>, labelled type=virtual-kubelet, not ECI-hosted VNodes. */
export async function addonNodes(cluster: ClusterPort): Promise<KubeObject[]> {
  const nodes = await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `type=virtual-kubelet,!${VNODE_LABEL}` });
  return nodes.filter((n) => n.metadata.name!.startsWith(ADDON_NODE_PREFIX)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
}

/** Is anything of the add-on left in the cluster (its controller or its nodes)? */
export async function addonPresent(cluster: ClusterPort): Promise<boolean> {
  return Boolean(await cluster.get(CONTROLLER_REF)) || (await addonNodes(cluster)).length > 0;
}

/** Ready, and not marked not-ready or unreachable by the node controller. */
export function nodeUsable(n: KubeObject | undefined): boolean {
  const taints = ((n?.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []);
  return nodeReady(n) && !taints.some((t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable');
}

/**
 * The add-on's controller reads the AccessKey when it starts: after a new key, a rolling restart (what
 * `kubectl rollout restart` does) makes it use the new one.
 */
export async function restartController(cluster: ClusterPort): Promise<string[]> {
  await cluster.patch(CONTROLLER_REF, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } }, 'strategic');
  return [`Deployment ${ADDON_NAMESPACE}/${CONTROLLER_DEPLOYMENT}`];
}
