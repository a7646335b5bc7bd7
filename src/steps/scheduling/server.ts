import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { NodeFacts, NodeTaint, PodSchedulingSpec } from '../../cluster/node-match.js';
import type { ClusterPort, KubeObject, ListOptions, WatchEventType } from '../../cluster/port.js';
import { keepWatching } from '../../cluster/watch.js';
import { untilAborted, whenAborted } from '../../util/sleep.js';
import { Limiter, type Verdict } from '../limits/limiter.js';
import { syncEntries } from './entries.js';
import { INJECTED_ANNOTATION, pointer, SCHEDULING_MODES, TARGETS, type PatchOp, type SchedulingMode } from './mutation.js';
import { entryProblem, HEALTH_PATH, METRICS_PATH, MUTATE_PATH } from './webhook.js';
import { admit, BURST_LABEL, burstPatch, burstScopes, BUILT_IN_RULES, isUnschedulable, pick, ruleOf, SELECTOR_API, SELECTOR_KIND, type Rule, type SelectorObject } from './policy.js';

export const SKIPPED_REASON = 'VirtualNodeNotInjected';
export const BURST_REASON = 'BurstToVirtualNode';
export const BAD_SELECTOR_REASON = 'SelectorNotApplied';
export const LIMIT_REASON = 'BurstLimitReached';
const COMPONENT = 'vnode-scheduling';
const MAX_BODY = 3 * 1024 * 1024;
/** The Node.js the server runs on, as Prometheus' *_info convention has it. */
const RUNTIME_INFO = `# HELP vnode_scheduling_nodejs_info The Node.js version the server runs on.\n# TYPE vnode_scheduling_nodejs_info gauge\nvnode_scheduling_nodejs_info{version="${process.version}"} 1\n`;

export interface WebhookServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** Reads the mode's nodes and writes events, as the webhook's ServiceAccount (asked for each use: a token may be renewed). */
  cluster: () => Promise<ClusterPort>;
  log: (m: string) => void;
  /** Burst normal-node-prefer pods to this mode's virtual nodes (the in-cluster server knows its mode from its args). */
  mode?: SchedulingMode;
}

export interface WebhookServer {
  port: number;
  /** New certificate and key for new connections (a renewed Secret). */
  reload(cert: string, key: string): void;
  close(): Promise<void>;
}

interface AdmissionRequest {
  uid: string;
  namespace?: string;
  dryRun?: boolean;
  object?: KubeObject & { spec?: Record<string, unknown> };
}

interface NodeObject extends KubeObject { spec?: { taints?: NodeTaint[] } }

/**
 * The webhook and the burst controller share what they know of the cluster, kept by watches: Selectors, namespace
 * labels and the virtual nodes. Until the first lists arrive the server reports not ready.
 */
export class SchedulingView {
  private readonly selectors = new Map<string, SelectorObject>();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly virtualNodes = new Map<string, NodeObject>();
  private synced = { selectors: false, namespaces: false, nodes: false };
  /** The rules in force, made again when a Selector changes (not on each review). */
  private current: Rule[] = BUILT_IN_RULES;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly cluster: () => Promise<ClusterPort>, private readonly log: (m: string) => void, private readonly signal: AbortSignal) {}

  start(): void {
    this.loops.push(this.keep<SelectorObject>(SELECTOR_API, SELECTOR_KIND, this.selectors, () => { this.synced.selectors = true; this.selectorsChanged(); },
      () => this.selectorsChanged()));
    this.loops.push(this.keep<KubeObject>('v1', 'Namespace', undefined, () => { this.synced.namespaces = true; }, (type, ns) => {
      if (type === 'DELETED') this.namespaces.delete(ns.metadata.name ?? '');
      else this.namespaces.set(ns.metadata.name ?? '', ns.metadata.labels ?? {});
    }));
    // both modes' nodes carry type=virtual-kubelet
    this.loops.push(this.keep<NodeObject>('v1', 'Node', this.virtualNodes, () => { this.synced.nodes = true; }, undefined, { labelSelector: 'type=virtual-kubelet' }));
  }

  private syncTimer: NodeJS.Timeout | undefined;

  private readonly ruleListeners: (() => void)[] = [];

  /** Called after the Selectors changed (burst looks again at the pods already pending). */
  onRulesChanged(f: () => void): void {
    this.ruleListeners.push(f);
  }

  /** Selectors (by uid and resourceVersion) already told why they get no webhook entry. */
  private readonly toldBad = new Set<string>();

  private selectorsChanged(): void {
    const all = [...this.selectors.values()];
    const bad = all.map((sel) => ({ sel, why: entryProblem(sel) })).filter((x) => x.why !== undefined);
    // a Selector the API server would refuse in a webhook entry gets none, and acts on no pod: the others keep working
    this.current = [...BUILT_IN_RULES, ...all.filter((sel) => !bad.some((b) => b.sel === sel)).map(ruleOf)];
    for (const { sel, why } of bad) this.tellBad(sel, why!);
    this.entriesChanged();
    for (const f of this.ruleListeners) f();
  }

  private tellBad(sel: SelectorObject, why: string): void {
    const key = `${sel.metadata.uid}/${sel.metadata.resourceVersion}`;
    if (!this.synced.selectors || this.toldBad.has(key)) return;
    this.toldBad.add(key);
    this.log(`Selector ${sel.metadata.name} gets no webhook entry: ${why}`);
    const now = new Date().toISOString();
    void this.cluster().then((c) => c.create({
      apiVersion: 'v1', kind: 'Event', metadata: { generateName: `${(sel.metadata.name ?? 'selector').slice(0, 200)}.`, namespace: 'default' },
      involvedObject: { apiVersion: SELECTOR_API, kind: SELECTOR_KIND, name: sel.metadata.name, uid: sel.metadata.uid },
      reason: BAD_SELECTOR_REASON, type: 'Warning', count: 1, firstTimestamp: now, lastTimestamp: now,
      message: `Selector ${sel.metadata.name} is not applied: ${why}; the other Selectors keep working`, source: { component: COMPONENT },
    } as KubeObject)).catch((e: unknown) => this.log(`recording the event of Selector ${sel.metadata.name}: ${(e as Error).message}`));
  }

  /** Selectors changed (also ones made with kubectl): the webhook configuration follows, a moment later (changes come in bursts). */
  private entriesChanged(): void {
    if (!this.synced.selectors || this.signal.aborted) return;
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      void this.cluster().then((c) => syncEntries(c, [...this.selectors.values()]))
        .then((r) => { if (r === 'updated') this.log('webhook configuration updated for the Selectors'); })
        .catch((e: unknown) => {
          this.log(`updating the webhook configuration: ${(e as Error).message}`);
          if (!this.signal.aborted) this.syncTimer = setTimeout(() => this.entriesChanged(), 5000);
        });
    }, 300);
  }

  get ready(): boolean {
    return this.synced.selectors && this.synced.namespaces && this.synced.nodes;
  }

  async stopped(): Promise<void> {
    clearTimeout(this.syncTimer);
    await Promise.all(this.loops);
  }

  rules(): Rule[] {
    return this.current;
  }

  /** A namespace's labels; one not seen yet (created a moment ago) is read. */
  async namespaceLabels(name: string): Promise<Record<string, string>> {
    const known = this.namespaces.get(name);
    if (known) return known;
    const ns = await (await this.cluster()).get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
    return ns?.metadata.labels ?? {};
  }

  isVirtual(name: string): boolean {
    return this.virtualNodes.has(name);
  }

  virtualNodeNames(): string[] {
    return [...this.virtualNodes.keys()];
  }

  /** The mode's registered virtual nodes, as the watch last saw them. */
  nodes(mode: SchedulingMode): NodeFacts[] {
    return [...this.virtualNodes.values()].filter((n) => TARGETS[mode].isNode(n.metadata.labels ?? {}))
      .map((n) => ({ name: n.metadata.name ?? '', labels: n.metadata.labels ?? {}, taints: n.spec?.taints ?? [] }));
  }

  /** List and watch, again after any failure (a CRD not there yet, the API server restarting). */
  private keep<T extends KubeObject>(apiVersion: string, kind: string, into: Map<string, T> | undefined, onSynced: () => void,
    onEvent?: (type: WatchEventType, o: T) => void, opts: ListOptions = {}): Promise<void> {
    return keepWatching<T>(this.cluster, apiVersion, kind, opts, {
      onEvent: (type, o) => {
        if (into) { if (type === 'DELETED') into.delete(o.metadata.name ?? ''); else into.set(o.metadata.name ?? '', o); }
        onEvent?.(type, o);
      },
      onSynced: (present) => {
        if (into) { into.clear(); for (const o of present) into.set(o.metadata.name ?? '', o); }
        onSynced();
      },
      // no Selector CRD: the label shortcuts still work
      onFailed: () => { if (kind === SELECTOR_KIND) onSynced(); },
    }, this.signal, this.log, 5000);
  }
}

/** A Prometheus histogram of the server's own handling time (the API server's adds the network and TLS). */
class Histogram {
  private static readonly BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
  private readonly counts = new Array<number>(Histogram.BUCKETS.length).fill(0);
  private sum = 0;
  private count = 0;

  constructor(private readonly name: string, private readonly help: string) {}

  observe(seconds: number): void {
    const i = Histogram.BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  text(): string {
    let cum = 0;
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    Histogram.BUCKETS.forEach((b, i) => { cum += this.counts[i]!; lines.push(`${this.name}_bucket{le="${b}"} ${cum}`); });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}

/** The mutating admission webhook behind `vnode scheduling enable`: one path per install mode. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const abort = new AbortController();
  const view = new SchedulingView(opts.cluster, opts.log, abort.signal);
  view.start();
  const limiter = new Limiter(opts.cluster, (n) => view.isVirtual(n), () => view.virtualNodeNames(), opts.log, abort.signal);
  limiter.start();
  // one Warning per limit and owner (or pod) a minute: a ReplicaSet retrying refused pods would repeat it
  const told = new Map<string, number>();
  const tellHeld = (pod: KubeObject, namespace: string, v: Verdict & { ok: false }, what: string): void => {
    const owner = (pod.metadata.ownerReferences as { uid?: string }[] | undefined)?.[0]?.uid ?? pod.metadata.uid ?? pod.metadata.generateName ?? pod.metadata.name ?? '';
    const key = `${v.limit}/${namespace}/${owner}`;
    const now = Date.now();
    if (now - (told.get(key) ?? 0) < 60_000) return;
    if (told.size > 1000) for (const [k, t] of told) if (now - t >= 60_000) told.delete(k);
    told.set(key, now);
    void opts.cluster().then((c) => recordEvent(c, pod, namespace, 'Warning', LIMIT_REASON, `${what}: ${v.message}`)).catch((e: unknown) => opts.log(`event: ${(e as Error).message}`));
  };

  const review = async (mode: SchedulingMode, body: { apiVersion?: string; request?: AdmissionRequest }): Promise<Record<string, unknown>> => {
    const req = body.request;
    if (!req?.uid) throw Object.assign(new Error('not an AdmissionReview request'), { status: 400 });
    const response: Record<string, unknown> = { uid: req.uid, allowed: true };
    const pod = req.object;
    if (pod?.kind === 'Pod') {
      const d = admit(pod, await view.namespaceLabels(req.namespace ?? ''), view.rules(), mode, view.nodes(mode));
      // towards ECI at admission (virtual-node-only, fair): charged to the limits in scope, or held back from ECI
      const towards = d.rule && !d.skipped && (d.rule.policy === 'virtualNodeOnly' || d.rule.policy === 'fair') && d.patch.some((o) => o.path.startsWith('/spec/'));
      if (towards && limiter.active) {
        const v = await limiter.charge(pod, d.rule!.builtIn ? undefined : d.rule!.name, {
          dryRun: Boolean(req.dryRun), effectAnnotations: d.rule!.effect.annotations,
          addedLabels: d.patch.some((o) => o.path === '/metadata/labels'), addedAnnotations: d.patch.some((o) => o.path === '/metadata/annotations'),
        });
        if (v.ok) d.patch.push(...v.ops);
        else if (d.rule!.policy === 'virtualNodeOnly') {
          if (!req.dryRun) tellHeld(pod, req.namespace ?? '', v, 'refused (virtual-node-only)');
          return { apiVersion: body.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: v.message } } };
        } else {
          // fair: normal nodes only while over the limit (the virtual nodes' tolerations and the injected mark left out)
          d.patch = withoutVirtual(d.patch);
          response.warnings = [`normal nodes only: ${v.message}`];
          if (!req.dryRun) tellHeld(pod, req.namespace ?? '', v, 'admitted for normal nodes only (fair)');
        }
      }
      if (d.patch.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(d.patch)).toString('base64');
      }
      if (d.skipped && d.rule) {
        const message = `not sent to a virtual node: ${d.skipped}`;
        response.warnings = [message];
        if (!req.dryRun) void opts.cluster().then((c) => recordEvent(c, pod, req.namespace ?? '', 'Warning', SKIPPED_REASON, `asked for ECI (${d.rule!.describe}) but was ${message}`)).catch((e: unknown) => opts.log(`event: ${(e as Error).message}`));
      }
    }
    return { apiVersion: body.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
  };

  const timing = new Histogram('vnode_scheduling_admission_duration_seconds', 'Time from the request\'s first byte to the response, per admission review.');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (req.method === 'GET' && url.pathname === HEALTH_PATH) { res.writeHead(view.ready ? 200 : 503).end(view.ready ? 'ok' : 'syncing'); return; }
    if (req.method === 'GET' && url.pathname === METRICS_PATH) { res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(timing.text() + RUNTIME_INFO + limiter.metrics()); return; }
    const mode = url.pathname.startsWith(MUTATE_PATH) ? url.pathname.slice(MUTATE_PATH.length) as SchedulingMode : undefined;
    if (req.method !== 'POST' || !mode || !SCHEDULING_MODES.includes(mode)) { res.writeHead(404).end(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) { res.writeHead(413).end(); return; }
      chunks.push(c as Buffer);
    }
    try {
      const out = await review(mode, JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion?: string; request?: AdmissionRequest });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      timing.observe((performance.now() - started) / 1000);
    } catch (e) {
      res.writeHead((e as { status?: number }).status ?? 400, { 'content-type': 'text/plain' }).end((e as Error).message);
    }
  };

  // HTTP/1.1 with long keep-alive: the API server's HTTP/2 client cost it more CPU per call (measured 2.9 vs 1.9 ms per pod)
  const server = createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.2', keepAliveTimeout: 120_000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => { if (!res.headersSent) res.writeHead(500).end(); opts.log(`request failed: ${(e as Error).message}`); });
  });
  const open = new Set<Socket>();
  // every socket from its accept on: one still in its TLS handshake would keep close() waiting
  server.on('connection', (sock: Socket) => { open.add(sock); sock.once('close', () => open.delete(sock)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const burst = opts.mode ? runBurst(view, limiter, opts.mode, opts.cluster, opts.log, abort.signal, tellHeld) : Promise.resolve();
  return {
    port: (server.address() as AddressInfo).port,
    reload(cert, key) { server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' }); },
    close: async () => {
      abort.abort();
      await new Promise<void>((resolve) => { server.close(() => resolve()); for (const c of open) c.destroy(); });
      await Promise.all([view.stopped(), limiter.stopped(), burst]);
    },
  };
}

/**
 * The burst half of normal-node-prefer: unbound pods of such a Selector (marked at admission or not) that the scheduler found no node for.
 * Every replica may do it: the patch is conditional (see burstPatch), so a pod is changed once.
 */
async function runBurst(view: SchedulingView, limiter: Limiter, mode: SchedulingMode, cluster: () => Promise<ClusterPort>, log: (m: string) => void, signal: AbortSignal,
  tellHeld: (pod: KubeObject, namespace: string, v: Verdict & { ok: false }, what: string) => void): Promise<void> {
  const busy = new Set<string>();
  const refOf = (pod: BurstPod): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' });
  const apply = async (c: ClusterPort, pod: BurstPod, patch: PatchOp[], describe: string): Promise<void> => {
    const ref = refOf(pod);
    try {
      await c.patch(ref, patch, 'json');
    } catch (e) {
      // another replica was first (the tested tolerations changed), or the pod is gone or bound meanwhile
      const now = await c.get<BurstPod>(ref).catch(() => undefined);
      if (!now || now.metadata.labels?.[BURST_LABEL] === 'done' || !isUnschedulable(now)) return;
      throw e;
    }
    await recordEvent(c, pod, ref.namespace, 'Normal', BURST_REASON, `no normal node fits (Unschedulable): tolerating the virtual nodes (${describe}, policy normalNodePrefer)`);
  };
  // pods a limit holds, burst in the order they arrived as room frees (a pod held for a limit keeps later ones of it waiting)
  const held = new Map<string, BurstPod>();
  let draining = false;
  let again = false;
  const drainHeld = async (): Promise<void> => {
    if (draining) { again = true; return; }
    draining = true;
    try {
      do {
        again = false;
        const blocked = new Set<string>();
        const order = [...held.values()].sort((a, b) => String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? ''))
          || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
        for (const pod of order) {
          if (signal.aborted) return;
          const uid = pod.metadata.uid ?? '';
          const rule = pick(view.rules(), pod.metadata.labels ?? {}, await view.namespaceLabels(pod.metadata.namespace ?? ''));
          const b = burstPatch(pod, rule, mode, view.nodes(mode));
          if (!b.patch || !rule) { held.delete(uid); continue; }
          const selector = rule.builtIn ? undefined : rule.name;
          const limits = limiter.applicable(selector);
          if (limits.some((l) => blocked.has(l.name))) continue;
          const v = await limiter.charge(pod, selector, { id: uid, effectAnnotations: rule.effect.annotations, addedLabels: true });
          if (!v.ok) {
            if (!v.limit) { held.delete(uid); continue; }
            for (const l of limits) blocked.add(l.name);
            tellHeld(pod, pod.metadata.namespace ?? '', v, 'found no normal node and waits for room under the limit (normal-node-prefer)');
            continue;
          }
          held.delete(uid);
          await apply(await cluster(), pod, [...b.patch, ...v.ops], rule.describe).catch((e: unknown) => log(`burst ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`));
        }
      } while (again && !signal.aborted);
    } finally {
      draining = false;
    }
  };
  limiter.onChange(() => { if (held.size > 0) void drainHeld(); });
  // a time window may have opened
  const tick = setInterval(() => { if (held.size > 0) void drainHeld(); }, 10_000);
  whenAborted(signal, () => clearInterval(tick));
  // a pod no virtual node fits stays Unschedulable and is updated again and again: say so once
  const reported = new Set<string>();
  const handle = async (pod: BurstPod): Promise<void> => {
    const uid = pod.metadata.uid ?? '';
    if (busy.has(uid)) return;
    busy.add(uid);
    try {
      const rule = pick(view.rules(), pod.metadata.labels ?? {}, await view.namespaceLabels(pod.metadata.namespace ?? ''));
      const b = burstPatch(pod, rule, mode, view.nodes(mode));
      const c = await cluster();
      const ref = { apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' };
      if (b.skipped) {
        if (reported.has(uid)) return;
        reported.add(uid);
        await recordEvent(c, pod, ref.namespace, 'Warning', SKIPPED_REASON, `found no normal node (Unschedulable) and was not sent to a virtual node: ${b.skipped}`);
        return;
      }
      if (!b.patch) return;
      if (limiter.active && limiter.applicable(rule!.builtIn ? undefined : rule!.name).length > 0) {
        held.set(uid, pod);
        await drainHeld();
        return;
      }
      await apply(c, pod, b.patch, rule!.describe);
    } catch (e) {
      log(`burst ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`);
    } finally {
      busy.delete(uid);
    }
  };
  // one watch per scope (burstScopes): only pods some normal-node-prefer Selector may pick, none when there is no
  // such Selector; every other pod costs the API server nothing here
  const scopes = new Map<string, { stop: AbortController; waiting: Map<string, BurstPod>; loop: Promise<void> }>();
  // unbound pods, not only those marked at admission: a Selector also takes pods made before it (or while the webhook was down)
  const watchScope = (labelSelector: string, stop: AbortSignal, waiting: Map<string, BurstPod>): Promise<void> => keepWatching<BurstPod>(cluster, 'v1', 'Pod',
    { labelSelector, fieldSelector: 'spec.nodeName=' }, {
      onEvent: (type, pod) => {
        const uid = pod.metadata.uid ?? '';
        if (type === 'DELETED') { reported.delete(uid); waiting.delete(uid); held.delete(uid); return; }
        if (!isUnschedulable(pod)) { waiting.delete(uid); held.delete(uid); return; }
        waiting.set(uid, pod);
        void handle(pod);
      },
      onSynced: (present) => {
        waiting.clear();
        for (const p of present) if (isUnschedulable(p)) waiting.set(p.metadata.uid ?? '', p);
      },
    }, stop, log, 5000);
  // watches of scopes no longer wanted, still closing
  const ending: Promise<void>[] = [];
  const rescope = (): void => {
    if (signal.aborted) return;
    const want = new Set(burstScopes(view.rules()));
    for (const [sel, w] of scopes) if (!want.has(sel)) { w.stop.abort(); ending.push(w.loop); scopes.delete(sel); }
    for (const sel of want) {
      const w = scopes.get(sel);
      // the pods already waiting in a scope that stays: a changed Selector may take them now, with no pod event
      if (w) { for (const p of w.waiting.values()) void handle(p); continue; }
      const stop = new AbortController();
      const waiting = new Map<string, BurstPod>();
      // a new scope's first list brings the pods already pending (each an ADDED event)
      scopes.set(sel, { stop, waiting, loop: watchScope(sel, stop.signal, waiting) });
    }
  };
  view.onRulesChanged(rescope);
  rescope();
  await untilAborted(signal);
  for (const w of scopes.values()) w.stop.abort();
  await Promise.all([...ending, ...[...scopes.values()].map((w) => w.loop)]);
}

interface BurstPod extends KubeObject { spec?: PodSchedulingSpec; status?: { conditions?: { type: string; status: string; reason?: string }[] } }

/** A fair pod's admission without what sends it to virtual nodes: their tolerations and the mark of the injection. */
function withoutVirtual(ops: PatchOp[]): PatchOp[] {
  const mark = `/metadata/annotations/${pointer(INJECTED_ANNOTATION)}`;
  return ops.filter((o) => !o.path.startsWith('/spec/tolerations') && o.path !== mark).map((o) => {
    if (o.path !== '/metadata/annotations' || typeof o.value !== 'object' || o.value === null) return o;
    const rest = { ...(o.value as Record<string, string>) };
    delete rest[INJECTED_ANNOTATION];
    return { ...o, value: rest };
  });
}

/** The event goes to the pod's controller when it has no name yet (at admission a generated pod has none). */
async function recordEvent(cluster: ClusterPort, pod: KubeObject, namespace: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  const owner = (pod.metadata.ownerReferences as { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[] | undefined)?.find((o) => o.controller);
  const involved = pod.metadata.uid || !owner
    ? { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name || pod.metadata.generateName || '', namespace, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) }
    : { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, namespace };
  const now = new Date().toISOString();
  await cluster.create({
    apiVersion: 'v1', kind: 'Event',
    metadata: { generateName: `${involved.name}.`, namespace },
    involvedObject: involved, reason, type, count: 1, firstTimestamp: now, lastTimestamp: now,
    message: `pod ${pod.metadata.name || `${pod.metadata.generateName ?? ''}*`} ${message}`,
    source: { component: COMPONENT },
  });
}
