import { createHash } from 'node:crypto';
import { MANAGED_BY, MANAGED_BY_LABEL, describeRef, refOf, type ClusterPort, type KubeObject } from './port.js';

export type EnsureAction = 'created' | 'updated' | 'unchanged' | 'replaced';

export interface EnsureResult<T extends KubeObject> {
  action: EnsureAction;
  object: T;
}

/** Fields the server owns or that a merge patch cannot change. */
const IMMUTABLE: Record<string, string[]> = {
  ClusterRoleBinding: ['roleRef'],
  RoleBinding: ['roleRef'],
  Secret: ['type'],
};

/** Adds the managed-by label every vnode object carries. */
export function managed<T extends KubeObject>(obj: T, extraLabels: Record<string, string> = {}): T {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, ...extraLabels, [MANAGED_BY_LABEL]: MANAGED_BY } } };
}

/** True when every field set in `want` has the same value in `have` (maps compared key by key, lists whole). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (want === null || typeof want !== 'object') return want === have;
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isEqualJson(w, have[i]));
  }
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => v === undefined || isSubset(v, (have as Record<string, unknown>)[k]));
}

function isEqualJson(a: unknown, b: unknown): boolean {
  return isSubset(a, b) && isSubset(b, a);
}

function desiredFields(obj: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...obj };
  delete rest.apiVersion;
  delete rest.kind;
  return { ...rest, metadata: { labels: obj.metadata.labels, annotations: obj.metadata.annotations } };
}

/**
 * Create-or-update: read; create when missing; merge-patch when it differs; leave it alone when it matches.
 * Immutable fields that differ (a binding's roleRef) mean delete and create.
 */
export async function ensureObject<T extends KubeObject>(cluster: ClusterPort, desired: T): Promise<EnsureResult<T>> {
  const ref = refOf(desired);
  const live = await cluster.get<T>(ref);
  if (!live) {
    try {
      return { action: 'created', object: await cluster.create(desired) };
    } catch (e) {
      // created concurrently by another run: fall through to the update path once
      if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
      return ensureObject(cluster, desired);
    }
  }
  const fields = desiredFields(desired);
  if (isSubset(fields, live)) return { action: 'unchanged', object: live };
  const immutable = IMMUTABLE[desired.kind] ?? [];
  if (immutable.some((f) => fields[f] !== undefined && !isEqualJson(fields[f], (live as Record<string, unknown>)[f]))) {
    await cluster.delete(ref);
    return { action: 'replaced', object: await cluster.create(desired) };
  }
  return { action: 'updated', object: await cluster.patch<T>(ref, fields, 'merge') };
}

export function describeAction(obj: KubeObject, action: EnsureAction | 'deleted' | 'would create' | 'reused'): string {
  return `${describeRef(refOf(obj))} ${action}`;
}

/** Hash of the spec vnode applied: a re-run compares it instead of fields the server defaults (workloads). */
export const APPLIED_ANNOTATION = 'vnode.dev/applied';

export function withAppliedHash<T extends KubeObject>(obj: T): T {
  const body = obj.spec ?? { ...obj, metadata: undefined };
  const applied = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [APPLIED_ANNOTATION]: applied } } };
}

/** Create, or patch when what vnode would apply differs (by the applied hash of withAppliedHash). */
export async function ensureHashed(cluster: ClusterPort, desired: KubeObject): Promise<EnsureAction> {
  const live = await cluster.get<KubeObject>(refOf(desired));
  if (!live) return (await ensureObject(cluster, desired)).action;
  if (live.metadata.annotations?.[APPLIED_ANNOTATION] === desired.metadata.annotations?.[APPLIED_ANNOTATION]) return 'unchanged';
  const rest: Record<string, unknown> = { ...desired };
  delete rest.apiVersion;
  delete rest.kind;
  await cluster.patch(refOf(desired), { ...rest, metadata: { labels: desired.metadata.labels, annotations: desired.metadata.annotations } }, 'merge');
  return 'updated';
}
