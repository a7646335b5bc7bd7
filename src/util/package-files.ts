import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

/**
 * The files vnode reads from its own package (templates, the scheduling server's code, sandbox scripts): from the
 * installed package, or from the assets of the single executable (`npm run build:exe`), which has no package on disk.
 */
type Sea = { isSea(): boolean; getAsset(key: string): ArrayBuffer };
let sea: Sea | null | undefined;

function executableAssets(): Sea | null {
  if (sea === undefined) {
    // process.getBuiltinModule: works from both the ES module build and the executable's CommonJS one
    const m = process.getBuiltinModule?.('node:sea') as Sea | undefined;
    sea = m?.isSea() ? m : null;
  }
  return sea;
}

/** Whether this is the single executable (process.execPath is vnode itself, not a Node.js). */
export function inExecutable(): boolean {
  return executableAssets() !== null;
}

/** A file of the package by its path in the package ('templates/x.yaml'); throws ENOENT-like when absent. */
export function packageFile(rel: string): Buffer {
  const s = executableAssets();
  if (!s) return readFileSync(path.join(packageRoot(), rel));
  try { return Buffer.from(s.getAsset(rel)); } catch {
    throw Object.assign(new Error(`${rel} is not in this executable`), { code: 'ENOENT' });
  }
}

/** How vnode starts itself again (the sandbox's background half): the executable, or Node with the package's bin. */
export function selfCommand(args: string[]): { command: string; args: string[] } {
  return inExecutable() ? { command: process.execPath, args } : { command: process.execPath, args: [path.join(packageRoot(), 'bin', 'vnode.js'), ...args] };
}
