import type { KubeObject } from '../../cluster/port.js';
import { effective, NO_USAGE, RESOURCES, round, type BurstLimit, type Resource, type Usage } from './limits.js';
import { hourlyOf, offeredSpecs, type PriceTable } from './prices.js';
import { SELECTOR_ANNOTATION } from '../scheduling/policy.js';
import { estimatePod } from './spec.js';

/** On a pod vnode sent towards ECI while a limit was in force: its charge's id (label, so it can be watched) and amount. */
export const CHARGE_LABEL = 'vnode.dev/charge';
export const CHARGE_ANNOTATION = 'vnode.dev/charge';
/** A reservation counts this long after it was made, whether or not its pod was seen (a pod appears within seconds). */
export const RESERVATION_TTL_MS = 120_000;

/** A grant is counted in full this long after it was made (its holder admits from it for GRANT_USE_MS only). */
export const GRANT_TTL_MS = 60_000;
export const GRANT_USE_MS = 10_000;

export interface Amount { cpu: number; memory: number; pods: number; maxHourly: number }
export interface Charge extends Amount {
  id: string; selector: string | undefined;
  /** The grant of each limit it was admitted from (by limit name). */
  grants?: Record<string, string> | undefined;
}
/** Room one pod takes (burst: keyed by the pod's uid, so replicas charging the same pod charge it once). */
export interface Reservation extends Charge { at: number }
/**
 * Room a server replica took of one limit to admit from without a write per pod: counted in full while live, less
 * what its pods were seen to take or give back; its holder writes it down to what it used when it stops using it.
 */
export interface Grant { grant: string; limit: string; holder: string; room: Partial<Amount>; at: number }

interface PodLike extends KubeObject { spec?: { nodeName?: string; containers?: unknown[] }; status?: { phase?: string } }

/** The charge a pod carries, if any. */
export function chargeOf(pod: PodLike): Charge | undefined {
  const id = pod.metadata.labels?.[CHARGE_LABEL];
  const raw = pod.metadata.annotations?.[CHARGE_ANNOTATION];
  if (!id || !raw) return undefined;
  try {
    const a = JSON.parse(raw) as Partial<Charge>;
    return { id, selector: a.selector ?? undefined, cpu: Number(a.cpu ?? 0), memory: Number(a.memory ?? 0), pods: 1, maxHourly: Number(a.maxHourly ?? 0), grants: a.grants ?? undefined };
  } catch { return undefined; }
}

/** A charged pod counts while it runs or waits for a virtual node: not once it ended, or a normal node took it. */
export function stillCounts(pod: PodLike, isVirtual: (node: string) => boolean): boolean {
  if (pod.metadata.deletionTimestamp || ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) return false;
  return !pod.spec?.nodeName || isVirtual(pod.spec.nodeName);
}

/**
 * What a pod will cost of each limit: its ECI spec (annotations of the Selector's effect included) and, when any
 * limit caps spend, its list price per hour. A string says why it cannot be told.
 */
export function amountOf(pod: { metadata?: { annotations?: Record<string, string> }; spec?: unknown }, prices: PriceTable | undefined, needPrice: boolean): Amount | string {
  const e = estimatePod(pod as Parameters<typeof estimatePod>[0], offeredSpecs(prices));
  if ('unknown' in e) return e.unknown;
  let maxHourly = 0;
  if (needPrice) {
    if (!prices) return 'no price table (kube-system/vnode-eci-prices): run `vnode scheduling limit prices`';
    const h = hourlyOf(prices, e);
    if (h === undefined) return `the price table lacks ${e.cpu} vCPU / ${e.memory} GiB${e.economy ? ' (economy)' : ''}: run \`vnode scheduling limit prices\``;
    maxHourly = h;
  }
  return { cpu: e.cpu, memory: e.memory, pods: 1, maxHourly };
}

/**
 * The charge of a pod found on a virtual node without one (put there before a limit existed, or by other means than
 * vnode): its own uid as the id, its amount as ECI bills it. A merge patch; undefined when it cannot be told.
 */
export function lateCharge(pod: PodLike, prices: PriceTable | undefined): Record<string, unknown> | undefined {
  const a = amountOf(pod, prices, Boolean(prices));
  if (typeof a === 'string' || !pod.metadata.uid) return undefined;
  const selector = pod.metadata.annotations?.[SELECTOR_ANNOTATION];
  return { metadata: { labels: { [CHARGE_LABEL]: pod.metadata.uid }, annotations: { [CHARGE_ANNOTATION]: JSON.stringify({ selector, cpu: a.cpu, memory: a.memory, maxHourly: a.maxHourly }) } } };
}

export const inScope = (l: BurstLimit, selector: string | undefined): boolean => l.selector === undefined || l.selector === selector;

const add = (to: Usage, c: Amount): void => { for (const r of RESOURCES) to[r] += c[r]; };

/**
 * Usage of a limit: the charged pods that still count, reservations no pod accounts for yet, and the live grants of
 * the limit: each its pods seen, plus what of its room is neither seen nor given back (pods on their way).
 */
export function usageOf(l: BurstLimit, charged: Iterable<Charge>, reservations: Reservation[], released: Map<string, Charge>, now: number, grants: Grant[] = []): Usage {
  const u: Usage = { cpu: 0, memory: 0, pods: 0, maxHourly: 0 };
  const live = new Map(grants.filter((g) => g.limit === l.name && now - g.at <= GRANT_TTL_MS).map((g) => [g.grant, { g, seen: { ...NO_USAGE }, gone: { ...NO_USAGE } }]));
  const seen = new Set<string>();
  for (const c of charged) {
    seen.add(c.id);
    if (!inScope(l, c.selector)) continue;
    const g = live.get(c.grants?.[l.name] ?? '');
    add(g ? g.seen : u, c);
  }
  for (const c of released.values()) { const g = live.get(c.grants?.[l.name] ?? ''); if (g && inScope(l, c.selector)) add(g.gone, c); }
  for (const { g, seen: s, gone } of live.values()) for (const r of RESOURCES) u[r] += s[r] + Math.max(0, (g.room[r] ?? 0) - s[r] - gone[r]);
  for (const r of reservations) {
    if (seen.has(r.id) || released.has(r.id) || now - r.at > RESERVATION_TTL_MS || !inScope(l, r.selector)) continue;
    add(u, r);
  }
  return u;
}

/**
 * The counting replica's view, for the others (which watch no pods): per limit, what all charged pods take, and per
 * grant live then, what its pods were seen to take or give back; the reservations whose pods were seen.
 */
export interface UsageSnapshot {
  at: number;
  holder: string;
  /** Per limit, with the scope it was counted for (a changed scope is not this count). */
  limits: Record<string, { selector?: string | undefined; all: Usage; grants: Record<string, { seen: Usage; gone: Usage }> }>;
  seen: string[];
}

/** Whether a snapshot counted this limit, in its present scope. */
export function counts(snap: UsageSnapshot | undefined, l: BurstLimit): boolean {
  const view = snap?.limits[l.name];
  return view !== undefined && (view.selector ?? undefined) === (l.selector ?? undefined);
}

/** The others must hear from the counting replica this often, or they admit nothing towards ECI. */
export const SNAPSHOT_STALE_MS = 20_000;

export function snapshotOf(limits: Iterable<BurstLimit>, charged: Iterable<Charge>, released: Map<string, Charge>, reservations: Reservation[], grants: Grant[],
  now: number, holder: string): UsageSnapshot {
  const all = [...charged];
  const ids = new Set(all.map((c) => c.id));
  const out: UsageSnapshot = { at: now, holder, limits: {}, seen: reservations.filter((r) => ids.has(r.id) || released.has(r.id)).map((r) => r.id) };
  for (const l of limits) {
    const view = { ...(l.selector ? { selector: l.selector } : {}), all: { ...NO_USAGE }, grants: {} as Record<string, { seen: Usage; gone: Usage }> };
    for (const g of grants) if (g.limit === l.name && now - g.at <= GRANT_TTL_MS) view.grants[g.grant] = { seen: { ...NO_USAGE }, gone: { ...NO_USAGE } };
    for (const c of all) {
      if (!inScope(l, c.selector)) continue;
      add(view.all, c);
      const g = view.grants[c.grants?.[l.name] ?? ''];
      if (g) add(g.seen, c);
    }
    for (const c of released.values()) { const g = view.grants[c.grants?.[l.name] ?? '']; if (g && inScope(l, c.selector)) add(g.gone, c); }
    out.limits[l.name] = view;
  }
  return out;
}

/** usageOf, from the counting replica's snapshot instead of watched pods: the same sum once the snapshot is current. */
export function usageFromSnapshot(l: BurstLimit, snap: UsageSnapshot, reservations: Reservation[], now: number, grants: Grant[]): Usage {
  const view = snap.limits[l.name];
  const u: Usage = { ...(view?.all ?? NO_USAGE) };
  for (const g of grants) {
    if (g.limit !== l.name || now - g.at > GRANT_TTL_MS) continue;
    const s = view?.grants[g.grant];
    for (const r of RESOURCES) u[r] += Math.max(0, (g.room[r] ?? 0) - (s?.seen[r] ?? 0) - (s?.gone[r] ?? 0));
  }
  const seen = new Set(snap.seen);
  for (const r of reservations) {
    if (seen.has(r.id) || now - r.at > RESERVATION_TTL_MS || !inScope(l, r.selector)) continue;
    add(u, r);
  }
  return u;
}

export interface Crossing { limit: BurstLimit; resource: Resource; used: number; value: number; needs: number; window?: string | undefined }

/** The first resource the amount would take past the limit, or undefined when it fits. */
export function crossing(l: BurstLimit, used: Usage, a: Amount, at: Date): Crossing | undefined {
  const { values, window } = effective(l, at);
  for (const r of RESOURCES) {
    const v = values[r];
    if (v !== undefined && used[r] + a[r] > v + 1e-9) return { limit: l, resource: r, used: used[r], value: v, needs: a[r], window };
  }
  return undefined;
}

const UNIT: Record<Resource, (n: number, currency: string) => string> = {
  cpu: (n) => `${round(n)} vCPU`, memory: (n) => `${round(n)}Gi`, pods: (n) => `${n} pods`, maxHourly: (n, c) => `${round(n)} ${c}/h`,
};
const FLAG: Record<Resource, string> = { cpu: '--cpu', memory: '--memory', pods: '--pods', maxHourly: '--max-hourly' };

/** As ResourceQuota says it: what was asked, used and limited, and how to raise it. */
export function describeCrossing(c: Crossing, currency: string): string {
  const u = UNIT[c.resource];
  return `exceeded burst limit ${c.limit.name} (${c.limit.selector ? `selector ${c.limit.selector}` : 'cluster-wide'}${c.window ? `, window ${c.window}` : ''}): `
    + `requested ${c.resource === 'maxHourly' ? 'spend' : c.resource} ${u(c.needs, currency)}, used ${u(c.used, currency)}, limited ${u(c.value, currency)}; `
    + `raise it with \`vnode scheduling limit set ${c.limit.name} ${FLAG[c.resource]} <more>\``;
}
