import { acquireLock, holderName, LOCK_REF, type HeldLock } from '../cluster/lock.js';
import type { Context } from '../context.js';
import { parseDuration } from '../util/duration.js';

/** --lock-timeout, checked for every command (a usage error names the bad value). */
export function lockTimeoutMs(ctx: Context): number {
  return parseDuration('--lock-timeout', ctx.flags.lockTimeout);
}

/**
 * The cluster's lock around a command that changes it: waits for another vnode (saying who and since when), up to
 * --lock-timeout.
 */
export async function holdLock(ctx: Context, command: string, timeoutMs: number, onLost: () => void = () => {}): Promise<HeldLock | undefined> {
  const cluster = await ctx.cluster();
  let waiting = false;
  const lock = await acquireLock(cluster, {
    holder: holderName(command), timeoutMs, signal: ctx.signal,
    onWait: (holder, since) => {
      const text = `Waiting for the cluster's lock: ${holder} has held it since ${since} (--lock-timeout ${ctx.flags.lockTimeout})`;
      if (waiting) ctx.status.update(text);
      else { waiting = true; void ctx.status.start(text); }
    },
    onLost: (by) => {
      ctx.out.warn(`the cluster's lock is lost (now held by ${by}): another vnode may change the cluster, so this run stops before its next step`);
      onLost();
    },
  }).then((l) => { if (waiting) ctx.status.end(true, 'lock taken'); return l; }, (e: unknown) => { if (waiting) ctx.status.end(false); throw e; });
  ctx.out.debug(`holding the cluster's lock (${LOCK_REF.namespace}/${LOCK_REF.name})`);
  return lock;
}
