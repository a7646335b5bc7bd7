import type { AccountKind } from './cloud/state.js';
import path from 'node:path';
import { AddonManager } from './addon-manager.js';
import type { CsHooks } from './cloud/cs.js';
import type { EciHooks } from './cloud/eci.js';
import type { FaultSpec } from './cloud/faults.js';
import { startCloudEmulator, type CloudEmulator, type EmulatorOptions } from './cloud/server.js';
import { ControllerSimulator } from './controller-sim.js';
import { VirtualNodeSimulator } from './vnode-sim.js';
import { WorkerNode } from './worker.js';

export interface SandboxCloudOptions {
  port?: number;
  stateFile?: string;
  faults?: FaultSpec;
  /** Pending -> connect delay of each new virtual node. */
  readyDelayMs?: number;
  /** How long an instance stays Terminating after its pod is gone (real ECI: some seconds). */
  releaseDelayMs?: number;
  adminKubeconfig?: string;
  log?: (m: string) => void;
  onRequest?: EmulatorOptions['onRequest'];
  idempotencyWindowMs?: number;
  /** Glob patterns of images the worker node cannot pull. */
  unpullable?: string[];
  /** Cloud actions answered as removed APIs. */
  retired?: string[];
  /** A new state's account (default ready). */
  account?: AccountKind;
}

/** How long one part may take to stop before the next is stopped anyway. */
export const STOP_PART_MS = 30_000;

/**
 * Runs each stop in turn, each in its own try: one part's failure never keeps the next running, nor does one that
 * hangs (waiting on a call the next part's stop would end): after STOP_PART_MS the next one goes on.
 */
export async function stopEach(stops: (() => Promise<unknown> | undefined)[], log?: (m: string) => void): Promise<void> {
  let first: unknown;
  for (const stop of stops) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // a part that hangs is said and passed over, not failed: what it waits on ends with the parts stopped after it
      const late = new Promise<void>((resolve) => { timer = setTimeout(() => { log?.(`stopping: a part did not stop within ${STOP_PART_MS / 1000} s; going on`); resolve(); }, STOP_PART_MS); });
      await Promise.race([stop(), late]);
    } catch (e) {
      log?.(`stopping: ${e instanceof Error ? e.message : String(e)}`);
      first ??= e;
    } finally {
      clearTimeout(timer);
    }
  }
  if (first !== undefined) throw first;
}

export const DEFAULT_READY_DELAY_MS = 2000;
export const DEFAULT_RELEASE_DELAY_MS = 3000;

/** The emulator plus the simulation that brings its virtual nodes to life. */
export async function startSandboxCloud(opts: SandboxCloudOptions = {}): Promise<CloudEmulator & { simulator: VirtualNodeSimulator }> {
  const hooks: EciHooks = {};
  const csHooks: CsHooks = {};
  const emu = await startCloudEmulator({
    hooks, csHooks,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    ...(opts.idempotencyWindowMs !== undefined ? { idempotencyWindowMs: opts.idempotencyWindowMs } : {}),
    ...(opts.retired ? { retired: opts.retired } : {}),
    ...(opts.account ? { account: opts.account } : {}),
  });
  const simulator = new VirtualNodeSimulator({
    state: emu.state, readyDelayMs: opts.readyDelayMs ?? DEFAULT_READY_DELAY_MS, releaseDelayMs: opts.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS,
    ...(opts.adminKubeconfig ? { adminKubeconfig: opts.adminKubeconfig } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  Object.assign(hooks, simulator.hooks());
  simulator.resume();
  // what ACK One does in a registered cluster (agent connection, add-on manager, vk-webhook), when there is a cluster
  const addons = opts.adminKubeconfig ? new AddonManager({ adminKubeconfig: opts.adminKubeconfig, ...(opts.log ? { log: opts.log } : {}) }) : undefined;
  if (addons) { Object.assign(csHooks, addons.hooks()); addons.start(); }
  // the add-on's controller, played from its Deployment's pods
  const controller = opts.adminKubeconfig
    ? new ControllerSimulator({ adminKubeconfig: opts.adminKubeconfig, endpoint: emu.endpoint, state: emu.state, ...(opts.log ? { log: opts.log } : {}) })
    : undefined;
  controller?.start();
  // the cluster's own machine: a normal node that runs what the sandbox can (vnode's scheduling server among it)
  const worker = opts.adminKubeconfig
    ? new WorkerNode({ adminKubeconfig: opts.adminKubeconfig, dir: path.join(path.dirname(opts.adminKubeconfig), 'worker'), ...(opts.log ? { log: opts.log } : {}), ...(opts.unpullable ? { unpullable: opts.unpullable } : {}) })
    : undefined;
  await worker?.start();
  return {
    ...emu,
    simulator,
    /** Every part is stopped, whatever another part throws; the first failure is reported after. */
    async stop() {
      await stopEach([() => worker?.stop(), () => controller?.stopAll(), () => addons?.stop(), () => simulator.stopAll(), () => emu.stop()], opts.log);
    },
  };
}
