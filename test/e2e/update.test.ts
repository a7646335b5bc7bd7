import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { profileOf } from '../../src/cluster/versions.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW_H = 'vsw-bp1sandboxzoneh00001';
const VSW_I = 'vsw-bp1sandboxzonei00001';
const SG = 'sg-bp1sandboxkubelet0001';
const SG2 = 'sg-bp1sandboxbare0000001';

interface Pod extends KubeObject { spec: { nodeName?: string }; status: { phase?: string } }

describe('vnode update (in place, or replaced without losing pods)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let onRequest: (action: string) => void = () => {};
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env(), ...(signal ? { signal } : {}) });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const vnodes = (): typeof emu.state.data.virtualNodes => emu.state.data.virtualNodes;
  const webOn = async (node: string): Promise<Pod[] | false> => {
    const pods = (await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' })).filter((p) => !p.metadata.deletionTimestamp);
    return pods.length === 2 && pods.every((p) => p.spec.nodeName === node && p.status.phase === 'Running') && pods;
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig, onRequest: (a) => onRequest(a) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await ok(['install', '--vswitch', VSW_H, '--security-group', SG, '--yes']);
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    await admin.create({ apiVersion: (await profileOf(admin)).pdb, kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } });
    await until('web on the virtual node', () => webOn(`cn-hangzhou.${vnodes()[0]!.id}`));
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 and changes nothing', async () => {
    const before = JSON.stringify(vnodes());
    const cases: [string[], RegExp][] = [
      [['update', 'vnode'], /nothing to change\n.*--tag team=ml/],
      [['update', 'nope', '--tag', 'a=b'], /no virtual node "nope" in this cluster/],
      [['update', 'vnode', '--vswitch', 'bad'], /invalid --vswitch "bad": expected a vSwitch id/],
      [['update', 'vnode', '--taint', 'x:Sometimes'], /invalid --taint "x:Sometimes"/],
      [['update', 'vnode', '--cluster-dns', '10.96.0'], /invalid --cluster-dns "10\.96\.0"/],
      [['update', 'vnode', '--rename', 'Bad_Name'], /invalid --rename "Bad_Name"/],
      [['update', 'vnode', '--security-group', 'sg-bp1othervpc0000000001'], /security group sg-bp1othervpc0000000001 is in vpc-bp1sandbox0000000002/],
    ];
    for (const [args, want] of cases) {
      const r = await vk(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    assert.equal(JSON.stringify(vnodes()), before);
  });

  it('tags and cluster DNS change in place: same VirtualNodeId, other tags kept', async () => {
    const id = vnodes()[0]!.id;
    const r = await ok(['update', 'vnode', '--tag', 'team=ml', '--cluster-dns', '10.96.0.10']);
    assert.match(r.stdout, /tag team: \(none\) -> ml {2}\[in place\]/);
    assert.match(r.stdout, /Updated vnd-\S+ in place/);
    assert.equal(vnodes().length, 1);
    const v = vnodes()[0]!;
    assert.equal(v.id, id);
    assert.equal(v.clusterDns, '10.96.0.10');
    assert.deepEqual(v.tags.map((t) => t.Key).sort(), ['team', 'vnode-cluster', 'vnode-identity', 'vnode-name']);
    // UpdateVirtualNode needs a Ready node: said before calling it
    v.status = 'Failed';
    try {
      const r2 = await vk(['update', 'vnode', '--tag', 'team=later']);
      assert.equal(r2.code, 2);
      assert.match(r2.stderr, /virtual node vnode is Failed in ECI; UpdateVirtualNode needs it Ready/);
    } finally {
      v.status = 'Ready';
    }
  });

  it('--dry-run says which path each change takes and changes nothing', async () => {
    const before = JSON.stringify(vnodes());
    const r = await ok(['update', 'vnode', '--vswitch', VSW_I, '--tag', 'team=ai', '--dry-run']);
    assert.match(r.stdout, /tag team: ml -> ai {2}\[in place\]/);
    assert.match(r.stdout, new RegExp(`vswitch: ${VSW_H} -> ${VSW_I} {2}\\[replacement\\]`));
    assert.match(r.stdout, /Would replace vnd-\S+: create a new virtual node/);
    assert.equal(JSON.stringify(vnodes()), before);
  });

  it('a replacement that the old node\'s drain would refuse (a bare pod, a budget allowing no eviction) is refused before a second VNode is created', async () => {
    const node = `cn-hangzhou.${vnodes()[0]!.id}`;
    const before = JSON.stringify(vnodes());
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'default' }, spec: { nodeName: node, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx' }] } } as KubeObject);
    const bare = await vk(['update', 'vnode', '--vswitch', VSW_I]);
    assert.equal(bare.code, 1, bare.stderr);
    assert.match(bare.stderr, /cannot drain cn-hangzhou\.vnd-\w+: 1 pod\(s\) need a flag: default\/bare \(has no controller: --force\); nothing was changed/);
    await admin.deletePod('default', 'bare', 0);
    const pdb = { apiVersion: (await profileOf(admin)).pdb, kind: 'PodDisruptionBudget', namespace: 'default', name: 'web-all' };
    await admin.create({ apiVersion: pdb.apiVersion, kind: pdb.kind, metadata: { name: pdb.name, namespace: pdb.namespace }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } } });
    const held = await vk(['update', 'vnode', '--vswitch', VSW_I]);
    assert.equal(held.code, 1, held.stderr);
    assert.match(held.stderr, /PodDisruptionBudget default\/web-all \(maxUnavailable 0\) allows no eviction of web-/);
    await admin.delete(pdb);
    assert.equal(JSON.stringify(vnodes()), before, 'no replacement was created');
    assert.notEqual(((await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: node }))!.spec as { unschedulable?: boolean }).unschedulable, true);
  });

  it('a vSwitch change replaces the node: new one Ready first, pods moved (PDB honoured), old one deleted', async () => {
    const old = vnodes()[0]!.id;
    const r = await ok(['update', 'vnode', '--vswitch', VSW_I]);
    assert.match(r.stdout, /Replaced vnd-\S+ with vnd-\S+/);
    assert.equal(vnodes().length, 1);
    const next = vnodes()[0]!;
    assert.notEqual(next.id, old);
    assert.deepEqual(next.vSwitchIds, [VSW_I]);
    assert.ok(next.tags.some((t) => t.Key === 'team' && t.Value === 'ml'), 'user tags carried over');
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'Node', name: `cn-hangzhou.${old}` }), undefined);
    await until('web running on the replacement', () => webOn(`cn-hangzhou.${next.id}`));
    const node = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: `cn-hangzhou.${next.id}` });
    assert.equal(node?.metadata.labels?.['vnode.dev/name'], 'vnode');
    assert.equal((await ok(['status', '-o', 'json'])).stdout.match(/"virtualNodeId"/g)?.length, 1);
  });

  it('interrupted after the replacement was created, a re-run finishes it with no second replacement', async () => {
    const old = vnodes()[0]!.id;
    const abort = new AbortController();
    onRequest = (a) => { if (a === 'CreateVirtualNode') setTimeout(() => abort.abort(), 50); };
    const r = await vk(['update', 'vnode', '--security-group', SG2], abort.signal);
    onRequest = () => {};
    assert.equal(r.code, 130, r.stderr);
    assert.equal(vnodes().length, 2);
    const again = await ok(['update', 'vnode', '--security-group', SG2]);
    assert.match(again.stdout, /replacement: vnd-\S+ -> vnd-\S+/);
    assert.equal(vnodes().length, 1);
    const next = vnodes()[0]!;
    assert.notEqual(next.id, old);
    assert.equal(next.securityGroupId, SG2);
    await until('web running on the second replacement', () => webOn(`cn-hangzhou.${next.id}`));
  });
});
