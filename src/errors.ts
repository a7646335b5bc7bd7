/** Where a failure came from decides the exit code: the user's input (2), the operation (1), an interrupt (130). */
export type ErrorSource = 'usage' | 'operation' | 'interrupted';

export const ExitCode = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class VnodeError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly source: ErrorSource;
  readonly details: Record<string, unknown> | undefined;

  constructor(source: ErrorSource, code: string, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VnodeError';
    this.source = source;
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  get exitCode(): number {
    switch (this.source) {
      case 'usage': return ExitCode.usage;
      case 'interrupted': return ExitCode.interrupted;
      case 'operation': return ExitCode.failed;
    }
  }
}

/** Codes whose failure a re-run as is may not meet again: waits, locks, the network, a busy service, an interrupt. */
const TRANSIENT = new Set(['Timeout', 'Locked', 'LockLost', 'Unreachable', 'NetworkError', 'Interrupted', 'RegistrationBusy', 'AddonBusy', 'DrainTimeout',
  'TokenTimeout', 'OrphanedInstances', 'UpgradeNotDone', 'AgentNotConnected', 'WebhookNotAvailable', 'ServiceUnavailable', 'InternalError', 'ErrorTaskRunning']);

/** Whether running the same command again, unchanged, may succeed. */
export function retryable(e: VnodeError): boolean {
  return e.source === 'interrupted' || TRANSIENT.has(e.code) || e.code.startsWith('Throttling');
}

/** The user's input is wrong; raised before anything is changed. */
export function usageError(code: string, message: string, hint?: string): VnodeError {
  return new VnodeError('usage', code, message, hint === undefined ? {} : { hint });
}

export function operationError(code: string, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}): VnodeError {
  return new VnodeError('operation', code, message, opts);
}

export function interrupted(): VnodeError {
  return new VnodeError('interrupted', 'Interrupted', 'interrupted', { hint: 'run the same command again to finish' });
}

export function isVnodeError(e: unknown): e is VnodeError {
  return e instanceof VnodeError;
}

/** Throws the interrupt error once the run's signal has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw interrupted();
}

/** The same failure (its source, code and exit status), told with what the run had already done and what a re-run does. */
export function withContext(e: unknown, message: string, hint: string): VnodeError {
  const source = isVnodeError(e) ? e.source : 'operation';
  return new VnodeError(source, isVnodeError(e) ? e.code : 'Failed', message, { hint, cause: e });
}

/** A failure's own message, for naming it inside another. */
export function errorText(e: unknown): string {
  return (e as Error | undefined)?.message ?? String(e);
}

const DEFAULT_RERUN = 'run the same command again to finish: it checks what is already done and does only what is left';

/**
 * An interrupted run told in full: the step it stopped in (or before), what was done, and what a re-run does. A
 * message that already names what is left (drain, uninstall) keeps it.
 */
export function describeInterrupt(e: unknown, progress: { done: readonly string[]; stoppedAt: { text: string; during: boolean } | undefined }, rerun?: string): VnodeError {
  const own = isVnodeError(e) && e.message !== 'interrupted' ? e.message : '';
  const where = progress.stoppedAt ? `${progress.stoppedAt.during ? 'during' : 'before'} "${progress.stoppedAt.text}"` : '';
  const done = progress.done.length ? `done: ${progress.done.slice(-8).join('; ')}${progress.done.length > 8 ? ` (and ${progress.done.length - 8} earlier)` : ''}` : 'nothing was done yet';
  const message = [own || `interrupted${where ? ` ${where}` : ''}`, own && where ? `stopped ${where}` : '', done].filter(Boolean).join('; ');
  const details = isVnodeError(e) ? e.details : undefined;
  const ownHint = isVnodeError(e) && e.hint && e.hint !== interrupted().hint ? e.hint : undefined;
  return new VnodeError('interrupted', 'Interrupted', message, { hint: rerun ?? ownHint ?? DEFAULT_RERUN, cause: e, ...(details ? { details } : {}) });
}

/** The cluster's lock lost mid-run: the run stopped before its next step, saying what it did; exit 1, a re-run finishes. */
export function describeLockLost(e: unknown, progress: { done: readonly string[]; stoppedAt: { text: string; during: boolean } | undefined }, rerun?: string): VnodeError {
  const i = describeInterrupt(e, progress, rerun);
  const rest = i.message.replace(/^interrupted( (before|during) "[^"]*")?;? ?/, '');
  const where = progress.stoppedAt ? ` ${progress.stoppedAt.during ? 'during' : 'before'} "${progress.stoppedAt.text}"` : '';
  return operationError('LockLost', `this run lost the cluster's lock (kube-system/vnode-lock) to another vnode and stopped${where}${rest ? `; ${rest}` : ''}`, {
    hint: `once the other vnode is done, ${(rerun ?? DEFAULT_RERUN).replace(/^run/, 'run')}`, cause: e,
  });
}

/**
 * A RAM denial that came after changes (no probe could ask first): the same failure, told with what was done and
 * where it stopped, and that a re-run once the permission is granted finishes it.
 */
export async function describeDenial(e: unknown, progress: { done: readonly string[]; failedAt?: string | undefined }): Promise<unknown> {
  if (!isVnodeError(e) || progress.done.length === 0) return e;
  const denied = typeof e.details?.denied === 'string' ? e.details.denied : undefined;
  if (!denied) return e;
  const where = progress.failedAt ? ` at "${progress.failedAt}"` : '';
  const done = `${progress.done.slice(-8).join('; ')}${progress.done.length > 8 ? ` (and ${progress.done.length - 8} earlier)` : ''}`;
  return new VnodeError(e.source, e.code, `${e.message}; it stopped${where}, after: ${done}`, {
    hint: `grant ${denied} to the caller (\`vnode ram operator-policy\` prints every action vnode needs), then run the same command again: it finds what is done and finishes the rest`,
    cause: e, ...(e.details ? { details: e.details } : {}),
  });
}
