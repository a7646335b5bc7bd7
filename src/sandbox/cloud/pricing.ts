import { ApiError, invalid, missing } from './errors.js';
import { str, type CallContext } from './service.js';

/**
 * ECI's pay-as-you-go prices as the emulator plays them, per second, in CNY. The per-vCPU and per-GiB figures are
 * the ones DescribeContainerGroupPrice's documented example implies (2 vCPU / 4 GiB: 0.00012252 per second); the
 * instance types, the spot discounts and the offered specs are an ASSUMPTION (the real table is ECI's own).
 */
export const PER_VCPU_SECOND = 0.000049;
/** Documented (ECI's compute category page): economy vCPU at 0.000027 per second, memory as general. */
export const PER_VCPU_SECOND_ECONOMY = 0.000027;
export const PER_GIB_SECOND = 0.00000613;
/** Documented: the economy category covers 0.25 to 8 vCPU. */
export const ECONOMY_MAX_CPU = 8;
export const CURRENCY = 'CNY';

/** ECS instance types an instance may run on (instead of a vCPU/memory spec), by type: its vCPU and GiB. */
export const INSTANCE_TYPES: Record<string, { cpu: number; memory: number }> = {
  'ecs.c6.large': { cpu: 2, memory: 4 }, 'ecs.c6.xlarge': { cpu: 4, memory: 8 }, 'ecs.g6.large': { cpu: 2, memory: 8 },
  'ecs.g6.xlarge': { cpu: 4, memory: 16 }, 'ecs.r6.large': { cpu: 2, memory: 16 }, 'ecs.gn6i-c4g1.xlarge': { cpu: 4, memory: 15 },
};

/**
 * The vCPU/memory specs ECI offers, as its page tables them (GiB by vCPU): in every region, and in some regions only
 * (cn-hangzhou among them, the sandbox's region; never as spot).
 */
const EVERY_REGION: Record<number, number[]> = {
  0.25: [0.5, 1], 0.5: [1, 2], 1: [2, 4, 8], 2: [1, 2, 4, 8, 16], 4: [2, 4, 8, 16, 32], 8: [4, 8, 16, 32, 64], 12: [12, 24, 48, 96],
  16: [16, 32, 64, 128], 24: [24, 48, 96, 192], 32: [32, 64, 128, 256], 52: [96, 192, 384], 64: [128, 256, 512],
};
const range2 = (a: number, b: number): number[] => Array.from({ length: (b - a) / 2 + 1 }, (_, i) => a + i * 2);
const SOME_REGIONS: Record<number, number[]> = {
  2: [6, 10, 12, 14], 4: [6, 10, 12, 14, 18, 20, 22, 24, 26, 28, 30], 6: range2(6, 48), 8: range2(10, 62).filter((g) => g !== 16 && g !== 32),
};

export function offeredSpec(cpu: number, memory: number, spot = false): boolean {
  const has = (t: Record<number, number[]>): boolean => (t[cpu] ?? []).some((g) => Math.abs(g - memory) < 1e-9);
  return has(EVERY_REGION) || (!spot && has(SOME_REGIONS));
}

/** Documented: a request that is not a spec runs as the nearest spec with at least its vCPU and memory (7/13 -> 8/14). */
export function specFor(cpu: number, memory: number): { cpu: number; memory: number } | undefined {
  const all = [EVERY_REGION, SOME_REGIONS].flatMap((t) => Object.entries(t).flatMap(([c, gs]) => gs.map((g) => ({ cpu: Number(c), memory: g }))));
  // ASSUMPTION: "nearest" as fewest vCPU first, then least memory (the documented example agrees)
  return all.filter((x) => x.cpu >= cpu && x.memory >= memory).sort((a, b) => a.cpu - b.cpu || a.memory - b.memory)[0];
}

/** The spot price's share of the list price, by zone (the emulator's: real spot prices move with stock). */
const SPOT_SHARE: Record<string, number> = { 'cn-hangzhou-h': 0.2, 'cn-hangzhou-i': 0.25 };

const round = (n: number): number => Math.round(n * 1e8) / 1e8;
/** Hourly prices carry three decimals, as the documented example (SpotPrice 0.056, OriginPrice 0.622). */
const round3 = (n: number): number => Math.round(n * 1e3) / 1e3;

/** Whether a vCPU/memory instance runs as economy: asked for, by vCPU and memory, not spot (documented limits). */
export function economyApplies(spec: { cpu: number; instanceType?: string | undefined; spotStrategy?: string | undefined }): boolean {
  return !spec.instanceType && spec.cpu <= ECONOMY_MAX_CPU && (!spec.spotStrategy || spec.spotStrategy === 'NoSpot');
}

/** DescribeContainerGroupPrice: the documented request and answer, refusing what the API refuses. */
export function priceAnswer(ctx: CallContext, zones: string[]): Record<string, unknown> {
  const type = str(ctx, 'InstanceType');
  const cpuRaw = str(ctx, 'Cpu');
  const memRaw = str(ctx, 'Memory');
  let cpu: number;
  let memory: number;
  if (type) {
    const t = INSTANCE_TYPES[type];
    // ASSUMPTION: the code of an instance type ECI does not offer
    if (!t) throw new ApiError(400, 'InvalidParameter.InstanceType', `The specified InstanceType ${type} is not supported.`);
    ({ cpu, memory } = t);
  } else {
    if (cpuRaw === undefined) throw missing('Cpu');
    if (memRaw === undefined) throw missing('Memory');
    cpu = Number(cpuRaw);
    memory = Number(memRaw);
    // ASSUMPTION: the code of a spec ECI does not offer
    if (!offeredSpec(cpu, memory, (str(ctx, 'SpotStrategy') ?? 'NoSpot') !== 'NoSpot')) throw new ApiError(400, 'InvalidParameter.CpuOrMemory', `The specified spec ${cpuRaw} vCPU / ${memRaw} GiB is not offered.`);
  }
  const zone = str(ctx, 'ZoneId');
  if (zone && !zones.includes(zone)) throw invalid('ZoneId', `zone ${zone} is not one of ${zones.join(', ')}`);
  const strategy = str(ctx, 'SpotStrategy') ?? 'NoSpot';
  if (!['NoSpot', 'SpotWithPriceLimit', 'SpotAsPriceGo'].includes(strategy)) throw invalid('SpotStrategy', `"${strategy}" must be NoSpot, SpotWithPriceLimit or SpotAsPriceGo`);
  // documented: SpotPriceLimit is required with SpotWithPriceLimit
  if (strategy === 'SpotWithPriceLimit' && str(ctx, 'SpotPriceLimit') === undefined) throw missing('SpotPriceLimit');
  const category = str(ctx, 'ComputeCategory');
  if (category !== undefined && category !== 'economy' && category !== 'general') throw invalid('ComputeCategory', `"${category}" must be economy`);
  // documented for instances: economy and spot together are refused with FeatureBasedConstraintConflict
  if (category === 'economy' && strategy !== 'NoSpot') throw new ApiError(400, 'FeatureBasedConstraintConflict', 'ComputeCategory economy cannot be combined with a spot strategy.');
  // documented: an ECS instance type wins over the category; ASSUMPTION: the code of economy above 8 vCPU
  if (category === 'economy' && !type && cpu > ECONOMY_MAX_CPU) throw invalid('ComputeCategory', `economy covers 0.25 to ${ECONOMY_MAX_CPU} vCPU, not ${cpu}`);
  const economy = category === 'economy' && !type;
  const storage = Number(str(ctx, 'EphemeralStorage') ?? 0);
  const cpuPrice = round(cpu * (economy ? PER_VCPU_SECOND_ECONOMY : PER_VCPU_SECOND));
  const memPrice = round(memory * PER_GIB_SECOND);
  // ASSUMPTION: ephemeral storage beyond the free 30 GiB, per GiB-second
  const storagePrice = round(Math.max(0, storage - 30) * 0.0000000417);
  const total = round(cpuPrice + memPrice + storagePrice);
  const detail = [{ Resource: 'Cpu', OriginalPrice: cpuPrice, DiscountPrice: 0, TradePrice: cpuPrice }, { Resource: 'Memory', OriginalPrice: memPrice, DiscountPrice: 0, TradePrice: memPrice },
    ...(storagePrice > 0 ? [{ Resource: 'EphemeralStorage', OriginalPrice: storagePrice, DiscountPrice: 0, TradePrice: storagePrice }] : [])];
  // documented: SpotPrice and OriginPrice are per hour (TradePrice per second)
  const spot = strategy === 'NoSpot' ? [] : (zone ? [zone] : zones).map((z) => ({
    ZoneId: z, InstanceType: type ?? `eci.${cpu}c${memory}g`, OriginPrice: round3(total * 3600), SpotPrice: round3(total * 3600 * (SPOT_SHARE[z] ?? 0.3)),
  }));
  return {
    PriceInfo: {
      Price: { OriginalPrice: total, DiscountPrice: 0, TradePrice: total, Currency: CURRENCY, DetailInfos: { DetailInfo: detail } },
      SpotPrices: { SpotPrice: spot },
    },
  };
}

/** Kubernetes quantities as ECI reads a container's resources: vCPU, or GiB. */
function amount(q: string | undefined, memory: boolean): number {
  if (q === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) return 0;
  const units: Record<string, number> = memory
    ? { '': 1 / 2 ** 30, Ki: 1 / 2 ** 20, Mi: 1 / 2 ** 10, Gi: 1, Ti: 2 ** 10, k: 1e3 / 2 ** 30, M: 1e6 / 2 ** 30, G: 1e9 / 2 ** 30, T: 1e12 / 2 ** 30, m: 1e-3 / 2 ** 30 }
    : { '': 1, m: 1e-3 };
  return Number(m[1]) * (units[m[2] ?? ''] ?? 0);
}

interface PodResources { metadata?: { annotations?: Record<string, string> | undefined }; spec?: { containers?: { resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[] } }

/**
 * The spec ECI creates a pod's instance as, by the documented rules: k8s.aliyun.com/eci-use-specs ("2-4Gi", or an
 * instance type such as ecs.c6.large; the first one) wins; else the containers' limits, or their requests where
 * there are no limits, summed and rounded up to an offered spec; 2 vCPU / 4 GiB when none is set.
 * k8s.aliyun.com/eci-spot-strategy and k8s.aliyun.com/eci-compute-category as documented.
 */
export function podSpec(pod: PodResources): { cpu: number; memory: number; instanceType?: string; spotStrategy?: string; computeCategory?: string } {
  const annotations = pod.metadata?.annotations;
  const specs = (annotations?.['k8s.aliyun.com/eci-use-specs'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const spot = annotations?.['k8s.aliyun.com/eci-spot-strategy'];
  const first = specs[0];
  const base = ((): { cpu: number; memory: number; instanceType?: string } => {
    if (first && INSTANCE_TYPES[first]) return { ...INSTANCE_TYPES[first]!, instanceType: first };
    const m = first ? /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)Gi$/.exec(first) : null;
    let cpu = m ? Number(m[1]) : 0;
    let memory = m ? Number(m[2]) : 0;
    if (!m) {
      for (const c of pod.spec?.containers ?? []) {
        const r = c.resources ?? {};
        cpu += amount(r.limits?.cpu ?? r.requests?.cpu, false);
        memory += amount(r.limits?.memory ?? r.requests?.memory, true);
      }
    }
    if (cpu === 0 && memory === 0) return { cpu: 2, memory: 4 };
    return specFor(cpu, memory) ?? { cpu, memory };
  })();
  // documented: k8s.aliyun.com/eci-compute-category lists categories in order of preference (economy, general)
  const categories = (annotations?.['k8s.aliyun.com/eci-compute-category'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const spec = { ...base, ...(spot ? { spotStrategy: spot } : {}) };
  const category = categories.find((c) => c === 'general' || (c === 'economy' && economyApplies(spec)));
  return { ...spec, ...(category ? { computeCategory: category } : {}) };
}
