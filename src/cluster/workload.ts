import type { ClusterPort, KubeObject } from './port.js';

type Owner = { kind: string; name: string; controller?: boolean };

/** The workload a pod belongs to ("Deployment ns/name"): its controller, a ReplicaSet's Deployment; cached per ReplicaSet. */
export async function workloadOf(cluster: ClusterPort, p: KubeObject, cache: Map<string, string>): Promise<string | undefined> {
  const owner = (p.metadata.ownerReferences as Owner[] | undefined)?.find((o) => o.controller);
  if (!owner) return undefined;
  const ns = p.metadata.namespace!;
  if (owner.kind !== 'ReplicaSet') return `${owner.kind} ${ns}/${owner.name}`;
  const key = `${ns}/${owner.name}`;
  if (!cache.has(key)) {
    const rs = await cluster.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns, name: owner.name });
    const dep = (rs?.metadata.ownerReferences as Owner[] | undefined)?.find((o) => o.controller);
    cache.set(key, dep ? `${dep.kind} ${ns}/${dep.name}` : `ReplicaSet ${ns}/${owner.name}`);
  }
  return cache.get(key);
}
