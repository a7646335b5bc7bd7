import { operationError } from '../errors.js';
import type { ClusterPort, KubeObject } from './port.js';

/** The kube-system namespace's UID: a stable identity of the cluster (names and ECI tags derive from it). */
export async function clusterUid(cluster: ClusterPort, hint?: string): Promise<string> {
  const ns = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' });
  const uid = ns?.metadata.uid;
  if (!uid) throw operationError('NoKubeSystem', 'cannot read the kube-system namespace, which identifies the cluster', hint ? { hint } : {});
  return uid;
}
