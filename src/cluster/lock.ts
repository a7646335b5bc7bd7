import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { operationError } from '../errors.js';
import { pause } from '../util/sleep.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject, type ObjectRef } from './port.js';

/**
 * One mutating vnode at a time per cluster, as Helm and Terraform hold a lock: a Lease in kube-system. The holder
 * renews it while it runs; a Lease not renewed within its duration (a killed vnode) is taken over.
 */
export const LOCK_REF: ObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'kube-system', name: 'vnode-lock' };
export const LEASE_SECONDS = 30;
const RENEW_MS = 10_000;

interface LeaseSpec { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number }
export type Lease = KubeObject & { spec?: LeaseSpec };

/** MicroTime as the API server takes it: RFC 3339 with six fractional digits. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function holderName(command: string): string {
  let user = 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry (a container): the host and pid still tell */ }
  // the run's own token: two runs in one process (or a reused pid) are two holders
  return `vnode ${command} (${user}@${hostname()}, pid ${process.pid}, run ${randomBytes(3).toString('hex')})`;
}

/** Whether a Lease is held by someone now: a holder, renewed within its duration. */
export function heldBy(lease: Lease | undefined, now = Date.now()): { holder: string; since: string; expires: number } | undefined {
  const s = lease?.spec;
  if (!s?.holderIdentity) return undefined;
  const renewed = Date.parse(s.renewTime ?? s.acquireTime ?? '');
  const expires = (Number.isFinite(renewed) ? renewed : 0) + (s.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
  if (expires <= now) return undefined;
  return { holder: s.holderIdentity, since: s.acquireTime ?? s.renewTime ?? '', expires };
}

export interface HeldLock {
  /** Set when another run took the Lease over (ours was not renewed in time). */
  lost: boolean;
  release(): Promise<void>;
}

export interface LockOptions {
  holder: string;
  /** Another Lease than the cluster's lock (e.g. one replica's role among several), with its own timings. */
  lease?: { ref: ObjectRef; seconds: number; renewMs: number };
  /** How long to wait for another holder; 0: do not wait. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Called once while waiting, and again when the holder changes. */
  onWait?: (holder: string, since: string) => void;
  onLost?: (by: string) => void;
}

function leaseOf(opts: LockOptions): { ref: ObjectRef; seconds: number; renewMs: number } {
  return opts.lease ?? { ref: LOCK_REF, seconds: LEASE_SECONDS, renewMs: RENEW_MS };
}

const isConflict = (e: unknown): boolean => ['Conflict', 'AlreadyExists'].includes((e as { code?: string }).code ?? '') || /the object has been modified|already exists/i.test((e as Error).message ?? '');

/** Takes the cluster's Lease, waiting for another holder up to timeoutMs, then keeps renewing it until released. */
export async function acquireLock(cluster: ClusterPort, opts: LockOptions): Promise<HeldLock> {
  const deadline = Date.now() + opts.timeoutMs;
  const { ref, seconds } = leaseOf(opts);
  let waitingOn: string | undefined;
  for (;;) {
    const lease = await cluster.get<Lease>(ref);
    const held = heldBy(lease);
    if (!held || held.holder === opts.holder) {
      const now = microTime();
      const spec: LeaseSpec = {
        holderIdentity: opts.holder, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now,
        leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (lease ? 1 : 0),
      };
      try {
        const got = lease
          // the resourceVersion makes it conditional: of two runs taking a free Lease, one wins
          ? await cluster.patch<Lease>(ref, { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec }, 'merge')
          : await cluster.create<Lease>({ ...ref, metadata: { name: ref.name, namespace: ref.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, spec } as Lease);
        return keep(cluster, got, opts);
      } catch (e) {
        if (!isConflict(e)) throw e;
        continue;
      }
    }
    if (opts.timeoutMs <= 0 || Date.now() >= deadline) {
      throw operationError('Locked', `another vnode is changing this cluster: ${held.holder}, since ${held.since}`, {
        hint: opts.timeoutMs <= 0 ? 'run again once it has finished, or pass --lock-timeout to wait for it' : 'run again once it has finished, or raise --lock-timeout; a killed vnode\'s lock is taken over '
          + `${seconds}s after its last renewal`,
      });
    }
    if (waitingOn !== held.holder) { waitingOn = held.holder; opts.onWait?.(held.holder, held.since); }
    await pause(Math.min(1000, Math.max(50, Math.min(deadline, held.expires) - Date.now())), opts.signal);
    if (opts.signal.aborted) throw operationError('Interrupted', `interrupted while waiting for the cluster's lock (held by ${held.holder})`);
  }
}

const isNotFound = (e: unknown): boolean => (e as { code?: string }).code === 'NotFound' || (e as { statusCode?: number }).statusCode === 404 || /not ?found/i.test((e as Error).message ?? '');

/**
 * Renews the Lease every RENEW_MS. Lost when another run holds it, or when it could not be renewed within its
 * duration (another run may take it then); a Lease that vanished is taken again if still free.
 */
function keep(cluster: ClusterPort, lease: Lease, opts: LockOptions): HeldLock {
  const { ref, seconds, renewMs } = leaseOf(opts);
  let current = lease;
  let renewedAt = Date.now();
  const state: HeldLock = {
    lost: false,
    release: async () => {
      clearInterval(timer);
      await renewing;
      if (state.lost) return;
      // released, not deleted: conditional on our resourceVersion, so another holder's Lease is never touched
      await cluster.patch(ref, { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { holderIdentity: null, renewTime: null, acquireTime: null } }, 'merge')
        .catch(() => undefined);
    },
  };
  const lose = (by: string): void => {
    if (state.lost) return;
    state.lost = true;
    clearInterval(timer);
    opts.onLost?.(by);
  };
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = (async () => {
      try {
        current = await cluster.patch<Lease>(ref, { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { renewTime: microTime() } }, 'merge');
        renewedAt = Date.now();
        return;
      } catch (e) {
        if (isNotFound(e)) {
          // deleted under us: taken again if nobody else has (a create is conditional on its absence)
          const now = microTime();
          try {
            current = await cluster.create<Lease>({ ...ref, metadata: { name: ref.name, namespace: ref.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
              spec: { holderIdentity: opts.holder, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } } as Lease);
            renewedAt = Date.now();
            return;
          } catch (c) {
            if (!isConflict(c)) throw c;
          }
        } else if (!isConflict(e)) {
          throw e;
        }
        const now = await cluster.get<Lease>(ref).catch(() => undefined);
        if (now?.spec?.holderIdentity !== opts.holder) lose(now?.spec?.holderIdentity ?? 'nobody');
        else { current = now; renewedAt = Date.now(); }
      }
    })().catch(() => {
      // not renewed (the API server unreachable): lost once the Lease may have expired for others
      if (Date.now() - renewedAt >= seconds * 1000) lose('nobody (it could not be renewed in time)');
    });
  }, renewMs);
  timer.unref();
  return state;
}
