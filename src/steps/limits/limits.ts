import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { usageError } from '../../errors.js';
import { quantity } from './spec.js';

/** Limits and the records they need live in kube-system, as ConfigMaps (`kubectl get cm -n kube-system -l vnode.dev/burst-limit`). */
export const LIMITS_NAMESPACE = 'kube-system';
export const LIMIT_LABEL = 'vnode.dev/burst-limit';
export const LIMIT_PREFIX = 'vnode-limit-';
/** The reservations of pods admitted towards ECI a moment ago, written with optimistic concurrency by every replica. */
export const LEDGER = 'vnode-burst-ledger';
/** What the counting replica (the holder of Lease ACCOUNTANT) sees of the charged pods, for the other replicas. */
export const USAGE = 'vnode-burst-usage';
export const ACCOUNTANT = 'vnode-burst-accountant';
/** ECI's prices as DescribeContainerGroupPrice answered them, so the server needs no cloud credential. */
export const PRICES = 'vnode-eci-prices';

export type Resource = 'cpu' | 'memory' | 'pods' | 'maxHourly';
export const RESOURCES: Resource[] = ['cpu', 'memory', 'pods', 'maxHourly'];
export type LimitValues = Partial<Record<Resource, number>>;

export interface LimitWindow { text: string; days: number[]; from: number; to: number; timeZone: string; values: LimitValues }

export interface BurstLimit {
  name: string;
  /** A Selector's name; undefined: everything this cluster sends to ECI. */
  selector?: string | undefined;
  values: LimitValues;
  windows: LimitWindow[];
}

export interface Usage { cpu: number; memory: number; pods: number; maxHourly: number }
export const NO_USAGE: Usage = { cpu: 0, memory: 0, pods: 0, maxHourly: 0 };

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const NAME = /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/;

export function checkLimitName(name: string): void {
  if (!NAME.test(name)) throw usageError('InvalidLimitName', `invalid limit name "${name}": expected lower-case letters, digits and '-', at most 52 characters, starting and ending with a letter or digit`);
}

/** `cpu=8,memory=32Gi,pods=20,max-hourly=5.5`: the values a window (or the flags) set. */
export function parseValues(raw: string, where: string): LimitValues {
  const out: LimitValues = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const key = ({ cpu: 'cpu', memory: 'memory', pods: 'pods', 'max-hourly': 'maxHourly' } as Record<string, Resource>)[k ?? ''];
    if (!key || v === undefined) throw usageError('InvalidLimit', `invalid ${where} "${part}": expected cpu=N, memory=QUANTITY, pods=N or max-hourly=AMOUNT`);
    out[key] = parseValue(key, v, where);
  }
  return out;
}

export function parseValue(key: Resource, raw: string, where: string): number {
  const n = key === 'memory' ? quantity(raw, 'memory') : key === 'cpu' ? quantity(raw, 'cpu') : /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : undefined;
  const valid = { cpu: 'a number of vCPU such as 16 or 500m', memory: 'a quantity such as 64Gi', pods: 'a whole number', maxHourly: 'an amount per hour such as 12.5' }[key];
  if (n === undefined || !Number.isFinite(n) || n < 0 || (key === 'pods' && !Number.isInteger(n))) throw usageError('InvalidLimit', `invalid ${where} "${raw}": expected ${valid}`);
  return n;
}

function minutes(hhmm: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hhmm);
  if (!m) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v > 24 * 60 ? undefined : v;
}

function days(raw: string): number[] | undefined {
  if (raw === '*' || raw.toLowerCase() === 'daily') return [0, 1, 2, 3, 4, 5, 6];
  const out = new Set<number>();
  for (const part of raw.split(',')) {
    const [a, b] = part.split('-').map((d) => DAYS.findIndex((x) => x.toLowerCase() === d.toLowerCase()));
    if (a === undefined || a < 0 || (b !== undefined && b < 0)) return undefined;
    if (b === undefined) out.add(a);
    else for (let d = a; ; d = (d + 1) % 7) { out.add(d); if (d === b) break; }
  }
  return [...out].sort();
}

/** `Mon-Fri 08:00-20:00 Asia/Shanghai cpu=64,max-hourly=20`: other limits in force on those days and hours of that zone. */
export function parseWindow(raw: string): LimitWindow {
  const bad = (why: string): never => {
    throw usageError('InvalidWindow', `invalid --window "${raw}": ${why}; expected e.g. "Mon-Fri 08:00-20:00 Asia/Shanghai cpu=64,max-hourly=20"`);
  };
  const parts = raw.trim().split(/\s+/);
  if (parts.length !== 4) bad('four parts: days, hours, time zone, limits');
  const [d, hours, timeZone, values] = parts as [string, string, string, string];
  const dayList = days(d) ?? bad(`days "${d}" (Mon..Sun, ranges such as Mon-Fri, lists, or *)`);
  const [f, t] = hours.split('-');
  const from = minutes(f ?? '');
  const to = minutes(t ?? '');
  if (from === undefined || to === undefined || from === to) bad(`hours "${hours}" (HH:MM-HH:MM)`);
  try { new Intl.DateTimeFormat('en-US', { timeZone }); } catch { bad(`time zone "${timeZone}" (an IANA name such as Europe/Berlin or UTC)`); }
  return { text: parts.join(' '), days: dayList, from: from!, to: to!, timeZone, values: parseValues(values, '--window limit') };
}

/** Whether `at` falls in the window, in its time zone (a window past midnight belongs to the day it starts). */
export function inWindow(w: LimitWindow, at: Date): boolean {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: w.timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(at).map((p) => [p.type, p.value]));
  const day = DAYS.indexOf(parts.weekday ?? '');
  const now = Number(parts.hour) * 60 + Number(parts.minute);
  if (w.from < w.to) return w.days.includes(day) && now >= w.from && now < w.to;
  return (w.days.includes(day) && now >= w.from) || (w.days.includes((day + 6) % 7) && now < w.to);
}

/** The values in force at `at`: the first window that holds then, over the limit's own. */
export function effective(l: BurstLimit, at: Date): { values: LimitValues; window?: string } {
  const w = l.windows.find((x) => inWindow(x, at));
  return w ? { values: { ...l.values, ...w.values }, window: w.text } : { values: l.values };
}

export function limitObject(l: BurstLimit): KubeObject {
  const data: Record<string, string> = {};
  if (l.selector) data.selector = l.selector;
  for (const r of RESOURCES) if (l.values[r] !== undefined) data[r === 'maxHourly' ? 'max-hourly' : r] = String(l.values[r]);
  if (l.windows.length) data.windows = l.windows.map((w) => w.text).join('\n');
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `${LIMIT_PREFIX}${l.name}`, namespace: LIMITS_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'vnode', [LIMIT_LABEL]: l.name } },
    data,
  } as KubeObject;
}

/** A limit from its ConfigMap; undefined when it is not one (or was edited into nonsense: said by the caller). */
export function limitOf(o: KubeObject & { data?: Record<string, string> }): BurstLimit | undefined {
  const name = o.metadata.labels?.[LIMIT_LABEL];
  if (!name) return undefined;
  const d = o.data ?? {};
  const values: LimitValues = {};
  for (const r of RESOURCES) {
    const raw = d[r === 'maxHourly' ? 'max-hourly' : r];
    if (raw !== undefined) values[r] = Number(raw);
  }
  const windows = (d.windows ?? '').split('\n').map((s) => s.trim()).filter(Boolean).map(parseWindow);
  return { name, ...(d.selector ? { selector: d.selector } : {}), values, windows };
}

export async function listLimits(cluster: ClusterPort): Promise<BurstLimit[]> {
  const objects = await cluster.list<KubeObject & { data?: Record<string, string> }>('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, labelSelector: LIMIT_LABEL });
  return objects.map(limitOf).filter((l): l is BurstLimit => Boolean(l)).sort((a, b) => a.name.localeCompare(b.name));
}

/** How a limit reads: `cpu 8, memory 32Gi, pods 20, 5.5 CNY/h`. */
export function describeValues(v: LimitValues, currency = ''): string {
  const out: string[] = [];
  if (v.cpu !== undefined) out.push(`cpu ${round(v.cpu)}`);
  if (v.memory !== undefined) out.push(`memory ${round(v.memory)}Gi`);
  if (v.pods !== undefined) out.push(`pods ${v.pods}`);
  if (v.maxHourly !== undefined) out.push(`${round(v.maxHourly)}${currency ? ` ${currency}` : ''}/h`);
  return out.join(', ') || 'none';
}

export const round = (n: number): number => Math.round(n * 1000) / 1000;
