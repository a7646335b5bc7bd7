import type { Context } from '../../context.js';
import { ensureObject } from '../../cluster/ensure.js';
import { heldBy, type Lease } from '../../cluster/lock.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { usageError } from '../../errors.js';
import { SELECTOR_API, SELECTOR_KIND } from '../scheduling/policy.js';
import {
  checkLimitName, effective, LEDGER, LIMIT_PREFIX, limitObject, LIMITS_NAMESPACE, listLimits, RESOURCES, type BurstLimit, type LimitValues, type LimitWindow, type Usage,
} from './limits.js';
import { ACCOUNTANT_LEASE, parseLedger, parseSnapshot, USAGE_REF } from './limiter.js';
import { fetchPriceTable, priceTableObject, readPriceTable, STALE_MS, type PriceTable } from './prices.js';
import { chargeOf, CHARGE_LABEL, counts, lateCharge, SNAPSHOT_STALE_MS, stillCounts, usageOf, type Charge } from './usage.js';

type PodLike = KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };

export interface LimitRow {
  name: string; selector: string | undefined; values: LimitValues; inForce: LimitValues; window: string | undefined; windows: string[]; used: Usage;
  /** The share of the fullest resource, 0..1+ */
  fullest: number;
}
export interface LimitReport { limits: LimitRow[]; currency: string; prices: { fetched: string; stale: boolean } | undefined }

const needsPrice = (l: Pick<BurstLimit, 'values' | 'windows'>): boolean => l.values.maxHourly !== undefined || l.windows.some((w) => w.values.maxHourly !== undefined);

async function virtualNodeNames(cluster: ClusterPort): Promise<Set<string>> {
  return new Set((await cluster.list<KubeObject>('v1', 'Node', { labelSelector: 'type=virtual-kubelet' })).map((n) => n.metadata.name ?? ''));
}

/** Each limit with what it holds now: charged pods that still count, and the ledger's fresh reservations. */
export async function limitReport(cluster: ClusterPort, at = new Date()): Promise<LimitReport> {
  const [limits, charged, ledger, nodes, prices] = await Promise.all([
    listLimits(cluster), cluster.list<PodLike>('v1', 'Pod', { labelSelector: CHARGE_LABEL }),
    cluster.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: LEDGER }),
    virtualNodeNames(cluster), readPriceTable(cluster),
  ]);
  const counting: Charge[] = [];
  const released = new Map<string, Charge>();
  for (const p of charged) {
    const c = chargeOf(p);
    if (!c) continue;
    if (stillCounts(p, (n) => nodes.has(n))) counting.push(c); else released.set(c.id, c);
  }
  const { reservations, grants } = parseLedger(ledger);
  const rows = limits.map((l): LimitRow => {
    const used = usageOf(l, counting, reservations, released, at.getTime(), grants);
    const { values, window } = effective(l, at);
    const fullest = Math.max(0, ...RESOURCES.filter((r) => values[r] !== undefined).map((r) => (values[r] === 0 ? (used[r] > 0 ? Infinity : 1) : used[r] / values[r]!)));
    return { name: l.name, selector: l.selector, values: l.values, inForce: values, window, windows: l.windows.map((w) => w.text), used, fullest };
  });
  return { limits: rows, currency: prices?.currency ?? 'CNY', prices: prices ? { fetched: prices.fetched, stale: at.getTime() - Date.parse(prices.fetched) > STALE_MS } : undefined };
}

export interface SetOptions { name: string; selector: string | undefined; values: LimitValues; windows: LimitWindow[] | undefined }
export interface SetResult {
  name: string; action: string; limit: BurstLimit; prices: string | undefined; charged: number; dryRun: boolean;
  /** Whether the scheduling servers count it now (undefined: no server counts burst usage in this cluster). */
  counted?: boolean | undefined;
}

/** The scheduling servers' count of the charged pods: where, how old (undefined: none published), whether too old, who counts. */
export async function burstCount(cluster: ClusterPort): Promise<{ object: string; lease: string; age: number | undefined; stale: boolean; holder: string | undefined }> {
  const snap = parseSnapshot(await cluster.get(USAGE_REF));
  const held = heldBy(await cluster.get<Lease>(ACCOUNTANT_LEASE.ref));
  const age = snap ? Date.now() - snap.at : undefined;
  return { object: `${USAGE_REF.namespace}/${USAGE_REF.name}`, lease: ACCOUNTANT_LEASE.ref.name, age, stale: age === undefined || age > SNAPSHOT_STALE_MS, holder: held?.holder };
}

/** How long `limit set` waits for the scheduling servers to count a new or rescoped limit. */
const TAKE_UP_MS = 15_000;

/**
 * Until the replica that counts charged pods has published a count of the limit in its scope, the other replicas send
 * none of its pods to ECI: wait for it, so pods created after `limit set` are not held back a moment.
 */
async function takenUp(ctx: Context, cluster: ClusterPort, limit: BurstLimit): Promise<boolean | undefined> {
  if (!heldBy(await cluster.get<Lease>(ACCOUNTANT_LEASE.ref).catch(() => undefined))) return undefined;
  try {
    await ctx.status.step('Waiting for the scheduling servers to count it', () => cluster.waitFor<KubeObject & { data?: Record<string, string> }>(USAGE_REF,
      (o) => counts(parseSnapshot(o), limit), { timeoutMs: TAKE_UP_MS, signal: ctx.signal }));
    return true;
  } catch (e) {
    if ((e as { code?: string }).code !== 'Timeout') throw e;
    ctx.out.warn(`the scheduling servers have not counted limit ${limit.name} within ${TAKE_UP_MS / 1000} s: until they do, its pods are held back from ECI (vnode doctor)`);
    return false;
  }
}

/** Fetches ECI's prices into the cluster (the server reads them there). */
export async function refreshPrices(ctx: Context): Promise<PriceTable> {
  const cloud = await ctx.cloud();
  const table = await ctx.status.step('Asking ECI the price of each spec (DescribeContainerGroupPrice)', () => fetchPriceTable(cloud.eci, cloud.regionId),
    (t) => `${Object.keys(t.perHour).length} prices, ${t.currency}`);
  if (!ctx.flags.dryRun) await ensureObject(await ctx.cluster(), priceTableObject(table));
  return table;
}

/**
 * Pods already on virtual nodes (or sent there) before a limit existed carry no charge: they get one, so the limit
 * counts them from the start.
 */
async function chargeRunning(cluster: ClusterPort, prices: PriceTable | undefined, dryRun: boolean): Promise<number> {
  const nodes = await virtualNodeNames(cluster);
  const pods = (await Promise.all([...nodes].map((n) => cluster.list<PodLike>('v1', 'Pod', { fieldSelector: `spec.nodeName=${n}` })))).flat();
  let n = 0;
  for (const p of pods) {
    if (chargeOf(p) || !stillCounts(p, (x) => nodes.has(x))) continue;
    const patch = lateCharge(p, prices);
    if (!patch) continue;
    n++;
    if (!dryRun) await cluster.patch({ apiVersion: 'v1', kind: 'Pod', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }, patch, 'merge').catch(() => undefined);
  }
  return n;
}

/** `vnode scheduling limit set`: creates the limit, or changes what is given of it (the rest stays). */
export async function setLimit(ctx: Context, o: SetOptions): Promise<SetResult> {
  checkLimitName(o.name);
  const cluster = await ctx.cluster();
  const existing = (await listLimits(cluster)).find((l) => l.name === o.name);
  const limit: BurstLimit = {
    name: o.name,
    selector: o.selector === '' ? undefined : o.selector ?? existing?.selector,
    values: { ...existing?.values, ...o.values },
    windows: o.windows ?? existing?.windows ?? [],
  };
  if (!RESOURCES.some((r) => limit.values[r] !== undefined) && limit.windows.length === 0) {
    throw usageError('NoLimit', `limit ${o.name} sets nothing: give at least one of --cpu, --memory, --pods, --max-hourly or --window`);
  }
  if (limit.selector) {
    const found = (await cluster.groupVersions()).includes(SELECTOR_API)
      ? await cluster.get({ apiVersion: SELECTOR_API, kind: SELECTOR_KIND, name: limit.selector }) : undefined;
    if (!found) ctx.out.warn(`Selector ${limit.selector} does not exist (yet): the limit holds its pods once it does (vnode scheduling add ${limit.selector} ...)`);
  }
  let prices = await readPriceTable(cluster);
  let fetched: string | undefined;
  if (needsPrice(limit) && (!prices || Date.now() - Date.parse(prices.fetched) > STALE_MS)) {
    prices = await refreshPrices(ctx);
    fetched = `${Object.keys(prices.perHour).length} ECI prices fetched into ${LIMITS_NAMESPACE}/vnode-eci-prices`;
  }
  const desired = limitObject(limit);
  const charged = await chargeRunning(cluster, prices, ctx.flags.dryRun);
  if (ctx.flags.dryRun) return { name: o.name, action: existing ? 'would update' : 'would create', limit, prices: fetched, charged, dryRun: true };
  const r = await ctx.status.step(`Applying ConfigMap ${LIMITS_NAMESPACE}/${LIMIT_PREFIX}${o.name}`, () => ensureObject(cluster, desired), (x) => x.action);
  const counted = await takenUp(ctx, cluster, limit);
  return { name: o.name, action: r.action, limit, prices: fetched, charged, dryRun: false, counted };
}

export async function removeLimit(ctx: Context, name: string): Promise<{ name: string; action: 'deleted' | 'not found' | 'would delete'; dryRun: boolean }> {
  checkLimitName(name);
  const cluster = await ctx.cluster();
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: `${LIMIT_PREFIX}${name}` };
  if (!(await cluster.get(ref))) return { name, action: 'not found', dryRun: ctx.flags.dryRun };
  if (ctx.flags.dryRun) return { name, action: 'would delete', dryRun: true };
  await ctx.status.step(`Deleting ConfigMap ${ref.namespace}/${ref.name}`, () => cluster.delete(ref));
  return { name, action: 'deleted', dryRun: false };
}
