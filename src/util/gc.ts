import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * A full garbage collection, on demand. Long runs over thousands of objects (a drain) produce short-lived garbage
 * that V8 would otherwise let pile up to far above the live set; collecting often keeps peak memory near it.
 */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}

/**
 * Keeps V8's young generation at its initial size (on V8 12+, within a few MB of it). It otherwise grows to tens of MB of short-lived garbage during
 * long runs over thousands of objects (a drain); the flag is read whenever V8 would grow it, so setting it at run
 * time works, unlike --max-semi-space-size.
 */
export function keepYoungGenerationSmall(): void {
  try {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // an engine without the flag just uses more memory
  }
}
