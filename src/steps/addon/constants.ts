/**
 * The ack-virtual-node add-on on a registered cluster, as Alibaba's documents describe it (ACK One "Use virtual nodes
 * in a registered cluster", "Configure an eci-profile", the virtual-node FAQ). Names the documents do not give are
 * marked ASSUMPTION.
 */

import { ADDON_NAMESPACE } from '../ground/virtual-nodes.js';

export {
  ADDON, ADDON_NAMESPACE as NAMESPACE, ADDON_NODE_LABELS as NODE_LABELS, ADDON_NODE_PREFIX as NODE_PREFIX, ADDON_TAINT as TAINT, CONTROLLER_DEPLOYMENT, ECI_PROFILE,
  nodeNameForZone, VNODE_LABEL,
} from '../ground/virtual-nodes.js';
export const VK_WEBHOOK = 'vk-webhook';

/** The cluster type of a registered cluster. */
export const CLUSTER_TYPE = 'ExternalKubernetes';
/**
 * ASSUMPTION: the agent's Deployment name is inferred from the component name ack-cluster-agent; vnode applies the
 * manifest DescribeExternalAgent returns verbatim and only reads this name to report its readiness.
 */
export const AGENT_DEPLOYMENT = 'ack-cluster-agent';

/** Where vnode records the registration in the cluster itself, so any machine can re-run. */
export const REGISTRATION = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ADDON_NAMESPACE, name: 'vnode-registration' };
/** On each object vnode applied from the agent manifest. */
export const PART_OF_LABEL = 'vnode.dev/part-of';
export const AGENT_PART = 'ack-cluster-agent';

/** eci-profile keys vnode writes (documented; all values are strings). */
export const PROFILE_KEYS = { vSwitchIds: 'vSwitchIds', securityGroupId: 'securityGroupId', vpcId: 'vpcId', enableClusterIp: 'enableClusterIp', resourceGroupId: 'resourceGroupId' } as const;
