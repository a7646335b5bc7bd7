/**
 * The ECI spec a pod will be billed as, by ECI's documented rules ("Specify the number of vCPUs and memory size to
 * create a pod"): k8s.aliyun.com/eci-use-specs wins; else the containers' limits summed (requests where no limit is
 * set); nothing set: 2 vCPU / 4 GiB; a sum that is not an offered spec is rounded up to the nearest one with at least
 * that vCPU and memory (documented example: 7 vCPU / 13 GiB runs as 8 vCPU / 14 GiB).
 */

/** Offered in every region: vCPU and the GiB each may have (documented table). */
export const ALL_REGION_SPECS: [number, number[]][] = [
  [0.25, [0.5, 1]], [0.5, [1, 2]], [1, [2, 4, 8]], [2, [1, 2, 4, 8, 16]], [4, [2, 4, 8, 16, 32]], [8, [4, 8, 16, 32, 64]],
  [12, [12, 24, 48, 96]], [16, [16, 32, 64, 128]], [24, [24, 48, 96, 192]], [32, [32, 64, 128, 256]], [52, [96, 192, 384]], [64, [128, 256, 512]],
];
const evens = (from: number, to: number, skip: number[] = []): number[] => Array.from({ length: (to - from) / 2 + 1 }, (_, i) => from + 2 * i).filter((n) => !skip.includes(n));
/** Offered in some regions only (cn-hangzhou among them; documented table), and never as spot. */
export const REGIONAL_SPECS: [number, number[]][] = [
  [2, [6, 10, 12, 14]], [4, [6, ...evens(10, 30, [16])]], [6, evens(6, 48)], [8, evens(10, 62, [16, 32])],
];

export interface Spec { cpu: number; memory: number }
export interface PodEstimate extends Spec {
  spot: boolean;
  /** SpotWithPriceLimit's most per hour (eci-spot-price-limit): the instance never pays more. */
  spotPriceLimit?: number;
  economy: boolean;
}

export function specList(table: [number, number[]][]): Spec[] {
  return table.flatMap(([cpu, mems]) => mems.map((memory) => ({ cpu, memory })));
}

/** The offered spec a request is rounded up to: the fewest vCPU, then the least memory, covering both. */
export function roundUp(want: Spec, offered: Spec[]): Spec | undefined {
  return offered.filter((s) => s.cpu >= want.cpu - 1e-9 && s.memory >= want.memory - 1e-9)
    .sort((a, b) => a.cpu - b.cpu || a.memory - b.memory)[0];
}

const CPU_UNITS: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9 };
const BYTES: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, m: 1e-3 };

/** A Kubernetes quantity in its unit (vCPU, or GiB for memory); undefined when not a quantity. */
export function quantity(raw: string | number | undefined, kind: 'cpu' | 'memory'): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^([+]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(String(raw).trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (/[eE]/.test(m[1]!) && m[2]) return undefined;
  if (kind === 'cpu') { const u = CPU_UNITS[m[2]!]; return u === undefined ? undefined : n * u; }
  const u = BYTES[m[2]!];
  return u === undefined ? undefined : (n * u) / 2 ** 30;
}

interface PodLike {
  metadata?: { annotations?: Record<string, string> };
  spec?: { containers?: { resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[] };
}

export const USE_SPECS = 'k8s.aliyun.com/eci-use-specs';
export const SPOT_STRATEGY = 'k8s.aliyun.com/eci-spot-strategy';
/** Documented: the most per hour, up to 3 decimals, read only with SpotWithPriceLimit. */
export const SPOT_PRICE_LIMIT = 'k8s.aliyun.com/eci-spot-price-limit';
export const COMPUTE_CATEGORY = 'k8s.aliyun.com/eci-compute-category';
/** Documented: the economy category covers 0.25 to 8 vCPU, vCPU/memory specs only, not spot. */
export const ECONOMY_MAX_CPU = 8;

/** What ECI will run the pod as, or why it cannot be told. `offered`: the specs to round to (the region's). */
export function estimatePod(pod: PodLike, offered: Spec[]): PodEstimate | { unknown: string } {
  const a = pod.metadata?.annotations ?? {};
  const spotStrategy = a[SPOT_STRATEGY];
  const spot = Boolean(spotStrategy && spotStrategy !== 'NoSpot');
  const economyAsked = (a[COMPUTE_CATEGORY] ?? '').split(',').map((s) => s.trim()).filter(Boolean)[0] === 'economy';
  const first = (a[USE_SPECS] ?? '').split(',').map((s) => s.trim()).filter(Boolean)[0];
  let want: Spec;
  if (first) {
    const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)Gi$/.exec(first);
    // an ECS instance type: its vCPU, memory and price are ECS's, not in vnode's price table
    if (!m) return { unknown: `instance type ${first} (${USE_SPECS}): vnode accounts vCPU/memory specs only` };
    want = { cpu: Number(m[1]), memory: Number(m[2]) };
  } else {
    let cpu = 0;
    let memory = 0;
    for (const c of pod.spec?.containers ?? []) {
      const r = c.resources ?? {};
      const cq = quantity(r.limits?.cpu ?? r.requests?.cpu, 'cpu');
      const mq = quantity(r.limits?.memory ?? r.requests?.memory, 'memory');
      if ((r.limits?.cpu ?? r.requests?.cpu) !== undefined && cq === undefined) return { unknown: `cpu quantity "${r.limits?.cpu ?? r.requests?.cpu}"` };
      if ((r.limits?.memory ?? r.requests?.memory) !== undefined && mq === undefined) return { unknown: `memory quantity "${r.limits?.memory ?? r.requests?.memory}"` };
      cpu += cq ?? 0;
      memory += mq ?? 0;
    }
    want = cpu === 0 && memory === 0 ? { cpu: 2, memory: 4 } : { cpu, memory };
  }
  const spec = roundUp(want, offered);
  if (!spec) return { unknown: `${want.cpu} vCPU / ${want.memory} GiB is more than any spec ECI offers` };
  const limit = spotStrategy === 'SpotWithPriceLimit' ? Number(a[SPOT_PRICE_LIMIT] ?? NaN) : NaN;
  return { ...spec, spot, ...(limit > 0 ? { spotPriceLimit: limit } : {}), economy: economyAsked && !spot && spec.cpu <= ECONOMY_MAX_CPU };
}
