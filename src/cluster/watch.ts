import { pause } from '../util/sleep.js';
import type { ClusterPort, KubeObject, ListOptions, WatchEventType } from './port.js';

export interface KeepWatching<T extends KubeObject> {
  /** The list a (re)started watch begins with: what exists now. */
  onSynced(present: T[]): void;
  onEvent(type: WatchEventType, o: T): void;
  /** Before the retry, after the failure was logged (e.g. a CRD not there yet). */
  onFailed?(e: unknown): void;
}

/**
 * List and watch until the signal, again after any failure (the API server restarting, a resource not served yet),
 * waiting `retryMs` between tries. The cluster is asked for each try: a token may have been renewed.
 */
export async function keepWatching<T extends KubeObject>(cluster: () => Promise<ClusterPort>, apiVersion: string, kind: string, opts: ListOptions,
  h: KeepWatching<T>, signal: AbortSignal, log: (m: string) => void, retryMs: number): Promise<void> {
  while (!signal.aborted) {
    try {
      await (await cluster()).watchList<T>(apiVersion, kind, opts, (type, o) => h.onEvent(type, o), signal, (present) => h.onSynced(present));
    } catch (e) {
      if (signal.aborted) return;
      h.onFailed?.(e);
      const scope = opts.labelSelector ?? opts.fieldSelector;
      log(`watching ${kind}${scope ? ` (${scope})` : ''} failed: ${(e as Error).message}`);
      await pause(retryMs, signal).catch(() => undefined);
    }
  }
}
