/**
 * A command's contract, declared where the command is defined: what it may call of Alibaba Cloud, what it needs of
 * Kubernetes, what it risks, what it waits for and whether a re-run converges. `vnode ram operator-policy --for` and
 * `vnode schema` print it; the suite runs every command under exactly the policy it declares.
 */

/** read: changes nothing; change: changes things, bills nothing new; delete-or-bill: deletes, or creates what is billed. */
export type Risk = 'read' | 'change' | 'delete-or-bill';

/** Kubernetes access as a Role rule: verbs on resources of an API group ('' is the core group). */
export interface Access { group: string; resources: string[]; verbs: string[] }

export interface Contract {
  /**
   * The Alibaba Cloud actions (RAM action names, e.g. eci:CreateVirtualNode) the command may call: all of them, and
   * by flag where some flags add calls (the key is the flag as typed, e.g. '--mode addon', '--force').
   */
  cloud: { always: string[]; when?: Record<string, string[]> };
  kubernetes: Access[];
  /** More Kubernetes access some flags need (e.g. --mode addon applies Alibaba's agent manifest, whatever it holds). */
  kubernetesByFlag?: Record<string, Access[]>;
  risk: Risk | { always: Risk; when: Record<string, Risk> };
  /** What it waits for, if anything. */
  waits?: string;
  /** Whether running it again converges (never duplicates, never fails for what is done). */
  converges: boolean;
}

/** Every cloud action a command may call, whatever its flags. */
export function allActions(c: Contract): string[] {
  return [...new Set([...c.cloud.always, ...Object.values(c.cloud.when ?? {}).flat()])].sort();
}

/**
 * Actions no custom policy grants or needs to: any identity may call GetCallerIdentity; OpenAckService is the account's
 * or AdministratorAccess's only (documented). A command declares them; a policy leaves them out.
 */
export const NOT_IN_POLICIES = ['sts:GetCallerIdentity', 'cs:OpenAckService'];

/** Every Kubernetes access a command may need, whatever its flags. */
export function allAccess(c: Contract): Access[] {
  return [...c.kubernetes, ...Object.values(c.kubernetesByFlag ?? {}).flat()];
}

/** A RAM policy document allowing exactly these actions (CreateServiceLinkedRole only for ECI's VNode role, as AliyunECIFullAccess scopes it). */
export function policyOf(actions: string[]): Record<string, unknown> {
  const plain = actions.filter((a) => a !== 'ram:CreateServiceLinkedRole' && !NOT_IN_POLICIES.includes(a)).sort();
  return {
    Version: '1',
    Statement: [
      ...(plain.length ? [{ Effect: 'Allow', Action: plain, Resource: '*' }] : []),
      ...(actions.includes('ram:CreateServiceLinkedRole')
        ? [{ Effect: 'Allow', Action: 'ram:CreateServiceLinkedRole', Resource: '*', Condition: { StringEquals: { 'ram:ServiceName': 'vnode.eci.aliyuncs.com' } } }] : []),
    ],
  };
}

/** The rules of a ClusterRole granting this access, merged by group and resource. */
export function rulesOf(access: Access[]): Access[] {
  const by = new Map<string, Set<string>>();
  for (const a of access) for (const r of a.resources) {
    const k = `${a.group}\u0000${r}`;
    by.set(k, new Set([...(by.get(k) ?? []), ...a.verbs]));
  }
  const rules = new Map<string, Access>();
  for (const [k, verbs] of by) {
    const [group, resource] = k.split('\u0000') as [string, string];
    const v = [...verbs].sort();
    const key = `${group}\u0000${v.join(',')}`;
    const rule = rules.get(key) ?? { group, resources: [], verbs: v };
    rule.resources.push(resource);
    rules.set(key, rule);
  }
  return [...rules.values()].map((r) => ({ ...r, resources: r.resources.sort() })).sort((a, b) => `${a.group}/${a.resources[0]}`.localeCompare(`${b.group}/${b.resources[0]}`));
}

/** Common access shapes. */
export const READ = ['get', 'list', 'watch'];
export const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
/** The cluster's lock (kube-system/vnode-lock), held by every command that changes anything. */
export const LOCK_ACCESS: Access = { group: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'create', 'update', 'patch'] };

/**
 * What creating or removing a VNode's identity and its install needs of Kubernetes: the ServiceAccount or bootstrap
 * token, the RBAC it binds (bind and escalate: the node's rights are granted, not held), the install record, the
 * DaemonSets kept off virtual nodes, the Node, and vnode-approver for --bootstrap.
 */
export const VNODE_ACCESS: Access[] = [
  LOCK_ACCESS,
  { group: '', resources: ['namespaces', 'services', 'endpoints'], verbs: READ },
  { group: '', resources: ['nodes', 'pods'], verbs: WRITE },
  { group: '', resources: ['pods/eviction', 'serviceaccounts/token'], verbs: ['create'] },
  { group: '', resources: ['serviceaccounts', 'secrets', 'configmaps'], verbs: WRITE },
  { group: 'rbac.authorization.k8s.io', resources: ['clusterroles', 'clusterrolebindings'], verbs: [...WRITE, 'bind', 'escalate'] },
  { group: 'apps', resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], verbs: WRITE },
  { group: 'policy', resources: ['poddisruptionbudgets'], verbs: READ },
  { group: 'certificates.k8s.io', resources: ['certificatesigningrequests'], verbs: READ },
  { group: 'coordination.k8s.io', resources: ['leases'], verbs: WRITE },
  { group: 'authorization.k8s.io', resources: ['selfsubjectaccessreviews'], verbs: ['create'] },
];

/** Reading what label-based scheduling consists of: the webhook, its server and Secret, Selectors, the add-on's eci-profile. */
export const SCHEDULING_READ: Access[] = [
  { group: '', resources: ['namespaces', 'nodes', 'configmaps', 'secrets', 'services'], verbs: READ },
  { group: 'apps', resources: ['deployments'], verbs: READ },
  { group: 'admissionregistration.k8s.io', resources: ['mutatingwebhookconfigurations'], verbs: READ },
  { group: 'apiextensions.k8s.io', resources: ['customresourcedefinitions'], verbs: READ },
  { group: 'eci.aliyun.com', resources: ['selectors'], verbs: READ },
];

/** Adding or removing a selector: a Selector (and its webhook entry), or an entry of the add-on's eci-profile ConfigMap. */
export const SELECTOR_ACCESS: Access[] = [
  LOCK_ACCESS, ...SCHEDULING_READ,
  { group: '', resources: ['configmaps'], verbs: ['patch', 'update'] },
  { group: 'admissionregistration.k8s.io', resources: ['mutatingwebhookconfigurations'], verbs: ['patch', 'update'] },
  { group: 'eci.aliyun.com', resources: ['selectors'], verbs: WRITE },
];

/**
 * Enabling or disabling label-based scheduling: the Selector CRD, the webhook, its server (ServiceAccount, ClusterRole
 * and binding: bind and escalate, as the server's rights are granted, not held), Secret, code, Deployment, Service,
 * the rollout it waits for, and the namespace labels.
 */
export const SCHEDULING_ACCESS: Access[] = [
  LOCK_ACCESS, ...SCHEDULING_READ,
  { group: '', resources: ['namespaces'], verbs: ['patch'] },
  { group: '', resources: ['serviceaccounts', 'secrets', 'configmaps', 'services'], verbs: WRITE },
  { group: '', resources: ['pods', 'events'], verbs: READ },
  { group: 'apps', resources: ['deployments'], verbs: WRITE },
  { group: 'apps', resources: ['replicasets'], verbs: READ },
  { group: 'rbac.authorization.k8s.io', resources: ['clusterroles', 'clusterrolebindings'], verbs: [...WRITE, 'bind', 'escalate'] },
  { group: 'admissionregistration.k8s.io', resources: ['mutatingwebhookconfigurations'], verbs: WRITE },
  { group: 'apiextensions.k8s.io', resources: ['customresourcedefinitions'], verbs: WRITE },
];

/**
 * Alibaba's agent manifest (the registered cluster's): its content is Alibaba's and binds cluster-admin to its agent,
 * which only a holder of every right may grant. Applying or deleting it needs what cluster-admin has.
 */
export const AGENT_MANIFEST_ACCESS: Access[] = [{ group: '*', resources: ['*'], verbs: ['*'] }];

/** Reading burst limits and their usage: the limits, ledger and price table (ConfigMaps), charged pods, virtual nodes. */
export const LIMIT_READ: Access[] = [
  { group: '', resources: ['configmaps', 'pods', 'nodes'], verbs: READ },
];

/** Setting a limit: its ConfigMap (and the price table), and the charge of pods already on virtual nodes. */
export const LIMIT_ACCESS: Access[] = [
  LOCK_ACCESS, ...LIMIT_READ,
  { group: '', resources: ['configmaps'], verbs: WRITE },
  { group: '', resources: ['pods'], verbs: ['patch'] },
  { group: 'eci.aliyun.com', resources: ['selectors'], verbs: ['get'] },
];
