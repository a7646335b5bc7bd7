import { crdNames } from './crd-schema.js';
import {
  ApisApi, AuthorizationV1Api, CoreApi, CoreV1Api, HttpMethod, KubeConfig, KubernetesObjectApi, PatchStrategy as KPatch, VersionApi, Watch,
  type KubernetesListObject, type KubernetesObject,
} from '@kubernetes/client-node';
import { interrupted, operationError } from '../errors.js';
import { collectGarbage } from '../util/gc.js';
import { pause } from '../util/sleep.js';
import { clusterError, httpCode } from './errors.js';
import { resolveKubeconfig } from './kubeconfig.js';
import {
  describeRef, type AccessCheck, type EvictionOutcome, type WatchEventType, type ClusterInfo, type ClusterPort, type ClusterTarget, type KubeObject, type ListOptions,
  type ObjectRef, type PatchStrategy, type ServerVersion,
} from './port.js';

const FIELD_MANAGER = 'vnode';

/** KubernetesObjectApi plus the list path of a kind (for watches), resolved by its discovery cache. */
class ObjectApi extends KubernetesObjectApi {
  init(kc: KubeConfig): this {
    this.setDefaultNamespace(kc);
    return this;
  }

  listPath(ref: ObjectRef): Promise<string> {
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: ref.namespace ? { namespace: ref.namespace } : {} };
    return this.specUriPath(spec, 'list');
  }

  /** A list served from the API server's watch cache (resourceVersion=0, which the generic list cannot send): no etcd read, not paged. */
  async listFromCache(apiVersion: string, kind: string, namespace: string | undefined, fieldSelector: string | undefined, labelSelector: string | undefined): Promise<KubernetesListObject<KubernetesObject>> {
    const path = await this.specUriPath({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
    const req = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    req.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    if (fieldSelector !== undefined) req.setQueryParam('fieldSelector', fieldSelector);
    if (labelSelector !== undefined) req.setQueryParam('labelSelector', labelSelector);
    req.setQueryParam('resourceVersion', '0');
    return this.requestPromise(req);
  }

  /** A JSON patch (RFC 6902): a list of operations, which the generic patch cannot send (it derives the path from the body). */
  async jsonPatch(ref: ObjectRef, ops: unknown[], fieldManager: string): Promise<KubernetesObject> {
    const path = await this.specUriPath(header(ref), 'patch');
    const req = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    req.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    req.setHeaderParam('Content-Type', KPatch.JsonPatch);
    req.setQueryParam('fieldManager', fieldManager);
    req.setBody(JSON.stringify(ops));
    return this.requestPromise(req);
  }
}

const STRATEGY: Record<PatchStrategy, KPatch> = {
  merge: KPatch.MergePatch,
  strategic: KPatch.StrategicMergePatch,
  json: KPatch.JsonPatch,
};

function header(ref: ObjectRef): KubernetesObject & { metadata: { name: string } } {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: ref.namespace ? { name: ref.name, namespace: ref.namespace } : { name: ref.name } };
}

/** Client objects carry Date instances and undefined fields; vnode works with plain JSON. */
/** A model the client returned, as wire JSON. */
function plain<T>(o: unknown): T {
  return crdNames(JSON.parse(JSON.stringify(o)) as T, 'wire');
}

export class KubeCluster implements ClusterPort {
  private readonly objects: ObjectApi;
  private groupVersionCache: Promise<string[]> | undefined;
  private versionCache: Promise<ServerVersion> | undefined;

  private readonly core: CoreV1Api;

  constructor(readonly kc: KubeConfig, readonly info: ClusterInfo, private readonly log: (m: string) => void = () => {}) {
    poolConnections(kc);
    this.objects = kc.makeApiClient(ObjectApi).init(kc);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async evictPod(namespace: string, name: string, policyVersion: string, gracePeriodSeconds: number | undefined): Promise<EvictionOutcome> {
    try {
      await this.core.createNamespacedPodEviction({
        name, namespace,
        body: { apiVersion: policyVersion, kind: 'Eviction', metadata: { name, namespace }, ...(gracePeriodSeconds === undefined ? {} : { deleteOptions: { gracePeriodSeconds } }) },
      });
      return { kind: 'evicted' };
    } catch (e) {
      const code = httpCode(e);
      if (code === 404) return { kind: 'gone' };
      if (code === 429) {
        const headers = (e as { headers?: Record<string, string> }).headers ?? {};
        const ra = Number(headers['retry-after']);
        const message = statusMessage(e);
        return { kind: 'blocked', reason: /disruption budget/i.test(message) ? 'pdb' : 'throttled', retryAfterMs: Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined, message };
      }
      throw clusterError(e, `evict pod ${namespace}/${name}`, this.info.server);
    }
  }

  async deletePod(namespace: string, name: string, gracePeriodSeconds: number | undefined): Promise<boolean> {
    try {
      await this.core.deleteNamespacedPod({ name, namespace, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) });
      return true;
    } catch (e) {
      if (httpCode(e) === 404) return false;
      throw clusterError(e, `delete pod ${namespace}/${name}`, this.info.server);
    }
  }

  async watchList<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, onEvent: (type: WatchEventType, obj: T) => void, signal: AbortSignal,
    onSynced?: (present: T[]) => void): Promise<void> {
    const ref = { apiVersion, kind, name: '', ...(opts.namespace ? { namespace: opts.namespace } : {}) };
    const path = await this.call(`watch ${kind}`, () => this.objects.listPath(ref));
    const known = new Map<string, T>();
    const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    const watcher = new Watch(this.kc);
    let rv: string | undefined;
    while (!signal.aborted) {
      if (rv === undefined) {
        const { items, resourceVersion } = await this.listWithVersion<T>(apiVersion, kind, opts);
        rv = resourceVersion;
        const seen = new Set(items.map(key));
        for (const [k, o] of known) if (!seen.has(k)) { known.delete(k); onEvent('DELETED', o); }
        for (const o of items) { known.set(key(o), tombstone(o)); onEvent('ADDED', o); }
        onSynced?.(items);
      }
      // closed: the server ended it, resume from rv; expired (410): list again; failed: list again, which reports a server that is gone
      const ended = await new Promise<'closed' | 'expired' | 'failed'>((resolve) => {
        let ctl: AbortController | undefined;
        let done = false;
        const finish = (how: 'closed' | 'expired' | 'failed'): void => { if (done) return; done = true; signal.removeEventListener('abort', onAbort); ctl?.abort(); resolve(how); };
        const onAbort = (): void => finish('closed');
        // aborted while listing: an abort listener added now would never fire
        if (signal.aborted) { finish('closed'); return; }
        signal.addEventListener('abort', onAbort);
        watcher.watch(path, { fieldSelector: opts.fieldSelector, labelSelector: opts.labelSelector, resourceVersion: rv, allowWatchBookmarks: true }, (type, raw: KubeObject & { code?: number }) => {
          if (type === 'ERROR') { finish(raw.code === 410 ? 'expired' : 'failed'); return; }
          if (raw?.metadata?.resourceVersion) rv = raw.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          const o = (opts.project ? opts.project(raw) : raw) as T;
          if (type === 'DELETED') known.delete(key(o)); else known.set(key(o), tombstone(o));
          onEvent(type as WatchEventType, o);
        }, (err) => finish(err ? 'failed' : 'closed')).then((c) => { ctl = c; if (done) c.abort(); }, () => finish('failed'));
      });
      if (ended === 'closed') continue;
      rv = undefined;
      if (ended === 'failed' && !signal.aborted) {
        this.log(`k8s: watch ${kind} failed; listing again`);
        // a watch refused again and again must not become a busy loop
        await pause(500, signal);
      }
    }
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    this.log(`k8s: ${action}`);
    try {
      return await fn();
    } catch (e) {
      throw clusterError(e, action, this.info.server);
    }
  }

  version(): Promise<ServerVersion> {
    this.versionCache ??= this.call('get server version', async () => {
      const v = await this.kc.makeApiClient(VersionApi).getCode();
      return parseVersion(v.gitVersion, v.major, v.minor);
    });
    return this.versionCache;
  }

  groupVersions(): Promise<string[]> {
    this.groupVersionCache ??= this.call('discover API groups', async () => {
      const [core, groups] = await Promise.all([this.kc.makeApiClient(CoreApi).getAPIVersions(), this.kc.makeApiClient(ApisApi).getAPIVersions()]);
      return [...core.versions, ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
    });
    return this.groupVersionCache;
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    this.log(`k8s: get ${describeRef(ref)}`);
    try {
      return plain<T>(await this.objects.read(header(ref)));
    } catch (e) {
      if (httpCode(e) === 404) return undefined;
      throw clusterError(e, `get ${describeRef(ref)}`, this.info.server);
    }
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<T[]> {
    return (await this.listWithVersion<T>(apiVersion, kind, opts)).items;
  }

  /** All pages of one consistent snapshot, and its resourceVersion (to watch from). */
  private async listWithVersion<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions): Promise<{ items: T[]; resourceVersion: string | undefined }> {
    const items: T[] = [];
    let page: { cont: string | undefined; resourceVersion: string | undefined } = { cont: undefined, resourceVersion: undefined };
    let resourceVersion: string | undefined;
    do {
      page = await this.listPage(apiVersion, kind, opts, page.cont, items);
      resourceVersion ??= page.resourceVersion;
      // a projected list is a big one: each page's garbage outlives the young generation and would pile up in the old
      if (opts.project) collectGarbage();
    } while (page.cont);
    return { items, resourceVersion };
  }

  /** One page, appended to items; the raw page is garbage once this returns. */
  private async listPage<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, cont: string | undefined, items: T[]): Promise<{ cont: string | undefined; resourceVersion: string | undefined }> {
    const page = await this.call(`list ${kind}${opts.namespace ? ' in ' + opts.namespace : ''}`, () => (opts.fromCache
      ? this.objects.listFromCache(apiVersion, kind, opts.namespace, opts.fieldSelector, opts.labelSelector)
      : this.objects.list(apiVersion, kind, opts.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector, 500, cont)));
    for (const i of page.items) {
      const o = { apiVersion, kind, ...i } as unknown as KubeObject;
      items.push(plain<T>(opts.project ? opts.project(o) : o));
    }
    return { cont: page.metadata?._continue || undefined, resourceVersion: page.metadata?.resourceVersion };
  }

  create<T extends KubeObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    return this.call(`create ${describeRef({ ...obj, name: obj.metadata.name ?? obj.metadata.generateName ?? '', namespace: obj.metadata.namespace ?? '' })}`, async () =>
      plain<T>(await this.objects.create(crdNames(obj, 'model') as KubernetesObject, undefined, opts.dryRun ? 'All' : undefined, FIELD_MANAGER)));
  }

  patch<T extends KubeObject>(ref: ObjectRef, patch: unknown, strategy: PatchStrategy): Promise<T> {
    if (strategy === 'json') return this.call(`patch ${describeRef(ref)}`, async () => plain<T>(await this.objects.jsonPatch(ref, patch as unknown[], FIELD_MANAGER)));
    const body = crdNames({ ...(patch as Record<string, unknown>), ...header(ref) }, 'model') as KubernetesObject;
    const meta = (patch as { metadata?: Record<string, unknown> }).metadata;
    if (meta) body.metadata = { ...meta, ...header(ref).metadata };
    return this.call(`patch ${describeRef(ref)}`, async () =>
      plain<T>(await this.objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, STRATEGY[strategy])));
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    this.log(`k8s: delete ${describeRef(ref)}`);
    try {
      await this.objects.delete(header(ref));
      return true;
    } catch (e) {
      if (httpCode(e) === 404) return false;
      throw clusterError(e, `delete ${describeRef(ref)}`, this.info.server);
    }
  }

  async canI(check: AccessCheck): Promise<boolean> {
    const api = this.kc.makeApiClient(AuthorizationV1Api);
    const r = await this.call(`check access to ${check.verb} ${check.resource}`, () => api.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb: check.verb, resource: check.resource, group: check.group ?? '', subresource: check.subresource ?? '',
            namespace: check.namespace ?? '', name: check.name ?? '',
          },
        },
      },
    }));
    return Boolean(r.status?.allowed);
  }

  /** Watches one object (list, then watch: no polling, no missed change) until done() holds for it; undefined = absent. */
  async waitFor<T extends KubeObject>(ref: ObjectRef, done: (obj: T | undefined) => boolean, opts: { timeoutMs: number; signal: AbortSignal }): Promise<T | undefined> {
    if (opts.signal.aborted) throw interrupted();
    const stop = new AbortController();
    let match: { obj: T | undefined } | undefined;
    const check = (obj: T | undefined): void => { if (!match && done(obj)) { match = { obj }; stop.abort(); } };
    const onAbort = (): void => stop.abort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs > 0 ? setTimeout(() => stop.abort(), Math.min(opts.timeoutMs, 2_147_000_000)) : undefined;
    try {
      await this.watchList<T>(ref.apiVersion, ref.kind, { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` },
        (type, obj) => check(type === 'DELETED' ? undefined : obj), stop.signal, (present) => check(present[0]));
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
    }
    if (match) return match.obj;
    if (opts.signal.aborted) throw interrupted();
    throw operationError('Timeout', `timed out waiting for ${describeRef(ref)}`);
  }
}

/** What a watch remembers of each object, to report it DELETED after a re-list: its identity only. */
function tombstone<T extends KubeObject>(o: T): T {
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid } } as T;
}

function statusMessage(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'string') { try { return (JSON.parse(body) as { message?: string }).message ?? body; } catch { return body; } }
  if (body && typeof body === 'object') return String((body as { message?: unknown }).message ?? '');
  return '';
}

/**
 * client-node 1.x creates a new agent — so a new TLS connection — for every request. One keep-alive agent per
 * kubeconfig instead: a drain of thousands of pods is then bound by the server, not by handshakes.
 */
export function poolConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createAgent: (cluster: unknown, opts: Record<string, unknown>) => unknown };
  const original = target.createAgent.bind(kc);
  let agent: unknown;
  target.createAgent = (cluster, opts) => (agent ??= original(cluster, { ...opts, keepAlive: true }));
}

export function parseVersion(gitVersion: string, major?: string, minor?: string): ServerVersion {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  const maj = m ? Number(m[1]) : Number.parseInt(major ?? '', 10);
  const min = m ? Number(m[2]) : Number.parseInt(minor ?? '', 10);
  return { major: maj, minor: min, gitVersion };
}

export async function connectCluster(target: ClusterTarget, opts: { env: NodeJS.ProcessEnv; cwd: string; log?: (m: string) => void; warn?: (m: string) => void }): Promise<ClusterPort> {
  let resolved: ReturnType<typeof resolveKubeconfig>;
  try {
    resolved = resolveKubeconfig(target, opts.env, opts.cwd);
  } catch (e) {
    // as kubectl does: in a pod with no kubeconfig, the pod's ServiceAccount
    if ((e as { code?: string }).code === 'KubeconfigNotFound' && !target.kubeconfig && !target.context && opts.env.KUBERNETES_SERVICE_HOST) return inClusterConnection(opts.log);
    throw e;
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(resolved.yaml);
  } catch (e) {
    throw operationError('KubeconfigInvalid', `cannot use context "${resolved.info.contextName}": ${(e as Error).message}`);
  }
  for (const w of resolved.warnings) opts.warn?.(w);
  opts.log?.(`k8s: using context ${resolved.info.contextName} (${resolved.info.server}) from ${resolved.files.join(', ')}`);
  return new KubeCluster(kc, resolved.info, opts.log);
}

function inClusterConnection(log?: (m: string) => void): ClusterPort {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  const c = kc.getCurrentCluster()!;
  log?.(`k8s: using the pod's ServiceAccount (${c.server})`);
  return new KubeCluster(kc, { contextName: kc.getCurrentContext(), clusterName: c.name, server: c.server, caData: c.caData, caFile: c.caFile, insecureSkipTlsVerify: c.skipTLSVerify }, log);
}
