import type { CloudConfig, Service } from './config.js';
import type { CredentialClient } from './credentials.js';
import { cloudError } from './errors.js';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from './retry.js';

/** Both timeouts set: the SDKs cut a response at the smaller of the two. */
export const TIMEOUT_MS = 15_000;

export interface SdkContext {
  config: CloudConfig;
  credential: CredentialClient;
  signal: AbortSignal;
  log: (m: string) => void;
  retry?: Partial<RetryOptions>;
}

/** One SDK call: retried as vnode's policy says, failures turned into typed errors. */
export async function call<T>(ctx: SdkContext, service: Service, action: string, fn: () => Promise<T>): Promise<T> {
  ctx.log(`${service}: ${action}`);
  try {
    return await withRetry(fn, {
      ...DEFAULT_RETRY, ...ctx.retry, signal: ctx.signal,
      onRetry: (n, delay, e) => ctx.log(`${service}: ${action} attempt ${n} failed (${(e as { code?: string }).code ?? (e as Error).message}); retrying in ${delay} ms`),
    });
  } catch (e) {
    throw cloudError(e, `${service}:${action}`);
  }
}

export function hasCode(e: unknown, ...codes: string[]): boolean {
  const c = (e as { details?: { code?: string }; code?: string })?.details?.code ?? (e as { code?: string })?.code;
  return typeof c === 'string' && codes.includes(c);
}

export function configFields(ctx: SdkContext, service: Service): Record<string, unknown> {
  return {
    credential: ctx.credential,
    endpoint: ctx.config.endpoints[service],
    protocol: ctx.config.protocol,
    regionId: ctx.config.regionId,
    readTimeout: TIMEOUT_MS,
    connectTimeout: TIMEOUT_MS,
    userAgent: 'vnode/0.1.0',
  };
}
