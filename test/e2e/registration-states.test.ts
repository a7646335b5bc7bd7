import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import type { RegisteredClusterRec } from '../../src/sandbox/cloud/state.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const AGENT = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-cluster-agent' };

/** Every documented state of a registration and of an add-on instance, set in the emulator's state, and what vnode does in it. */
describe('registration and add-on states (each state group against the real control plane and the sandbox)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const registration = (): RegisteredClusterRec => (emu.state.data.clusters ?? []).find((c) => c.state !== 'deleting' && c.state !== 'deleted')!;
  const later = (ms: number, f: () => void): Promise<void> => new Promise((r) => setTimeout(() => { f(); r(); }, ms));

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await ok(['ram', 'grant', '--yes']);
    await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes', '--no-daemonset-affinity']);
    assert.equal(registration().state, 'running');
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('ACK One at work (updating, upgrading, scaling, draining, removing): register waits until it is done, and re-applies nothing', async () => {
    for (const busy of ['updating', 'scaling'] as const) {
      registration().state = busy;
      const [r] = await Promise.all([vk(['cluster', 'register']), later(1500, () => { registration().state = 'running'; })]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`Waiting for c[0-9a-f]+ to be done ${busy}`));
      assert.doesNotMatch(r.stderr, /Applying the agent manifest/);
    }
    registration().state = 'upgrading';
    const stuck = await vk(['cluster', 'register', '--timeout', '2s']);
    assert.equal(stuck.code, 1);
    assert.match(stuck.stderr, /is still upgrading: ACK One is upgrading it/);
    registration().state = 'running';
  });

  it('inactive refuses, saying what it means; status tells each state\'s meaning (failed: ACK One could not create it)', async () => {
    try {
      registration().state = 'inactive';
      const r = await vk(['cluster', 'register']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /is inactive: inactive \(ACK One stopped serving it/);
      const st = JSON.parse((await ok(['cluster', 'status', '-o', 'json'])).stdout) as { state: string; meaning: string };
      assert.equal(st.state, 'inactive');
      assert.match(st.meaning, /reactivate/);
      registration().state = 'failed';
      const failed = JSON.parse((await ok(['cluster', 'status', '-o', 'json'])).stdout) as { state: string; meaning: string };
      assert.equal(failed.meaning, 'ACK One could not create it');
    } finally {
      registration().state = 'running';
    }
  });

  it('the agent lost (disconnected, unavailable): deregister still finds the add-on; register applies the agent again and it connects', async () => {
    await admin.delete(AGENT);
    await until('the registration to be disconnected', async () => (await vk(['cluster', 'status', '-o', 'json'])).stdout.includes('"disconnected"'));
    const refused = await vk(['cluster', 'deregister', '--yes']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /the ack-virtual-node add-on is still installed/);
    registration().state = 'unavailable';
    const r = await ok(['cluster', 'register']);
    assert.match(r.stderr, /Applying the agent manifest/);
    assert.equal(registration().state, 'running');
    assert.ok(await admin.get(AGENT));
  });

  it('an add-on being upgraded is waited for before its uninstall; a deregistered cluster is gone from ACK One', async () => {
    const addon = (emu.state.data.addons ?? []).find((a) => a.name === 'ack-virtual-node')!;
    addon.state = 'upgrading';
    const [r] = await Promise.all([vk(['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--yes']), later(1500, () => { addon.state = 'active'; })]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Waiting for ack-virtual-node to be done upgrading/);
    await until('the registration to be gone', async () => (emu.state.data.clusters ?? []).every((c) => c.state === 'deleting') || undefined, 10_000);
    assert.deepEqual((emu.state.data.addons ?? []).filter((a) => a.name === 'ack-virtual-node'), []);
  });
});
