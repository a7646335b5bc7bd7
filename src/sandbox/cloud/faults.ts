import { usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';

export interface FaultRates {
  throttle: number;
  http500: number;
  http503: number;
  reset: number;
  /** The request is carried out, then the connection drops before the answer (a client sees a network error). */
  lost: number;
  latencyMs: number;
}

export type FaultSpec = Map<string, FaultRates>;

const KINDS: Record<string, keyof FaultRates> = { throttle: 'throttle', '500': 'http500', '503': 'http503', reset: 'reset', lost: 'lost', latency: 'latencyMs' };

/**
 * "[Action:]kind=value,...;..." e.g. "*:throttle=0.1,500=0.05,reset=0.05;CreateAccessKey:latency=2s".
 * Rates are probabilities per request; latency is a duration added to every matching request. reset drops
 * the connection before the request is carried out, lost after it (the answer is lost: what ClientTokens are for).
 */
export function parseFaults(spec: string): FaultSpec {
  const out: FaultSpec = new Map();
  for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const action = colon >= 0 ? part.slice(0, colon).trim() : '*';
    const body = colon >= 0 ? part.slice(colon + 1) : part;
    const rates: FaultRates = { throttle: 0, http500: 0, http503: 0, reset: 0, lost: 0, latencyMs: 0 };
    for (const kv of body.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [k, v] = kv.split('=') as [string, string | undefined];
      const field = KINDS[k];
      if (!field || v === undefined) throw usageError('InvalidFaults', `invalid --faults entry "${kv}": expected throttle|500|503|reset|lost=<rate 0..1> or latency=<duration>`);
      if (field === 'latencyMs') rates.latencyMs = parseDuration('--faults latency', v);
      else {
        const r = Number(v);
        if (!(r >= 0 && r <= 1)) throw usageError('InvalidFaults', `invalid --faults rate "${kv}": expected a number from 0 to 1`);
        rates[field] = r;
      }
    }
    out.set(action, rates);
  }
  return out;
}

export function faultsFor(spec: FaultSpec, action: string): FaultRates | undefined {
  return spec.get(action) ?? spec.get('*');
}
