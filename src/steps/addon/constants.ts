/**
 * The ack-virtual-node add-on on a registered cluster, as Alibaba's documents describe it (ACK One "Use virtual nodes
 * in a registered cluster", "Configure an eci-profile", the virtual-node FAQ). Names the documents do not give are
 * marked ASSUMPTION.
 */

export const ADDON = 'ack-virtual-node';
export const NAMESPACE = 'kube-system';
/** The controller the add-on manager deploys. */
export const CONTROLLER_DEPLOYMENT = 'ack-virtual-node-controller';
export const ECI_PROFILE = 'eci-profile';
export const VK_WEBHOOK = 'vk-webhook';
/** One node per zone of eci-profile's vSwitchIds: virtual-kubelet-<region>-<zone letter>, i.e. virtual-kubelet-<zone id>. */
export const NODE_PREFIX = 'virtual-kubelet-';
export function nodeNameForZone(zoneId: string): string {
  return `${NODE_PREFIX}${zoneId}`;
}
/** The taint on every node of the add-on. */
export const TAINT = { key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' };
/** Labels the add-on's nodes register with (as captured from running clusters). */
export const NODE_LABELS: Record<string, string> = { type: 'virtual-kubelet', 'kubernetes.io/role': 'agent', 'beta.kubernetes.io/os': 'linux' };
/** ECI-hosted VNodes carry type=virtual-kubelet as well; this label tells them apart. */
export const VNODE_LABEL = 'k8s.aliyun.com/vnode';

/** The cluster type of a registered cluster. */
export const CLUSTER_TYPE = 'ExternalKubernetes';
/**
 * ASSUMPTION: the agent's Deployment name is inferred from the component name ack-cluster-agent; vnode applies the
 * manifest DescribeExternalAgent returns verbatim and only reads this name to report its readiness.
 */
export const AGENT_DEPLOYMENT = 'ack-cluster-agent';

/** Where vnode records the registration in the cluster itself, so any machine can re-run. */
export const REGISTRATION = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: 'vnode-registration' };
/** On each object vnode applied from the agent manifest. */
export const PART_OF_LABEL = 'vnode.dev/part-of';
export const AGENT_PART = 'ack-cluster-agent';

/** eci-profile keys vnode writes (documented; all values are strings). */
export const PROFILE_KEYS = { vSwitchIds: 'vSwitchIds', securityGroupId: 'securityGroupId', vpcId: 'vpcId', enableClusterIp: 'enableClusterIp', resourceGroupId: 'resourceGroupId' } as const;
