import { randomBytes } from 'node:crypto';
import type { ClusterPort, KubeObject, ListOptions, WatchEventType } from '../../cluster/port.js';
import { acquireLock } from '../../cluster/lock.js';
import { keepWatching } from '../../cluster/watch.js';
import { childController, pause, whenAborted } from '../../util/sleep.js';
import { pointer } from '../scheduling/mutation.js';
import { ACCOUNTANT, effective, LEDGER, LIMITS_NAMESPACE, LIMIT_LABEL, limitOf, NO_USAGE, PRICES, RESOURCES, round, USAGE, type BurstLimit, type Usage } from './limits.js';
import { priceTableOf, type PriceTable } from './prices.js';
import { CountedPods } from './counted.js';
import {
  amountOf, chargeOf, CHARGE_ANNOTATION, CHARGE_LABEL, counts, crossing, describeCrossing, GRANT_TTL_MS, GRANT_USE_MS, inScope, lateCharge, RESERVATION_TTL_MS,
  SNAPSHOT_STALE_MS, snapshotOf, stillCounts, usageFromSnapshot, usageOf, type Amount, type Charge, type Grant, type Reservation, type UsageSnapshot,
} from './usage.js';

type PatchOp = { op: 'add'; path: string; value: unknown };
type PodLike = KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };
type LedgerObject = KubeObject & { data?: Record<string, string> };

export type Verdict =
  | { ok: true; charge?: Charge; ops: PatchOp[]; grants?: Record<string, string> }
  | { ok: false; message: string; limit: string };

/** burst: a pod that exists (its uid the id), reserved on its own; else a new pod, admitted from a grant. */
interface Ask { id: string; selector: string | undefined; amount: Amount; dryRun: boolean; burst: boolean; resolve: (v: Verdict) => void }

/** A grant this replica holds: what it admitted from it; closed once it stops admitting from it (its use is final then). */
interface Held { grant: Grant; used: Amount; closed: boolean; writtenDown: boolean; window: string | undefined }

const LEDGER_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: LEDGER };
export const USAGE_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: USAGE };
/** One replica counts: a Lease as kube-scheduler's leader election holds it (renewed every 5 s, taken over after 15 s). */
export const ACCOUNTANT_LEASE = { ref: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: LIMITS_NAMESPACE, name: ACCOUNTANT }, seconds: 15, renewMs: 5000 };
/** The counter publishes what it sees at most this often when it changes, and every HEARTBEAT_MS while limits exist. */
const PUBLISH_MS = 500;
const HEARTBEAT_MS = 5000;
/** A grant takes this share of a limit while at least twice that is free; nearer the limit, each pod is granted alone. */
const GRANT_SHARE = 0.05;

export interface Ledger { resourceVersion?: string | undefined; reservations: Reservation[]; grants: Grant[] }

export function parseLedger(o: LedgerObject | undefined): Ledger {
  const read = <T>(k: string): T[] => { try { return JSON.parse(o?.data?.[k] ?? '[]') as T[]; } catch { return []; } };
  return { resourceVersion: o?.metadata.resourceVersion, reservations: read<Reservation>('reservations'), grants: read<Grant>('grants') };
}

/** The count ConfigMap vnode-burst-usage carries, if it is readable. */
export function parseSnapshot(o: LedgerObject | undefined): UsageSnapshot | undefined {
  try { return o?.data?.snapshot ? JSON.parse(o.data.snapshot) as UsageSnapshot : undefined; } catch { return undefined; }
}

const fits = (have: Partial<Amount>, used: Amount, a: Amount): boolean => RESOURCES.every((r) => have[r] === undefined || used[r] + a[r] <= have[r]! + 1e-9);

/**
 * Holds what this cluster sends to ECI within the limits (`vnode scheduling limit set`). Usage is the charged pods
 * plus what kube-system/vnode-burst-ledger holds: grants of room each server replica took, and reservations of single
 * pods. One replica (the holder of Lease vnode-burst-accountant) counts the charged pods and publishes what they take
 * (ConfigMap vnode-burst-usage); the others read that. It watches the bound ones only, and lists the unbound ones when a
 * grant or reservation would stop counting them: a pod admitted towards ECI costs no watch event at its creation.
 * Every write of the ledger is conditional on the resourceVersion it read (optimistic concurrency, as ResourceQuota's
 * admission does), so two replicas never both take the last room. Far from a limit a replica takes
 * a share of it at once and admits from it without a write per pod; near it, every pod is granted alone.
 */
export class Limiter {
  private readonly limits = new Map<string, BurstLimit>();
  private prices: PriceTable | undefined;
  /** The charged pods that count, while this replica counts for all. */
  private readonly counted = new CountedPods();
  private listing = false;
  private listFailed = false;
  private synced = { limits: false, prices: false, pods: false };
  private readonly loops: Promise<void>[] = [];
  private queue: Ask[] = [];
  private flushing = false;
  private writeDown = false;
  private readonly listeners: (() => void)[] = [];
  /** The ledger as last read, watched or written; stale after a conflicting write, until read again. */
  private ledger: Ledger | undefined;
  private ledgerStale = false;
  private readonly holder = randomBytes(4).toString('hex');
  private readonly mine = new Map<string, Held>();
  private writes = 0;
  /** While this replica counts the charged pods for all (it holds the Lease): what ends that. */
  private lead: AbortController | undefined;
  /** What the counting replica last published (used while this one does not count). */
  private snapshot: UsageSnapshot | undefined;
  private lastPublish = 0;
  private publishTimer: NodeJS.Timeout | undefined;
  private publishes = 0;

  /**
   * Per virtual node, while limits exist: a watch of its pods without a charge, so each is charged (counted). Charged pods
   * are left out: the watch of bound charged pods has them, and each of their updates would be sent twice.
   */
  private readonly nodeWatches = new Map<string, { stop: AbortController; loop: Promise<void> }>();
  private readonly lateCharged = new Set<string>();

  constructor(private readonly cluster: () => Promise<ClusterPort>, private readonly isVirtual: (node: string) => boolean,
    private readonly virtualNodes: () => string[], private readonly log: (m: string) => void, private readonly signal: AbortSignal) {}

  /** Pods on virtual nodes that vnode did not send (before a limit, or by their own nodeSelector): charged when seen. */
  private watchVirtualNodes(): void {
    if (this.signal.aborted) return;
    const want = new Set(this.active && this.counting() ? this.virtualNodes() : []);
    for (const [n, w] of this.nodeWatches) if (!want.has(n)) { w.stop.abort(); this.nodeWatches.delete(n); }
    for (const n of want) {
      if (this.nodeWatches.has(n)) continue;
      const stop = childController(this.signal);
      const seen = (p: PodLike): void => { if (!chargeOf(p) && stillCounts(p, this.isVirtual)) void this.chargeLate(p); };
      this.nodeWatches.set(n, { stop, loop: keepWatching<PodLike>(this.cluster, 'v1', 'Pod', { fieldSelector: `spec.nodeName=${n}`, labelSelector: `!${CHARGE_LABEL}` },
        { onSynced: (present) => present.forEach(seen), onEvent: (type, p) => { if (type !== 'DELETED') seen(p); } }, stop.signal, this.log, 5000) });
    }
  }

  private async chargeLate(p: PodLike): Promise<void> {
    const uid = p.metadata.uid ?? '';
    if (this.lateCharged.has(uid)) return;
    const patch = lateCharge(p, this.prices);
    if (!patch) return;
    this.lateCharged.add(uid);
    if (this.lateCharged.size > 10_000) this.lateCharged.clear();
    await (await this.cluster()).patch({ apiVersion: 'v1', kind: 'Pod', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }, patch, 'merge')
      .catch((e: unknown) => { this.lateCharged.delete(uid); this.log(`charging pod ${p.metadata.namespace}/${p.metadata.name}: ${(e as Error).message}`); });
  }

  start(): void {
    if (this.signal.aborted) return;
    this.loops.push(this.keep<LedgerObject>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, labelSelector: LIMIT_LABEL }, (present) => {
      this.limits.clear();
      for (const o of present) this.setLimit('ADDED', o);
      this.synced.limits = true;
    }, (type, o) => this.setLimit(type, o)));
    this.loops.push(this.keep<LedgerObject>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, fieldSelector: `metadata.name=${PRICES}` }, (present) => {
      this.prices = priceTableOf(present[0]);
      this.synced.prices = true;
      this.changed();
    }, (type, o) => { this.prices = type === 'DELETED' ? undefined : priceTableOf(o); this.changed(); }));
    this.loops.push(this.keep<LedgerObject>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, fieldSelector: `metadata.name=${LEDGER}` }, (present) => {
      this.ledger = parseLedger(present[0]);
    }, (type, o) => { this.ledger = type === 'DELETED' ? undefined : parseLedger(o); this.schedulePublish(); }));
    this.loops.push(this.keep<LedgerObject>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, fieldSelector: `metadata.name=${USAGE}` },
      (present) => this.setSnapshot(present[0]), (type, o) => this.setSnapshot(type === 'DELETED' ? undefined : o)));
    this.loops.push(this.elect());
    // a grant no longer admitted from is written down to what it admitted, so others may use the rest
    const tick = setInterval(() => {
      const now = Date.now();
      for (const [name, h] of this.mine) {
        if (now - h.grant.at >= GRANT_USE_MS) h.closed = true;
        if (h.closed && !h.writtenDown && RESOURCES.some((r) => (h.grant.room[r] ?? 0) > h.used[r] + 1e-9)) this.writeDown = true;
        if (now - h.grant.at > GRANT_TTL_MS) this.mine.delete(name);
      }
      if (this.writeDown && !this.flushing) void this.flush();
      if (this.active && now - this.lastPublish >= HEARTBEAT_MS) this.schedulePublish();
      const lead = this.leading() ? this.lead : undefined;
      if (lead && !this.listing && (this.listFailed || this.counted.listDue(now, this.made()))) void this.listUnbound(lead.signal);
      this.watchVirtualNodes();
    }, 2000);
    whenAborted(this.signal, () => { clearInterval(tick); clearTimeout(this.publishTimer); });
  }

  /** Counts the charged pods for every replica while this one holds the Lease; otherwise tries for it now and then. */
  private async elect(): Promise<void> {
    while (!this.signal.aborted) {
      const lead = childController(this.signal);
      try {
        const lock = await acquireLock(await this.cluster(), { holder: this.holder, timeoutMs: 0, signal: this.signal, lease: ACCOUNTANT_LEASE, onLost: () => lead.abort() });
        this.lead = lead;
        this.log('counting the charged pods for every replica');
        // the unbound ones first: one bound after this list is in the watch's
        await this.listUnbound(lead.signal);
        await keepWatching<PodLike>(this.cluster, 'v1', 'Pod', { labelSelector: CHARGE_LABEL, fieldSelector: 'spec.nodeName!=' }, {
          onSynced: (present) => { this.counted.syncBound(present, this.isVirtual, Date.now()); this.synced.pods = true; this.changed(); },
          onEvent: (type, p) => { if (this.counted.seeBound(type, p, this.isVirtual, Date.now())) this.changed(); },
          onFailed: () => { this.synced.pods = false; },
        }, lead.signal, this.log, 2000);
        this.lead = undefined;
        this.synced.pods = false;
        this.counted.reset();
        // stopping (a rolling update): handed over now, not once the Lease expires
        await lock.release();
        if (!this.signal.aborted) this.log('no longer counting: another replica holds the Lease');
      } catch (e) {
        lead.abort();
        if ((e as { code?: string }).code !== 'Locked') this.log(`taking the count: ${(e as Error).message}`);
        await pause(ACCOUNTANT_LEASE.renewMs, this.signal);
      }
    }
  }

  /** This replica's own view of the charged pods is in force: the watch of bound ones, and the last list of unbound ones went through. */
  private counting(): boolean { return this.leading() && this.synced.pods && !this.listFailed && this.counted.lastList > Number.NEGATIVE_INFINITY; }

  private leading(): boolean { return this.lead !== undefined && !this.lead.signal.aborted; }

  /**
   * The unbound charged pods: listed when a grant or reservation is about to stop counting them (not watched: every
   * pod admitted towards ECI would be sent here at its creation), and while some are known, to see them go.
   */
  private async listUnbound(signal: AbortSignal): Promise<void> {
    if (this.listing) return;
    this.listing = true;
    const at = Date.now();
    try {
      const pods = await (await this.cluster()).list<PodLike>('v1', 'Pod', { labelSelector: CHARGE_LABEL, fieldSelector: 'spec.nodeName=', fromCache: true });
      if (signal.aborted) return;
      this.listFailed = false;
      if (this.counted.listed(pods, at, Date.now())) this.changed();
    } catch (e) {
      this.listFailed = true;
      if (!signal.aborted) this.log(`listing the unbound charged pods: ${(e as Error).message}`);
    } finally {
      this.listing = false;
    }
  }

  private fresh(): boolean { return this.snapshot !== undefined && Math.abs(Date.now() - this.snapshot.at) <= SNAPSHOT_STALE_MS; }

  private setSnapshot(o: LedgerObject | undefined): void {
    this.snapshot = parseSnapshot(o);
    if (!this.counting()) this.changed();
  }

  private schedulePublish(): void {
    if (!this.counting() || !this.active || this.publishTimer || this.signal.aborted) return;
    this.publishTimer = setTimeout(() => { this.publishTimer = undefined; void this.publish(); }, Math.max(0, this.lastPublish + PUBLISH_MS - Date.now()));
  }

  /** What the charged pods take, for the replicas that do not watch them (at most every PUBLISH_MS). */
  private async publish(): Promise<void> {
    if (!this.counting()) return;
    this.lastPublish = Date.now();
    const snap = snapshotOf(this.limits.values(), this.counted.all.values(), this.counted.released, this.ledger?.reservations ?? [], this.ledger?.grants ?? [], this.lastPublish, this.holder);
    const data = { snapshot: JSON.stringify(snap) };
    const c = await this.cluster();
    try {
      await c.patch(USAGE_REF, { data }, 'merge');
      this.publishes++;
    } catch (e) {
      if ((e as { code?: string }).code !== 'NotFound') { this.log(`publishing burst usage: ${(e as Error).message}`); return; }
      await c.create({ ...USAGE_REF, metadata: { name: USAGE, namespace: LIMITS_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'vnode' } }, data } as LedgerObject)
        .then(() => { this.publishes++; }, (err: unknown) => this.log(`publishing burst usage: ${(err as Error).message}`));
    }
  }

  /** The ledger's grants and reservations, each with how long it counts. */
  private made(): { at: number; ttl: number }[] {
    return [...(this.ledger?.grants ?? []).map((g) => ({ at: g.at, ttl: GRANT_TTL_MS })), ...(this.ledger?.reservations ?? []).map((r) => ({ at: r.at, ttl: RESERVATION_TTL_MS }))];
  }

  /** Called when usage may have dropped or limits changed (held pods are looked at again). */
  onChange(f: () => void): void { this.listeners.push(f); }

  private changed(): void {
    for (const f of this.listeners) f();
    this.schedulePublish();
  }

  private setLimit(type: WatchEventType, o: LedgerObject): void {
    const name = o.metadata.labels?.[LIMIT_LABEL] ?? '';
    // changed values: grants taken under the old ones are not admitted from again
    const h = this.mine.get(name);
    if (h) h.closed = true;
    if (type === 'DELETED') this.limits.delete(name);
    else {
      try {
        const l = limitOf(o);
        if (l) this.limits.set(l.name, l);
      } catch (e) { this.log(`limit ${name} not applied: ${(e as Error).message}`); }
    }
    this.changed();
  }

  /** Limits exist: pods towards ECI are charged and held to them. */
  get active(): boolean { return this.limits.size > 0; }

  /** Limits and prices read, and the charged pods counted here or by a replica that published within SNAPSHOT_STALE_MS. */
  get ready(): boolean { return this.synced.limits && this.synced.prices && (this.counting() || this.fresh()); }

  get currency(): string { return this.prices?.currency ?? 'CNY'; }

  applicable(selector: string | undefined): BurstLimit[] {
    return [...this.limits.values()].filter((l) => inScope(l, selector));
  }

  /** Admits from this replica's open grants when every limit's has room: no write. */
  private fromGrants(limits: BurstLimit[], a: Amount, take: boolean, now: number): Record<string, string> | undefined {
    const held: Held[] = [];
    for (const l of limits) {
      const h = this.mine.get(l.name);
      if (!h || h.closed || now - h.grant.at >= GRANT_USE_MS || !fits(h.grant.room, h.used, a)) return undefined;
      // taken under another window: the values in force now decide
      if (l.windows.length > 0 && effective(l, new Date(now)).window !== h.window) return undefined;
      held.push(h);
    }
    if (take) for (const h of held) for (const r of RESOURCES) h.used[r] += a[r];
    return Object.fromEntries(held.map((h) => [h.grant.limit, h.grant.grant]));
  }

  /**
   * A pod about to be sent towards ECI by `selector` (undefined: a label shortcut): charged if every limit in scope
   * has room, refused naming the limit otherwise, or when usage cannot be told yet. `id`: the pod's uid when it
   * exists (burst), so replicas charging the same pod charge it once.
   */
  async charge(pod: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown }, selector: string | undefined,
    opts: { id?: string; dryRun?: boolean; effectAnnotations?: Record<string, string>; addedLabels?: boolean; addedAnnotations?: boolean }): Promise<Verdict> {
    const limits = this.applicable(selector);
    if (limits.length === 0) return { ok: true, ops: [] };
    const first = limits[0]!.name;
    if (!this.ready) return { ok: false, limit: first, message: `burst limit ${first} cannot be accounted yet (the server is starting: its view of limits, prices and charged pods is not complete)` };
    // a limit newer than the counting replica's last word: what it takes is not known here yet (a moment)
    const unseen = this.counting() ? undefined : limits.find((l) => !counts(this.snapshot, l));
    if (unseen) return { ok: false, limit: unseen.name, message: `burst limit ${unseen.name} cannot be accounted yet (the replica that counts the charged pods has not published its usage)` };
    const needPrice = limits.some((l) => l.values.maxHourly !== undefined || l.windows.some((w) => w.values.maxHourly !== undefined));
    const withEffect = { ...pod, metadata: { ...pod.metadata, annotations: { ...opts.effectAnnotations, ...pod.metadata?.annotations } } };
    const amount = amountOf(withEffect, this.prices, needPrice);
    if (typeof amount === 'string') return { ok: false, limit: first, message: `burst limit ${first} cannot account this pod: ${amount}` };
    const burst = opts.id !== undefined;
    const id = opts.id ?? randomBytes(8).toString('hex');
    let grants = burst ? undefined : this.fromGrants(limits, amount, !opts.dryRun, Date.now());
    if (!grants) {
      const verdict = await new Promise<Verdict>((resolve) => {
        this.queue.push({ id, selector, amount, dryRun: Boolean(opts.dryRun), burst, resolve });
        if (!this.flushing) void this.flush();
      });
      if (!verdict.ok) return verdict;
      grants = verdict.grants;
    }
    if (opts.dryRun) return { ok: true, ops: [] };
    const charge: Charge = { id, selector, ...amount, grants };
    const value = JSON.stringify({ selector, cpu: amount.cpu, memory: amount.memory, maxHourly: Math.round(amount.maxHourly * 1e6) / 1e6, ...(grants ? { grants } : {}) });
    const ops: PatchOp[] = [];
    ops.push(pod.metadata?.labels || opts.addedLabels ? { op: 'add', path: `/metadata/labels/${pointer(CHARGE_LABEL)}`, value: id } : { op: 'add', path: '/metadata/labels', value: { [CHARGE_LABEL]: id } });
    ops.push(pod.metadata?.annotations || opts.addedAnnotations ? { op: 'add', path: `/metadata/annotations/${pointer(CHARGE_ANNOTATION)}`, value }
      : { op: 'add', path: '/metadata/annotations', value: { [CHARGE_ANNOTATION]: value } });
    return { ok: true, charge, ops };
  }

  /** Settles the queued asks in order, in one conditional write of the ledger per round (read again on a conflict). */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while ((this.queue.length > 0 || this.writeDown) && !this.signal.aborted) {
        const batch = this.queue.splice(0);
        this.writeDown = false;
        for (let attempt = 0; ; attempt++) {
          try {
            await this.settle(batch);
            break;
          } catch (e) {
            const code = (e as { code?: string }).code;
            if ((code === 'Conflict' || code === 'AlreadyExists') && attempt < 50) { this.ledgerStale = true; continue; }
            const message = `burst limits cannot be accounted: the ledger ${LIMITS_NAMESPACE}/${LEDGER} could not be written (${(e as Error).message})`;
            this.log(message);
            for (const a of batch) a.resolve({ ok: false, limit: this.applicable(a.selector)[0]?.name ?? '', message });
            break;
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private usageFor(l: BurstLimit, reservations: Reservation[], grants: Grant[], now: number): Usage {
    if (this.counting()) return usageOf(l, this.counted.all.values(), reservations, this.counted.released, now, grants);
    return usageFromSnapshot(l, this.snapshot ?? { at: 0, holder: '', limits: {}, seen: [] }, reservations, now, grants);
  }

  private async settle(batch: Ask[]): Promise<void> {
    const c = await this.cluster();
    // read again after a conflict, and kept: the published count and /metrics take the live grants from it
    if (!this.ledger || this.ledgerStale) {
      this.ledger = parseLedger(await c.get<LedgerObject>(LEDGER_REF));
      this.ledgerStale = false;
    }
    const base = this.ledger;
    const now = Date.now();
    const at = new Date(now);
    this.counted.forget(now, 2 * Math.max(RESERVATION_TTL_MS, GRANT_TTL_MS));
    const reservations = base.reservations.filter((r) => now - r.at <= RESERVATION_TTL_MS);
    let grants = base.grants.filter((g) => now - g.at <= GRANT_TTL_MS);
    let dirty = reservations.length !== base.reservations.length || grants.length !== base.grants.length;
    // closed grants of this replica: written down to what they admitted (final once closed)
    const downs: Held[] = [];
    const writeDown = (h: Held): void => {
      const room = Object.fromEntries(Object.keys(h.grant.room).map((r) => [r, h.used[r as keyof Amount]]));
      grants = grants.map((g) => (g.grant === h.grant.grant ? { ...g, room } : g));
      downs.push(h);
      dirty = true;
    };
    for (const h of this.mine.values()) if (h.closed && !h.writtenDown && grants.some((g) => g.grant === h.grant.grant)) writeDown(h);
    const usage = new Map<string, Usage>();
    const used = (l: BurstLimit): Usage => usage.get(l.name) ?? usage.set(l.name, this.usageFor(l, reservations, grants, now)).get(l.name)!;
    const fresh: Held[] = [];
    const results: { a: Ask; v: Verdict }[] = [];
    const undo: (() => void)[] = [];
    for (const a of batch) {
      const limits = this.applicable(a.selector);
      if (a.burst) {
        // another replica charged this pod already: it is counted once
        if (reservations.some((r) => r.id === a.id) || (this.counting() ? this.counted.all.has(a.id) : this.snapshot?.seen.includes(a.id))) { results.push({ a, v: { ok: false, limit: '', message: 'charged by another replica' } }); continue; }
        const cross = limits.map((l) => crossing(l, used(l), a.amount, at)).find(Boolean);
        if (cross) { results.push({ a, v: { ok: false, limit: cross.limit.name, message: describeCrossing(cross, this.currency) } }); continue; }
        if (!a.dryRun) {
          reservations.push({ id: a.id, selector: a.selector, ...a.amount, at: now });
          dirty = true;
          for (const l of limits) usage.delete(l.name);
        }
        results.push({ a, v: { ok: true, ops: [] } });
        continue;
      }
      // an open grant (this replica's, or one taken earlier in this batch) per limit, or a new one
      const open = (l: BurstLimit): Held | undefined => {
        const h = [...fresh].reverse().find((x) => x.grant.limit === l.name && !x.closed) ?? this.mine.get(l.name);
        return h && !h.closed && now - h.grant.at < GRANT_USE_MS && fits(h.grant.room, h.used, a.amount) && effective(l, at).window === h.window ? h : undefined;
      };
      const lacking = limits.filter((l) => !open(l));
      for (const l of lacking) {
        const h = this.mine.get(l.name);
        if (h && !h.closed) { h.closed = true; writeDown(h); usage.delete(l.name); }
        for (const f of fresh) if (f.grant.limit === l.name && !f.closed) { f.closed = true; writeDown(f); usage.delete(l.name); }
      }
      const cross = lacking.map((l) => crossing(l, used(l), a.amount, at)).find(Boolean);
      if (cross) { results.push({ a, v: { ok: false, limit: cross.limit.name, message: describeCrossing(cross, this.currency) } }); continue; }
      if (a.dryRun) { results.push({ a, v: { ok: true, ops: [] } }); continue; }
      for (const l of lacking) {
        const values = effective(l, at).values;
        const u = used(l);
        const room: Partial<Amount> = {};
        for (const r of RESOURCES) {
          const v = values[r];
          if (v === undefined) continue;
          const share = r === 'pods' ? Math.max(1, Math.floor(v * GRANT_SHARE)) : v * GRANT_SHARE;
          room[r] = v - u[r] - a.amount[r] >= 2 * share ? Math.max(a.amount[r], share) : a.amount[r];
        }
        const g: Grant = { grant: randomBytes(6).toString('hex'), limit: l.name, holder: this.holder, room, at: now };
        grants.push(g);
        fresh.push({ grant: g, used: { ...NO_USAGE }, closed: false, writtenDown: false, window: effective(l, at).window });
        usage.delete(l.name);
        dirty = true;
      }
      // taken now from each limit's grant (undone if the write fails)
      const taken = limits.map((l) => open(l)!);
      for (const h of taken) for (const r of RESOURCES) h.used[r] += a.amount[r];
      undo.push(() => { for (const h of taken) for (const r of RESOURCES) h.used[r] -= a.amount[r]; });
      results.push({ a, v: { ok: true, ops: [], grants: Object.fromEntries(taken.map((h) => [h.grant.limit, h.grant.grant])) } });
    }
    if (dirty) {
      const data = { reservations: JSON.stringify(reservations), grants: JSON.stringify(grants) };
      let written: LedgerObject;
      try {
        written = base.resourceVersion
          ? await c.patch<LedgerObject>(LEDGER_REF, { metadata: { resourceVersion: base.resourceVersion }, data }, 'merge')
          : await c.create<LedgerObject>({ ...LEDGER_REF, metadata: { name: LEDGER, namespace: LIMITS_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'vnode' } }, data } as LedgerObject);
      } catch (e) {
        for (const f of undo) f();
        throw e;
      }
      this.writes++;
      this.ledger = parseLedger(written);
      for (const h of downs) h.writtenDown = true;
      for (const f of fresh) if (!f.closed) this.mine.set(f.grant.limit, f);
    }
    for (const r of results) r.a.resolve(r.v);
  }

  /** Each limit with what it holds now (the charged pods and what the ledger last held). */
  usage(): { limit: BurstLimit; used: Usage }[] {
    const now = Date.now();
    return [...this.limits.values()].map((l) => ({ limit: l, used: this.usageFor(l, this.ledger?.reservations ?? [], this.ledger?.grants ?? [], now) }));
  }

  /** Prometheus text: each family's samples together, after its HELP and TYPE. */
  metrics(): string {
    const names: Record<string, string> = { cpu: 'cpu', memory: 'memory_gib', pods: 'pods', maxHourly: 'hourly_spend' };
    const limit: string[] = [];
    const usage: string[] = [];
    for (const { limit: l, used } of this.usage()) {
      for (const r of RESOURCES) {
        const v = l.values[r];
        if (v === undefined) continue;
        limit.push(`vnode_burst_limit{limit="${l.name}",resource="${names[r]}"} ${v}`);
        usage.push(`vnode_burst_usage{limit="${l.name}",resource="${names[r]}"} ${round(used[r])}`);
      }
    }
    return `${[
      '# HELP vnode_burst_limit A burst limit (vCPU, GiB, pods, or spend per hour).', '# TYPE vnode_burst_limit gauge', ...limit,
      '# HELP vnode_burst_usage What the pods sent to ECI within a burst limit take of it.', '# TYPE vnode_burst_usage gauge', ...usage,
      '# HELP vnode_burst_ledger_writes_total Conditional writes of the ledger this replica made (grants taken and written down, burst reservations).',
      '# TYPE vnode_burst_ledger_writes_total counter', `vnode_burst_ledger_writes_total ${this.writes}`,
      '# HELP vnode_burst_counting 1 while this replica counts the charged pods for every replica (it holds Lease vnode-burst-accountant).',
      '# TYPE vnode_burst_counting gauge', `vnode_burst_counting ${this.counting() ? 1 : 0}`,
      '# HELP vnode_burst_usage_publishes_total Writes of ConfigMap vnode-burst-usage this replica made while counting.',
      '# TYPE vnode_burst_usage_publishes_total counter', `vnode_burst_usage_publishes_total ${this.publishes}`,
    ].join('\n')}\n`;
  }

  async stopped(): Promise<void> { await Promise.all([...this.loops, ...[...this.nodeWatches.values()].map((w) => w.loop)]); }

  private keep<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, onSynced: (present: T[]) => void, onEvent: (type: WatchEventType, o: T) => void): Promise<void> {
    return keepWatching<T>(this.cluster, apiVersion, kind, opts, { onSynced, onEvent }, this.signal, this.log, 2000);
  }
}

