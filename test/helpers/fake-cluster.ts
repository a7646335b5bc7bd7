import { EventEmitter } from 'node:events';
import { operationError, interrupted } from '../../src/errors.js';
import type { AccessCheck, ClusterInfo, ClusterPort, EvictionOutcome, KubeObject, ListOptions, ObjectRef, PatchStrategy, ServerVersion, WatchEventType } from '../../src/cluster/port.js';

function key(r: { apiVersion: string; kind: string; namespace?: string | undefined; name: string }): string {
  return `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matchesLabels(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    // a bare key selects objects that have the label, whatever its value
    return v === undefined ? obj.metadata.labels?.[k!] !== undefined : obj.metadata.labels?.[k!] === v;
  });
}

function matchesFields(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    if (k === 'metadata.name') return obj.metadata.name === v;
    if (k === 'type') return obj.type === v;
    return false;
  });
}

/**
 * An in-memory cluster with the API server's behaviour that vnode relies on: 404/409, merge patch,
 * stringData folded into data, the token controller filling ServiceAccount token Secrets, watches.
 */
/** The runner's lock around a mutating command: its bookkeeping, not one of the command's writes. */
const isLock = (o: KubeObject): boolean => o.kind === 'Lease' && o.metadata.name === 'vnode-lock';

export class FakeCluster implements ClusterPort {
  readonly objects = new Map<string, KubeObject>();
  readonly events = new EventEmitter();
  serverVersion: ServerVersion = { major: 1, minor: 20, gitVersion: 'v1.20.2' };
  gvs = ['v1', 'certificates.k8s.io/v1', 'policy/v1beta1', 'rbac.authorization.k8s.io/v1', 'apps/v1'];
  denied: AccessCheck[] = [];
  writes = 0;
  private rv = 1;

  constructor(readonly info: ClusterInfo = {
    contextName: 'fake', clusterName: 'fake', server: 'https://10.0.0.10:6443', caData: Buffer.from('CA').toString('base64'), caFile: undefined, insecureSkipTlsVerify: false,
  }) {}

  async version(): Promise<ServerVersion> { return this.serverVersion; }
  async groupVersions(): Promise<string[]> { return this.gvs; }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const o = this.objects.get(key(ref));
    return o ? (structuredClone(o) as T) : undefined;
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<T[]> {
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind && (!opts.namespace || o.metadata.namespace === opts.namespace))
      .filter((o) => matchesLabels(o, opts.labelSelector) && matchesFields(o, opts.fieldSelector))
      .map((o) => structuredClone(o) as T);
  }

  private store(obj: KubeObject): KubeObject {
    obj.metadata.resourceVersion = String(this.rv++);
    this.objects.set(key({ ...obj, name: obj.metadata.name!, namespace: obj.metadata.namespace }), obj);
    this.events.emit('change', obj);
    return structuredClone(obj);
  }

  async create<T extends KubeObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    const o = structuredClone(obj) as KubeObject;
    if (this.objects.has(key({ ...o, name: o.metadata.name!, namespace: o.metadata.namespace }))) {
      throw operationError('AlreadyExists', `${o.kind} "${o.metadata.name}" already exists`);
    }
    if (opts.dryRun) return o as T;
    if (!isLock(o)) this.writes++;
    o.metadata.uid = `uid-${this.rv}`;
    if (o.stringData) {
      const data = { ...(o.data as Record<string, string> | undefined) };
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) data[k] = Buffer.from(v).toString('base64');
      o.data = data;
      delete o.stringData;
    }
    const stored = this.store(o) as T;
    if (o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token') {
      // the token controller, a moment later
      setImmediate(() => {
        const s = this.objects.get(key({ ...o, name: o.metadata.name!, namespace: o.metadata.namespace }));
        if (!s) return;
        s.data = { ...(s.data as Record<string, string>), token: Buffer.from(`jwt-for-${o.metadata.name}-${'x'.repeat(120)}`).toString('base64') };
        this.store(s);
      });
    }
    return stored;
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: unknown, _strategy: PatchStrategy): Promise<T> {
    const cur = this.objects.get(key(ref));
    if (!cur) throw operationError('NotFound', `${ref.kind} "${ref.name}" not found`);
    if (!isLock(cur)) this.writes++;
    return this.store(mergePatch(cur, patch) as KubeObject) as T;
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    const k = key(ref);
    const had = this.objects.delete(k);
    if (had) { this.writes++; this.events.emit('change', { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, deleted: true }); }
    return had;
  }

  async waitFor<T extends KubeObject>(ref: ObjectRef, done: (o: T | undefined) => boolean, opts: { timeoutMs: number; signal: AbortSignal }): Promise<T | undefined> {
    const now = await this.get<T>(ref);
    if (done(now)) return now;
    return new Promise((resolve, reject) => {
      const timer = opts.timeoutMs > 0 ? setTimeout(() => { cleanup(); reject(operationError('Timeout', `timed out waiting for ${ref.kind} ${ref.name}`)); }, opts.timeoutMs) : undefined;
      const onAbort = (): void => { cleanup(); reject(interrupted()); };
      const onChange = async (): Promise<void> => {
        const o = await this.get<T>(ref);
        if (done(o)) { cleanup(); resolve(o); }
      };
      const cleanup = (): void => { clearTimeout(timer); this.events.off('change', onChange); opts.signal.removeEventListener('abort', onAbort); };
      this.events.on('change', onChange);
      opts.signal.addEventListener('abort', onAbort);
    });
  }

  async watchList<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, onEvent: (type: WatchEventType, obj: T) => void, signal: AbortSignal,
    onSynced?: (present: T[]) => void): Promise<void> {
    const initial = await this.list<T>(apiVersion, kind, opts);
    for (const o of initial) onEvent('ADDED', o);
    onSynced?.(initial);
    const onChange = (o: KubeObject & { deleted?: boolean }): void => {
      if (o.apiVersion !== apiVersion || o.kind !== kind) return;
      onEvent(o.deleted ? 'DELETED' : 'MODIFIED', structuredClone(o) as T);
    };
    this.events.on('change', onChange);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.events.off('change', onChange);
  }

  /** PodDisruptionBudgets are not modelled: every eviction succeeds and the pod goes at once. */
  async evictPod(namespace: string, name: string): Promise<EvictionOutcome> {
    return (await this.deletePod(namespace, name)) ? { kind: 'evicted' } : { kind: 'gone' };
  }

  async deletePod(namespace: string, name: string): Promise<boolean> {
    const ref = { apiVersion: 'v1', kind: 'Pod', namespace, name };
    const o = this.objects.get(key(ref));
    if (!o) return false;
    this.objects.delete(key(ref));
    this.writes++;
    this.events.emit('change', { ...o, deleted: true });
    return true;
  }

  async canI(check: AccessCheck): Promise<boolean> {
    return !this.denied.some((d) => d.verb === check.verb && d.resource === check.resource);
  }
}
