import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const MWC = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'vnode-scheduling' };

interface Pod extends KubeObject {
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; tolerations?: { key?: string }[] };
  status: { phase?: string };
}

describe('label-based scheduling (real API server calls vnode\'s webhook; the real scheduler places the pods)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let vnodeName = '';
  const vk = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> => {
    const r = await vk(args, env);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const pod = (namespace: string, name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}): Promise<Pod> =>
    admin.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } } as unknown as Pod);
  const getPod = (namespace: string, name: string): Promise<Pod | undefined> => admin.get<Pod>({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  const runningOnVirtualNode = (namespace: string, name: string) => async (): Promise<Pod | false> => {
    const p = await getPod(namespace, name);
    return p?.spec.nodeName === vnodeName && p.status.phase === 'Running' && p;
  };
  async function snapshot(): Promise<string> {
    const sel = { labelSelector: 'app.kubernetes.io/name=vnode-scheduling' };
    const objs = await Promise.all([
      admin.list('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'), admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel), admin.list('v1', 'Namespace'),
    ]);
    return JSON.stringify(objs.flat().map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.resourceVersion}`).sort());
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    for (const name of ['burst', 'legacy', 'plain']) await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 with one clear line and creates nothing', async () => {
    const before = await snapshot();
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['scheduling', 'enable'], {}, /no virtual node is installed in this cluster\n.*vnode install/],
      [['scheduling', 'enable', '--mode', 'vnode', '--namespace', 'nope,burst'], {}, /namespace not found: nope/],
      [['scheduling', 'enable', '--mode', 'vnode', '--namespace', 'Bad_NS'], {}, /invalid --namespace "Bad_NS": expected a namespace name/],
      [['scheduling', 'enable', '--mode', 'pods'], {}, /argument 'pods' is invalid.*vnode, controller/],
      [['scheduling', 'enable', '--mode', 'vnode', '--webhook-url', 'http://127.0.0.1:1'], {}, /invalid --webhook-url "http:\/\/127\.0\.0\.1:1": expected an https:\/\/ URL/],
      [['scheduling', 'enable', '--mode', 'vnode', '--image', 'x/y:1'], {}, /--image does not apply with --webhook-url/],
      [['scheduling', 'enable', '--mode', 'vnode', '--replicas', '0'], {}, /invalid --replicas "0": expected a whole number from 1 to 10/],
      [['scheduling', 'disable', '--namespace', 'nope'], {}, /namespace not found: nope/],
    ];
    for (const [args, env, want] of cases) {
      const r = await vk(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    assert.equal(await snapshot(), before);
  });

  it('enable: webhook with its own CA, labelled namespace; a re-run changes nothing', async () => {
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--yes']);
    const nodes = await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' });
    assert.equal(nodes.length, 1);
    vnodeName = nodes[0]!.metadata.name!;

    const r = await ok(['scheduling', 'enable', '--namespace', 'burst']);
    assert.match(r.stdout, /Namespace burst labelled alibabacloud\.com\/eci=true/);
    assert.match(r.stdout, /to VNode virtual nodes; webhook at https:\/\/127\.0\.0\.1:\d+/);
    const mwc = await admin.get<KubeObject & { webhooks: { clientConfig: { url?: string; caBundle: string }; failurePolicy: string; sideEffects: string; timeoutSeconds: number }[] }>(MWC);
    assert.ok(mwc);
    assert.equal(mwc.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    assert.equal(mwc.webhooks.length, 5);
    for (const w of mwc.webhooks) {
      assert.match(w.clientConfig.url ?? '', /^https:\/\/127\.0\.0\.1:\d+\/mutate\/vnode$/);
      assert.match(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), /BEGIN CERTIFICATE/);
      assert.deepEqual([w.failurePolicy, w.sideEffects, w.timeoutSeconds], ['Ignore', 'NoneOnDryRun', 5]);
    }
    const ns = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'burst' });
    assert.equal(ns?.metadata.labels?.['alibabacloud.com/eci'], 'true');

    const before = await snapshot();
    const again = await ok(['scheduling', 'enable', '--namespace', 'burst']);
    assert.match(again.stdout, /MutatingWebhookConfiguration vnode-scheduling unchanged/);
    assert.match(again.stdout, /Namespace burst already labelled/);
    assert.equal(await snapshot(), before);
  });

  it('a labelled pod in an unlabelled namespace and any pod of a labelled namespace run on the virtual node', async () => {
    await pod('plain', 'asks', { 'alibabacloud.com/eci': 'true' });
    const p = await until('pod plain/asks on the virtual node', runningOnVirtualNode('plain', 'asks'));
    assert.equal(p.spec.nodeSelector?.['k8s.aliyun.com/vnode'], 'true');
    assert.ok(p.spec.tolerations?.some((t) => t.key === 'k8s.aliyun.com/vnode'));
    assert.equal(p.metadata.annotations?.['vnode.dev/scheduling'], 'vnode');

    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'burst' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    const pods = await until('both web pods on the virtual node', async () => {
      const list = await admin.list<Pod>('v1', 'Pod', { namespace: 'burst', labelSelector: 'app=web' });
      return list.length === 2 && list.every((x) => x.spec.nodeName === vnodeName && x.status.phase === 'Running') && list;
    });
    assert.equal(pods.length, 2);

    // the older label asks too
    await pod('legacy', 'old-style', { eci: 'true' });
    await until('pod legacy/old-style on the virtual node', runningOnVirtualNode('legacy', 'old-style'));
  });

  it('pods that opt out, or chose other nodes, are left alone; the latter get a Warning event saying why', async () => {
    const out = await pod('burst', 'opted-out', { 'alibabacloud.com/eci': 'false' });
    assert.equal(out.spec.nodeSelector, undefined);
    const pinned = await pod('burst', 'pinned', {}, { nodeSelector: { 'kubernetes.io/hostname': 'node-a' } });
    assert.deepEqual(pinned.spec.nodeSelector, { 'kubernetes.io/hostname': 'node-a' });
    assert.equal(pinned.spec.tolerations?.some((t) => t.key === 'k8s.aliyun.com/vnode') ?? false, false);
    const ev = await until('the VirtualNodeNotInjected event', async () => {
      const list = await admin.list<KubeObject & { reason: string; message: string; type: string }>('v1', 'Event', { namespace: 'burst' });
      return list.find((e) => e.reason === 'VirtualNodeNotInjected');
    });
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /pod pinned asked for ECI \(namespace burst's label\) but was not sent to a virtual node: its nodeSelector kubernetes\.io\/hostname=node-a matches no VNode virtual node/);
  });

  it('status lists the mode, endpoint and labelled namespaces', async () => {
    await admin.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'legacy' }, { metadata: { labels: { 'virtual-node-affinity-injection': 'enabled' } } }, 'merge');
    const r = await ok(['scheduling', 'status', '-o', 'json']);
    const s = JSON.parse(r.stdout) as { enabled: boolean; mode: string; endpoint: string; namespaces: { name: string; label: string; labelledBy: string }[] };
    assert.equal(s.enabled, true);
    assert.equal(s.mode, 'vnode');
    assert.match(s.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(s.namespaces.map((n) => `${n.name} ${n.label} ${n.labelledBy}`).sort(),
      ['burst alibabacloud.com/eci=true vnode', 'legacy virtual-node-affinity-injection=enabled user']);
  });

  it('an unreachable webhook does not stop pods from being created (failurePolicy Ignore); switching back removes the in-cluster server', async () => {
    // without --webhook-url: the in-cluster Deployment and Service, which this control plane has no node to run
    const before = await admin.get<KubeObject>(MWC);
    const waited = await vk(['scheduling', 'enable', '--timeout', '3s'], { VNODE_WEBHOOK_URL: '' });
    assert.equal(waited.code, 1, waited.stderr);
    assert.match(waited.stderr, /Deployment kube-system\/vnode-scheduling is not available after \ds: pod vnode-scheduling-\S+: Pending, Unschedulable/);
    assert.equal((await admin.get<KubeObject>(MWC))?.metadata.resourceVersion, before?.metadata.resourceVersion, 'the webhook still points at the server that runs');
    const r = await ok(['scheduling', 'enable', '--no-wait'], { VNODE_WEBHOOK_URL: '' });
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; status: string; message: string }[] };
    const sched = doc.checks.find((c) => c.check === 'scheduling-webhook');
    assert.equal(sched?.status, 'FAIL');
    assert.match(sched!.message, /not available, so labelled pods are not sent to virtual nodes: pod vnode-scheduling-\S+: Pending, Unschedulable/);
    assert.match(r.stdout, /Deployment kube-system\/vnode-scheduling unchanged/, 'created by the run that waited');
    const mwc = await admin.get<KubeObject & { webhooks: { clientConfig: { service?: { name: string; path: string }; caBundle: string } }[] }>(MWC);
    assert.deepEqual(mwc?.webhooks[0]?.clientConfig.service, { name: 'vnode-scheduling', namespace: 'kube-system', path: '/mutate/vnode', port: 443 });
    // new names, new certificate: the previous CA stays trusted while servers still present the old one
    assert.equal(Buffer.from(mwc!.webhooks[0]!.clientConfig.caBundle, 'base64').toString().match(/BEGIN CERTIFICATE/g)?.length, 2);
    const p = await pod('plain', 'while-down', { 'alibabacloud.com/eci': 'true' });
    assert.equal(p.spec.nodeSelector, undefined);

    const back = await ok(['scheduling', 'enable']);
    assert.match(back.stdout, /Deployment kube-system\/vnode-scheduling deleted/);
    assert.match(back.stdout, /Service kube-system\/vnode-scheduling deleted/);
    await pod('plain', 'after', { 'alibabacloud.com/eci': 'true' });
    await until('pod plain/after on the virtual node', runningOnVirtualNode('plain', 'after'));
  });

  it('disable --namespace unlabels only that namespace; disable removes the rest, keeps labels vnode did not add', async () => {
    const dry = await ok(['scheduling', 'disable', '--dry-run']);
    assert.match(dry.stdout, /\(dry run\) MutatingWebhookConfiguration vnode-scheduling would delete/);
    assert.ok(await admin.get(MWC));

    const one = await ok(['scheduling', 'disable', '--namespace', 'burst']);
    assert.match(one.stdout, /Namespace burst unlabelled/);
    assert.ok(await admin.get(MWC));
    await ok(['scheduling', 'enable', '--namespace', 'burst']);

    const r = await ok(['scheduling', 'disable']);
    for (const o of ['MutatingWebhookConfiguration vnode-scheduling', 'Secret kube-system/vnode-scheduling-tls', 'ClusterRole vnode:scheduling', 'ServiceAccount kube-system/vnode-scheduling']) {
      assert.match(r.stdout, new RegExp(`${o} deleted`));
    }
    assert.match(r.stdout, /Namespace burst unlabelled/);
    assert.equal(await admin.get(MWC), undefined);
    const legacy = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'legacy' });
    assert.equal(legacy?.metadata.labels?.['virtual-node-affinity-injection'], 'enabled');
    const p = await pod('plain', 'after-disable', { 'alibabacloud.com/eci': 'true' });
    assert.equal(p.spec.nodeSelector, undefined);
    assert.match((await ok(['scheduling', 'disable'])).stdout, /not enabled; nothing to remove/);
  });
});
