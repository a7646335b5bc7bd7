import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { profileOf } from '../../cluster/versions.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { collectGarbage } from '../../util/gc.js';
import { pause } from '../../util/sleep.js';

export interface DrainOptions {
  disableEviction: boolean;
  /** 0 = no limit. */
  timeoutMs: number;
  parallel: number;
  force: boolean;
  deleteEmptydirData: boolean;
  /** undefined: each pod's own grace period. */
  gracePeriodSeconds: number | undefined;
  podSelector: string | undefined;
}

export interface PodRef { namespace: string; name: string }

export interface DrainResult {
  node: string;
  evicted: number;
  deleted: number;
  skipped: { daemonSet: number; mirror: number };
  remaining: PodRef[];
  blockingPdbs: string[];
  durationMs: number;
  dryRun: boolean;
  wouldEvict?: PodRef[];
}

interface Pod extends KubeObject {
  spec?: { volumes?: { emptyDir?: unknown }[]; nodeName?: string };
  status?: { phase?: string };
}

type Verdict = 'evict' | 'daemonset' | 'mirror' | { refuse: 'no controller' | 'emptyDir' };

/** kubectl drain's rules: DaemonSet and mirror pods are left alone; bare pods need --force, emptyDir needs --delete-emptydir-data. */
export function classify(pod: Pod, opts: Pick<DrainOptions, 'force' | 'deleteEmptydirData'>): Verdict {
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) return 'mirror';
  const owners = (pod.metadata.ownerReferences as { kind: string; controller?: boolean }[] | undefined) ?? [];
  const controller = owners.find((o) => o.controller);
  if (controller?.kind === 'DaemonSet') return 'daemonset';
  const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  if (finished) return 'evict';
  if (!controller && !opts.force) return { refuse: 'no controller' };
  if ((pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined) && !opts.deleteEmptydirData) return { refuse: 'emptyDir' };
  return 'evict';
}

/** The Eviction version the server takes (the version table, refined by discovery). */
export async function evictionVersion(cluster: ClusterPort): Promise<string> {
  const gvs = await cluster.groupVersions();
  if (!gvs.includes('policy/v1') && !gvs.includes('policy/v1beta1')) {
    throw operationError('NoEvictionApi', 'the server offers no policy API for evictions', { hint: 'use --disable-eviction to delete pods instead' });
  }
  return (await profileOf(cluster)).eviction;
}

const show = (r: PodRef): string => `${r.namespace}/${r.name}`;

interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  const ml = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const me = (sel.matchExpressions ?? []).every((e) => {
    const v = labels[e.key];
    switch (e.operator) {
      case 'In': return v !== undefined && (e.values ?? []).includes(v);
      case 'NotIn': return v === undefined || !(e.values ?? []).includes(v);
      case 'Exists': return v !== undefined;
      case 'DoesNotExist': return v === undefined;
      default: return false;
    }
  });
  return ml && me && (Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions ?? []).length > 0);
}

/** The PodDisruptionBudgets that select any of these pods. */
async function pdbsHolding(cluster: ClusterPort, pods: Pod[]): Promise<string[]> {
  if (pods.length === 0) return [];
  const version = (await profileOf(cluster)).pdb;
  const out = new Set<string>();
  for (const ns of new Set(pods.map((p) => p.metadata.namespace!))) {
    const pdbs = await cluster.list<KubeObject>(version, 'PodDisruptionBudget', { namespace: ns });
    for (const pdb of pdbs) {
      const sel = (pdb.spec as { selector?: LabelSelector } | undefined)?.selector;
      if (pods.some((p) => p.metadata.namespace === ns && selectorMatches(sel, p.metadata.labels ?? {}))) out.add(`${ns}/${pdb.metadata.name}`);
    }
  }
  return [...out];
}

interface Budget extends KubeObject {
  spec?: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: { expectedPods?: number };
}

/** A budget that allows no eviction however long a drain waits, as its pods are now (kubectl drain would retry forever). */
export function neverAllowsEviction(pdb: Budget): boolean {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined) return maxUnavailable === 0 || maxUnavailable === '0%';
  if (minAvailable === '100%') return true;
  const expected = pdb.status?.expectedPods ?? 0;
  return typeof minAvailable === 'number' && expected > 0 && minAvailable >= expected;
}

export interface DrainRefusals { pods: string[]; budgets: string[] }

/** A pod a drain refuses, and the flag that would take it. */
function refusedPod(p: Pod, why: 'no controller' | 'emptyDir', node?: string): string {
  return `${p.metadata.namespace}/${p.metadata.name}${node ? ` on ${node}` : ''} (${why === 'emptyDir' ? 'uses emptyDir: --delete-emptydir-data' : 'has no controller: --force'})`;
}

/**
 * What a drain of these nodes would refuse, for all of them at once and before anything changes: pods that need a
 * flag (kubectl drain's rules) and PodDisruptionBudgets that can never allow their eviction.
 */
export async function drainRefusals(cluster: ClusterPort, nodes: string[], opts: DrainOptions, withBudgets = true): Promise<DrainRefusals> {
  const out: DrainRefusals = { pods: [], budgets: [] };
  const evictable: Pod[] = [];
  for (const node of nodes) {
    const pods = await cluster.list<Pod>('v1', 'Pod', { fieldSelector: `spec.nodeName=${node}`, ...(opts.podSelector ? { labelSelector: opts.podSelector } : {}) });
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      const v = classify(p, opts);
      if (v === 'evict') { if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') evictable.push(p); continue; }
      if (typeof v !== 'object') continue;
      out.pods.push(refusedPod(p, v.refuse, nodes.length > 1 ? node : undefined));
    }
  }
  if (!withBudgets || opts.disableEviction || evictable.length === 0) return out;
  const version = (await profileOf(cluster)).pdb;
  for (const ns of new Set(evictable.map((p) => p.metadata.namespace!))) {
    for (const pdb of await cluster.list<Budget>(version, 'PodDisruptionBudget', { namespace: ns })) {
      if (!neverAllowsEviction(pdb)) continue;
      const held = evictable.filter((p) => p.metadata.namespace === ns && selectorMatches(pdb.spec?.selector, p.metadata.labels ?? {}));
      const rule = pdb.spec?.maxUnavailable !== undefined ? `maxUnavailable ${pdb.spec.maxUnavailable}` : `minAvailable ${String(pdb.spec?.minAvailable)} of ${pdb.status?.expectedPods ?? '?'} pod(s)`;
      if (held.length > 0) out.budgets.push(`PodDisruptionBudget ${ns}/${pdb.metadata.name} (${rule}) allows no eviction of ${held.map((p) => p.metadata.name).join(', ')}`);
    }
  }
  return out;
}

/** Throws what drainRefusals found, naming every pod and budget; nothing was changed. */
export function refuseDrain(what: string, r: DrainRefusals): void {
  if (r.pods.length === 0 && r.budgets.length === 0) return;
  const list = (xs: string[]): string => xs.slice(0, 20).join(', ') + (xs.length > 20 ? `, … (${xs.length - 20} more)` : '');
  const parts = [r.pods.length ? `${r.pods.length} pod(s) need a flag: ${list(r.pods)}` : '', r.budgets.length ? `${list(r.budgets)}` : ''].filter(Boolean);
  const hints = [r.pods.length ? 'pods without a controller are not recreated elsewhere (--force deletes them anyway); emptyDir data is lost (--delete-emptydir-data)' : '',
    r.budgets.length ? 'a budget that allows no eviction holds the drain forever: relax it or scale its workload up, or pass --disable-eviction (budgets not honoured)' : ''].filter(Boolean);
  throw operationError('DrainRefused', `cannot drain ${what}: ${parts.join('; ')}; nothing was changed`, { hint: hints.join('; ') });
}

export async function cordon(cluster: ClusterPort, node: string): Promise<void> {
  await cluster.patch({ apiVersion: 'v1', kind: 'Node', name: node }, { spec: { unschedulable: true } }, 'merge');
}

interface Target { uid: string; namespace: string; name: string }

/** What drain needs of a pod (thousands of them: memory matters). */
export function slimPod(o: KubeObject): KubeObject {
  const p = o as Pod;
  const m = p.metadata;
  const meta: Record<string, unknown> = { name: m.name, namespace: m.namespace, uid: m.uid, labels: m.labels };
  const mirror = m.annotations?.['kubernetes.io/config.mirror'];
  if (mirror) meta.annotations = { 'kubernetes.io/config.mirror': mirror };
  if (m.ownerReferences) meta.ownerReferences = (m.ownerReferences as { kind: string; controller?: boolean }[]).map((r) => ({ kind: r.kind, controller: r.controller }));
  if (m.deletionTimestamp) meta.deletionTimestamp = m.deletionTimestamp;
  const emptyDir = (p.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && v.emptyDir !== null);
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta as KubeObject['metadata'], spec: emptyDir ? { volumes: [{ emptyDir: {} }] } : {}, status: { phase: p.status?.phase } };
}

/**
 * Cordon, evict (or delete) every pod kubectl's rules allow, with bounded concurrency, retrying what a
 * PodDisruptionBudget blocks; wait for the pods to be gone with one watch. On timeout or interrupt the node stays
 * cordoned and what remains is reported.
 */
export async function drainNode(ctx: Context, cluster: ClusterPort, node: string, opts: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const { status, out } = ctx;
  const nodeObj = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: node });
  if (!nodeObj) throw operationError('NodeNotFound', `node ${node} not found`);
  const fieldSelector = `spec.nodeName=${node}`;
  const selector = opts.podSelector ? { labelSelector: opts.podSelector } : {};

  // one list, the watch's own: its snapshot is what gets evicted, and every later deletion is seen
  const pending = new Map<string, Target>();
  const gone = new Set<string>();
  let synced: (pods: Pod[]) => void = () => {};
  const firstList = new Promise<Pod[]>((r) => { synced = r; });
  let resolveAllGone: () => void = () => {};
  const allGone = new Promise<void>((r) => { resolveAllGone = r; });
  let ready = false;
  const check = (): void => { if (ready && pending.size === 0) resolveAllGone(); };
  const watchStop = new AbortController();
  let watchError: unknown;
  const watching = cluster.watchList<Pod>('v1', 'Pod', { fieldSelector, ...selector, project: slimPod }, (type, p) => {
    if (type !== 'DELETED') return;
    const uid = p.metadata.uid!;
    gone.add(uid);
    if (pending.delete(uid)) check();
  }, watchStop.signal, (present) => {
    const live = new Set(present.map((p) => p.metadata.uid));
    for (const uid of [...pending.keys()]) if (!live.has(uid)) pending.delete(uid);
    synced(present);
    check();
  }).catch((e: unknown) => { watchError = e; synced([]); resolveAllGone(); });
  const stopWatch = async (): Promise<void> => { watchStop.abort(); await watching; };

  let pods: Pod[] | undefined = await firstList;
  if (watchError !== undefined) { await stopWatch(); throw watchError; }
  // only labels are needed later (to name the PodDisruptionBudgets holding what remains)
  const labels = new Map(pods.map((p) => [p.metadata.uid!, p.metadata.labels ?? {}]));
  const targets: Target[] = [];
  const refused: string[] = [];
  const skipped = { daemonSet: 0, mirror: 0 };
  for (const p of pods!) {
    const v = classify(p, opts);
    if (v === 'daemonset') skipped.daemonSet++;
    else if (v === 'mirror') skipped.mirror++;
    else if (v === 'evict') targets.push({ uid: p.metadata.uid!, namespace: p.metadata.namespace!, name: p.metadata.name! });
    else refused.push(refusedPod(p, v.refuse));
  }
  if (refused.length > 0) {
    await stopWatch();
    throw operationError('DrainRefused', `cannot drain ${node}: ${refused.length} pod(s) need a flag: ${refused.join(', ')}`, {
      hint: 'pods without a controller are not recreated elsewhere (--force deletes them anyway); emptyDir data is lost (--delete-emptydir-data)',
    });
  }
  if (ctx.flags.dryRun) {
    await stopWatch();
    return { node, evicted: 0, deleted: 0, skipped, remaining: [], blockingPdbs: [], durationMs: 0, dryRun: true, wouldEvict: targets.map(({ namespace, name }) => ({ namespace, name })) };
  }
  pods = undefined;
  for (const t of targets) if (!gone.has(t.uid)) pending.set(t.uid, t);
  ready = true;
  check();

  let evicted = 0;
  let deleted = 0;
  let failure: unknown;
  const blocked = new Set<string>();
  try {
    if (!(nodeObj.spec as { unschedulable?: boolean } | undefined)?.unschedulable) await cordon(cluster, node);
    if (opts.disableEviction && targets.length > 0) out.warn('--disable-eviction deletes pods directly: PodDisruptionBudgets are not honoured');
    const version = opts.disableEviction ? '' : await evictionVersion(cluster);
    const deadline = opts.timeoutMs > 0 ? started + opts.timeoutMs : Infinity;
    const progress = (): void => status.update(`Draining ${node}: ${evicted + deleted} evicted, ${pending.size} remaining, ${blocked.size} blocked by PodDisruptionBudgets`);
    const queue = [...pending.values()];

    const worker = async (): Promise<void> => {
      while (queue.length > 0 && failure === undefined && !ctx.signal.aborted && Date.now() < deadline) {
        const p = queue.shift()!;
        let backoff = 1000;
        for (;;) {
          if (ctx.signal.aborted || Date.now() >= deadline || failure !== undefined || !pending.has(p.uid)) break;
          try {
            if (opts.disableEviction) {
              if (await cluster.deletePod(p.namespace, p.name, opts.gracePeriodSeconds)) deleted++;
              break;
            }
            const r = await cluster.evictPod(p.namespace, p.name, version, opts.gracePeriodSeconds);
            if (r.kind === 'evicted') { evicted++; blocked.delete(p.uid); break; }
            if (r.kind === 'gone') { blocked.delete(p.uid); pending.delete(p.uid); check(); break; }
            if (r.reason === 'pdb') blocked.add(p.uid);
            // a PDB may allow it later; a throttled server asks us to slow down
            await pause(Math.min(r.retryAfterMs ?? backoff, Math.max(0, deadline - Date.now())), ctx.signal);
            backoff = Math.min(backoff * 2, 5000);
          } catch (e) {
            failure = e;
            break;
          } finally {
            progress();
          }
        }
      }
    };

    await status.start(`Draining ${node}: ${targets.length} pod(s) to evict`);
    let ticks = 0;
    const ticker = setInterval(() => {
      collectGarbage();
      if (++ticks % 5 === 0 && status.mode === 'plain') out.info(`   ${node}: ${evicted + deleted} evicted, ${pending.size} remaining, ${blocked.size} blocked by PodDisruptionBudgets`);
    }, 1000);
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length || 1)) }, worker));
      if (failure === undefined && pending.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        let onAbort: (() => void) | undefined;
        await Promise.race([
          allGone,
          new Promise<void>((r) => { if (deadline !== Infinity) timer = setTimeout(r, Math.max(0, deadline - Date.now())); }),
          new Promise<void>((r) => { onAbort = () => r(); if (ctx.signal.aborted) r(); else ctx.signal.addEventListener('abort', onAbort, { once: true }); }),
        ]);
        // a pending deadline timer would keep the process alive until it fires
        clearTimeout(timer);
        if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
      }
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await stopWatch();
  }
  if (failure !== undefined) { status.end(false); throw failure instanceof VnodeError ? failure : operationError('DrainFailed', String(failure)); }
  if (watchError !== undefined) { status.end(false); throw watchError; }
  const remaining = [...pending.values()].map(({ namespace, name }) => ({ namespace, name }));
  const result: DrainResult = { node, evicted, deleted, skipped, remaining, blockingPdbs: [], durationMs: Date.now() - started, dryRun: false };
  if (remaining.length === 0) {
    status.update(`Draining ${node}`);
    status.end(true, `${evicted + deleted} pod(s) evicted in ${(result.durationMs / 1000).toFixed(1)}s`);
    return result;
  }
  status.end(false);
  const remainingPods: Pod[] = [...pending.values()].map((t) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { uid: t.uid, namespace: t.namespace, name: t.name, labels: labels.get(t.uid) ?? {} } }));
  result.blockingPdbs = await pdbsHolding(cluster, remainingPods);
  const list = remaining.slice(0, 20).map(show).join(', ') + (remaining.length > 20 ? `, … (${remaining.length - 20} more)` : '');
  const why = result.blockingPdbs.length ? `; held by PodDisruptionBudget ${result.blockingPdbs.join(', ')}` : '';
  if (ctx.signal.aborted) {
    throw new VnodeError('interrupted', 'Interrupted', `drain of ${node} interrupted: ${remaining.length} pod(s) remain (${list})${why}; the node stays cordoned`, { hint: 'run the same command again to continue', details: { result } });
  }
  throw operationError('DrainTimeout', `drain of ${node} timed out after ${Math.round((Date.now() - started) / 1000)}s: ${remaining.length} pod(s) remain (${list})${why}; the node stays cordoned`, {
    hint: 'run the same command again to continue, raise --timeout, or relax the PodDisruptionBudget', details: { result },
  });
}
