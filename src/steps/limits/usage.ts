import type { KubeObject } from '../../cluster/port.js';
import { effective, RESOURCES, round, type BurstLimit, type Resource, type Usage } from './limits.js';
import { hourlyOf, offeredSpecs, type PriceTable } from './prices.js';
import { estimatePod } from './spec.js';

/** On a pod vnode sent towards ECI while a limit was in force: its charge's id (label, so it can be watched) and amount. */
export const CHARGE_LABEL = 'vnode.dev/charge';
export const CHARGE_ANNOTATION = 'vnode.dev/charge';
/** A reservation counts this long after it was made, whether or not its pod was seen (a pod appears within seconds). */
export const RESERVATION_TTL_MS = 120_000;

export interface Amount { cpu: number; memory: number; pods: number; maxHourly: number }
export interface Charge extends Amount { id: string; selector: string | undefined }
export interface Reservation extends Charge { at: number }

interface PodLike extends KubeObject { spec?: { nodeName?: string; containers?: unknown[] }; status?: { phase?: string } }

/** The charge a pod carries, if any. */
export function chargeOf(pod: PodLike): Charge | undefined {
  const id = pod.metadata.labels?.[CHARGE_LABEL];
  const raw = pod.metadata.annotations?.[CHARGE_ANNOTATION];
  if (!id || !raw) return undefined;
  try {
    const a = JSON.parse(raw) as Partial<Charge>;
    return { id, selector: a.selector ?? undefined, cpu: Number(a.cpu ?? 0), memory: Number(a.memory ?? 0), pods: 1, maxHourly: Number(a.maxHourly ?? 0) };
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

export const inScope = (l: BurstLimit, selector: string | undefined): boolean => l.selector === undefined || l.selector === selector;

/** Usage of a limit: the charged pods that still count, and reservations no pod accounts for yet. */
export function usageOf(l: BurstLimit, charged: Iterable<Charge>, reservations: Reservation[], released: Set<string>, now: number): Usage {
  const u: Usage = { cpu: 0, memory: 0, pods: 0, maxHourly: 0 };
  const seen = new Set<string>();
  const add = (c: Charge): void => { for (const r of RESOURCES) u[r] += c[r]; };
  for (const c of charged) { seen.add(c.id); if (inScope(l, c.selector)) add(c); }
  for (const r of reservations) {
    if (seen.has(r.id) || released.has(r.id) || now - r.at > RESERVATION_TTL_MS || !inScope(l, r.selector)) continue;
    add(r);
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
