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

/** Documented: the service-linked role the first CreateVirtualNode of an account creates. */
export const ECI_VNODE_ROLE = 'AliyunServiceRoleForECIVnode';
/**
 * Documented: its service name for CreateServiceLinkedRole (the system policy AliyunECIFullAccess allows
 * ram:CreateServiceLinkedRole under the condition ram:ServiceName in eci.aliyuncs.com, vnode.eci.aliyuncs.com).
 */
export const ECI_VNODE_SERVICE = 'vnode.eci.aliyuncs.com';

/**
 * ASSUMPTION: which of ACK's service roles a registered cluster needs. CheckServiceRole (documented) tells whether
 * each is authorized; the documents list ACK's roles but not which a registration uses. Public reports show a
 * new account's CreateCluster refused for AliyunCSDefaultRole.
 */
export const ACK_SERVICE_ROLES = ['AliyunCSDefaultRole', 'AliyunCSManagedKubernetesRole'];

/**
 * Codes that say a service is not activated. Documented: ECI's ServiceNotEnabled. Public reports: ACK's CreateCluster
 * answers ErrorNotEnabled ("please enable cskpro container service"); no page lists ACK's code, so both count alike.
 */
export const NOT_ACTIVATED_CODES = ['ServiceNotEnabled', 'ErrorNotEnabled'];

/**
 * Public reports (terraform-provider-alicloud issue 149 and others): before ACK's default role exists, the Container
 * Service answers any call, reads included, with 404 EntityNotExist.Role "The role not exists:
 * acs:ram::<uid>:role/aliyuncsdefaultrole." The role's name is read from the ARN.
 */
export const ROLE_MISSING_CODE = 'EntityNotExist.Role';

/** The role an EntityNotExist.Role names (its ARN's name, in ACK's spelling when it is one of ACK's roles). */
export function missingRoleOf(message: string): string | undefined {
  const m = /role\/([A-Za-z0-9_.@-]+)/.exec(message);
  if (!m) return undefined;
  const name = m[1]!.replace(/\.$/, '');
  return ACK_SERVICE_ROLES.find((r) => r.toLowerCase() === name.toLowerCase()) ?? name;
}
