import { deniedAction } from '../../cloud/errors.js';
import type { CloudPorts } from '../../cloud/port.js';
import { ensureObject, managed } from '../../cluster/ensure.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';

export const ADDON_SECRET = { namespace: 'kube-system', name: 'alibaba-addon-secret' };
export const ANNOTATION_USER = 'vnode.dev/ram-user';
export const ANNOTATION_POLICIES = 'vnode.dev/attached-policies';
/** The AccessKey ids vnode created for the RAM user: the only keys revoke (or a rotation) may delete. */
export const ANNOTATION_KEYS = 'vnode.dev/created-access-keys';

export interface AddonSecret {
  accessKeyId: string | undefined;
  ramUser: string | undefined;
  /** "Type:Name" of the policies vnode attached. */
  attachedPolicies: string[];
  /** AccessKeys vnode created for ramUser (recorded when created). */
  createdKeys: string[];
  managedByVnode: boolean;
}

const REF = { apiVersion: 'v1', kind: 'Secret', ...ADDON_SECRET };

/**
 * Whether a key authenticates and may act on ECI. A listing cannot tell (ECI answers a caller without the permission
 * with an empty list, documented), so the permission is asked with a delete of an instance id that cannot exist: a
 * RAM denial means the key may not; NotFound means it may. Throws what the listing threw (a bad key).
 */
export async function keyMayCallEci(cloud: CloudPorts): Promise<{ ok: true } | { ok: false; denied: string }> {
  await cloud.eci.describeContainerGroups({ ids: ['eci-vnode-key-check'] });
  try {
    await cloud.eci.deleteContainerGroup('eci-vnode-key-check', `vnode-key-check-${Date.now()}`);
  } catch (e) {
    const denied = deniedAction(e);
    if (denied) return { ok: false, denied };
    throw e;
  }
  return { ok: true };
}

export async function readAddonSecret(cluster: ClusterPort): Promise<AddonSecret | undefined> {
  const s = await cluster.get<KubeObject>(REF);
  if (!s) return undefined;
  const data = (s.data ?? {}) as Record<string, string>;
  const ann = s.metadata.annotations ?? {};
  return {
    accessKeyId: data['access-key-id'] ? Buffer.from(data['access-key-id'], 'base64').toString('utf8') : undefined,
    ramUser: ann[ANNOTATION_USER],
    attachedPolicies: (ann[ANNOTATION_POLICIES] ?? '').split(',').filter(Boolean),
    createdKeys: (ann[ANNOTATION_KEYS] ?? '').split(',').filter(Boolean),
    managedByVnode: s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
  };
}

export function addonSecretObject(key: { id: string; secret: string }, annotations: Record<string, string>): KubeObject {
  return managed({
    apiVersion: 'v1', kind: 'Secret',
    metadata: { ...ADDON_SECRET, annotations },
    type: 'Opaque',
    data: { 'access-key-id': Buffer.from(key.id).toString('base64'), 'access-key-secret': Buffer.from(key.secret).toString('base64') },
  });
}

export async function writeAddonSecret(cluster: ClusterPort, key: { id: string; secret: string }, annotations: Record<string, string>): Promise<string> {
  return (await ensureObject(cluster, addonSecretObject(key, annotations))).action;
}

export async function deleteAddonSecret(cluster: ClusterPort): Promise<boolean> {
  return cluster.delete(REF);
}

/**
 * The AccessKeys vnode created, per RAM user, kept apart from the Secret: deleting the Secret and writing the same
 * key back (`vnode secret create`) must not make vnode forget a key it owns.
 */
export const KEY_LEDGER = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-ram-keys' };
/**
 * The policies ("Type:Name") vnode attached, per RAM user, written before each attach: an interrupt at any point
 * leaves a record at least as large as what vnode did, so revoke detaches all of it.
 */
export const POLICY_LEDGER = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-ram-policies' };
type Ledger = typeof KEY_LEDGER;

async function readLedger(cluster: ClusterPort, ledger: Ledger, user: string): Promise<string[]> {
  const cm = await cluster.get<KubeObject>(ledger);
  return (((cm?.data ?? {}) as Record<string, string>)[user] ?? '').split(',').filter(Boolean);
}

/** Sets the user's entry (none when ids is empty); a ledger with no entry left goes. */
async function writeLedger(cluster: ClusterPort, ledger: Ledger, user: string, ids: string[]): Promise<void> {
  const cm = await cluster.get<KubeObject>(ledger);
  const data = { ...((cm?.data ?? {}) as Record<string, string>) };
  const value = [...new Set(ids)].join(',');
  if ((data[user] ?? '') === value) return;
  if (!cm) {
    await ensureObject(cluster, managed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ledger.name, namespace: ledger.namespace }, data: { [user]: value } } as KubeObject));
    return;
  }
  if (!value && Object.keys(data).every((k) => k === user)) {
    await cluster.delete(ledger);
    return;
  }
  // a merge patch: null removes the user's entry (a create-or-update would keep it)
  await cluster.patch(ledger, { metadata: { resourceVersion: cm.metadata.resourceVersion }, data: { [user]: value || null } }, 'merge');
}

export const readKeyLedger = (cluster: ClusterPort, user: string): Promise<string[]> => readLedger(cluster, KEY_LEDGER, user);
export const writeKeyLedger = (cluster: ClusterPort, user: string, ids: string[]): Promise<void> => writeLedger(cluster, KEY_LEDGER, user, ids);
export const readPolicyLedger = (cluster: ClusterPort, user: string): Promise<string[]> => readLedger(cluster, POLICY_LEDGER, user);
export const writePolicyLedger = (cluster: ClusterPort, user: string, refs: string[]): Promise<void> => writeLedger(cluster, POLICY_LEDGER, user, refs);

/** Every policy vnode recorded attaching to user: the Secret's annotation (older runs) and the ledger. */
export async function attachedByVnode(cluster: ClusterPort, user: string, secret: AddonSecret | undefined): Promise<string[]> {
  return [...new Set([...(secret?.ramUser === user ? secret.attachedPolicies : []), ...(await readPolicyLedger(cluster, user))])];
}
