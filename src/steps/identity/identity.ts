import { randomInt } from 'node:crypto';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type KubeObject } from '../../cluster/port.js';
import { managed } from '../../cluster/ensure.js';
import { renderTemplate } from '../../util/templates.js';

export type IdentityMode = 'serviceaccount' | 'bootstrap';

export const NAMESPACE = 'kube-system';
/** Extra group of vnode's bootstrap tokens, so only they get the bootstrap permissions. */
export const BOOTSTRAP_GROUP = 'system:bootstrappers:vnode';
/** The organization of every virtual node's client certificate. */
export const VNODES_GROUP = 'system:vnodes';
export const DEFAULT_APPROVER_IMAGE = 'registry.cn-hangzhou.aliyuncs.com/eci-release/vnode-approver:0.0.1';
export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';

const NODECLIENT = 'system:certificates.k8s.io:certificatesigningrequests:nodeclient';
const SELFNODECLIENT = 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient';
export const EXTRA_ROLE = 'vnode:extra';
export const EXTRA_ENDPOINTS_ROLE = 'vnode:extra-endpoints';

export interface IdentitySpec {
  name: string;
  mode: IdentityMode;
  extraPrivilege: boolean;
  approverImage: string;
  /** Extra labels on the identity's own objects (not on what all virtual nodes share). */
  labels?: Record<string, string>;
}

type Subject = { kind: 'Group'; name: string; apiGroup: string } | { kind: 'ServiceAccount'; name: string; namespace: string };

function clusterRole(name: string, rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]): KubeObject {
  return managed({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules });
}

function binding(name: string, role: string, subject: Subject, labels: Record<string, string> = {}): KubeObject {
  return managed({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [subject],
  }, labels);
}

/** The roles the virtual node's identity needs (the ECI documentation's table): nothing broader. */
export function nodeRoles(extraPrivilege: boolean): { suffix: string; role: string }[] {
  const roles = [
    { suffix: 'node', role: 'system:node' },
    { suffix: 'node-proxier', role: 'system:node-proxier' },
    { suffix: 'selfnodeclient', role: SELFNODECLIENT },
    { suffix: 'extra', role: EXTRA_ROLE },
  ];
  if (extraPrivilege) roles.push({ suffix: 'extra-endpoints', role: EXTRA_ENDPOINTS_ROLE });
  return roles;
}

/**
 * Every object the identity needs except its token, in apply order (roles before bindings).
 * ServiceAccount mode binds per identity; bootstrap mode binds vnode's groups once, shared by all virtual nodes.
 */
export function identityObjects(spec: IdentitySpec): KubeObject[] {
  const objs: KubeObject[] = [
    clusterRole(EXTRA_ROLE, [
      { apiGroups: [''], resources: ['pods'], verbs: ['update', 'patch'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['update', 'patch'] },
    ]),
  ];
  if (spec.extraPrivilege) objs.push(clusterRole(EXTRA_ENDPOINTS_ROLE, [{ apiGroups: [''], resources: ['endpoints'], verbs: ['create', 'update'] }]));

  if (spec.mode === 'serviceaccount') {
    const inst = { ...spec.labels, [INSTANCE_LABEL]: spec.name };
    const sa: Subject = { kind: 'ServiceAccount', name: spec.name, namespace: NAMESPACE };
    objs.push(managed({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: spec.name, namespace: NAMESPACE } }, inst));
    for (const { suffix, role } of [...nodeRoles(spec.extraPrivilege), { suffix: 'nodeclient', role: NODECLIENT }]) {
      objs.push(binding(`vnode:${spec.name}:${suffix}`, role, sa, inst));
    }
    return objs;
  }

  const bootstrappers: Subject = { kind: 'Group', name: BOOTSTRAP_GROUP, apiGroup: 'rbac.authorization.k8s.io' };
  const vnodes: Subject = { kind: 'Group', name: VNODES_GROUP, apiGroup: 'rbac.authorization.k8s.io' };
  objs.push(binding('vnode:bootstrappers:node-bootstrapper', 'system:node-bootstrapper', bootstrappers));
  objs.push(binding('vnode:bootstrappers:nodeclient', NODECLIENT, bootstrappers));
  for (const { suffix, role } of nodeRoles(spec.extraPrivilege)) objs.push(binding(`vnode:vnodes:${suffix}`, role, vnodes));
  objs.push(...approverObjects(spec.approverImage));
  return objs;
}

export function approverObjects(image: string): KubeObject[] {
  return renderTemplate('vnode-approver.yaml', { image }).map((o) => managed(o));
}

/** The long-lived token Secret of the ServiceAccount (not a TokenRequest token: those expire). */
export function serviceAccountTokenSecret(name: string, labels: Record<string, string> = {}): KubeObject {
  return managed({
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: `${name}-token`, namespace: NAMESPACE, annotations: { 'kubernetes.io/service-account.name': name } },
    type: SA_TOKEN_TYPE,
  }, { ...labels, [INSTANCE_LABEL]: name });
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return s;
}

export interface BootstrapToken {
  id: string;
  secret: string;
  expiresAt: Date | undefined;
}

export function newBootstrapToken(ttlMs: number, now: Date): BootstrapToken {
  return { id: randomString(6), secret: randomString(16), expiresAt: ttlMs > 0 ? new Date(now.getTime() + ttlMs) : undefined };
}

export function bootstrapTokenSecret(name: string, token: BootstrapToken, labels: Record<string, string> = {}): KubeObject {
  const data: Record<string, string> = {
    'token-id': token.id,
    'token-secret': token.secret,
    'usage-bootstrap-authentication': 'true',
    'auth-extra-groups': BOOTSTRAP_GROUP,
    description: `vnode TLS bootstrap token for virtual node identity ${name}`,
  };
  if (token.expiresAt) data.expiration = token.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: `bootstrap-token-${token.id}`, namespace: NAMESPACE, labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY, [INSTANCE_LABEL]: name } },
    type: BOOTSTRAP_TOKEN_TYPE,
    stringData: data,
  };
}

/** Reads a bootstrap token back from its Secret (data is base64). */
export function tokenFromSecret(secret: KubeObject): BootstrapToken | undefined {
  const data = (secret.data ?? {}) as Record<string, string>;
  const dec = (k: string): string | undefined => (data[k] === undefined ? undefined : Buffer.from(data[k]!, 'base64').toString('utf8'));
  const id = dec('token-id');
  const sec = dec('token-secret');
  if (!id || !sec) return undefined;
  const exp = dec('expiration');
  return { id, secret: sec, expiresAt: exp ? new Date(exp) : undefined };
}

/**
 * A token of this identity is reused when it still has at least half the requested lifetime left
 * (or, for --ttl 0, when it never expires), so re-runs converge instead of minting tokens.
 */
export function isReusable(token: BootstrapToken, ttlMs: number, now: Date): boolean {
  if (ttlMs === 0) return token.expiresAt === undefined;
  if (!token.expiresAt) return false;
  return token.expiresAt.getTime() - now.getTime() >= ttlMs / 2;
}
