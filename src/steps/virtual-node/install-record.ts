import { createHash } from 'node:crypto';
import { ensureObject, managed } from '../../cluster/ensure.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject, type ObjectRef } from '../../cluster/port.js';
import { NAMESPACE } from '../identity/identity.js';

/** Who this record belongs to: the install name (with --count, the nodes are <name>-1..n). */
export const RECORD_NAME_LABEL = 'vnode.dev/install';
const PREFIX = 'vnode-install-';

/**
 * One install of a name, kept in the cluster (no local state): its UID seeds the ClientTokens of that
 * install's CreateVirtualNode calls. A re-run of the same install finds the same record, so a retried
 * or interrupted create gets ECI's remembered answer; uninstall deletes the record before DeleteVirtualNode,
 * so installing the name again is a new install with new tokens (ECI remembers old tokens for a while).
 */
export interface InstallRecord {
  name: string;
  uid: string;
  nodes: string[];
  /** The API server address in the kubeconfig sent to ECI (what the VNode dials), when vnode knows it. */
  server: string | undefined;
}

export function installRecordName(name: string): string {
  return `${PREFIX}${name}`;
}

function ref(name: string): ObjectRef {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: installRecordName(name) };
}

function toRecord(o: KubeObject): InstallRecord {
  const data = (o.data ?? {}) as Record<string, string>;
  return { name: o.metadata.labels?.[RECORD_NAME_LABEL] ?? '', uid: o.metadata.uid ?? '', nodes: (data.nodes ?? '').split(',').filter(Boolean), server: data.server || undefined };
}

export async function findInstallRecord(cluster: ClusterPort, name: string): Promise<InstallRecord | undefined> {
  const o = await cluster.get<KubeObject>(ref(name));
  return o ? toRecord(o) : undefined;
}

/** Creates the record, or widens its node list; the UID of an existing record never changes. */
export async function ensureInstallRecord(cluster: ClusterPort, name: string, nodes: string[], server?: string): Promise<InstallRecord> {
  const live = await findInstallRecord(cluster, name);
  const all = [...new Set([...(live?.nodes ?? []), ...nodes])];
  const known = server ?? live?.server;
  const r = await ensureObject(cluster, managed({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: installRecordName(name), namespace: NAMESPACE },
    data: { nodes: all.join(','), ...(known ? { server: known } : {}) },
  } as KubeObject, { [RECORD_NAME_LABEL]: name }));
  return toRecord(r.object);
}

export async function listInstallRecords(cluster: ClusterPort): Promise<InstallRecord[]> {
  const list = await cluster.list<KubeObject>('v1', 'ConfigMap', { namespace: NAMESPACE, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${RECORD_NAME_LABEL}` });
  return list.map(toRecord);
}

export async function deleteInstallRecord(cluster: ClusterPort, name: string): Promise<boolean> {
  return cluster.delete(ref(name));
}

/** Stable across retries and re-runs of one install, new for each install (ECI allows 64 ASCII characters). */
export function clientToken(clusterId: string, region: string, node: string, recordUid: string): string {
  return `vnode-${createHash('sha256').update(`${clusterId}/${region}/${node}/${recordUid}`).digest('hex').slice(0, 40)}`;
}
