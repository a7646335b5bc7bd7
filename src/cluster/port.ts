/** The Kubernetes port: only the calls vnode makes. The real one is kube.ts; tests also use an in-memory one. */

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'vnode';
/** Which vnode identity (or virtual node) an object belongs to. */
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ServerVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

export interface AccessCheck {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Served from the API server's cache (resourceVersion=0): a moment behind, but no read of etcd (a frequent list). */
  fromCache?: boolean;
  /** Keep only what the caller needs of each object, as soon as it arrives (large lists). */
  project?: (o: KubeObject) => KubeObject;
}

export interface ClusterTarget {
  kubeconfig: string | undefined;
  context: string | undefined;
}

/** The kubeconfig entry vnode connected through: what a new kubeconfig for a virtual node copies. */
export interface ClusterInfo {
  contextName: string;
  clusterName: string;
  server: string;
  caData: string | undefined;
  caFile: string | undefined;
  insecureSkipTlsVerify: boolean;
}

export type PatchStrategy = 'merge' | 'strategic' | 'json';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type EvictionOutcome =
  | { kind: 'evicted' }
  | { kind: 'gone' }
  /** 429: a PodDisruptionBudget forbids it now (pdb) or the server sheds load (throttled). */
  | { kind: 'blocked'; reason: 'pdb' | 'throttled'; retryAfterMs: number | undefined; message: string };

export interface ClusterPort {
  readonly info: ClusterInfo;
  version(): Promise<ServerVersion>;
  /** API group versions the server offers, e.g. "policy/v1beta1", "v1". */
  groupVersions(): Promise<string[]>;
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject>(apiVersion: string, kind: string, opts?: ListOptions): Promise<T[]>;
  create<T extends KubeObject>(obj: T, opts?: { dryRun?: boolean }): Promise<T>;
  patch<T extends KubeObject>(ref: ObjectRef, patch: unknown, strategy: PatchStrategy): Promise<T>;
  /** Returns false when it was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
  /** Resolves with the object once `done` holds, watching (no polling); rejects on timeout or abort. */
  waitFor<T extends KubeObject>(ref: ObjectRef, done: (obj: T | undefined) => boolean, opts: { timeoutMs: number; signal: AbortSignal }): Promise<T | undefined>;
  /** SelfSubjectAccessReview for the connected identity. */
  canI(check: AccessCheck): Promise<boolean>;
  /**
   * Streams a collection: every current object as ADDED, then changes, until the signal fires. A broken watch
   * is resumed; an expired one re-lists (objects gone meanwhile come as DELETED).
   */
  watchList<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, onEvent: (type: WatchEventType, obj: T) => void, signal: AbortSignal,
    onSynced?: (present: T[]) => void): Promise<void>;
  /** POST pods/<name>/eviction with the given policy group version. */
  evictPod(namespace: string, name: string, policyVersion: string, gracePeriodSeconds: number | undefined): Promise<EvictionOutcome>;
  /** DELETE the pod (no PodDisruptionBudget check); false when it was already gone. */
  deletePod(namespace: string, name: string, gracePeriodSeconds: number | undefined): Promise<boolean>;
}

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`;
}
