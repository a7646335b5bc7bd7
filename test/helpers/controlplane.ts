import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/sandbox/controlplane.js';

/** A real control plane in a fresh directory; stop() also removes the directory. */
export async function startTestControlPlane(): Promise<ControlPlane & { workDir: string }> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'vnode-e2e-'));
  const cp = await startControlPlane({ dir: path.join(workDir, 'cp') });
  return {
    ...cp,
    workDir,
    async stop() {
      await cp.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
