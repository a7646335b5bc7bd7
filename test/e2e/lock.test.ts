import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import { LOCK_REF, microTime } from '../../src/cluster/lock.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
type Lease = KubeObject & { spec?: { holderIdentity?: string | null; renewTime?: string | null; leaseDurationSeconds?: number } };

/** More than one hand on the cluster: two vnode runs at once, one cloud call slowed to widen the window. */
describe('one mutating vnode at a time per cluster (a Lease; real control plane, sandbox cloud)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const slow = (action: string, ms = 2500): void => { for (const [k, v] of parseFaults(`${action}:latency=${ms}ms`)) emu.faults.set(k, v); };
  /** Two runs, the second started once the first holds the lock. */
  async function pair(first: string[], second: string[]): Promise<[RunResult, RunResult]> {
    const a = vk(first);
    for (let i = 0; i < 100 && !(await lease())?.spec?.holderIdentity; i++) await new Promise((r) => setTimeout(r, 50));
    const b = vk(second);
    return [await a, await b];
  }
  const lease = (): Promise<Lease | undefined> => admin.get<Lease>(LOCK_REF);

  let onRequest: (action: string, code: string) => void = () => {};
  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig, onRequest: (a, c) => onRequest(a, c) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('two ram grant at once: the second waits, naming the first; one RAM user, one AccessKey, recorded once', async () => {
    slow('CreateAccessKey');
    try {
      const [a, b] = await pair(['ram', 'grant', '--yes'], ['ram', 'grant', '--yes']);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stderr, /Waiting for the cluster's lock: vnode ram grant \(.*pid \d+, run [0-9a-f]+\) has held it since/);
    } finally { emu.faults.clear(); }
    assert.equal(emu.state.data.users.length, 1);
    assert.equal(emu.state.data.accessKeys.filter((k) => k.user !== null).length, 1);
    const l = await lease();
    assert.equal(l?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    assert.equal(l?.spec?.holderIdentity ?? null, null, 'released');
  });

  it('two install --mode addon at once: one registration, one add-on', async () => {
    slow('CreateCluster');
    try {
      const args = ['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'];
      const [a, b] = await pair(args, args);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
    } finally { emu.faults.clear(); }
    assert.equal((emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting').length, 1);
    assert.equal((emu.state.data.addons ?? []).length, 1);
    const gone = await vk(['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--yes']);
    assert.equal(gone.code, 0, gone.stderr);
  });

  it('uninstall X while install X waits on CreateVirtualNode: the uninstall waits, then removes what the install made; nothing is left billed', async () => {
    slow('CreateVirtualNode');
    let r: [RunResult, RunResult];
    try {
      r = await pair(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vx'], ['uninstall', 'vx', '--drain']);
    } finally { emu.faults.clear(); }
    assert.equal(r[0].code, 0, r[0].stderr);
    assert.equal(r[1].code, 0, r[1].stderr);
    assert.match(r[1].stderr, /Waiting for the cluster's lock: vnode install/);
    assert.doesNotMatch(r[1].stdout, /already uninstalled/);
    assert.deepEqual(emu.state.data.virtualNodes, []);
    assert.deepEqual(await admin.list('v1', 'ServiceAccount', { namespace: 'kube-system', labelSelector: 'vnode.dev/name=vx' }), []);
  });

  it('a lost lock stops its holder before the next change (exit 1, saying what was done); a Lease that vanished is taken again if free', async () => {
    slow('CreateVirtualNode', 12_000);
    try {
      // vanished, nobody takes it: the holder's next renewal creates it again, and the run goes on
      const a = vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'lk']);
      let holder: string | undefined;
      for (let i = 0; i < 200 && !holder; i++) { holder = (await lease())?.spec?.holderIdentity ?? undefined; if (!holder) await new Promise((r) => setTimeout(r, 50)); }
      assert.match(holder ?? '', /^vnode install /);
      assert.ok(await admin.delete(LOCK_REF));
      let back: string | undefined;
      for (let i = 0; i < 150 && !back; i++) { await new Promise((r) => setTimeout(r, 100)); back = (await lease())?.spec?.holderIdentity ?? undefined; }
      assert.equal(back, holder, 'the holder took its vanished Lease again');
      const ra = await a;
      assert.equal(ra.code, 0, ra.stderr);

      // deleted and taken by another run at once: the first stops before its next VNode, exit 1, naming what it did
      const b = vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'lost', '--count', '2']);
      let first: string | undefined;
      for (let i = 0; i < 200 && !first; i++) { first = (await lease())?.spec?.holderIdentity ?? undefined; if (!first) await new Promise((r) => setTimeout(r, 50)); }
      // past the preflight (its install record is written just before CreateVirtualNode): its first CreateVirtualNode is in flight
      for (let i = 0; i < 200 && !(await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-install-lost' })); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(await admin.delete(LOCK_REF));
      const c = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'other']);
      const rb = await b;
      assert.equal(c.code, 0, c.stderr);
      assert.equal(rb.code, 1, rb.stderr);
      assert.match(rb.stderr, /lock is lost \(now held by vnode install .*\): another vnode may change the cluster, so this run stops before its next step/);
      assert.match(rb.stderr, /this run lost the cluster's lock \(kube-system\/vnode-lock\) to another vnode and stopped before "Creating virtual node lost-2/);
      assert.match(rb.stderr, /done: .*Creating virtual node lost-1/);
      assert.match(rb.stderr, /once the other vnode is done, run the same command again/);
      assert.deepEqual(emu.state.data.virtualNodes.filter((v) => v.name.startsWith('lost')).map((v) => v.name), ['lost-1'], 'lost-2 was never created');
    } finally { emu.faults.clear(); }
    const again = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'lost', '--count', '2']);
    assert.equal(again.code, 0, again.stderr);
    const gone = await vk(['uninstall', 'lk', 'lost-1', 'lost-2', 'other', '-o', 'json']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.deepEqual(emu.state.data.virtualNodes, []);
  });

  it('two install --bootstrap of one name: one VNode, one bootstrap token', async () => {
    slow('CreateVirtualNode', 1500);
    try {
      const args = ['install', '--vswitch', VSW, '--security-group', SG, '--name', 'boot', '--bootstrap'];
      const [a, b] = await pair(args, args);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
    } finally { emu.faults.clear(); }
    assert.equal(emu.state.data.virtualNodes.length, 1);
    const tokens = await admin.list('v1', 'Secret', { namespace: 'kube-system', fieldSelector: 'type=bootstrap.kubernetes.io/token', labelSelector: 'app.kubernetes.io/managed-by=vnode' });
    assert.equal(tokens.length, 1, tokens.map((t) => t.metadata.name).join(', '));
    assert.equal((await vk(['uninstall', 'boot', '--drain'])).code, 0);
  });

  it('--lock-timeout 0 refuses at once naming the holder; reads and --dry-run take no lock; a killed holder\'s lease is taken over after its duration', async () => {
    const now = microTime();
    const held = { holderIdentity: 'vnode install (ops@other-host, pid 4242, run abcdef)', leaseDurationSeconds: 3, acquireTime: now, renewTime: now };
    await admin.patch(LOCK_REF, { spec: held }, 'merge');
    const refused = await vk(['--lock-timeout', '0', 'install', '--vswitch', VSW, '--security-group', SG, '--name', 'vy']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /another vnode is changing this cluster: vnode install \(ops@other-host, pid 4242, run abcdef\), since /);
    assert.deepEqual(emu.state.data.virtualNodes, []);
    assert.equal((await vk(['status'])).code, 0, 'a read takes no lock');
    assert.equal((await vk(['--lock-timeout', '0', 'install', '--vswitch', VSW, '--security-group', SG, '--name', 'vy', '--dry-run'])).code, 0, '--dry-run takes no lock');
    const bad = await vk(['--lock-timeout', 'soon', 'install', '--vswitch', VSW, '--security-group', SG]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --lock-timeout "soon"/);

    // the holder was killed: nobody renews; after its 3 s the next run takes it over
    const started = Date.now();
    const taken = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vy']);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stderr, /Waiting for the cluster's lock: vnode install \(ops@other-host/);
    assert.ok(Date.now() - started >= 1500, 'waited for the lease to expire');
    assert.equal(emu.state.data.virtualNodes.length, 1);
    assert.equal((await vk(['uninstall', 'vy', '--drain'])).code, 0);
  });

  it('past the lock (another machine, another tool): a registration created at the same time is adopted, this run\'s own deleted; an install whose credentials vanish says so', async () => {
    // another registration of the same name appears while this run's CreateCluster is answered
    onRequest = (action, code) => {
      if (action !== 'CreateCluster' || code !== 'OK') return;
      onRequest = () => {};
      const mine = emu.state.data.clusters![emu.state.data.clusters!.length - 1]!;
      emu.state.data.clusters!.push({ ...mine, id: `c${'0'.repeat(31)}1`, created: '2020-01-01T00:00:00Z', createdAt: mine.createdAt - 1, agentToken: 'other' });
    };
    let r: RunResult;
    try { r = await vk(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--timeout', '3s']); } finally { onRequest = () => {}; }
    assert.match(r.stderr, /another registration named vnode-\w+ \(c0+1\) was created at the same time: keeping it, deleting this run's c[0-9a-f]+/);
    assert.deepEqual((emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting').map((c) => c.id), [`c${'0'.repeat(31)}1`]);
    emu.state.data.clusters = [];
    await admin.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-registration' });

    // the ServiceAccount and token of an install deleted while its CreateVirtualNode is on its way
    slow('CreateVirtualNode', 1500);
    const install = vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vz', '--timeout', '20s']);
    for (let i = 0; i < 100 && !(await admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kube-system', name: 'vz' })); i++) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 300));
    for (const o of await admin.list<KubeObject>('v1', 'Secret', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/instance=vz' })) {
      await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: o.metadata.name! });
    }
    await admin.delete({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kube-system', name: 'vz' });
    let done: RunResult;
    try { done = await install; } finally { emu.faults.clear(); }
    assert.equal(done.code, 1, done.stderr);
    assert.match(done.stderr, /the credentials of virtual node vz \(a ServiceAccount identity \(vz\)\) were deleted while this install ran/);
    assert.match(done.stderr, /vnode uninstall vz/);
    assert.equal((await vk(['uninstall', 'vz', '--force'])).code, 0);
    assert.deepEqual(emu.state.data.virtualNodes, []);
  });
});
