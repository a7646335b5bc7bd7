import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { agentManifest } from '../../src/sandbox/cloud/cs.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { WORKER_NODE } from '../../src/sandbox/worker.js';
import { specVersion, startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';
import { operatorPolicy, ramUserEnv } from '../helpers/ram-user.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW_H = 'vsw-bp1sandboxzoneh00001';
const VSW_I = 'vsw-bp1sandboxzonei00001';
const SG = 'sg-bp1sandboxkubelet0001';
const NODE_H = 'virtual-kubelet-cn-hangzhou-h';
const NODE_I = 'virtual-kubelet-cn-hangzhou-i';
const CONTROLLER = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-virtual-node-controller' };
const PROFILE = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'eci-profile' };
const RECORD = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-registration' };

interface Pod extends KubeObject { spec: { nodeName?: string }; status: { phase?: string } }

describe('ack-virtual-node add-on through an ACK One registered cluster (real control plane; the sandbox plays ACK One and the add-on)', () => {
  let cp: CP;
  let emu: CloudEmulator & { simulator: unknown };
  let admin: ClusterPort;
  let onRequest: (action: string, code: string) => void = () => {};
  /** The operator: a RAM user holding exactly `vnode ram operator-policy`; `ram` commands (RAM administration) run with the account's key. */
  let operator: Record<string, string> = {};
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...(args[0] === 'ram' ? {} : operator) }, ...(signal ? { signal } : {}) });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const webPods = async (): Promise<Pod[]> => (await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' })).filter((p) => !p.metadata.deletionTimestamp);
  const scaleWeb = (n: number): Promise<unknown> => admin.patch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' }, { spec: { replicas: n } }, 'merge');
  const allRunning = (n: number) => async (): Promise<Pod[] | false> => {
    const pods = await webPods();
    return pods.length === n && pods.every((p) => p.status.phase === 'Running') && pods;
  };
  const liveClusters = () => (emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting');
  async function snapshot(): Promise<string> {
    const k8s = await Promise.all([
      admin.list('v1', 'ConfigMap', { namespace: 'kube-system' }), admin.list('apps/v1', 'Deployment', { namespace: 'kube-system' }),
      admin.list('v1', 'Secret', { namespace: 'kube-system' }), admin.list('apps/v1', 'DaemonSet'), admin.list('v1', 'Node'),
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', { labelSelector: 'vnode.dev/part-of' }),
    ]);
    return JSON.stringify({
      k8s: k8s.flat().map((o) => `${o.kind}/${o.metadata.name}/${specVersion(o)}`).sort(), cg: emu.state.data.containerGroups.length,
      clusters: emu.state.data.clusters ?? [], addons: emu.state.data.addons ?? [], users: emu.state.data.users,
    });
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 1500, adminKubeconfig: cp.kubeconfig, onRequest: (a, c) => onRequest(a, c) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    operator = await ramUserEnv(emu, 'operator', await operatorPolicy());
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { k8s: 'kube-proxy' } }, template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'p', image: 'kube-proxy:v1.20.2' }] } } },
    });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 and creates nothing (no registration, no add-on, no object)', async () => {
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--bootstrap', '--count', '2'], /--bootstrap, --count do not apply to --mode addon/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--cluster-name', 'x'], /--cluster-name does not apply to --mode vnode/],
      [['install', '--mode', 'pod'], /argument 'pod' is invalid.*vnode, addon, controller/],
      [['install', '--mode', 'addon', '--vswitch', 'subnet-1'], /invalid --vswitch "subnet-1"/],
      [['install', '--mode', 'addon', '--cluster-name', '-bad'], /invalid --cluster-name "-bad"/],
      [['cluster', 'register', '--name', 'has space'], /invalid registration name "has space"/],
      [['cluster', 'register'], /registering this cluster needs its VPC: pass --vswitch/],
      [['cluster', 'register', '--vswitch', `${VSW_H},vsw-bp1othervpczoneh0001`], /belong to different VPCs/],
      [['cluster', 'register', '--name', 'BAD_Name'], /invalid registration name "BAD_Name": 1-63 letters, digits, Chinese characters and hyphens/],
      [['cluster', 'register', '--vswitch', VSW_H, '--yes'], /a security group is needed: pass --security-group with one of vpc-/],
      [['config', 'get'], /no ConfigMap kube-system\/eci-profile: the ack-virtual-node add-on is not installed/],
      [['config', 'set', 'color=blue'], /unknown setting "color": expected key=value with key one of vswitch, security-group, kube-proxy, resource-group/],
      [['config', 'set', 'kube-proxy=maybe'], /invalid kube-proxy "maybe": expected true or false/],
      [['uninstall', 'vnode', '--deregister'], /--deregister goes with ack-virtual-node or --all/],
      [['scale', '--replicas', '2'], /`vnode scale` is retired: .*one virtual node per zone/],
      [['scheduling', 'add', 'batch', '--namespace-selector', 'team=batch'], /no engine applies selectors here: the Selector API \(eci\.aliyun\.com\/v1\) is not served and the ack-virtual-node add-on is not installed/],
    ];
    for (const [args, re] of cases) {
      const r = await vk(args);
      assert.equal(r.code, 2, `vnode ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, `vnode ${args.join(' ')}`);
    }
    // a missing prerequisite is no usage error: exit 1, nothing created
    const noSecret = await vk(['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--yes']);
    assert.equal(noSecret.code, 1, noSecret.stderr);
    assert.match(noSecret.stderr, /alibaba-addon-secret is missing.*\n.*vnode ram grant/);
    assert.equal(await snapshot(), before);
    assert.deepEqual(emu.state.data.clusters ?? [], []);
  });

  let addonUser = '';
  let addonKey = '';

  it('ram grant, install --mode addon: registered and connected, the add-on installed through CS, eci-profile written, one Ready node per zone; a labelled pod runs there with the add-on\'s key', async () => {
    await ok(['ram', 'grant', '--yes']);
    const secret = (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' }))!;
    addonUser = secret.metadata.annotations!['vnode.dev/ram-user']!;
    addonKey = Buffer.from((secret.data as Record<string, string>)['access-key-id']!, 'base64').toString();

    const plan = await ok(['install', '--mode', 'addon', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--dry-run']);
    assert.match(plan.stdout, /would call CreateCluster .*"cluster_type":"ExternalKubernetes","vpcid":"vpc-bp1sandbox0000000001"/);
    assert.deepEqual(emu.state.data.clusters ?? [], [], 'a dry run registers nothing');

    const r = await ok(['install', '--mode', 'addon', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--timeout', '2m', '--yes']);
    assert.match(r.stdout, /Registered cluster: vnode-[0-9a-f]{8} \(c[0-9a-f]{32}\), running \(created\)/);
    assert.match(r.stdout, /Add-on ack-virtual-node v[\d.]+: installed, active/);
    assert.match(r.stdout, new RegExp(`2 virtual node\\(s\\) Ready: ${NODE_H}, ${NODE_I}`));
    const [c] = liveClusters();
    assert.equal(liveClusters().length, 1);
    assert.equal(c!.state, 'running');
    assert.deepEqual(emu.state.data.addons?.map((a) => [a.clusterId, a.name, a.state]), [[c!.id, 'ack-virtual-node', 'active']]);
    const record = (await admin.get<KubeObject & { data: Record<string, string> }>(RECORD))!;
    assert.equal(record.data.clusterId, c!.id);
    assert.equal(record.metadata.labels!['app.kubernetes.io/managed-by'], 'vnode');
    const agent = (await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-cluster-agent' }))!;
    assert.equal(agent.metadata.labels!['app.kubernetes.io/managed-by'], 'vnode');
    assert.equal(agent.metadata.labels!['vnode.dev/part-of'], 'ack-cluster-agent');

    for (const name of [NODE_H, NODE_I]) {
      const n = (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name }))!;
      assert.equal(n.metadata.labels!.type, 'virtual-kubelet');
      assert.deepEqual((n.spec as { taints: unknown[] }).taints, [{ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }]);
    }
    const profile = (await admin.get<KubeObject & { data: Record<string, string> }>(PROFILE))!.data;
    assert.equal(profile.vSwitchIds, `${VSW_H},${VSW_I}`);
    assert.equal(profile.securityGroupId, SG);
    assert.equal(profile.vpcId, 'vpc-bp1sandbox0000000001');
    const proxy = (await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' }))!;
    assert.match(JSON.stringify(proxy.spec), /"key":"type","operator":"NotIn","values":\["virtual-kubelet"\]/);
    const proxyPods = await admin.list<Pod>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'k8s=kube-proxy' });
    assert.ok(proxyPods.every((p) => !p.spec.nodeName?.startsWith('virtual-kubelet-')), 'no DaemonSet pod landed on a virtual node');

    // labelled, nothing else: the add-on's vk-webhook sends it to a virtual node
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', 'alibabacloud.com/eci': 'true' } }, spec: { containers: [{ name: 'w', image: 'nginx:1.25' }] } } },
    });
    const pods = await until('3 web pods Running', allRunning(3));
    for (const p of pods) {
      assert.match(p.spec.nodeName!, /^virtual-kubelet-cn-hangzhou-[hi]$/);
      const cg = emu.state.data.containerGroups.find((g) => g.id === p.metadata.annotations!['k8s.aliyun.com/eci-instance-id']);
      assert.ok(cg, `container group of ${p.metadata.name}`);
      assert.deepEqual(cg.createdBy, { accessKeyId: addonKey, user: addonUser }, 'created with the add-on\'s AccessKey, as its RAM user');
    }
  });

  it('every command run twice changes nothing the second time', async () => {
    const before = await snapshot();
    const again = await ok(['install', '--mode', 'addon', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--yes']);
    assert.match(again.stdout, /already installed, active/);
    const reg = await ok(['cluster', 'register']);
    assert.match(reg.stdout, /running, already registered/);
    // flags given for a registration that exists are checked, and a difference is said
    const unknown = await vk(['cluster', 'register', '--vswitch', 'vsw-bp1nosuchvswitch0001']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /unknown vSwitch vsw-bp1nosuchvswitch0001/);
    const other = await vk(['cluster', 'register', '--vswitch', 'vsw-bp1othervpczoneh0001']);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /vsw-bp1othervpczoneh0001 is in vpc-\w+, but registered cluster c\w+ is attached to vpc-/);
    const differs = await ok(['cluster', 'register', '--vswitch', VSW_I]);
    assert.match(differs.stderr, new RegExp(`already exists with vSwitches ${VSW_H},${VSW_I}: a registration keeps its network, so --vswitch ${VSW_I} is checked but not applied`));
    assert.equal(await snapshot(), before);
  });

  it('config set vswitch reaches new pods without a controller restart; --dry-run shows the diff and changes nothing', async () => {
    const before = await snapshot();
    const dry = await ok(['config', 'set', `vswitch=${VSW_I}`, '--dry-run']);
    assert.match(dry.stdout, new RegExp(`\\(dry run\\) vSwitchIds: ${VSW_H},${VSW_I} -> ${VSW_I}`));
    assert.equal(await snapshot(), before);
    const controllerPods = async () => (await admin.list<KubeObject>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app=ack-virtual-node-controller' })).map((p) => p.metadata.uid);
    const uids = await controllerPods();
    const r = await ok(['config', 'set', `vswitch=${VSW_I}`]);
    assert.match(r.stdout, /applies|from now on/);
    // the zone-h node has no vSwitch any more: new pods go to zone i, with the new vSwitch
    await admin.patch({ apiVersion: 'v1', kind: 'Node', name: NODE_H }, { spec: { unschedulable: true } }, 'merge');
    const earlier = new Set((await webPods()).map((p) => p.metadata.uid));
    await scaleWeb(5);
    const pods = await until('5 web pods Running', allRunning(5));
    for (const p of pods.filter((x) => !earlier.has(x.metadata.uid))) {
      const cg = emu.state.data.containerGroups.find((g) => g.id === p.metadata.annotations!['k8s.aliyun.com/eci-instance-id'])!;
      assert.equal(cg.vSwitchId, VSW_I, 'a new pod gets the new vSwitch');
    }
    assert.deepEqual(await controllerPods(), uids, 'no restart');
    await admin.patch({ apiVersion: 'v1', kind: 'Node', name: NODE_H }, { spec: { unschedulable: false } }, 'merge');
    await ok(['config', 'set', `vswitch=${VSW_H},${VSW_I}`]);
    const get = JSON.parse((await ok(['config', 'get', '-o', 'json'])).stdout) as { vswitch: string; nodes: string[] };
    assert.equal(get.vswitch, `${VSW_H},${VSW_I}`);
    assert.deepEqual(get.nodes, [NODE_H, NODE_I]);
  });

  it('status, cluster status and doctor cover the add-on', async () => {
    const s = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as { virtualNodes: { name: string; mode: string; nodeReady: string; pods: number }[] };
    const rows = s.virtualNodes.filter((v) => v.mode === 'addon');
    assert.deepEqual(rows.map((v) => [v.name, v.nodeReady]), [[NODE_H, 'Ready'], [NODE_I, 'Ready']]);
    assert.equal(rows.reduce((n, v) => n + v.pods, 0), 5);
    assert.deepEqual((await ok(['__nodes'])).stdout.trim().split('\n'), ['ack-virtual-node', NODE_H, NODE_I], 'what shell completion offers');
    const cs = JSON.parse((await ok(['cluster', 'status', '-o', 'json'])).stdout) as { state: string; agent: { present: boolean } };
    assert.equal(cs.state, 'running');
    assert.equal(cs.agent.present, true);
    const d = await vk(['doctor', '-o', 'json']);
    const checks = (JSON.parse(d.stdout) as { checks: { check: string; status: string; message: string }[] }).checks;
    for (const name of ['registration', 'addon', 'addon-key', 'eci-profile']) {
      const c = checks.find((x) => x.check === name);
      assert.equal(c?.status, 'PASS', `${name}: ${JSON.stringify(c)}`);
    }
  });

  it('selectors go into eci-profile in the add-on\'s format; the add-on\'s webhook sends matched pods to its nodes with the effect; bad ones exit 2', async () => {
    const status = await ok(['scheduling', 'status']);
    assert.match(status.stdout, /Engine: +the ack-virtual-node add-on's vk-webhook \(eci-profile, 0 selector\(s\)/);
    const before = await snapshot();
    for (const [args, re] of [
      [['scheduling', 'add', 'x'], /selector x selects nothing/],
      [['scheduling', 'add', 'Bad_Name', '--pod-selector', 'a=b'], /invalid selector name "Bad_Name"/],
      [['scheduling', 'add', 'x', '--pod-selector', 'novalue'], /invalid --pod-selector "novalue": expected key=value/],
      [['scheduling', 'add', 'x', '--namespace-selector', 'team=a b'], /invalid --namespace-selector value "a b"/],
    ] as [string[], RegExp][]) {
      const r = await vk(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const dry = await ok(['scheduling', 'add', 'batch', '--namespace-selector', 'team=batch', '--dry-run']);
    assert.match(dry.stdout, /\(dry run\) Selector batch added/);
    assert.equal(await snapshot(), before, 'neither bad input nor a dry run changes anything');

    const add = ['scheduling', 'add', 'batch', '--namespace-selector', 'team=batch', '--label', 'tier=burst', '--annotation', 'k8s.aliyun.com/eci-use-specs=2-4Gi'];
    assert.match((await ok(add)).stdout, /Selector batch added/);
    assert.match((await ok(add)).stdout, /Selector batch unchanged/);
    const profile = (await admin.get<KubeObject & { data: Record<string, string> }>(PROFILE))!.data;
    assert.deepEqual(JSON.parse(profile.selectors!), [{ name: 'batch', namespaceSelector: { matchLabels: { team: 'batch' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi' }, labels: { tier: 'burst' } } }]);
    const listed = JSON.parse((await ok(['scheduling', 'list', '-o', 'json'])).stdout) as { selectors: { name: string }[] };
    assert.deepEqual(listed.selectors.map((x) => x.name), ['batch']);

    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch-jobs', labels: { team: 'batch' } } });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'job', namespace: 'batch-jobs' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'job' } }, template: { metadata: { labels: { app: 'job' } }, spec: { containers: [{ name: 'j', image: 'busybox:1.36' }] } } },
    });
    const [pod] = await until('the batch pod Running', async () => {
      const pods = await admin.list<Pod>('v1', 'Pod', { namespace: 'batch-jobs' });
      return pods.length === 1 && pods[0]!.status.phase === 'Running' && pods;
    });
    assert.match(pod!.spec.nodeName!, /^virtual-kubelet-cn-hangzhou-[hi]$/);
    assert.equal(pod!.metadata.labels!.tier, 'burst');
    assert.equal(pod!.metadata.annotations!['k8s.aliyun.com/eci-use-specs'], '2-4Gi');

    assert.match((await ok(['scheduling', 'remove', 'batch'])).stdout, /Selector batch removed/);
    assert.match((await ok(['scheduling', 'remove', 'batch'])).stdout, /not found — nothing to remove/);
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'batch-jobs' });
    await until('the batch pod gone', async () => (await admin.list('v1', 'Pod', { namespace: 'batch-jobs' })).length === 0);
  });

  it('uninstall --drain --deregister, interrupted, is finished by a re-run: no registration, add-on, Node, container group or agent object left', async () => {
    const plan = await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--dry-run']);
    assert.match(plan.stdout, /would UnInstallClusterAddons ack-virtual-node/);
    assert.match(plan.stdout, /would DeleteCluster c[0-9a-f]{32}/);
    const busy = await vk(['uninstall', 'ack-virtual-node']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /5 pod\(s\) still run on the add-on's virtual node\(s\)/);

    const ctl = new AbortController();
    onRequest = (action) => { if (action === 'UnInstallClusterAddons') ctl.abort(); };
    let r: RunResult;
    try { r = await vk(['uninstall', 'ack-virtual-node', '--drain', '--deregister'], ctl.signal); } finally { onRequest = () => {}; }
    assert.equal(r.code, 130, r.stderr);

    const again = await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister']);
    assert.match(again.stdout, /Add-on ack-virtual-node uninstalled/);
    assert.match(again.stdout, /Registered cluster c[0-9a-f]{32} (deleted|was already gone)/);
    await until('the registration gone from ACK One', async () => (await vk(['cluster', 'status'])).code === 0 && (emu.state.data.clusters ?? []).length === 0);
    assert.deepEqual(emu.state.data.addons ?? [], []);
    assert.deepEqual((await admin.list<KubeObject>('v1', 'Node')).map((n) => n.metadata.name), [WORKER_NODE], 'only the cluster\'s own worker');
    await until('no container group of the add-on', async () => emu.state.data.containerGroups.filter((g) => g.createdBy).length === 0);
    assert.equal(await admin.get(CONTROLLER), undefined);
    assert.equal(await admin.get(RECORD), undefined);
    assert.deepEqual((await admin.list('apps/v1', 'Deployment', { namespace: 'kube-system' })).map((o) => o.metadata.name), []);
    for (const kind of ['Secret', 'ConfigMap', 'ServiceAccount']) {
      assert.deepEqual((await admin.list(kind === 'ServiceAccount' ? 'v1' : 'v1', kind, { namespace: 'kube-system', labelSelector: 'vnode.dev/part-of=ack-cluster-agent' })).length, 0, kind);
    }
    assert.ok(await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' }), 'the Secret belongs to ram revoke');
    const pods = await until('web pods back to Pending elsewhere', async () => (await webPods()).length === 5 && (await webPods()));
    assert.equal(pods.length, 5, 'no pod lost');
    const third = await ok(['uninstall', 'ack-virtual-node', '--deregister']);
    assert.match(third.stdout, /ack-virtual-node: not found — already uninstalled|nothing/i);
  });

  it('with 20% cloud faults and every add-on install/uninstall answer lost, install then uninstall end with exactly one registration and one add-on, then none', async () => {
    const faults = '*:throttle=0.08,500=0.04,503=0.04,lost=0.04;InstallClusterAddons:lost=1;UnInstallClusterAddons:lost=1';
    for (const [k, v] of parseFaults(faults)) emu.faults.set(k, v);
    let done = false;
    try {
      const r = await ok(['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--timeout', '3m', '--yes']);
      assert.match(r.stdout, /installed, active/);
      assert.equal(liveClusters().length, 1, JSON.stringify(emu.state.data.clusters));
      assert.equal((emu.state.data.addons ?? []).length, 1);
      await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister']);
      done = true;
    } finally {
      emu.faults.clear();
      // the next tests start from no registration, whatever happened here
      if (!done) await vk(['uninstall', 'ack-virtual-node', '--drain', '--deregister']);
    }
    await until('no registration left', async () => (await vk(['cluster', 'status'])).code === 0 && (emu.state.data.clusters ?? []).length === 0);
    assert.deepEqual(emu.state.data.addons ?? [], []);
  });

  it('install interrupted right after CreateCluster, then right after InstallClusterAddons: each re-run converges on one registration and one add-on', async () => {
    for (const point of ['CreateCluster', 'InstallClusterAddons']) {
      const ctl = new AbortController();
      onRequest = (action, code) => { if (action === point && code === 'OK') ctl.abort(); };
      let r: RunResult;
      try { r = await vk(['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--yes'], ctl.signal); } finally { onRequest = () => {}; }
      assert.equal(r.code, 130, `${point}: ${r.stderr}`);
      // the step it stopped in, what was done, what a re-run does
      assert.match(r.stderr, point === 'CreateCluster' ? /interrupted (during|before) "[^"]+"; done: .*Registering this cluster with ACK One as / : /interrupted (during|before) "[^"]+"; done: .*Installing ack-virtual-node/, point);
      assert.match(r.stderr, /run the same command again: it finds what this install already created/, point);
      assert.ok(await admin.get(RECORD), `${point}: the registration is recorded at once`);
    }
    const again = await ok(['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--yes']);
    assert.match(again.stdout, /Add-on ack-virtual-node v[\d.]+: (already )?installed, active/);
    assert.equal(liveClusters().length, 1);
    assert.equal((emu.state.data.addons ?? []).length, 1);
    await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister']);
    await until('no registration left', async () => (emu.state.data.clusters ?? []).length === 0);
  });

  it('the registration fits its agent: public by default (billed SLB and EIP said), VPC-only refused for a public agent, --agent-manifest when DescribeExternalAgent is retired, terminal states never reused', async () => {
    const net = ['--vswitch', VSW_H, '--security-group', SG];
    const ask = await vk(['install', '--mode', 'addon', ...net]);
    assert.equal(ask.code, 2, ask.stderr);
    assert.match(ask.stderr, /over the internet, to the API server SLB with an EIP \(endpoint_public_access\): the SLB and the EIP are billed \(ACK One waives only its management fee\)/);
    assert.doesNotMatch(ask.stderr, /free of charge/);
    const dry = await ok(['cluster', 'register', ...net, '--dry-run']);
    assert.match(dry.stdout, /would call CreateCluster \{"name":"vnode-\w+","region_id":"cn-hangzhou","cluster_type":"ExternalKubernetes","vpcid":"vpc-\w+","vswitch_ids":\[".*"\],"security_group_id":"sg-\w+","endpoint_public_access":true,/);
    assert.match((await ok(['cluster', 'register', ...net, '--private-address', '--dry-run'])).stdout, /"endpoint_public_access":false/);

    // VPC only: the agent connects over the VPC; a public agent is refused before anything changes
    const priv = await ok(['cluster', 'register', ...net, '--private-address', '--timeout', '1m']);
    assert.match(priv.stdout, /: running \(created\)/);
    assert.match((await ok(['cluster', 'status'])).stdout, /Access: +VPC only/);
    const pub = await vk(['cluster', 'register']);
    assert.equal(pub.code, 2, pub.stderr);
    assert.match(pub.stderr, /has no public API server endpoint \(created without endpoint_public_access\): its agent can only connect over the VPC\n.*--private-address/);
    await ok(['cluster', 'deregister']);

    // DescribeExternalAgent retired: exit 1 naming --agent-manifest; the console's manifest then registers it
    emu.retired.add('DescribeExternalAgent');
    try {
      const gone = await vk(['cluster', 'register', ...net, '--timeout', '1m']);
      assert.equal(gone.code, 1, gone.stderr);
      assert.match(gone.stderr, /DescribeExternalAgent is no longer offered by the Container Service \(InvalidAction\.NotFound\).*\n.*ACK One console.*--agent-manifest FILE/);
      const rec = liveClusters()[0]!;
      assert.match((await ok(['cluster', 'status'])).stdout, /Access: +internet and VPC/);
      const dir = cp.workDir;
      const file = path.join(dir, 'agent.yaml');
      const bad: [string, string, RegExp][] = [
        [path.join(dir, 'missing.yaml'), '', /--agent-manifest .*missing\.yaml: no such file/],
        [path.join(dir, 'bad.yaml'), 'a: [b\n', /not YAML/],
        [path.join(dir, 'nodep.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n', /no Deployment ack-cluster-agent in it/],
        [path.join(dir, 'other.yaml'), agentManifest({ ...rec, id: 'c0000000000000000000000000000abcd' }, { privateAddress: false, mode: 'admin' }), /is the agent of c0000000000000000000000000000abcd, not of c\w+/],
      ];
      for (const [f, text, re] of bad) {
        if (text) writeFileSync(f, text);
        const r = await vk(['cluster', 'register', '--agent-manifest', f]);
        assert.equal(r.code, 2, `${f}: ${r.stderr}`);
        assert.match(r.stderr, re);
      }
      assert.equal(await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-cluster-agent' }), undefined, 'nothing applied');
      writeFileSync(file, agentManifest(rec, { privateAddress: false, mode: 'admin' }));
      const fromStdin = await runVnode(['--kubeconfig', cp.kubeconfig, 'cluster', 'register', '--agent-manifest', '-', '--timeout', '1m'], { cwd: cp.workDir, env: emu.env(), stdin: agentManifest(rec, { privateAddress: false, mode: 'admin' }) });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      assert.match(fromStdin.stdout, /: running/);
      const agent = await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-cluster-agent' });
      assert.equal(agent?.metadata.labels?.['vnode.dev/part-of'], 'ack-cluster-agent', 'labelled as vnode\'s own agent objects');
      assert.match((await ok(['cluster', 'register', '--agent-manifest', file])).stdout, /running, already registered/);
    } finally {
      emu.retired.clear();
    }

    // a failed registration is never reused: a new one is made; delete_failed stops with the console step; deleted ends a deregister
    const first = liveClusters()[0]!;
    first.state = 'failed';
    const again = await ok(['cluster', 'register', ...net, '--timeout', '1m']);
    assert.match(again.stdout, /: running \(created\)/);
    assert.notEqual(liveClusters().find((c) => c.state === 'running')?.id, first.id);
    const second = liveClusters().find((c) => c.state === 'running')!;
    second.state = 'delete_failed';
    const stuck = await vk(['cluster', 'register']);
    assert.equal(stuck.code, 1, stuck.stderr);
    assert.match(stuck.stderr, /is delete_failed: ACK One could not delete it.*\n.*delete it in the ACK One console/);
    second.state = 'deleted';
    await ok(['cluster', 'deregister']);
    assert.equal(await admin.get(RECORD), undefined);
    emu.state.data.clusters = [];
  });

  it('an older Container Service (no task_id, a bare 404 for a missing add-on): install and uninstall follow the add-on instance instead', async () => {
    emu.state.data.csLegacy = true;
    try {
      const r = await ok(['install', '--mode', 'addon', '--vswitch', VSW_H, '--security-group', SG, '--timeout', '3m', '--yes']);
      assert.match(r.stdout, /Add-on ack-virtual-node v[\d.]+: installed, active/);
      await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister']);
      assert.deepEqual(emu.state.data.addons ?? [], []);
    } finally {
      emu.state.data.csLegacy = false;
    }
    await until('no registration left', async () => (emu.state.data.clusters ?? []).length === 0);
  });
});
