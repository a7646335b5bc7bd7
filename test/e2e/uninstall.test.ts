import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { profileOf } from '../../src/cluster/versions.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const never = new AbortController().signal;

function deployment(name: string, replicas: number, onVnode: string): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'c', image: 'nginx' }], nodeSelector: { 'vnode.dev/name': onVnode },
          tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
  };
}

describe('vnode drain and uninstall against the real control plane and the sandbox cloud', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  /** policy/v1beta1 on 1.20, policy/v1 from 1.21: as the server says. */
  let pdbVersion: string;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const vnd = (name: string) => emu.state.data.virtualNodes.find((v) => v.name === name);
  const nodeOf = (name: string): string => `cn-hangzhou.${vnd(name)!.id}`;

  async function running(app: string, n: number): Promise<void> {
    await admin.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: app },
      (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === n, { timeoutMs: 60_000, signal: never });
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    pdbVersion = (await profileOf(admin)).pdb;
    for (const args of [['--name', 'vn-a'], ['--name', 'vn-b', '--bootstrap']]) {
      const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
    await admin.create(deployment('web', 3, 'vn-a'));
    await running('web', 3);
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('without --drain while pods run: refused, naming them and the billing, nothing deleted', async () => {
    const r = await vk(['uninstall', 'vn-a']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /3 pod\(s\) still run on the virtual node\(s\): default\/web-.* leave their ECI instances running and billed/);
    assert.match(r.stderr, /--drain/);
    assert.ok(vnd('vn-a'));
    assert.ok(await admin.get({ apiVersion: 'v1', kind: 'Node', name: nodeOf('vn-a') }));
    const dry = await vk(['uninstall', 'vn-a', '--drain', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would evict pod default\/web-/);
    assert.match(dry.stdout, /would DeleteVirtualNode vnd-/);
    assert.match(dry.stdout, /would delete ConfigMap kube-system\/vnode-install-vn-a \(install record\)/);
    assert.equal((await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: nodeOf('vn-a') }))?.spec?.['unschedulable' as never], undefined);
  });

  it('the built CLI drains and exits at once, not when its default 5m timeout would have fired', async () => {
    const started = Date.now();
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../bin/vnode.js'), '--kubeconfig', cp.kubeconfig, 'drain', 'vn-a'],
        { stdio: 'ignore', env: { ...process.env, ...emu.env() } });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    const left = await admin.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${nodeOf('vn-a')}` });
    assert.equal(left.length, 0);
  });

  it('a PodDisruptionBudget is honoured: the drain waits, times out, names it, leaves the node cordoned; availability never drops', async () => {
    await admin.create(deployment('guarded', 2, 'vn-b'));
    await running('guarded', 2);
    await admin.create({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', metadata: { name: 'guarded-pdb', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'guarded' } } } });
    await admin.waitFor<KubeObject>({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', namespace: 'default', name: 'guarded-pdb' },
      (p) => (p?.status as { currentHealthy?: number } | undefined)?.currentHealthy === 2, { timeoutMs: 30_000, signal: never });
    // a watcher counts Ready pods of the guarded app during the whole drain
    const stop = new AbortController();
    const ready = new Map<string, boolean>();
    const initial = (await admin.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=guarded' })).length;
    let minReady = Infinity;
    const watching = admin.watchList<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=guarded' }, (type, p) => {
      const isReady = type !== 'DELETED' && !p.metadata.deletionTimestamp && ((p.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      ready.set(p.metadata.uid!, isReady);
      // count from the moment the initial list is in
      if (ready.size >= initial) minReady = Math.min(minReady, [...ready.values()].filter(Boolean).length);
    }, stop.signal);
    const r = await vk(['drain', 'vn-b', '--timeout', '4s']);
    stop.abort();
    await watching;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /drain of cn-hangzhou\.vnd-\w+ timed out after \d+s: 2 pod\(s\) remain \(default\/guarded-.*held by PodDisruptionBudget default\/guarded-pdb; the node stays cordoned/);
    const node = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: nodeOf('vn-b') });
    assert.equal((node!.spec as { unschedulable?: boolean }).unschedulable, true);
    assert.equal(minReady, 2, 'never fewer available pods than the budget allowed');
    await admin.delete({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', namespace: 'default', name: 'guarded-pdb' });
  });

  it('an interrupted drain (SIGINT) exits 130, leaves the node cordoned naming what remains; running it again continues', async () => {
    await admin.create({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', metadata: { name: 'guarded-pdb', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'guarded' } } } });
    await admin.waitFor<KubeObject>({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', namespace: 'default', name: 'guarded-pdb' },
      (p) => (p?.status as { currentHealthy?: number } | undefined)?.currentHealthy === 2, { timeoutMs: 30_000, signal: never });
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../bin/vnode.js'), '--kubeconfig', cp.kubeconfig, 'drain', 'vn-b', '--timeout', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...emu.env() } });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise<void>((resolve) => child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); if (/Draining/.test(stderr)) resolve(); }));
    // the evictions are being refused by the budget by now
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /drain of cn-hangzhou\.vnd-\w+ interrupted: 2 pod\(s\) remain \(default\/guarded-.*held by PodDisruptionBudget default\/guarded-pdb; the node stays cordoned/);
    assert.match(stderr, /run the same command again to continue/);
    assert.equal(((await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: nodeOf('vn-b') }))!.spec as { unschedulable?: boolean }).unschedulable, true);
    await admin.delete({ apiVersion: pdbVersion, kind: 'PodDisruptionBudget', namespace: 'default', name: 'guarded-pdb' });
    const again = await vk(['drain', 'vn-b']);
    assert.equal(again.code, 0, again.stderr);
    const left = await admin.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${nodeOf('vn-b')}` });
    assert.deepEqual(left.map((p) => p.metadata.name), []);
  });

  it('drain refuses pods without a controller unless --force, listing every one', async () => {
    for (const n of ['bare-1', 'bare-2']) {
      await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: n, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], nodeName: nodeOf('vn-a') } });
    }
    const r = await vk(['drain', 'vn-a']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 pod\(s\) need a flag: default\/bare-1 \(has no controller: --force\), default\/bare-2/);
  });

  it('uninstall --drain: pods evicted (Deployment pods recreated, none lost), then no VNode, no Node, no container group, its credentials gone', async () => {
    const r = await vk(['uninstall', 'vn-a', '--drain', '--force', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { nodes: { drain: { evicted: number }; virtualNodeDeleted: boolean; nodeDeleted: boolean }[]; credentialsDeleted: string[]; sharedDeleted: string[] };
    assert.equal(res.nodes[0]!.drain.evicted, 2, 'the two bare pods; the web pods went in the earlier drain');
    assert.equal(res.nodes[0]!.virtualNodeDeleted, true);
    assert.equal(res.nodes[0]!.nodeDeleted, true);
    assert.equal(vnd('vn-a'), undefined);
    assert.ok(res.credentialsDeleted.includes('ServiceAccount kube-system/vn-a'));
    assert.ok(res.credentialsDeleted.some((c) => c.startsWith('ClusterRoleBinding vnode:vn-a:')));
    assert.deepEqual(res.sharedDeleted, [], 'vn-b still uses the shared objects');
    assert.equal(emu.state.data.containerGroups.filter((c) => c.tags.some((t) => t.Key === 'PodName' && t.Value.startsWith('web-')) && c.tags.some((t) => t.Value === 'cn-hangzhou')).length, 0);
    // the Deployment still wants 3 pods: recreated, Pending for lack of a node — not lost
    const web = await admin.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' });
    assert.equal(web.filter((p) => !p.metadata.deletionTimestamp).length, 3);
    assert.ok(await admin.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'vnode:extra' }));
    const again = await vk(['uninstall', 'vn-a']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /vn-a: not found — already uninstalled \(installed: vn-b\)\./);
  });

  it('an unclaimed instance found only by its tag is named, not deleted; --all --cleanup-orphans removes it; the last node takes the shared objects along', async () => {
    const node = nodeOf('vn-b');
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'guarded' });
    emu.state.data.containerGroups.push({
      id: 'eci-orphan00000000000001', name: 'lost', status: 'Running', regionId: 'cn-hangzhou', zoneId: 'cn-hangzhou-h', vSwitchId: VSW, securityGroupId: SG,
      tags: [{ Key: 'NodeName', Value: node }, { Key: 'NameSpace', Value: 'default' }, { Key: 'PodName', Value: 'lost' }], creationTime: '2026-01-01T00:00:00Z', intranetIp: '192.168.0.250', cpu: 2, memory: 4,
    });
    // found only by the NodeName tag (undocumented): named, no deletion hint, not a reason to stop
    const first = await vk(['uninstall', 'vn-b', '--drain']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /ECI lists 1 instance\(s\) tagged NodeName=cn-hangzhou\.vnd-\w+ that no pod claims: eci-orphan00000000000001/);
    assert.doesNotMatch(first.stderr, /--cleanup-orphans/);
    assert.ok(emu.state.data.containerGroups.some((c) => c.id === 'eci-orphan00000000000001'), 'not deleted on a tag alone');
    // an instance of a VNode that is gone: uninstall --all --cleanup-orphans finds and deletes it
    const r = await vk(['uninstall', '--all', '--cleanup-orphans', '--revert-daemonset-affinity']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(emu.state.data.containerGroups.filter((c) => c.releaseAt === undefined).length, 0);
    assert.equal(emu.state.data.virtualNodes.length, 0);
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'Node', name: node }), undefined);
    const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
    const left = (await Promise.all([
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', sel), admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel),
      admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }), admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'ConfigMap', { ...sel, namespace: 'kube-system' }), admin.list('apps/v1', 'Deployment', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'Node', sel),
    ])).flat().map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(left, [], 'no vnode-labelled object left');
  });

  it('with 20% injected cloud faults: install and uninstall --drain still complete, no orphan left', async () => {
    const i = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vn-f']);
    assert.equal(i.code, 0, i.stderr);
    await admin.create(deployment('flaky', 2, 'vn-f'));
    await running('flaky', 2);
    for (const [k, v] of parseFaults('*:throttle=0.08,500=0.04,503=0.04,reset=0.04')) emu.faults.set(k, v);
    try {
      const r = await vk(['uninstall', 'vn-f', '--drain']);
      assert.equal(r.code, 0, r.stderr);
    } finally { emu.faults.clear(); }
    assert.equal(emu.state.data.virtualNodes.length, 0);
    assert.equal(emu.state.data.containerGroups.filter((c) => c.releaseAt === undefined).length, 0, 'none running; the rest are being released');
  });

  it('an uninstall interrupted after DeleteVirtualNode, or after deleting the Node, is finished by a re-run', async () => {
    for (const name of ['vn-r', 'vn-s']) {
      const i = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', name]);
      assert.equal(i.code, 0, i.stderr);
    }
    const nodeR = nodeOf('vn-r');
    const nodeS = nodeOf('vn-s');
    // what an uninstall stopped right after DeleteVirtualNode leaves (vn-r), and one stopped after the Node went too (vn-s)
    const cloud = connectCloud({ profile: undefined, region: undefined }, { env: { ...emu.env(), ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' }, signal: never, log: () => {} });
    for (const name of ['vn-r', 'vn-s']) await cloud.eci.deleteVirtualNode(vnd(name)!.id, `test-${name}`);
    await admin.delete({ apiVersion: 'v1', kind: 'Node', name: nodeS });
    const sa = (name: string) => admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kube-system', name });
    assert.ok(await sa('vn-r'));
    assert.ok(await sa('vn-s'));

    const r = await vk(['uninstall', 'vn-r', 'vn-s', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { nodes: { name: string; nodeDeleted: boolean }[]; alreadyGone: string[]; credentialsDeleted: string[] };
    assert.deepEqual(res.nodes.map((n) => [n.name, n.nodeDeleted]), [['vn-r', true]]);
    assert.deepEqual(res.alreadyGone, ['vn-s']);
    assert.ok(res.credentialsDeleted.includes('ServiceAccount kube-system/vn-r'), res.credentialsDeleted.join(', '));
    assert.ok(res.credentialsDeleted.includes('ServiceAccount kube-system/vn-s'), res.credentialsDeleted.join(', '));
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'Node', name: nodeR }), undefined);
    assert.equal(await sa('vn-r'), undefined);
    assert.equal(await sa('vn-s'), undefined);
    const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
    const left = (await Promise.all([
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', sel), admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel),
      admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }), admin.list('v1', 'Node', sel),
    ])).flat().map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(left, [], 'no vnode-labelled object left');
  });
});
