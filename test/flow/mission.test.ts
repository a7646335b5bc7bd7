import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TERMINAL_STATUSES } from '../../src/assumptions.js';
import { connectCloud } from '../../src/cloud/index.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

/*
 * The mission end to end, in one file so that it also runs on other Node.js lines (scripts/test.sh runs it on the
 * newest LTS too): ram grant, install, a Deployment on the virtual node, drain, uninstall; nothing left billed.
 */
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

describe(`the mission on Node.js ${process.version}: ram grant, install, drain, uninstall`, () => {
  let cp: Awaited<ReturnType<typeof startTestControlPlane>>;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('grants, installs, runs pods on ECI, drains them off and uninstalls, leaving no instance, VNode or Node', async () => {
    assert.match((await ok(['ram', 'grant', '--yes'])).stdout, /AccessKey LTAI\w+ created and stored in Secret kube-system\/alibaba-addon-secret/);
    assert.match((await ok(['install', '--vswitch', VSW, '--security-group', SG, '--yes'])).stdout, /created in cn-hangzhou-h: Ready/);
    const node = (await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' }))[0]!.metadata.name!;
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: {
        nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx' }],
      } } },
    } as KubeObject);
    await until('two pods running on ECI', async () => (await admin.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${node}` }))
      .filter((p) => (p.status as { phase?: string }).phase === 'Running').length === 2);
    assert.equal(emu.state.data.containerGroups.filter((g) => g.status === 'Running').length, 2);
    assert.match((await ok(['drain', node])).stdout, /drained: 2 evicted/);
    assert.match((await ok(['uninstall', '--all', '--drain', '--yes'])).stdout, /Virtual node vnode uninstalled: virtual node vnd-\w+ deleted, node \S+ deleted/);
    // as ECI reports them (an instance Terminating after its pod went is released a few seconds later)
    const cloud = connectCloud({ profile: undefined, region: undefined }, { env: emu.env(), signal: new AbortController().signal, log: () => undefined });
    await until('no instance left billed', async () => (await cloud.eci.describeContainerGroups({})).every((g) => TERMINAL_STATUSES.includes(g.status)), 30_000);
    assert.deepEqual(emu.state.data.virtualNodes.filter((v) => v.status !== 'Cleaned'), []);
    assert.equal((await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' })).length, 0);
  });
});
