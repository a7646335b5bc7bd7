import { AsyncLocalStorage } from 'node:async_hooks';
import tea from '@alicloud/tea-typescript';
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

interface SeenResponse { retryAfterMs?: number }
const seen = new AsyncLocalStorage<SeenResponse>();
type DoAction = (...args: unknown[]) => Promise<{ headers?: Record<string, string | undefined> }>;

/**
 * @alicloud/openapi-client 0.4 (ECI, VPC, ECS) drops the response headers from its errors, so a throttled call's
 * x-acs-retry-after never reaches the retry. Every request it sends goes through tea's doAction: the header is
 * noted there, per call (async context), and put on the error. (The RAM SDK, on openapi-core, reads it itself.)
 */
const teaModule = tea as unknown as { doAction: DoAction & { vnodeNotesRetryAfter?: true } };
if (!teaModule.doAction.vnodeNotesRetryAfter) {
  const original = teaModule.doAction;
  const noting: DoAction & { vnodeNotesRetryAfter?: true } = async (...args) => {
    const res = await original(...args);
    const store = seen.getStore();
    const ms = Number(res.headers?.['x-acs-retry-after']);
    if (store) store.retryAfterMs = Number.isFinite(ms) && ms > 0 ? ms : undefined;
    return res;
  };
  noting.vnodeNotesRetryAfter = true;
  teaModule.doAction = noting;
}

async function attempt<T>(fn: () => Promise<T>): Promise<T> {
  const store: SeenResponse = {};
  try {
    return await seen.run(store, fn);
  } catch (e) {
    if (store.retryAfterMs && e && typeof e === 'object' && (e as { retryAfter?: number }).retryAfter === undefined) (e as { retryAfter?: number }).retryAfter = store.retryAfterMs;
    throw e;
  }
}

/** One SDK call: retried as vnode's policy says, failures turned into typed errors. */
export async function call<T>(ctx: SdkContext, service: Service, action: string, fn: () => Promise<T>): Promise<T> {
  ctx.log(`${service}: ${action}`);
  try {
    return await withRetry(() => attempt(fn), {
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
    ...(ctx.config.endpoints[service] ? { endpoint: ctx.config.endpoints[service] } : {}),
    protocol: ctx.config.protocol,
    regionId: ctx.config.regionId,
    readTimeout: TIMEOUT_MS,
    connectTimeout: TIMEOUT_MS,
    userAgent: 'vnode/0.1.0',
  };
}
