/**
 * What vnode relies on about Alibaba Cloud, in one place. Documented facts first; then ASSUMPTIONS: names and tags
 * no public document confirms. Product logic must not depend on an assumption alone where a documented signal
 * exists; each assumption is listed in docs/assumptions.md.
 */

/** Documented: the pod annotation naming the ECI instance that runs the pod. */
export const INSTANCE_ANNOTATION = 'k8s.aliyun.com/eci-instance-id';

/** Documented ContainerGroup states of an instance that no longer runs (and is no longer billed as running). */
export const TERMINAL_STATUSES = ['Succeeded', 'Failed', 'Expired'];

/**
 * ASSUMPTION: instance tags. virtual-kubelet's open-source alibabacloud provider tagged instances ClusterName,
 * NodeName, NameSpace, PodName and UID; the add-on is assumed to add ClusterId. Whether VNodes and today's add-on
 * do so is not documented: use these to find candidates, never as the only evidence for deleting something
 * unless the user asked for it (--cleanup-orphans, --force).
 */
export const TAG_NODE_NAME = 'NodeName';
export const TAG_CLUSTER_NAME = 'ClusterName';
export const TAG_CLUSTER_ID = 'ClusterId';
export const TAG_NAMESPACE = 'NameSpace';
export const TAG_POD_NAME = 'PodName';
export const TAG_UID = 'UID';

/**
 * ASSUMPTION: a VNode registers its Node as `<region>.<VirtualNodeId>` (the CreateVirtualNode page shows such a
 * name; no document states the rule). vnode finds the Node by the VNode's IntranetIp first (DescribeVirtualNodes
 * returns it; the Node reports it as InternalIP) and uses this name only as a fallback.
 */
export function assumedNodeName(region: string, virtualNodeId: string): string {
  return `${region}.${virtualNodeId}`;
}
