import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import type { EciPort } from '../../cloud/port.js';
import { ALL_REGION_SPECS, ECONOMY_MAX_CPU, REGIONAL_SPECS, specList, type PodEstimate, type Spec } from './spec.js';
import { LIMITS_NAMESPACE, PRICES } from './limits.js';

/** A table older than this is stale: doctor says so and `vnode scheduling limit prices` fetches it again. */
export const STALE_MS = 7 * 24 * 3600 * 1000;

export interface PriceTable {
  fetched: string;
  region: string;
  currency: string;
  /** Per hour, by `cpu-memory` (general) and `e:cpu-memory` (economy): the list price ECI answered (TradePrice x 3600). */
  perHour: Record<string, number>;
}

const key = (s: Spec, economy = false): string => `${economy ? 'e:' : ''}${s.cpu}-${s.memory}`;

const EVERY_SPEC = specList([...ALL_REGION_SPECS, ...REGIONAL_SPECS]);
const EVERY_REGION = specList(ALL_REGION_SPECS);
const offeredBy = new WeakMap<PriceTable, Spec[]>();

/** The specs this region offers: those in the table (the region refused the others when it was fetched); once per table. */
export function offeredSpecs(t: PriceTable | undefined): Spec[] {
  if (!t) return EVERY_REGION;
  let specs = offeredBy.get(t);
  if (!specs) offeredBy.set(t, specs = EVERY_SPEC.filter((s) => t.perHour[key(s)] !== undefined));
  return specs;
}

/**
 * The most a pod's instance bills per hour; undefined when it cannot be told (the table lacks its spec, no price limit).
 * Spot pays at most the list price (SpotAsPriceGo) or its price limit (SpotWithPriceLimit), whichever is lower: its
 * price moves with ECI's stock, so the most it may pay is what a limit must hold.
 */
export function hourlyOf(t: PriceTable, e: PodEstimate): number | undefined {
  const list = e.economy ? t.perHour[key(e, true)] ?? t.perHour[key(e)] : t.perHour[key(e)];
  if (e.spotPriceLimit === undefined) return list;
  return Math.min(list ?? Infinity, e.spotPriceLimit);
}

export function priceTableOf(o: (KubeObject & { data?: Record<string, string> }) | undefined): PriceTable | undefined {
  if (!o?.data?.prices) return undefined;
  try {
    return { fetched: o.data.fetched ?? '', region: o.data.region ?? '', currency: o.data.currency ?? 'CNY', perHour: JSON.parse(o.data.prices) as Record<string, number> };
  } catch { return undefined; }
}

export async function readPriceTable(cluster: ClusterPort): Promise<PriceTable | undefined> {
  return priceTableOf(await cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: PRICES }));
}

/** A spec the region does not offer is refused with a 4xx that is not about the caller (denied, throttled, signature). */
function refusedSpec(e: unknown): boolean {
  const code = String((e as { code?: string }).code ?? '');
  const status = Number((e as { details?: { status?: number } }).details?.status ?? (e as { status?: number }).status ?? 0);
  return status === 400 && /^Invalid/.test(code);
}

/** Asks ECI the price of every documented spec (general, and economy up to 8 vCPU); one the region refuses is not offered there. */
export async function fetchPriceTable(eci: EciPort, region: string): Promise<PriceTable> {
  const specs = EVERY_SPEC;
  const asks = [...specs.map((s) => ({ s, economy: false })), ...specs.filter((s) => s.cpu <= ECONOMY_MAX_CPU).map((s) => ({ s, economy: true }))];
  const perHour: Record<string, number> = {};
  let currency = 'CNY';
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < asks.length) {
      const a = asks[next++]!;
      // economy only where general is offered (asked in the same order, so general is known by then)
      try {
        const p = await eci.describePrice({ cpu: a.s.cpu, memory: a.s.memory, ...(a.economy ? { computeCategory: 'economy' } : {}) });
        perHour[key(a.s, a.economy)] = Math.round(p.perSecond * 3600 * 1e6) / 1e6;
        currency = p.currency;
      } catch (e) {
        if (!refusedSpec(e)) throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { fetched: new Date().toISOString(), region, currency, perHour };
}

export function priceTableObject(t: PriceTable): KubeObject {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: PRICES, namespace: LIMITS_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'vnode' } },
    data: { fetched: t.fetched, region: t.region, currency: t.currency, prices: JSON.stringify(Object.fromEntries(Object.entries(t.perHour).sort())) },
  } as KubeObject;
}
