import { interrupted } from '../errors.js';
import { isRetryable, sdkFields } from './errors.js';

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  capMs: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number, e: unknown) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, baseMs: 200, capMs: 8000 };

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(interrupted()); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(t); reject(interrupted()); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Retries throttling, 5xx and network failures with exponential backoff and full jitter; a server's
 * Retry-After (x-acs-retry-after, in ms) is a floor. The call itself is the same each time (same ClientToken).
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const wait = opts.sleep ?? sleep;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      // once the run is over or interrupted, the last failure is the answer: no further attempt, no "retrying" line
      if (attempt >= opts.attempts || !isRetryable(e) || opts.signal?.aborted) throw e;
      const backoff = Math.min(opts.capMs, opts.baseMs * 2 ** (attempt - 1));
      const retryAfter = sdkFields(e).retryAfter;
      const delay = Math.max(Math.round(random() * backoff), typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter : 0);
      opts.onRetry?.(attempt, delay, e);
      await wait(delay, opts.signal);
    }
  }
}
