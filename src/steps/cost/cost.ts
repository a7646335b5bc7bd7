import type { ContainerGroupInfo, PriceSpec, SpecPrice } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import type { KubeObject } from '../../cluster/port.js';
import { workloadOf } from '../../cluster/workload.js';
import type { Context } from '../../context.js';
import { INSTANCE_ANNOTATION, TAG_NODE_NAME, TERMINAL_STATUSES } from '../../assumptions.js';
import { TAG_CLUSTER, TAG_NAME } from '../virtual-node/install.js';
import { isVirtualNode } from '../status/status.js';
import { UNLISTED_CAUSE } from '../drain/unlisted.js';

/** What the figures are: said with every figure. */
export const COST_NOTE = 'list prices of pay-as-you-go ECI (DescribeContainerGroupPrice), before discounts, savings plans or free quotas; the bill is the authority';
/** Each VNode is billed as a resident instance of this spec (documented on CreateVirtualNode). */
export const VNODE_SPEC = { cpu: 2, memory: 8 };
/** How long ECI keeps listing instances that ended (documented: an hour in full). */
export const ENDED_WINDOW_MS = 3600_000;

export interface Rate { perSecond: number; perHour: number; perDay: number; per30Days: number }
export interface PricedInstance {
  id: string; status: string; pod: string | null; namespace: string | null; workload: string | null; node: string;
  spec: string; spot: boolean; economy: boolean; runningSince: string; rate: Rate;
}
export interface EndedInstance { id: string; status: string; pod: string | null; namespace: string | null; node: string; spec: string; ranSeconds: number; cost: number }
export interface Group { key: string; instances: number; rate: Rate }
export interface CostReport {
  currency: string;
  note: string;
  total: Rate;
  vnodes: { name: string; virtualNodeId: string; spec: string; rate: Rate }[];
  instances: PricedInstance[];
  byNamespace: Group[];
  byWorkload: Group[];
  /** Instances no pod accounts for and ECI is not releasing: billed for nothing. */
  orphans: PricedInstance[];
  /** Instances no pod accounts for that ECI is releasing (Terminating): apart, not in the total. */
  releasing: PricedInstance[];
  ended: EndedInstance[];
  endedCost: number;
  /** Calls made to ECI for this report. */
  eciCalls: number;
  /** Why the figures may be short (instances running pods name that ECI does not list); empty when complete. */
  incomplete: string[];
}

export interface CostOptions { namespace: string | undefined; selector: string | undefined }

const rate = (perSecond: number): Rate => ({ perSecond, perHour: perSecond * 3600, perDay: perSecond * 86_400, per30Days: perSecond * 2_592_000 });
const add = (a: Rate, b: Rate): Rate => rate(a.perSecond + b.perSecond);
const ZERO = rate(0);

const isSpot = (s: PriceSpec): boolean => Boolean(s.spotStrategy && s.spotStrategy !== 'NoSpot');

function specText(s: PriceSpec): string {
  return `${s.instanceType ? `${s.instanceType} ` : ''}${s.cpu} vCPU / ${s.memory} GiB${isSpot(s) ? ', spot' : ''}${s.computeCategory === 'economy' ? ', economy' : ''}`;
}

/** The spec ECI bills an instance as, from what DescribeContainerGroups reports. */
export function priceSpecOf(g: ContainerGroupInfo): PriceSpec {
  return {
    cpu: g.cpu ?? 2, memory: g.memory ?? 4, instanceType: g.instanceType, zoneId: g.zoneId, spotStrategy: g.spotStrategy, ephemeralStorage: g.ephemeralStorage,
    ...(g.computeCategory === 'economy' && !g.instanceType ? { computeCategory: 'economy' } : {}),
  };
}

/** One key per distinct price (what one DescribeContainerGroupPrice answers). */
export function priceKey(s: PriceSpec): string {
  return JSON.stringify([s.cpu, s.memory, s.instanceType ?? '', s.zoneId ?? '', isSpot(s) ? 'spot' : '', s.ephemeralStorage ?? 0, s.computeCategory ?? '']);
}

/** What the spec bills per second: the spot price (answered per hour) for a spot instance, else the list price. */
export function perSecondOf(s: PriceSpec, p: SpecPrice): number {
  return isSpot(s) ? p.spotPerSecond ?? p.perSecond : p.perSecond;
}


/**
 * `vnode cost`: what this cluster's virtual nodes bill now, priced by ECI itself. Every VNode (a resident
 * 2 vCPU / 8 GiB instance), every instance of a pod on either kind of virtual node (tied to its pod by the
 * documented annotation), instances no pod accounts for, and those that ended within the hour ECI still lists them.
 * One DescribeContainerGroupPrice per distinct spec, cached for the run.
 */
export async function costReport(ctx: Context, opts: CostOptions): Promise<CostReport> {
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud();
  let calls = 0;
  const counted = <T>(p: Promise<T>, n = 1): Promise<T> => { calls += n; return p; };
  const id = await clusterUid(cluster);
  const vnodesEci = (await counted(cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: id }] }))).filter((v) => v.status !== 'Cleaned');
  const nodes = (await cluster.list<KubeObject>('v1', 'Node')).filter(isVirtualNode).map((n) => n.metadata.name!);
  const onVirtual = new Set(nodes);
  const pods = (await cluster.list<KubeObject & { spec?: { nodeName?: string } }>('v1', 'Pod', {
    ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.selector ? { labelSelector: opts.selector } : {}),
  })).filter((p) => p.spec?.nodeName && onVirtual.has(p.spec.nodeName));
  const podOf = new Map<string, KubeObject & { spec?: { nodeName?: string } }>();
  for (const p of pods) { const i = p.metadata.annotations?.[INSTANCE_ANNOTATION]; if (i) podOf.set(i, p); }

  // every instance of the virtual nodes (tag NodeName: candidates), then those pods name that the tags missed
  const instances = new Map<string, ContainerGroupInfo & { node: string }>();
  for (const node of nodes) {
    const found = await cloud.eci.describeContainerGroups({ tags: [{ key: TAG_NODE_NAME, value: node }] });
    calls += Math.max(1, Math.ceil(found.length / 20));
    for (const g of found) instances.set(g.id, { ...g, node });
  }
  const missing = [...podOf.keys()].filter((i) => !instances.has(i));
  if (missing.length) {
    for (const g of await counted(cloud.eci.describeContainerGroups({ ids: missing }), Math.ceil(missing.length / 20))) instances.set(g.id, { ...g, node: podOf.get(g.id)?.spec?.nodeName ?? '' });
  }
  // an empty or short listing is no proof of nothing billed: running pods name instances ECI must list
  const unlisted = [...podOf.entries()].filter(([i, p]) => !instances.has(i) && !p.metadata.deletionTimestamp
    && !['Succeeded', 'Failed'].includes((p.status as { phase?: string } | undefined)?.phase ?? ''));
  const incomplete = unlisted.length ? [`ECI does not list the instance(s) of ${unlisted.length} running pod(s) (${unlisted.slice(0, 5).map(([i, p]) => `${i} of ${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`
    + `${unlisted.length > 5 ? ', …' : ''}): ${UNLISTED_CAUSE}; their cost is not counted`] : [];

  const prices = new Map<string, Promise<SpecPrice>>();
  const priceOf = (s: PriceSpec): Promise<SpecPrice> => {
    const key = priceKey(s);
    if (!prices.has(key)) prices.set(key, counted(cloud.eci.describePrice(s)));
    return prices.get(key)!;
  };
  const perSecond = async (s: PriceSpec): Promise<number> => perSecondOf(s, await priceOf(s));
  let currency = 'CNY';

  const vnodes: CostReport['vnodes'] = [];
  // a filter narrows the pods: the VNodes themselves are this cluster's whatever the namespace
  if (!opts.namespace && !opts.selector) {
    for (const v of vnodesEci) {
      const spec: PriceSpec = { ...VNODE_SPEC };
      const p = await priceOf(spec);
      currency = p.currency;
      vnodes.push({ name: v.tags.find((t) => t.key === TAG_NAME)?.value ?? v.name, virtualNodeId: v.id, spec: specText(spec), rate: rate(p.perSecond) });
    }
  }

  // every distinct spec priced at once (a few at a time), before the instances are walked
  const specOf = priceSpecOf;
  const pending = [...instances.values()].map(specOf);
  for (let i = 0; i < pending.length;) {
    const batch: Promise<SpecPrice>[] = [];
    while (i < pending.length && batch.length < 8) {
      const before = prices.size;
      const p = priceOf(pending[i++]!);
      if (prices.size > before) batch.push(p);
    }
    await Promise.all(batch);
  }

  const workloads = new Map<string, string>();
  const priced: PricedInstance[] = [];
  const orphans: PricedInstance[] = [];
  const releasing: PricedInstance[] = [];
  const ended: EndedInstance[] = [];
  const now = Date.now();
  for (const g of instances.values()) {
    const pod = podOf.get(g.id);
    if ((opts.namespace || opts.selector) && !pod) continue;
    const spec = specOf(g);
    const price = await priceOf(spec);
    currency = price.currency;
    const ps = await perSecond(spec);
    if (TERMINAL_STATUSES.includes(g.status)) {
      const end = Date.parse(g.endTime ?? '');
      const start = Date.parse(g.creationTime);
      if (!Number.isFinite(end) || !Number.isFinite(start) || now - end > ENDED_WINDOW_MS) continue;
      const ran = Math.max(0, (end - start) / 1000);
      ended.push({ id: g.id, status: g.status, pod: pod ? pod.metadata.name! : g.tags.find((t) => t.key === 'PodName')?.value ?? null, namespace: pod?.metadata.namespace ?? g.tags.find((t) => t.key === 'NameSpace')?.value ?? null,
        node: g.node, spec: specText(spec), ranSeconds: Math.round(ran), cost: ps * ran });
      continue;
    }
    const row: PricedInstance = {
      id: g.id, status: g.status, pod: pod?.metadata.name ?? null, namespace: pod?.metadata.namespace ?? null, workload: pod ? (await workloadOf(cluster, pod, workloads)) ?? null : null,
      node: g.node, spec: specText(spec), spot: isSpot(spec), economy: spec.computeCategory === 'economy', runningSince: g.creationTime, rate: rate(ps),
    };
    (pod ? priced : g.status === 'Terminating' ? releasing : orphans).push(row);
  }
  priced.sort((a, b) => `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`));
  const group = (key: (i: PricedInstance) => string): Group[] => {
    const m = new Map<string, Group>();
    for (const i of priced) {
      const k = key(i);
      const cur = m.get(k) ?? { key: k, instances: 0, rate: ZERO };
      m.set(k, { key: k, instances: cur.instances + 1, rate: add(cur.rate, i.rate) });
    }
    return [...m.values()].sort((a, b) => b.rate.perSecond - a.rate.perSecond || a.key.localeCompare(b.key));
  };
  const total = [...vnodes.map((v) => v.rate), ...priced.map((i) => i.rate), ...orphans.map((i) => i.rate)].reduce(add, ZERO);
  return {
    currency, note: COST_NOTE, total, vnodes, instances: priced, byNamespace: group((i) => i.namespace ?? '-'), byWorkload: group((i) => i.workload ?? `Pod ${i.namespace}/${i.pod}`),
    orphans, releasing, ended, endedCost: ended.reduce((s, e) => s + e.cost, 0), eciCalls: calls, incomplete,
  };
}
