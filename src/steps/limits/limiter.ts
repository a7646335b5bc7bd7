import { randomBytes } from 'node:crypto';
import type { ClusterPort, KubeObject, ListOptions, WatchEventType } from '../../cluster/port.js';
import { keepWatching } from '../../cluster/watch.js';
import { pointer } from '../scheduling/mutation.js';
import { LEDGER, LIMITS_NAMESPACE, LIMIT_LABEL, limitOf, PRICES, RESOURCES, round, type BurstLimit } from './limits.js';
import { priceTableOf, type PriceTable } from './prices.js';
import {
  amountOf, chargeOf, CHARGE_ANNOTATION, CHARGE_LABEL, crossing, describeCrossing, inScope, RESERVATION_TTL_MS, stillCounts, usageOf, type Amount, type Charge, type Reservation,
} from './usage.js';

type PatchOp = { op: 'add'; path: string; value: unknown };
type PodLike = KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };

export type Verdict =
  | { ok: true; charge?: Charge; ops: PatchOp[] }
  | { ok: false; message: string; limit: string };

interface Ask { id: string; selector: string | undefined; amount: Amount; dryRun: boolean; resolve: (v: Verdict) => void }

const LEDGER_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: LEDGER };


/**
 * Holds what this cluster sends to ECI within the limits (`vnode scheduling limit set`). Usage is the charged pods
 * (watched) plus the reservations in kube-system/vnode-burst-ledger, which every replica writes with optimistic
 * concurrency (the resourceVersion it read): two replicas never both take the last room, as ResourceQuota's
 * admission does. Asks that arrive together are settled in one write.
 */
export class Limiter {
  private readonly limits = new Map<string, BurstLimit>();
  private prices: PriceTable | undefined;
  private readonly charged = new Map<string, Charge>();
  /** Charges whose pods ended or went elsewhere (kept a while: a reservation of theirs must not count again). */
  private readonly released = new Map<string, number>();
  private synced = { limits: false, prices: false, pods: false };
  private readonly loops: Promise<void>[] = [];
  private queue: Ask[] = [];
  private flushing = false;
  private readonly listeners: (() => void)[] = [];
  /** The last ledger read: usage as of then, for status and metrics. */
  private reservations: Reservation[] = [];

  constructor(private readonly cluster: () => Promise<ClusterPort>, private readonly isVirtual: (node: string) => boolean,
    private readonly log: (m: string) => void, private readonly signal: AbortSignal) {}

  start(): void {
    this.loops.push(this.keep<KubeObject & { data?: Record<string, string> }>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, labelSelector: LIMIT_LABEL }, (present) => {
      this.limits.clear();
      for (const o of present) this.setLimit('ADDED', o);
      this.synced.limits = true;
    }, (type, o) => this.setLimit(type, o)));
    this.loops.push(this.keep<KubeObject & { data?: Record<string, string> }>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, fieldSelector: `metadata.name=${PRICES}` }, (present) => {
      this.prices = priceTableOf(present[0]);
      this.synced.prices = true;
      this.changed();
    }, (type, o) => { this.prices = type === 'DELETED' ? undefined : priceTableOf(o); this.changed(); }));
    this.loops.push(this.keep<PodLike>('v1', 'Pod', { labelSelector: CHARGE_LABEL }, (present) => {
      this.charged.clear();
      for (const p of present) this.setPod('ADDED', p);
      this.synced.pods = true;
      this.changed();
    }, (type, p) => this.setPod(type, p)));
  }

  /** Called when usage may have dropped or limits changed (held pods are looked at again). */
  onChange(f: () => void): void { this.listeners.push(f); }

  private changed(): void { for (const f of this.listeners) f(); }

  private setLimit(type: WatchEventType, o: KubeObject & { data?: Record<string, string> }): void {
    const name = o.metadata.labels?.[LIMIT_LABEL] ?? '';
    if (type === 'DELETED') this.limits.delete(name);
    else {
      try {
        const l = limitOf(o);
        if (l) this.limits.set(l.name, l);
      } catch (e) { this.log(`limit ${name} not applied: ${(e as Error).message}`); }
    }
    this.changed();
  }

  private setPod(type: WatchEventType, p: PodLike): void {
    const c = chargeOf(p);
    if (!c) return;
    if (type === 'DELETED' || !stillCounts(p, this.isVirtual)) {
      if (this.charged.delete(c.id) || type === 'DELETED') this.released.set(c.id, Date.now());
      this.changed();
      return;
    }
    this.charged.set(c.id, c);
  }

  /** Limits exist: pods towards ECI are charged and held to them. */
  get active(): boolean { return this.limits.size > 0; }

  get ready(): boolean { return this.synced.limits && this.synced.prices && this.synced.pods; }

  get currency(): string { return this.prices?.currency ?? 'CNY'; }

  applicable(selector: string | undefined): BurstLimit[] {
    return [...this.limits.values()].filter((l) => inScope(l, selector));
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
    const needPrice = limits.some((l) => l.values.maxHourly !== undefined || l.windows.some((w) => w.values.maxHourly !== undefined));
    const withEffect = { ...pod, metadata: { ...pod.metadata, annotations: { ...opts.effectAnnotations, ...pod.metadata?.annotations } } };
    const amount = amountOf(withEffect, this.prices, needPrice);
    if (typeof amount === 'string') return { ok: false, limit: first, message: `burst limit ${first} cannot account this pod: ${amount}` };
    const id = opts.id ?? randomBytes(8).toString('hex');
    const verdict = await new Promise<Verdict>((resolve) => {
      this.queue.push({ id, selector, amount, dryRun: Boolean(opts.dryRun), resolve });
      if (!this.flushing) void this.flush();
    });
    if (!verdict.ok || opts.dryRun) return verdict;
    const charge: Charge = { id, selector, ...amount };
    const value = JSON.stringify({ selector, cpu: amount.cpu, memory: amount.memory, maxHourly: Math.round(amount.maxHourly * 1e6) / 1e6 });
    const ops: PatchOp[] = [];
    ops.push(pod.metadata?.labels || opts.addedLabels ? { op: 'add', path: `/metadata/labels/${pointer(CHARGE_LABEL)}`, value: id } : { op: 'add', path: '/metadata/labels', value: { [CHARGE_LABEL]: id } });
    ops.push(pod.metadata?.annotations || opts.addedAnnotations ? { op: 'add', path: `/metadata/annotations/${pointer(CHARGE_ANNOTATION)}`, value }
      : { op: 'add', path: '/metadata/annotations', value: { [CHARGE_ANNOTATION]: value } });
    return { ok: true, charge, ops };
  }

  /** Settles the queued asks in order, in one conditional write of the ledger per round (again on a conflict). */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.signal.aborted) {
        const batch = this.queue.splice(0);
        for (let attempt = 0; ; attempt++) {
          try {
            await this.settle(batch);
            break;
          } catch (e) {
            const code = (e as { code?: string }).code;
            if ((code === 'Conflict' || code === 'AlreadyExists') && attempt < 50) continue;
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

  private async settle(batch: Ask[]): Promise<void> {
    const c = await this.cluster();
    const live = await c.get<KubeObject & { data?: Record<string, string> }>(LEDGER_REF);
    const now = Date.now();
    const held = parseLedger(live).filter((r) => now - r.at <= RESERVATION_TTL_MS);
    this.reservations = held;
    for (const [id, at] of this.released) if (now - at > 2 * RESERVATION_TTL_MS) this.released.delete(id);
    const released = new Set(this.released.keys());
    const usage = new Map([...this.limits.values()].map((l) => [l.name, usageOf(l, this.charged.values(), held, released, now)]));
    const verdicts: Verdict[] = [];
    const added: Reservation[] = [];
    const at = new Date(now);
    for (const a of batch) {
      // another replica charged this pod already (burst): it is counted once
      if (held.some((r) => r.id === a.id) || this.charged.has(a.id)) { verdicts.push({ ok: false, limit: '', message: 'charged by another replica' }); continue; }
      const limits = this.applicable(a.selector);
      const cross = limits.map((l) => crossing(l, usage.get(l.name)!, a.amount, at)).find(Boolean);
      if (cross) { verdicts.push({ ok: false, limit: cross.limit.name, message: describeCrossing(cross, this.currency) }); continue; }
      for (const l of limits) { const u = usage.get(l.name)!; for (const r of RESOURCES) u[r] += a.amount[r]; }
      if (!a.dryRun) added.push({ id: a.id, selector: a.selector, ...a.amount, at: now });
      verdicts.push({ ok: true, ops: [] });
    }
    if (added.length > 0) {
      const data = { reservations: JSON.stringify([...held, ...added]) };
      if (live) await c.patch(LEDGER_REF, { metadata: { resourceVersion: live.metadata.resourceVersion }, data }, 'merge');
      else await c.create({ ...LEDGER_REF, metadata: { name: LEDGER, namespace: LIMITS_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'vnode' } }, data } as KubeObject);
      this.reservations = [...held, ...added];
    }
    batch.forEach((a, i) => a.resolve(verdicts[i]!));
  }

  /** Each limit with what it holds now (the charged pods and the reservations last read). */
  usage(): { limit: BurstLimit; used: ReturnType<typeof usageOf> }[] {
    const now = Date.now();
    const released = new Set(this.released.keys());
    return [...this.limits.values()].map((l) => ({ limit: l, used: usageOf(l, this.charged.values(), this.reservations, released, now) }));
  }

  metrics(): string {
    const lines = ['# HELP vnode_burst_limit A burst limit in force (vCPU, GiB, pods, or spend per hour).', '# TYPE vnode_burst_limit gauge',
      '# HELP vnode_burst_usage What the pods sent to ECI within a burst limit take of it.', '# TYPE vnode_burst_usage gauge'];
    const names: Record<string, string> = { cpu: 'cpu', memory: 'memory_gib', pods: 'pods', maxHourly: 'hourly_spend' };
    for (const { limit, used } of this.usage()) {
      for (const r of RESOURCES) {
        const v = limit.values[r];
        if (v === undefined) continue;
        lines.push(`vnode_burst_limit{limit="${limit.name}",resource="${names[r]}"} ${v}`, `vnode_burst_usage{limit="${limit.name}",resource="${names[r]}"} ${round(used[r])}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  async stopped(): Promise<void> { await Promise.all(this.loops); }

  private keep<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions, onSynced: (present: T[]) => void, onEvent: (type: WatchEventType, o: T) => void): Promise<void> {
    return keepWatching<T>(this.cluster, apiVersion, kind, opts, { onSynced, onEvent }, this.signal, this.log, 2000);
  }
}

export function parseLedger(o: (KubeObject & { data?: Record<string, string> }) | undefined): Reservation[] {
  try { return JSON.parse(o?.data?.reservations ?? '[]') as Reservation[]; } catch { return []; }
}
