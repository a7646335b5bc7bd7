import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';
import { clusterUid } from '../../src/cluster/cluster-id.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
type Emu = Awaited<ReturnType<typeof startSandboxCloud>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const never = new AbortController().signal;
/** Real ECI releases an instance some seconds after its pod is gone. */
const RELEASE_DELAY_MS = 4000;

function deployment(name: string, replicas: number, onVnode: string, tolerations: Record<string, string>[]): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }], nodeSelector: { 'vnode.dev/name': onVnode }, tolerations } },
    },
  };
}
const VNODE_ONLY = [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }];
const EVERYTHING = [{ operator: 'Exists' }];

describe('removing a virtual node: instances released late, pods that come back, replacements, strays', () => {
  let cp: CP;
  let emu: Emu;
  let admin: ClusterPort;
  const vk = (args: string[], stdin?: string): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env(), ...(stdin !== undefined ? { stdin } : {}) });
  const vnds = (name: string) => emu.state.data.virtualNodes.filter((v) => v.tags.some((t) => t.Key === 'vnode-name' && t.Value === name));
  const groupsOf = (app: string) => emu.state.data.containerGroups.filter((c) => c.tags.some((t) => t.Key === 'PodName' && t.Value.startsWith(`${app}-`)));
  async function running(app: string, n: number): Promise<void> {
    await admin.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: app },
      (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === n, { timeoutMs: 60_000, signal: never });
  }
  const install = async (name: string): Promise<void> => {
    const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', name]);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: RELEASE_DELAY_MS, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('instances released seconds after their pods: uninstall --drain waits for them and succeeds the first time', async () => {
    await install('vn-d');
    await admin.create(deployment('slow', 3, 'vn-d', VNODE_ONLY));
    await running('slow', 3);
    const ids = groupsOf('slow').map((c) => c.id);
    assert.equal(ids.length, 3);
    const r = await vk(['uninstall', 'vn-d', '--drain']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Waiting for ECI to release 3 instance\(s\) of the evicted pods/);
    assert.doesNotMatch(r.stderr, /--cleanup-orphans/);
    assert.equal(vnds('vn-d').length, 0);
    assert.deepEqual(emu.state.data.containerGroups.filter((c) => ids.includes(c.id)), [], 'released, none deleted by vnode');
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'slow' });
  });

  it('pods that tolerate everything come back: named with their controller, no deletion hint; --force removes the node and leaves nothing billed', async () => {
    await install('vn-t');
    await admin.create(deployment('agent', 3, 'vn-t', EVERYTHING));
    await running('agent', 3);
    const r = await vk(['uninstall', 'vn-t', '--drain', '--timeout', '60s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /3 pod\(s\) came back to cn-hangzhou\.vnd-\w+ after their predecessors were evicted: default\/agent-\S+ \(Deployment default\/agent\)/);
    assert.match(r.stderr, /tolerate node\.kubernetes\.io\/unschedulable/);
    assert.match(r.stderr, /narrow the tolerations of Deployment default\/agent .* or pass --force/);
    assert.doesNotMatch(r.stderr, /cleanup-orphans|still exist and are billed/);
    assert.equal(vnds('vn-t').length, 1, 'nothing removed');

    const f = await vk(['uninstall', 'vn-t', '--drain', '--force', '--timeout', '60s']);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /pod\(s\) kept coming back \(--force\): \d+ ECI instance\(s\) deleted/);
    assert.equal(vnds('vn-t').length, 0);
    const left = groupsOf('agent').filter((c) => c.releaseAt === undefined);
    assert.deepEqual(left.map((c) => `${c.id} ${c.status}`), [], 'no running instance of the agent left');
    const pods = await admin.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=agent' });
    assert.equal(pods.filter((p) => (p.spec as { nodeName?: string }).nodeName).length, 0, 'recreated, unbound: their node is gone');
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'agent' });
  });

  it('an instance ECI never releases is an orphan with its pod named; --cleanup-orphans deletes it', async () => {
    await install('vn-o');
    await admin.create(deployment('stuck', 1, 'vn-o', VNODE_ONLY));
    await running('stuck', 1);
    const [cg] = groupsOf('stuck');
    emu.simulator.releaseDelayMs = Infinity;
    try {
      const r = await vk(['uninstall', 'vn-o', '--drain', '--timeout', '3s']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`1 ECI instance\\(s\\) of pods evicted from cn-hangzhou\\.vnd-\\w+ still exist \\d+s after their pods went, and are billed: ${cg!.id} \\(was default/stuck-`));
      assert.match(r.stderr, /--cleanup-orphans/);
      assert.equal(vnds('vn-o').length, 1);
    } finally { emu.simulator.releaseDelayMs = RELEASE_DELAY_MS; }
    const again = await vk(['uninstall', 'vn-o', '--drain', '--cleanup-orphans']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(emu.state.data.containerGroups.some((c) => c.id === cg!.id), false);
    assert.equal(vnds('vn-o').length, 0);
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'stuck' });
  });

  it('a half-finished replacement: uninstall of the name removes both VNodes', async () => {
    await install('vn-h');
    const [old] = vnds('vn-h');
    const cloud = connectCloud({ profile: undefined, region: undefined }, { env: { ...emu.env(), ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' }, signal: never, log: () => {} });
    // what `update --vswitch` leaves when stopped after creating the replacement
    await cloud.eci.createVirtualNode({
      name: old!.name, vSwitchIds: [VSW], securityGroupId: SG, kubeConfig: old!.kubeConfig, tlsBootstrapEnabled: false, clientToken: 'test-replacement',
      tags: [...old!.tags.map((t) => ({ key: t.Key, value: t.Value })), { key: 'vnode-replaces', value: old!.id }], taints: [],
    });
    assert.equal(vnds('vn-h').length, 2);
    const r = await vk(['uninstall', 'vn-h', '--drain', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { nodes: { virtualNodeId: string; virtualNodeDeleted: boolean }[] };
    assert.equal(res.nodes.length, 2);
    assert.ok(res.nodes.every((n) => n.virtualNodeDeleted));
    assert.equal(vnds('vn-h').length, 0);
  });

  it('instances of this cluster whose VNode is gone: doctor finds them, uninstall --all --cleanup-orphans deletes them', async () => {
    await install('vn-s');
    const uid = await clusterUid(admin);
    emu.state.data.containerGroups.push({
      id: 'eci-stray0000000000001', name: 'default-lost', status: 'Running', regionId: 'cn-hangzhou', zoneId: 'cn-hangzhou-h', vSwitchId: VSW, securityGroupId: SG,
      tags: [{ Key: 'ClusterName', Value: uid }, { Key: 'NodeName', Value: 'cn-hangzhou.vnd-gone000000000000001' }, { Key: 'NameSpace', Value: 'default' }, { Key: 'PodName', Value: 'lost' }],
      creationTime: '2026-01-01T00:00:00Z', intranetIp: '192.168.0.251', cpu: 2, memory: 4,
    });
    const d = await vk(['doctor', '-o', 'json']);
    const checks = (JSON.parse(d.stdout) as { checks: { check: string; status: string; message: string }[] }).checks;
    const strays = checks.find((c) => c.check === 'strays');
    assert.equal(strays?.status, 'WARN', d.stdout);
    assert.match(strays!.message, /eci-stray0000000000001 \(default\/lost on cn-hangzhou\.vnd-gone000000000000001\)/);
    const plain = await vk(['uninstall', '--all', '--drain']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /1 instance\(s\) tagged as this cluster's, on virtual nodes that are gone/);
    assert.ok(emu.state.data.containerGroups.some((c) => c.id === 'eci-stray0000000000001'), 'kept without --cleanup-orphans');
    const r = await vk(['uninstall', '--all', '--cleanup-orphans']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 ECI instance\(s\) of this cluster's removed virtual nodes deleted: eci-stray0000000000001/);
    assert.equal(emu.state.data.containerGroups.filter((c) => c.releaseAt === undefined).length, 0);
  });
});
