import { setMaxListeners } from 'node:events';

/** Waits ms, or less when the signal fires first; never rejects (the caller checks the signal). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return; }
    const t = setTimeout(() => { signal.removeEventListener('abort', done); resolve(); }, ms);
    const done = (): void => { clearTimeout(t); resolve(); };
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when the signal fires (a foreground server's lifetime). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => whenAborted(signal, resolve));
}

/** A controller aborted with its parent, also when the parent already was (a listener added then would never fire). */
export function childController(parent: AbortSignal): AbortController {
  const c = new AbortController();
  if (parent.aborted) c.abort();
  else {
    // one listener per live child, removed when it ends: as many as there are children is no leak
    setMaxListeners(0, parent);
    const relay = (): void => c.abort();
    parent.addEventListener('abort', relay, { once: true });
    c.signal.addEventListener('abort', () => parent.removeEventListener('abort', relay), { once: true });
  }
  return c;
}

/** Runs fn when the signal fires, or now if it already has. */
export function whenAborted(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener('abort', fn, { once: true });
}
