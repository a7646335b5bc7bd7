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
