import assert from 'node:assert/strict';
import { get } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_IMAGE } from '../../src/steps/scheduling/webhook.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { WORKER_NODE } from '../../src/sandbox/worker.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const MWC = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'vnode-scheduling' };
const DEPLOY = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'vnode-scheduling' };
const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'selectors.eci.aliyun.com' };
const PAUSE = 'registry.k8s.io/pause:3.9';

interface Pod extends KubeObject {
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; tolerations?: { key?: string; effect?: string }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string; reason?: string }[] };
}
type Event = KubeObject & { reason: string; message: string; type: string; involvedObject: { name: string } };

describe('scheduling: the server runs from the official node image + ConfigMap on the worker node, on that image\'s Node.js, the API server calls it through the Service, the real scheduler places the pods', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let vnodeName = '';
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env(), ...(signal ? { signal } : {}) });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const pod = (namespace: string, name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}, image = 'nginx'): Promise<Pod> =>
    admin.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', image }], ...spec } } as unknown as Pod);
  const getPod = (namespace: string, name: string): Promise<Pod | undefined> => admin.get<Pod>({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  const boundTo = (namespace: string, name: string, node: () => string) => async (): Promise<Pod | false> => {
    const p = await getPod(namespace, name);
    return p?.spec.nodeName === node() && p;
  };
  const onVirtualNode = (namespace: string, name: string) => async (): Promise<Pod | false> => {
    const p = await getPod(namespace, name);
    return p?.spec.nodeName === vnodeName && p.status.phase === 'Running' && p;
  };
  const unschedulable = (p: Pod | undefined): boolean => Boolean(p?.status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
  const events = (namespace: string, reason: string): Promise<Event[]> =>
    admin.list<Event>('v1', 'Event', { namespace }).then((l) => l.filter((e) => e.reason === reason));
  /** The server learns of a new Selector by its watch: until then probe pods (no requests) are created and thrown away. */
  const untilSelectorSeen = (namespace: string, labels: Record<string, string>, selector: string): Promise<void> => until(`selector ${selector} in effect`, async () => {
    const p = await admin.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'probe-', namespace, labels: { ...labels, probe: 'true' } }, spec: { containers: [{ name: 'c', image: PAUSE }] } } as unknown as Pod);
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: p.metadata.name! });
    return p.metadata.annotations?.['vnode.dev/selector'] === selector;
  }).then(() => undefined);
  /** Admission reviews the server's replicas have answered (their /metrics, at the pod IPs the sandbox routes). */
  async function reviews(): Promise<number> {
    const pods = await admin.list<Pod>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=vnode-scheduling' });
    const counts = await Promise.all(pods.filter((p) => !p.metadata.deletionTimestamp && p.status.podIP).map((p) => new Promise<number>((resolve, reject) => {
      get({ host: p.status.podIP, port: 8443, path: '/metrics', rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(Number(/^vnode_scheduling_admission_duration_seconds_count (\d+)/m.exec(body)?.[1] ?? NaN)));
      }).on('error', reject);
    })));
    return counts.reduce((a, b) => a + b, 0);
  }
  /** The Node.js versions the server's replicas report at /metrics. */
  async function runtimes(): Promise<string[]> {
    const pods = await admin.list<Pod>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=vnode-scheduling' });
    return Promise.all(pods.filter((p) => !p.metadata.deletionTimestamp && p.status.podIP).map((p) => new Promise<string>((resolve, reject) => {
      get({ host: p.status.podIP, port: 8443, path: '/metrics', rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(/^vnode_scheduling_nodejs_info\{version="([^"]+)"\} 1$/m.exec(body)?.[1] ?? 'none'));
      }).on('error', reject);
    })));
  }
  async function snapshot(): Promise<string> {
    const sel = { labelSelector: 'app.kubernetes.io/name=vnode-scheduling' };
    const objs = await Promise.all([
      admin.list('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'), admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'ConfigMap', { ...sel, namespace: 'kube-system' }), admin.list('apps/v1', 'Deployment', { ...sel, namespace: 'kube-system' }),
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel), admin.list('v1', 'Namespace'), admin.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition'),
    ]);
    return JSON.stringify(objs.flat().map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.resourceVersion}`).sort());
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig, unpullable: ['registry.example.com/vnode/*'] });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    for (const [name, labels] of [['burst', {}], ['legacy', {}], ['plain', {}], ['short', { eci: 'true' }], ['injected', { 'virtual-node-affinity-injection': 'enabled' }],
      ['team-normal', { team: 'normal', 'alibabacloud.com/eci': 'true' }], ['apps', {}]] as const) {
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    }
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 with one clear line and creates nothing', async () => {
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['scheduling', 'enable'], /no virtual node is installed in this cluster\n.*vnode install/],
      [['scheduling', 'enable', '--mode', 'vnode', '--namespace', 'nope,burst'], /namespace not found: nope/],
      [['scheduling', 'enable', '--mode', 'vnode', '--namespace', 'Bad_NS'], /invalid --namespace "Bad_NS": expected a namespace name/],
      [['scheduling', 'enable', '--mode', 'pods'], /argument 'pods' is invalid.*vnode, controller/],
      [['scheduling', 'enable', '--mode', 'vnode', '--webhook-url', 'http://127.0.0.1:1'], /invalid --webhook-url "http:\/\/127\.0\.0\.1:1": expected an https:\/\/ URL/],
      [['scheduling', 'enable', '--mode', 'vnode', '--webhook-url', 'https://127.0.0.1:1', '--image', 'x/y:1'], /--image does not apply with --webhook-url/],
      [['scheduling', 'enable', '--mode', 'vnode', '--replicas', '0'], /invalid --replicas "0": expected a whole number from 1 to 10/],
      [['scheduling', 'enable', '--mode', 'vnode', '--image', ''], /invalid --image "": expected an image reference/],
      [['scheduling', 'enable', '--mode', 'vnode', '--image', 'Node 24'], /invalid --image "Node 24": expected an image reference/],
      [['scheduling', 'disable', '--namespace', 'nope'], /namespace not found: nope/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'fair'], /the Selector API \(eci\.aliyun\.com\/v1\) is not served.*\n.*vnode scheduling enable/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'sometimes'], /argument 'sometimes' is invalid.*fair, normal-node-only, normal-node-prefer, virtual-node-only/],
    ];
    for (const [args, want] of cases) {
      const r = await vk(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.equal(r.stderr.trim().split('\n')[0]!.length > 0, true);
    }
    assert.equal(await snapshot(), before);
  });

  it('an image the worker cannot pull: enable exits 1 naming ErrImagePull and leaves no webhook; a re-run with the default image converges', async () => {
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--yes']);
    const nodes = await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' });
    assert.equal(nodes.length, 1);
    vnodeName = nodes[0]!.metadata.name!;

    const bad = await vk(['scheduling', 'enable', '--image', 'registry.example.com/vnode/vnode:v0.1.0', '--timeout', '60s']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /Deployment kube-system\/vnode-scheduling cannot become available: pod vnode-scheduling-\S+: container server ErrImagePull \(failed to pull image "registry\.example\.com\/vnode\/vnode:v0\.1\.0"/);
    assert.equal(await admin.get(MWC), undefined, 'the webhook is not pointed at a server that never ran');
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; status: string; message: string }[] };
    const sched = doc.checks.find((c) => c.check === 'scheduling-webhook');
    assert.equal(sched?.status, 'FAIL');
    assert.match(sched!.message, /ErrImagePull/);
    // a node image whose Node.js major cannot be had fails to pull as well
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'node-99', namespace: 'default' }, spec: { nodeName: WORKER_NODE, containers: [{ name: 'c', image: 'node:99-alpine', command: ['node', '-e', '0'] }] } } as KubeObject);
    const n99 = await until('node:99 ErrImagePull', async () => {
      const p = await admin.get<Pod & { status: { containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] } }>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'node-99' });
      const w = p?.status.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImagePull' && w;
    }, 120_000);
    assert.match(n99.message ?? '', /npm could not install node@99/);
    await admin.deletePod('default', 'node-99', 0);

    // interrupted while it waits for the server: the re-run converges
    const ctl = new AbortController();
    const watcher = until('the new Deployment template', async () => {
      const d = await admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>(DEPLOY);
      return d?.spec.template.spec.containers[0]?.image === DEFAULT_IMAGE && d;
    }).then(() => ctl.abort());
    const cut = await vk(['scheduling', 'enable', '--namespace', 'burst'], ctl.signal);
    await watcher;
    assert.notEqual(cut.code, 0);
    const r = await ok(['scheduling', 'enable', '--namespace', 'burst']);
    assert.match(r.stdout, /Namespace burst labelled alibabacloud\.com\/eci=true/);
    assert.match(r.stdout, /webhook at Service kube-system\/vnode-scheduling/);
  });

  it('enable: the official Node.js image runs vnode\'s code from the ConfigMap on the worker, behind the Service; a re-run changes nothing', async () => {
    const d = await admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string; command: string[]; args: string[] }[]; volumes: { configMap?: { name: string } }[] } } } }>(DEPLOY);
    const c = d!.spec.template.spec.containers[0]!;
    assert.equal(c.image, 'docker.io/library/node:26-alpine');
    // the sandbox ran it on that image's own Node.js major, not the host's: the server says which
    const majors = await runtimes();
    assert.ok(majors.length > 0 && majors.every((v) => v.startsWith('v26.')), majors.join(' '));
    assert.deepEqual(c.command, ['node', '/opt/vnode/code/loader.cjs']);
    assert.deepEqual(c.args, ['serve', '--tls-dir', '/opt/vnode/tls', '--port', '8443', '--mode', 'vnode']);
    const cm = await admin.get<KubeObject & { binaryData: Record<string, string>; data: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-scheduling-code' });
    assert.ok(Buffer.from(cm!.binaryData['webhook.cjs.gz']!, 'base64').length > 100_000);
    assert.match(cm!.data['loader.cjs']!, /gunzipSync/);
    assert.equal(cm!.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');

    // the server's pods run on the worker with addresses of their own, and are the Service's endpoints
    const pods = await until('the rollout\'s old pods gone', async () => {
      const l = (await admin.list<Pod>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=vnode-scheduling' })).filter((p) => !p.metadata.deletionTimestamp);
      return l.length === 2 && l;
    });
    for (const p of pods) {
      assert.equal(p.spec.nodeName, WORKER_NODE);
      assert.match(p.status.podIP ?? '', /^198\.1[89]\.\d+\.\d+$/);
    }
    const ep = await admin.get<KubeObject & { subsets?: { addresses?: { ip: string }[] }[] }>({ apiVersion: 'v1', kind: 'Endpoints', namespace: 'kube-system', name: 'vnode-scheduling' });
    assert.deepEqual(ep?.subsets?.flatMap((s) => s.addresses ?? []).map((a) => a.ip).sort(), pods.map((p) => p.status.podIP).sort());
    const mwc = await admin.get<KubeObject & { webhooks: { clientConfig: { service?: Record<string, unknown>; url?: string }; failurePolicy: string; sideEffects: string; timeoutSeconds: number }[] }>(MWC);
    assert.equal(mwc?.webhooks.length, 5, 'one per label shortcut, no Selector yet');
    for (const w of mwc!.webhooks) {
      assert.deepEqual(w.clientConfig.service, { name: 'vnode-scheduling', namespace: 'kube-system', path: '/mutate/vnode', port: 443 });
      assert.equal(w.clientConfig.url, undefined);
      assert.deepEqual([w.failurePolicy, w.sideEffects, w.timeoutSeconds], ['Ignore', 'NoneOnDryRun', 5]);
    }
    assert.ok(await admin.get(CRD));

    const before = await snapshot();
    const again = await ok(['scheduling', 'enable', '--namespace', 'burst']);
    assert.match(again.stdout, /MutatingWebhookConfiguration vnode-scheduling unchanged/);
    assert.match(again.stdout, /Namespace burst already labelled/);
    assert.equal(await snapshot(), before);
  });

  it('label shortcuts: pod labels alibabacloud.com/eci=true and eci=true, namespace labels alibabacloud.com/eci=true, eci=true and virtual-node-affinity-injection=enabled', async () => {
    await pod('plain', 'asks', { 'alibabacloud.com/eci': 'true' });
    const p = await until('pod plain/asks on the virtual node', onVirtualNode('plain', 'asks'));
    assert.equal(p.spec.nodeSelector?.['k8s.aliyun.com/vnode'], 'true');
    assert.ok(p.spec.tolerations?.some((t) => t.key === 'k8s.aliyun.com/vnode'));
    assert.equal(p.metadata.annotations?.['vnode.dev/scheduling'], 'vnode');
    await pod('legacy', 'old-style', { eci: 'true' });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'burst' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await pod('short', 'in-short', {});
    await pod('injected', 'in-injected', {});
    await until('pod legacy/old-style on the virtual node', onVirtualNode('legacy', 'old-style'));
    await until('pod short/in-short on the virtual node', onVirtualNode('short', 'in-short'));
    await until('pod injected/in-injected on the virtual node', onVirtualNode('injected', 'in-injected'));
    await until('both web pods on the virtual node', async () => {
      const list = await admin.list<Pod>('v1', 'Pod', { namespace: 'burst', labelSelector: 'app=web' });
      return list.length === 2 && list.every((x) => x.spec.nodeName === vnodeName && x.status.phase === 'Running');
    });
    // an unlabelled pod in an unlabelled namespace goes to the worker, without a call to the server
    const calls = await reviews();
    await pod('plain', 'ordinary', {});
    assert.equal(await reviews(), calls, 'no selector can pick it: the API server does not call the server');
    await pod('plain', 'asks-too', { 'alibabacloud.com/eci': 'true' });
    assert.equal(await reviews(), calls + 1);
    const o = await until('pod plain/ordinary on the worker', boundTo('plain', 'ordinary', () => WORKER_NODE));
    assert.equal(o.spec.nodeSelector, undefined);
    // an image a real cluster pulls runs on the normal node too (played: Running and ready, no process)
    await until('pod plain/ordinary Running and ready on the worker', async () => {
      const x = await admin.get<Pod & { status: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'v1', kind: 'Pod', namespace: 'plain', name: 'ordinary' });
      return x?.status.phase === 'Running' && x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
  });

  it('pods that opt out, or chose other nodes, are left alone; the latter get a Warning event saying why', async () => {
    const out = await pod('burst', 'opted-out', { 'alibabacloud.com/eci': 'false' });
    assert.equal(out.spec.nodeSelector, undefined);
    const pinned = await pod('burst', 'pinned', {}, { nodeSelector: { 'kubernetes.io/hostname': 'node-a' } });
    assert.deepEqual(pinned.spec.nodeSelector, { 'kubernetes.io/hostname': 'node-a' });
    assert.equal(pinned.spec.tolerations?.some((t) => t.key === 'k8s.aliyun.com/vnode') ?? false, false);
    const ev = await until('the VirtualNodeNotInjected event', async () => (await events('burst', 'VirtualNodeNotInjected'))[0]);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /pod pinned asked for ECI \(namespace label alibabacloud\.com\/eci=true\) but was not sent to a virtual node: its nodeSelector kubernetes\.io\/hostname=node-a matches no VNode virtual node/);
  });

  it('bad selectors exit 2 and apply nothing', async () => {
    const before = JSON.stringify(await admin.list('eci.aliyun.com/v1', 'Selector'));
    const cases: [string[], RegExp][] = [
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web'], /selector web needs --policy: fair, normal-node-only, normal-node-prefer or virtual-node-only/],
      [['scheduling', 'add', 'web', '--policy', 'fair'], /selector web selects nothing: give --pod-selector/],
      [['scheduling', 'add', 'Web!', '--pod-selector', 'app=web', '--policy', 'fair'], /invalid selector name "Web!"/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app', '--policy', 'fair'], /invalid --pod-selector "app": expected key=value/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web,', '--policy', 'fair'], /invalid --pod-selector "app=web,": an empty term/],
      [['scheduling', 'add', 'web', '--namespace-selector', ',team=a', '--policy', 'fair'], /invalid --namespace-selector ",team=a": an empty term/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'fair', '--priority', 'high'], /invalid --priority "high": expected a whole number/],
      [['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'fair', '--label', 'bad key=1'], /invalid --label key "bad key"/],
    ];
    for (const [args, want] of cases) {
      const r = await vk(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    assert.equal(JSON.stringify(await admin.list('eci.aliyun.com/v1', 'Selector')), before);
  });

  it('virtual-node-only with effects, normal-node-only outranking a namespace label by priority, fair allowing both node kinds', async () => {
    const add = await ok(['scheduling', 'add', 'train', '--pod-selector', 'app=train', '--policy', 'virtual-node-only', '--annotation', 'k8s.aliyun.com/eci-use-specs=2-4Gi', '--label', 'billing=eci']);
    assert.match(add.stdout, /Selector train added \(Selector, eci\.aliyun\.com\/v1\)/);
    const sel = await admin.get<KubeObject & { spec: Record<string, unknown> }>({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'train' });
    assert.deepEqual(sel?.spec, { objectLabels: { matchLabels: { app: 'train' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi' }, labels: { billing: 'eci' } }, policy: { virtualNodeOnly: {} } });
    assert.match((await ok(['scheduling', 'add', 'train', '--pod-selector', 'app=train', '--policy', 'virtual-node-only', '--annotation', 'k8s.aliyun.com/eci-use-specs=2-4Gi', '--label', 'billing=eci'])).stdout, /unchanged/);
    await ok(['scheduling', 'add', 'normal', '--namespace-selector', 'team=normal', '--policy', 'normal-node-only', '--priority', '5']);
    await ok(['scheduling', 'add', 'mixed', '--pod-selector', 'app=mixed', '--policy', 'fair']);

    // the server sees new Selectors through its watch
    await untilSelectorSeen('apps', { app: 'train' }, 'train');
    // normal-node-only adds nothing: the server has it once a pod of team-normal no longer gets the namespace shortcut's patch
    await until('selector normal in effect', async () => {
      const p = await admin.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'probe-', namespace: 'team-normal', labels: { probe: 'true' } }, spec: { containers: [{ name: 'c', image: PAUSE }] } } as unknown as Pod);
      await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'team-normal', name: p.metadata.name! });
      return p.spec.nodeSelector === undefined && p.metadata.annotations?.['vnode.dev/scheduling'] === undefined;
    });
    await untilSelectorSeen('apps', { app: 'mixed' }, 'mixed');
    const t = await pod('apps', 'train-1', { app: 'train' }, {}, PAUSE);
    assert.equal(t.metadata.annotations?.['vnode.dev/selector'], 'train');
    assert.equal(t.metadata.labels?.billing, 'eci');
    assert.equal(t.metadata.annotations?.['k8s.aliyun.com/eci-use-specs'], '2-4Gi');
    await until('pod apps/train-1 running on the virtual node', onVirtualNode('apps', 'train-1'));
    // the pod's own label wins over the effect
    const own = await pod('apps', 'train-2', { app: 'train', billing: 'mine' }, {}, PAUSE);
    assert.equal(own.metadata.labels?.billing, 'mine');

    // team-normal is labelled alibabacloud.com/eci=true too: selector normal (priority 5) outranks that shortcut (0)
    const n = await pod('team-normal', 'stays', {}, {}, PAUSE);
    assert.equal(n.spec.nodeSelector, undefined);
    assert.equal(n.spec.tolerations?.some((x) => x.key === 'k8s.aliyun.com/vnode') ?? false, false);
    assert.equal(n.metadata.annotations?.['vnode.dev/selector'], undefined, 'normal-node-only adds nothing');
    const stays = await until('pod team-normal/stays bound', async () => { const p = await getPod('team-normal', 'stays'); return p?.spec.nodeName ? p : false; });
    assert.equal(stays.spec.nodeName, WORKER_NODE);

    // fair: a toleration and no nodeSelector, so either kind of node may take the pod
    const f = await pod('apps', 'mixed-any', { app: 'mixed' }, {}, PAUSE);
    assert.equal(f.spec.nodeSelector, undefined);
    assert.ok(f.spec.tolerations?.some((x) => x.key === 'k8s.aliyun.com/vnode'));
    await pod('apps', 'mixed-worker', { app: 'mixed' }, { nodeSelector: { 'kubernetes.io/hostname': WORKER_NODE } }, PAUSE);
    await pod('apps', 'mixed-virtual', { app: 'mixed' }, { nodeSelector: { type: 'virtual-kubelet' } }, PAUSE);
    await until('pod apps/mixed-worker on the worker', boundTo('apps', 'mixed-worker', () => WORKER_NODE));
    await until('pod apps/mixed-virtual on the virtual node', onVirtualNode('apps', 'mixed-virtual'));
    // without a selector, a pod that asks for virtual-kubelet nodes cannot go there (no toleration)
    await pod('apps', 'unselected-virtual', {}, { nodeSelector: { type: 'virtual-kubelet' } }, PAUSE);
    await until('pod apps/unselected-virtual Unschedulable', async () => unschedulable(await getPod('apps', 'unselected-virtual')));
  });

  it('normal-node-prefer: pods fill the worker first, then burst to the virtual node; unselected pods stay Pending', async () => {
    await ok(['scheduling', 'add', 'web-prefer', '--pod-selector', 'app=surge', '--policy', 'normal-node-prefer']);
    const big = { containers: [{ name: 'c', image: PAUSE, resources: { requests: { cpu: '1' } } }] };
    await untilSelectorSeen('apps', { app: 'surge' }, 'web-prefer');
    const created = await admin.create<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'surge-0', namespace: 'apps', labels: { app: 'surge' } }, spec: big } as unknown as Pod);
    assert.equal(created.metadata.labels?.['vnode.dev/burst'], 'pending');
    assert.equal(created.spec.tolerations?.some((x) => x.key === 'k8s.aliyun.com/vnode') ?? false, false, 'no toleration at creation');
    for (let i = 1; i < 6; i++) await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `surge-${i}`, namespace: 'apps', labels: { app: 'surge' } }, spec: big });
    const placed = await until('all six surge pods bound', async () => {
      const list = await admin.list<Pod>('v1', 'Pod', { namespace: 'apps', labelSelector: 'app=surge,!probe' });
      return list.length === 6 && list.every((p) => p.spec.nodeName) && list;
    }, 90_000);
    const onWorker = placed.filter((p) => p.spec.nodeName === WORKER_NODE);
    const onVirtual = placed.filter((p) => p.spec.nodeName === vnodeName);
    // the worker has 4 CPUs; the scheduling server asks for 2 x 20m
    assert.equal(onWorker.length, 3, placed.map((p) => `${p.metadata.name}@${p.spec.nodeName}`).join(' '));
    assert.equal(onVirtual.length, 3);
    for (const p of onVirtual) {
      assert.equal(p.metadata.labels?.['vnode.dev/burst'], 'done');
      // two replicas watched it: the toleration is there once
      assert.equal(p.spec.tolerations?.filter((x) => x.key === 'k8s.aliyun.com/vnode').length, 1);
    }
    for (const p of onWorker) assert.equal(p.metadata.labels?.['vnode.dev/burst'], 'pending');
    const ev = await until('BurstToVirtualNode events', async () => { const l = await events('apps', 'BurstToVirtualNode'); return l.length >= 3 && l; });
    assert.match(ev[0]!.message, /no normal node fits \(Unschedulable\): tolerating the virtual nodes \(selector web-prefer, policy normalNodePrefer\)/);

    // a pod no selector picks is never touched: it stays Pending
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other', namespace: 'apps', labels: { app: 'other' } }, spec: big });
    await until('pod apps/other Unschedulable', async () => unschedulable(await getPod('apps', 'other')));
    await new Promise((r) => setTimeout(r, 3000));
    const other = await getPod('apps', 'other');
    assert.equal(other?.spec.nodeName, undefined);
    assert.equal(other?.spec.tolerations?.some((x) => x.key === 'k8s.aliyun.com/vnode') ?? false, false);
    for (const p of await admin.list<Pod>('v1', 'Pod', { namespace: 'apps', labelSelector: 'app in (surge,other)' })) await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'apps', name: p.metadata.name! });
  });

  it('normal-node-prefer takes pods that were Pending before its Selector existed: none stays Pending, each burst pod tolerates once', async () => {
    const big = { containers: [{ name: 'c', image: PAUSE, resources: { requests: { cpu: '1' } } }] };
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'late', namespace: 'apps' },
      spec: { replicas: 6, selector: { matchLabels: { app: 'late' } }, template: { metadata: { labels: { app: 'late' } }, spec: big } },
    } as KubeObject);
    const list = (): Promise<Pod[]> => admin.list<Pod>('v1', 'Pod', { namespace: 'apps', labelSelector: 'app=late' });
    await until('late pods Unschedulable before any Selector', async () => (await list()).filter((p) => unschedulable(p)).length >= 2, 60_000);
    for (const p of await list()) assert.equal(p.metadata.labels?.['vnode.dev/burst'], undefined, 'no mark: created before the Selector');
    await ok(['scheduling', 'add', 'late-prefer', '--pod-selector', 'app=late', '--policy', 'normal-node-prefer']);
    const placed = await until('all six late pods bound', async () => { const l = (await list()).filter((p) => !p.metadata.deletionTimestamp); return l.length === 6 && l.every((p) => p.spec.nodeName) && l; }, 90_000);
    const burst = placed.filter((p) => p.spec.nodeName === vnodeName);
    assert.ok(burst.length >= 2, placed.map((p) => `${p.metadata.name}@${p.spec.nodeName}`).join(' '));
    for (const p of burst) {
      assert.equal(p.metadata.labels?.['vnode.dev/burst'], 'done');
      assert.equal(p.spec.tolerations?.filter((x) => x.key === 'k8s.aliyun.com/vnode').length, 1);
    }
    await admin.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'late' });
    await ok(['scheduling', 'remove', 'late-prefer']);
    await until('late pods gone', async () => (await list()).length === 0, 60_000);
  });

  it('a Selector without any policy (made with kubectl) is virtual-node-only, as eci-profile\'s findExecutor has it', async () => {
    await admin.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'no-policy' }, spec: { objectLabels: { matchLabels: { app: 'nopol' } } } } as KubeObject);
    await untilSelectorSeen('apps', { app: 'nopol' }, 'no-policy');
    const p = await pod('apps', 'nopol-1', { app: 'nopol' }, {}, PAUSE);
    assert.equal(p.spec.nodeSelector?.['k8s.aliyun.com/vnode'], 'true');
    await until('pod apps/nopol-1 on the virtual node', onVirtualNode('apps', 'nopol-1'));
    assert.match((await ok(['scheduling', 'list'])).stdout, /no-policy\s+virtual-node-only/);
    await admin.delete({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'no-policy' });
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'apps', name: 'nopol-1' });
  });

  it('one bad Selector breaks nothing: no entry, a Warning event, a row in list and doctor; the good one made after it works; fractional ratios are accepted', async () => {
    const long = `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(60)}`;
    await admin.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'bad-in' }, spec: { objectLabels: { matchExpressions: [{ key: 'app', operator: 'In' }] }, policy: { virtualNodeOnly: {} } } } as KubeObject);
    await admin.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: long }, spec: { objectLabels: { matchLabels: { app: 'long' } }, policy: { virtualNodeOnly: {} } } } as KubeObject);
    // the CRD as sent: its enum and preserve-unknown-fields survive client-node's model (an operator outside the enum is refused)
    await assert.rejects(admin.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'bad-op' }, spec: { objectLabels: { matchExpressions: [{ key: 'a', operator: 'Near' }] } } } as KubeObject));
    // eci-profile's types are float64
    await admin.create({ apiVersion: 'eci.aliyun.com/v1beta1', kind: 'Selector', metadata: { name: 'ratios' },
      spec: { objectLabels: { matchLabels: { app: 'ratios' } }, policy: { normalNodePrefer: { cpuRatio: 0.5, memoryRatio: 0.75 } } } } as KubeObject);
    await ok(['scheduling', 'add', 'good-one', '--pod-selector', 'app=good', '--policy', 'virtual-node-only']);
    const again = await ok(['scheduling', 'enable']);
    assert.doesNotMatch(again.stderr, /Required value/);
    const mwc = await admin.get<KubeObject & { webhooks: { name: string }[] }>(MWC);
    const names = mwc!.webhooks.map((w) => w.name);
    assert.ok(names.includes('good-one.selectors.scheduling.vnode.dev') && names.includes('pod-label.scheduling.vnode.dev'), names.join(' '));
    assert.ok(!names.some((n) => n.startsWith('bad-in.') || n.startsWith('aaaa')), names.join(' '));
    await untilSelectorSeen('apps', { app: 'good' }, 'good-one');
    await pod('apps', 'good-1', { app: 'good' }, {}, PAUSE);
    await until('pod apps/good-1 on the virtual node', onVirtualNode('apps', 'good-1'));
    const asked = await pod('plain', 'asks-after-bad', { 'alibabacloud.com/eci': 'true' }, {}, PAUSE);
    assert.equal(asked.spec.nodeSelector?.['k8s.aliyun.com/vnode'], 'true');
    const list = await ok(['scheduling', 'list']);
    assert.match(list.stdout, /Selector bad-in is NOT APPLIED \(no webhook entry\): objectLabels\.matchExpressions\[0\]: operator In needs at least one value\./);
    assert.match(list.stdout, /Selector a{62}\.b+\.c+\.d+ is NOT APPLIED \(no webhook entry\): its name is 249 characters/);
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; status: string; message: string }[] };
    assert.deepEqual(doc.checks.filter((c) => c.check === 'selector').map((c) => [c.target, c.status]).sort(), [[long, 'FAIL'], ['bad-in', 'FAIL']].sort());
    await until('a SelectorNotApplied event for bad-in', async () => (await events('default', 'SelectorNotApplied')).some((e) => /Selector bad-in is not applied/.test(e.message)));
    for (const name of ['bad-in', long, 'ratios']) await admin.delete({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name });
    await ok(['scheduling', 'remove', 'good-one']);
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'apps', name: 'good-1' });
  });

  it('a Selector made with kubectl (as for eci-profile) gets its webhook entry from the server and takes effect', async () => {
    await admin.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'from-kubectl' }, spec: { objectLabels: { matchLabels: { app: 'moved' } }, policy: { virtualNodeOnly: {} }, priority: 1 } } as KubeObject);
    await until('the server adding its webhook entry', async () => {
      const m = await admin.get<KubeObject & { webhooks: { name: string }[] }>(MWC);
      return m?.webhooks.some((w) => w.name === 'from-kubectl.selectors.scheduling.vnode.dev');
    });
    await untilSelectorSeen('apps', { app: 'moved' }, 'from-kubectl');
    await pod('apps', 'moved-1', { app: 'moved' }, {}, PAUSE);
    await until('pod apps/moved-1 on the virtual node', onVirtualNode('apps', 'moved-1'));
    await admin.delete({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'from-kubectl' });
    await until('the server removing its webhook entry', async () => {
      const m = await admin.get<KubeObject & { webhooks: { name: string }[] }>(MWC);
      return m && !m.webhooks.some((w) => w.name === 'from-kubectl.selectors.scheduling.vnode.dev');
    });
  });

  it('list and status show the engine, the Selectors and the shortcuts in the order they win', async () => {
    const l = JSON.parse((await ok(['scheduling', 'list', '-o', 'json'])).stdout) as { engine: string; selectors: { name: string; policy: string; priority: number; origin: string }[] };
    assert.equal(l.engine, 'vnode');
    assert.deepEqual(l.selectors.map((s) => `${s.name}:${s.policy}:${s.priority}:${s.origin}`), [
      'pod-label:virtual-node-only:2147483647:built-in', 'pod-short-label:virtual-node-only:2147483647:built-in', 'normal:normal-node-only:5:vnode',
      'mixed:fair:0:vnode', 'train:virtual-node-only:0:vnode', 'web-prefer:normal-node-prefer:0:vnode',
      'namespace-injection-label:virtual-node-only:0:built-in', 'namespace-label:virtual-node-only:0:built-in', 'namespace-short-label:virtual-node-only:0:built-in',
    ]);
    const r = await ok(['scheduling', 'status', '-o', 'json']);
    const s = JSON.parse(r.stdout) as { enabled: boolean; mode: string; endpoint: string; engine: string; selectors: number; replicas: { ready: number }; namespaces: { name: string; label: string; labelledBy: string }[] };
    assert.equal(s.enabled, true);
    assert.equal(s.mode, 'vnode');
    assert.equal(s.endpoint, 'Service kube-system/vnode-scheduling');
    assert.equal(s.replicas.ready, 2);
    assert.equal(s.selectors, 4);
    assert.match(s.engine, /vnode's scheduling server \(label shortcuts and 4 Selector\(s\)/);
    assert.deepEqual(s.namespaces.map((n) => `${n.name} ${n.label} ${n.labelledBy}`).sort(),
      ['burst alibabacloud.com/eci=true vnode', 'injected virtual-node-affinity-injection=enabled user', 'short eci=true user', 'team-normal alibabacloud.com/eci=true user']);
  });

  it('disable, interrupted and re-run, removes the server and keeps the CRD while Selectors exist; after remove, disable removes the CRD', async () => {
    const ctl = new AbortController();
    const watcher = until('the webhook configuration gone', async () => !(await admin.get(MWC))).then(() => ctl.abort());
    await vk(['scheduling', 'disable'], ctl.signal);
    await watcher;
    const r = await ok(['scheduling', 'disable']);
    assert.match(r.stdout, /CustomResourceDefinition selectors\.eci\.aliyun\.com kept \(4 Selectors/);
    for (const ref of [MWC, DEPLOY, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-scheduling-code' }]) assert.equal(await admin.get(ref), undefined);
    const ns = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'burst' });
    assert.equal(ns?.metadata.labels?.['alibabacloud.com/eci'], undefined, 'the label vnode added is gone');
    const short = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'short' });
    assert.equal(short?.metadata.labels?.eci, 'true', 'a user\'s label stays');
    const p = await pod('plain', 'after-disable', { 'alibabacloud.com/eci': 'true' });
    assert.equal(p.spec.nodeSelector, undefined);

    for (const name of ['train', 'normal', 'mixed', 'web-prefer']) assert.match((await ok(['scheduling', 'remove', name])).stdout, new RegExp(`Selector ${name} removed`));
    assert.match((await ok(['scheduling', 'remove', 'train'])).stdout, /not found — nothing to remove/);
    const last = await ok(['scheduling', 'disable']);
    assert.match(last.stdout, /CustomResourceDefinition selectors\.eci\.aliyun\.com deleted/);
    assert.equal(await admin.get(CRD), undefined);
  });

  it('a Selector CRD from eci-profile\'s own manifest (v1beta1 only) is upgraded in place to serve v1 too, without losing a Selector', async () => {
    await admin.create({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'selectors.eci.aliyun.com' },
      spec: { group: 'eci.aliyun.com', scope: 'Cluster', names: { kind: 'Selector', plural: 'selectors', listKind: 'SelectorList', singular: 'selector' },
        versions: [{ name: 'v1beta1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    } as KubeObject);
    await until('the v1beta1 Selector API', async () => { try { await admin.list('eci.aliyun.com/v1beta1', 'Selector'); return true; } catch { return false; } });
    await admin.create({ apiVersion: 'eci.aliyun.com/v1beta1', kind: 'Selector', metadata: { name: 'from-eci-profile' }, spec: { objectLabels: { matchLabels: { app: 'old' } }, policy: { normalNodePrefer: { cpuRatio: 0.5 } } } } as KubeObject);
    const r = await ok(['scheduling', 'enable']);
    assert.match(r.stdout, /CustomResourceDefinition selectors\.eci\.aliyun\.com serves v1 too \(eci-profile's definition; v1beta1 kept as storage\)/);
    const sel = await admin.get<KubeObject & { spec: Record<string, unknown> }>({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'from-eci-profile' });
    assert.deepEqual(sel?.spec, { objectLabels: { matchLabels: { app: 'old' } }, policy: { normalNodePrefer: { cpuRatio: 0.5 } } });
    const crd = await admin.get<KubeObject & { spec: { versions: { name: string; served: boolean; storage: boolean }[] } }>(CRD);
    assert.deepEqual(crd!.spec.versions.map((v) => [v.name, v.served, v.storage]).sort(), [['v1', true, false], ['v1beta1', true, true]]);
    assert.notEqual(crd!.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode', 'still eci-profile\'s');
    const mwc = await admin.get<KubeObject & { webhooks: { name: string }[] }>(MWC);
    assert.ok(mwc!.webhooks.some((w) => w.name === 'from-eci-profile.selectors.scheduling.vnode.dev'));
    assert.doesNotMatch((await ok(['scheduling', 'enable'])).stdout, /serves v1 too/, 'a re-run finds v1 served');
    await ok(['scheduling', 'disable']);
    await admin.delete({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'from-eci-profile' });
    await admin.delete(CRD);
  });
});
