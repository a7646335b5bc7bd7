import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW_H = 'vsw-bp1sandboxzoneh00001';
const VSW_I = 'vsw-bp1sandboxzonei00001';
const SG = 'sg-bp1sandboxkubelet0001';
const RBAC = 'rbac.authorization.k8s.io/v1';
const STS = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'kube-system', name: 'virtual-node-eci' };

interface Pod extends KubeObject { spec: { nodeName?: string }; status: { phase?: string } }

describe('in-cluster controller mode (real control plane; the sandbox plays the replicas with the addon\'s AccessKey)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let onRequest: (action: string, code: string) => void = () => {};
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env(), ...(signal ? { signal } : {}) });
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
  async function snapshot(): Promise<string> {
    const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
    const k8s = await Promise.all([
      admin.list(RBAC, 'ClusterRoleBinding', sel), admin.list(RBAC, 'ClusterRole', sel), admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'ConfigMap', { ...sel, namespace: 'kube-system' }), admin.list('apps/v1', 'StatefulSet', { namespace: 'kube-system' }),
      admin.list('apps/v1', 'DaemonSet'), admin.list('v1', 'Node'),
    ]);
    return JSON.stringify({ k8s: k8s.flat().map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.resourceVersion}`).sort(), cg: emu.state.data.containerGroups.length, users: emu.state.data.users });
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig, onRequest: (a, c) => onRequest(a, c) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { k8s: 'kube-proxy' } }, template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'p', image: 'kube-proxy:v1.20.2' }] } } },
    });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 and creates nothing: no addon Secret, flags of the other mode, bad replicas, nothing installed', async () => {
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['install', '--mode', 'controller', '--vswitch', VSW_H, '--security-group', SG], /alibaba-addon-secret is missing.*\n.*vnode ram grant/],
      [['install', '--mode', 'controller', '--vswitch', VSW_H, '--security-group', SG, '--bootstrap', '--count', '2'], /--bootstrap, --count do not apply to --mode controller/],
      [['install', '--mode', 'controller', '--vswitch', VSW_H, '--security-group', SG, '--replicas', '0'], /invalid --replicas "0": expected a whole number from 1 to 100/],
      [['install', '--mode', 'controller', '--vswitch', VSW_H, '--security-group', SG, '--replicas', 'two'], /invalid --replicas "two"/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--replicas', '2'], /--replicas does not apply to --mode vnode/],
      [['install', '--mode', 'pod', '--vswitch', VSW_H, '--security-group', SG], /argument 'pod' is invalid.*vnode, controller/],
      [['install', '--mode', 'controller', '--vswitch', `${VSW_H},vsw-bp1othervpczoneh0001`, '--security-group', SG], /belong to different VPCs/],
      [['scale', '--replicas', '2'], /no in-cluster controller is installed/],
      [['scale', '--replicas', '-1'], /invalid --replicas "-1"/],
      [['config', 'get'], /no in-cluster controller is installed/],
      [['config', 'set', 'color=blue'], /unknown setting "color": expected key=value with key one of vswitch, security-group, kube-proxy/],
      [['config', 'set', 'kube-proxy=maybe'], /invalid kube-proxy "maybe": expected true or false/],
      [['config', 'set', 'vswitch=vsw-a,,vsw-b'], /invalid vswitch "vsw-a,,vsw-b"/],
    ];
    for (const [args, re] of cases) {
      const r = await vk(args);
      assert.equal(r.code, 2, `vnode ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, `vnode ${args.join(' ')}`);
    }
    assert.equal(await snapshot(), before);
  });

  let addonUser = '';
  let addonKey = '';

  it('ram grant, then install --mode controller --replicas 2: two Ready nodes, least-privilege RBAC, the key only by reference; a Deployment runs there with container groups the addon\'s RAM user created', async () => {
    await ok(['ram', 'grant', '--yes']);
    const secret = (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' }))!;
    addonUser = secret.metadata.annotations!['vnode.dev/ram-user']!;
    addonKey = Buffer.from((secret.data as Record<string, string>)['access-key-id']!, 'base64').toString();
    const keySecret = emu.state.data.accessKeys.find((k) => k.id === addonKey)!.secret;

    const r = await ok(['install', '--mode', 'controller', '--replicas', '2', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--timeout', '2m', '--yes']);
    assert.match(r.stdout, /2 virtual node\(s\) Ready: virtual-node-eci-0, virtual-node-eci-1/);
    for (const name of ['virtual-node-eci-0', 'virtual-node-eci-1']) {
      const n = (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name }))!;
      assert.equal(n.metadata.labels!.type, 'virtual-kubelet');
      assert.equal(n.metadata.labels!['app.kubernetes.io/managed-by'], 'vnode');
      assert.deepEqual((n.spec as { taints: unknown[] }).taints, [{ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }]);
    }
    const sts = (await admin.get<KubeObject>(STS))!;
    const text = JSON.stringify(sts);
    assert.ok(!text.includes(addonKey) && !text.includes(keySecret), 'the AccessKey is never a literal in the StatefulSet');
    const env = (sts.spec as { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] }[] } } }).template.spec.containers[0]!.env;
    const byName = new Map(env.map((e) => [e.name, e]));
    assert.deepEqual(byName.get('ECI_ACCESS_KEY')!.valueFrom!.secretKeyRef, { name: 'alibaba-addon-secret', key: 'access-key-id' });
    assert.deepEqual(byName.get('ECI_SECRET_KEY')!.valueFrom!.secretKeyRef, { name: 'alibaba-addon-secret', key: 'access-key-secret' });
    assert.equal(byName.get('ECI_VSWITCH')!.value, `${VSW_H},${VSW_I}`);
    assert.equal(byName.get('ECI_SECURITY_GROUP')!.value, SG);
    assert.equal(byName.get('ECI_KUBE_PROXY')!.value, 'true');
    assert.equal(byName.get('ECI_REGION')!.value, 'cn-hangzhou');
    const role = (await admin.get<KubeObject>({ apiVersion: RBAC, kind: 'ClusterRole', name: 'vnode:virtual-node-eci' }))!;
    const rules = role.rules as { resources: string[]; verbs: string[] }[];
    assert.ok(rules.every((x) => !x.verbs.includes('*') && !x.resources.includes('*')), 'no wildcard');
    assert.deepEqual(rules.find((x) => x.resources.includes('secrets'))!.verbs, ['get', 'list', 'watch']);
    const binding = (await admin.get<KubeObject>({ apiVersion: RBAC, kind: 'ClusterRoleBinding', name: 'vnode:virtual-node-eci' }))!;
    assert.equal((binding.roleRef as { name: string }).name, 'vnode:virtual-node-eci', 'never cluster-admin');
    const profile = (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'eci-profile' }))!;
    assert.deepEqual({ ...(profile.data as Record<string, string>) }, {
      vpcId: 'vpc-bp1sandbox0000000001', securityGroupId: SG, vSwitchIds: `${VSW_H},${VSW_I}`, enableClusterIp: 'true', enableHybridMode: 'false',
      enablePrivateZone: 'false', selectors: '[]', kubeProxy: 'true',
    });
    const proxy = (await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' }))!;
    assert.match(JSON.stringify(proxy.spec), /"key":"type","operator":"NotIn","values":\["virtual-kubelet"\]/);

    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 4, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { nodeSelector: { type: 'virtual-kubelet' }, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'w', image: 'nginx:1.25' }] } },
      },
    });
    const pods = await until('4 web pods Running', allRunning(4));
    for (const p of pods) {
      assert.match(p.spec.nodeName!, /^virtual-node-eci-[01]$/);
      const id = p.metadata.annotations!['k8s.aliyun.com/eci-instance-id'];
      const cg = emu.state.data.containerGroups.find((c) => c.id === id);
      assert.ok(cg, `container group of ${p.metadata.name}`);
      assert.deepEqual(cg.createdBy, { accessKeyId: addonKey, user: addonUser }, 'created with the addon\'s AccessKey, as its RAM user');
      assert.equal(cg.tags.find((t) => t.Key === 'NodeName')!.Value, p.spec.nodeName);
    }
  });

  it('re-running install changes nothing and says so', async () => {
    const before = await snapshot();
    const r = await ok(['install', '--mode', 'controller', '--replicas', '2', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG]);
    assert.match(r.stdout, /already installed as given; nothing changed/);
    assert.equal(await snapshot(), before);
    const other = await vk(['install', '--mode', 'controller', '--vswitch', VSW_H, '--security-group', SG]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /already installed with other settings: --vswitch .* \(given: vsw-bp1sandboxzoneh00001\)\n.*vnode config set/);
  });

  it('ram revoke refuses while the controller uses the key; with --keep-key new pods fail naming the missing permission, and run after ram grant again', async () => {
    const refused = await vk(['ram', 'revoke']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /the in-cluster controller kube-system\/virtual-node-eci uses the AccessKey/);
    assert.ok(emu.state.data.attachments.some((a) => a.user === addonUser), 'nothing was detached');

    await ok(['ram', 'revoke', '--keep-key']);
    await scaleWeb(5);
    const failing = await until('a web pod whose container group was refused', async () => {
      const events = await admin.list<KubeObject>('v1', 'Event', { namespace: 'default', fieldSelector: 'reason=ProviderCreateFailed' });
      return events[0];
    });
    assert.match(String(failing.message), /permission denied for eci:CreateContainerGroup \(Forbidden\.RAM/);
    const stuck = (await webPods()).find((p) => p.metadata.name === (failing.involvedObject as { name: string }).name)!;
    assert.notEqual(stuck.status.phase, 'Running');

    await ok(['ram', 'grant', '--yes']);
    await until('5 web pods Running after the grant', allRunning(5));
    const cg = emu.state.data.containerGroups.find((c) => c.tags.some((t) => t.Key === 'UID' && t.Value === stuck.metadata.uid));
    assert.equal(cg?.createdBy?.user, addonUser);
  });

  it('config set: --dry-run shows the change; kube-proxy=false and a new vSwitch reach the env, eci-profile and new pods; re-running changes nothing', async () => {
    const before = await snapshot();
    const dry = await ok(['config', 'set', 'kube-proxy=false', '--dry-run']);
    assert.match(dry.stdout, /kube-proxy: true -> false/);
    assert.equal(await snapshot(), before, 'a dry run changes nothing');

    const replicasBefore = (await admin.list<KubeObject>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app=virtual-node-eci' })).map((p) => p.metadata.uid);
    const r = await ok(['config', 'set', 'kube-proxy=false', `vswitch=${VSW_I}`]);
    assert.match(r.stdout, /kube-proxy: true -> false/);
    assert.match(r.stdout, new RegExp(`vswitch: ${VSW_H},${VSW_I} -> ${VSW_I}`));
    assert.match(r.stdout, /New ECI pods use the new settings/);
    const get = JSON.parse((await ok(['config', 'get', '-o', 'json'])).stdout) as { 'kube-proxy': boolean; vswitch: string; 'eci-profile': Record<string, string>; drift: string[] };
    assert.equal(get['kube-proxy'], false);
    assert.equal(get.vswitch, VSW_I);
    assert.equal(get['eci-profile'].kubeProxy, 'false');
    assert.equal(get['eci-profile'].vSwitchIds, VSW_I);
    assert.deepEqual(get.drift, []);
    const replicasAfter = await until('both replicas restarted', async () => {
      const pods = await admin.list<KubeObject>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app=virtual-node-eci' });
      return pods.length === 2 && pods.every((p) => !replicasBefore.includes(p.metadata.uid)) && pods;
    });
    assert.equal(replicasAfter.length, 2);

    const earlier = new Set((await webPods()).map((p) => p.metadata.uid));
    await scaleWeb(6);
    const pods = await until('6 web pods Running', allRunning(6));
    const newest = pods.find((p) => !earlier.has(p.metadata.uid))!;
    const cg = emu.state.data.containerGroups.find((c) => c.id === newest.metadata.annotations!['k8s.aliyun.com/eci-instance-id'])!;
    assert.equal(cg.vSwitchId, VSW_I, 'a new pod gets the new vSwitch');

    const same = await snapshot();
    const again = await ok(['config', 'set', 'kube-proxy=false', `vswitch=${VSW_I}`]);
    assert.match(again.stdout, /Nothing to change/);
    assert.equal(await snapshot(), same);
  });

  it('status lists both replicas as controller-mode nodes', async () => {
    const s = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as { virtualNodes: { name: string; mode: string; nodeReady: string; pods: number }[] };
    const rows = s.virtualNodes.filter((v) => v.mode === 'controller');
    assert.deepEqual(rows.map((v) => [v.name, v.nodeReady]), [['virtual-node-eci-0', 'Ready'], ['virtual-node-eci-1', 'Ready']]);
    assert.equal(rows.reduce((n, v) => n + v.pods, 0), 6);
    const names = (await ok(['__nodes'])).stdout.trim().split('\n');
    assert.deepEqual(names, ['virtual-node-eci', 'virtual-node-eci-0', 'virtual-node-eci-1'], 'what shell completion offers');
  });

  it('scale --replicas 1 drains virtual-node-eci-1 first: no pod lost, its Node and container groups gone', async () => {
    const r = await ok(['scale', '--replicas', '1', '-o', 'json']);
    const res = JSON.parse(r.stdout) as { from: number; to: number; removed: string[]; drained: { node: string; evicted: number }[] };
    assert.deepEqual([res.from, res.to, res.removed], [2, 1, ['virtual-node-eci-1']]);
    assert.equal(res.drained[0]!.node, 'virtual-node-eci-1');
    const pods = await until('6 web pods Running on virtual-node-eci-0', async () => {
      const p = await allRunning(6)();
      return p && p.every((x) => x.spec.nodeName === 'virtual-node-eci-0') && p;
    });
    assert.equal(pods.length, 6);
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'Node', name: 'virtual-node-eci-1' }), undefined);
    assert.equal(emu.state.data.containerGroups.filter((c) => c.tags.some((t) => t.Key === 'NodeName' && t.Value === 'virtual-node-eci-1')).length, 0);
    const again = await ok(['scale', '--replicas', '1']);
    assert.match(again.stdout, /already has 1 replica\(s\); nothing changed/);
  });

  it('uninstall --drain interrupted is finished by a re-run: no StatefulSet, Node, container group, RBAC or eci-profile left; the Secret stays', async () => {
    const before = await snapshot();
    const plan = await ok(['uninstall', 'virtual-node-eci', '--drain', '--dry-run']);
    assert.match(plan.stdout, /\(dry run\) would evict pod default\/web-/);
    assert.match(plan.stdout, /\(dry run\) would delete StatefulSet kube-system\/virtual-node-eci\n.*would delete Node virtual-node-eci-0/);
    assert.match(plan.stdout, /would delete ConfigMap kube-system\/eci-profile/);
    assert.equal(await snapshot(), before, 'a dry run changes nothing');
    const busy = await vk(['uninstall', 'virtual-node-eci']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /6 pod\(s\) still run on the controller's virtual node\(s\)/);

    const ctl = new AbortController();
    onRequest = (action) => { if (action === 'DescribeContainerGroups') ctl.abort(); };
    let r: RunResult;
    try { r = await vk(['uninstall', 'virtual-node-eci', '--drain'], ctl.signal); } finally { onRequest = () => {}; }
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /uninstall of the controller interrupted; left to do: delete the StatefulSet/);
    assert.ok(await admin.get(STS), 'the StatefulSet is still there');

    const again = await ok(['uninstall', 'virtual-node-eci', '--drain']);
    assert.match(again.stdout, /In-cluster controller virtual-node-eci uninstalled/);
    assert.equal(await admin.get(STS), undefined);
    const left = await Promise.all([
      admin.list('v1', 'Node'), admin.list(RBAC, 'ClusterRole', { labelSelector: 'vnode.dev/mode=controller' }),
      admin.list(RBAC, 'ClusterRoleBinding', { labelSelector: 'vnode.dev/mode=controller' }), admin.list('v1', 'ServiceAccount', { namespace: 'kube-system', labelSelector: 'vnode.dev/mode=controller' }),
      admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'eci-profile' }),
    ]);
    assert.deepEqual(left.slice(0, 4).map((l) => (l as KubeObject[]).map((o) => o.metadata.name)), [[], [], [], []]);
    assert.equal(left[4], undefined);
    assert.deepEqual(emu.state.data.containerGroups.filter((c) => c.createdBy), [], 'no container group of the controller is left');
    assert.ok(await admin.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' }), 'the Secret belongs to ram revoke');
    const third = await ok(['uninstall', 'virtual-node-eci']);
    assert.match(third.stdout, /virtual-node-eci: not found — already uninstalled/);
  });
});
