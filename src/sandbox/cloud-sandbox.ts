import type { EciHooks } from './cloud/eci.js';
import type { FaultSpec } from './cloud/faults.js';
import { startCloudEmulator, type CloudEmulator, type EmulatorOptions } from './cloud/server.js';
import { ControllerSimulator } from './controller-sim.js';
import { VirtualNodeSimulator } from './vnode-sim.js';

export interface SandboxCloudOptions {
  port?: number;
  stateFile?: string;
  faults?: FaultSpec;
  /** Pending -> connect delay of each new virtual node. */
  readyDelayMs?: number;
  adminKubeconfig?: string;
  log?: (m: string) => void;
  onRequest?: EmulatorOptions['onRequest'];
  idempotencyWindowMs?: number;
}

export const DEFAULT_READY_DELAY_MS = 2000;

/** The emulator plus the simulation that brings its virtual nodes to life. */
export async function startSandboxCloud(opts: SandboxCloudOptions = {}): Promise<CloudEmulator & { simulator: VirtualNodeSimulator }> {
  const hooks: EciHooks = {};
  const emu = await startCloudEmulator({
    hooks,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    ...(opts.idempotencyWindowMs !== undefined ? { idempotencyWindowMs: opts.idempotencyWindowMs } : {}),
  });
  const simulator = new VirtualNodeSimulator({
    state: emu.state, readyDelayMs: opts.readyDelayMs ?? DEFAULT_READY_DELAY_MS,
    ...(opts.adminKubeconfig ? { adminKubeconfig: opts.adminKubeconfig } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  Object.assign(hooks, simulator.hooks());
  simulator.resume();
  // the in-cluster controller's replicas, when there is a cluster to watch
  const controller = opts.adminKubeconfig
    ? new ControllerSimulator({ adminKubeconfig: opts.adminKubeconfig, endpoint: emu.endpoint, state: emu.state, ...(opts.log ? { log: opts.log } : {}) })
    : undefined;
  controller?.start();
  return {
    ...emu,
    simulator,
    async stop() {
      await controller?.stopAll();
      await simulator.stopAll();
      await emu.stop();
    },
  };
}
