import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import { documentedByAlibaba } from '../../src/cluster/versions.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import type { CheckResult } from '../../src/steps/doctor/doctor.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const KUBE_PROXY = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' };

describe('vnode doctor (each check made to fail against the real control plane and the emulator)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const doctor = async (args: string[] = []): Promise<{ code: number; checks: CheckResult[]; stderr: string }> => {
    const r = await vk(['doctor', ...args, '-o', 'json']);
    return { code: r.code, checks: r.stdout ? (JSON.parse(r.stdout) as { checks: CheckResult[] }).checks : [], stderr: r.stderr };
  };
  const status = (checks: CheckResult[], check: string): CheckResult => {
    const c = checks.find((x) => x.check === check);
    assert.ok(c, `no ${check} check in ${JSON.stringify(checks.map((x) => x.check))}`);
    return c;
  };
  const failing = (checks: CheckResult[]): string[] => checks.filter((c) => c.status === 'FAIL').map((c) => c.check);

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { k8s: 'kube-proxy' } }, template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'p', image: 'kube-proxy:v1.20.2' }] } } },
    });
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--yes']);
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('a healthy install passes (the sandbox\'s loopback server is a warning, as its nodes are Ready); exit 0', async () => {
    const r = await doctor();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(failing(r.checks), []);
    // above 1.30 (beyond what Alibaba documents for VNodes) api-version warns: the same suite runs on modern control planes
    const documented = documentedByAlibaba(await admin.version());
    for (const c of ['node-ready', 'identity', 'orphans', 'capacity', 'daemonset-exclusion', 'security-group', 'account']) assert.equal(status(r.checks, c).status, 'PASS', c);
    assert.equal(status(r.checks, 'api-version').status, documented ? 'PASS' : 'WARN');
    assert.equal(status(r.checks, 'server-address').status, 'WARN');
    const text = await vk(['doctor']);
    assert.match(text.stdout, /STATUS\s+CHECK\s+TARGET\s+DETAIL/);
    assert.match(text.stdout, new RegExp(`passed, ${documented ? 1 : 2} warning\\(s\\), 0 failed`));
    assert.equal((await vk(['doctor', 'nope'])).code, 2);
  });

  it('server-address checks the server in the kubeconfig sent to ECI (the install record), not the operator\'s', async () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-install-vnode' };
    const rec = await admin.get<KubeObject>(ref);
    const was = (rec!.data as Record<string, string>).server;
    assert.match(was ?? '', /^https:\/\/127\.0\.0\.1:/, 'install recorded the address it sent');
    await admin.patch(ref, { data: { server: 'https://10.0.0.10:6443' } }, 'merge');
    try {
      const c = status((await doctor()).checks, 'server-address');
      assert.equal(c.status, 'PASS');
      assert.equal(c.target, 'https://10.0.0.10:6443');
    } finally {
      await admin.patch(ref, { data: { server: was } }, 'merge');
    }
  });

  it('daemonset-exclusion fails when kube-proxy lost it (kubeadm upgrade); --fix re-applies it', async () => {
    await admin.patch(KUBE_PROXY, { spec: { template: { spec: { affinity: null } } } }, 'merge');
    const r = await doctor();
    assert.equal(r.code, 1);
    const c = status(r.checks, 'daemonset-exclusion');
    assert.equal(c.status, 'FAIL');
    assert.match(c.message, /kube-system\/kube-proxy would place pods on virtual nodes/);
    assert.match(c.hint ?? '', /vnode doctor --fix/);
    // patching rolls every pod of the DaemonSet: without a terminal it needs --yes, and nothing is patched
    const asked = await doctor(['--fix']);
    assert.equal(asked.code, 2);
    // -o json: the error is one object on stderr
    const err = (JSON.parse(asked.stderr) as { error: { code: string; message: string; hint: string } }).error;
    assert.equal(err.code, 'ConfirmationRequired');
    assert.match(err.message, /patches kube-system\/kube-proxy: every pod of it is restarted \(rolling update\)/);
    assert.match(err.hint, /pass --yes/);
    assert.equal(status((await doctor()).checks, 'daemonset-exclusion').status, 'FAIL');
    const fixed = await doctor(['--fix', '--yes']);
    assert.equal(fixed.code, 0);
    const ds = await admin.get<KubeObject & { spec: { template: { spec: { affinity?: unknown } } } }>(KUBE_PROXY);
    assert.match(JSON.stringify(ds?.spec.template.spec.affinity), /"NotIn","values":\["virtual-kubelet"\]/);
  });

  it('node-ready fails when ECI reports the VNode Failed, with its last warning', async () => {
    const v = emu.state.data.virtualNodes[0]!;
    v.status = 'Failed';
    v.events.push({ Count: 1, FirstTimestamp: '2026-11-23T00:00:00Z', LastTimestamp: '2026-11-23T00:00:00Z', Message: 'failed to get kubernetes server version', Name: v.id, Reason: 'ConnectFailed', Type: 'Warning' });
    try {
      const r = await doctor();
      assert.equal(r.code, 1);
      const c = status(r.checks, 'node-ready');
      assert.equal(c.status, 'FAIL');
      assert.match(c.message, /ECI Failed, node Ready; last warning: ConnectFailed: failed to get kubernetes server version/);
    } finally {
      v.status = 'Ready';
    }
  });

  it('security-group warns without inbound 10250/10255', async () => {
    const sg = emu.state.data.securityGroups.find((g) => g.id === SG)!;
    const saved = sg.permissions;
    sg.permissions = saved.filter((p) => !/^1025/.test(p.PortRange) && p.PortRange !== '-1/-1');
    try {
      const c = status((await doctor()).checks, 'security-group');
      assert.equal(c.status, 'WARN');
      assert.match(c.hint ?? '', /AuthorizeSecurityGroup --SecurityGroupId sg-bp1sandboxkubelet0001/);
    } finally {
      sg.permissions = saved;
    }
  });

  it('orphans fails on a container group of the node with no pod (billed); pods-without-instance on a pod with none', async () => {
    const nodeName = (await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' }))[0]!.metadata.name!;
    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
      spec: { nodeName, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx' }] },
    });
    const end = Date.now() + 30_000;
    while ((await admin.get<KubeObject & { status?: { phase?: string } }>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' }))?.status?.phase !== 'Running') {
      assert.ok(Date.now() < end, 'pod web did not run');
      await new Promise((r) => setTimeout(r, 200));
    }
    const groups = emu.state.data.containerGroups;
    const mine = groups.find((g) => g.tags.some((t) => t.Key === 'PodName' && t.Value === 'web'))!;
    const orphan = { ...mine, id: 'eci-orphan0000000000001', tags: mine.tags.map((t) => (t.Key === 'UID' ? { ...t, Value: 'gone-uid' } : t.Key === 'PodName' ? { ...t, Value: 'old' } : t)) };
    groups.push(orphan);
    let r = await doctor();
    let c = status(r.checks, 'orphans');
    // found only by the NodeName tag (undocumented): a warning, and no deletion hint
    assert.equal(c.status, 'WARN');
    // with what it bills, priced by ECI
    assert.match(c.message, /1 instance\(s\) tagged NodeName=\S+ that no pod claims \(k8s\.aliyun\.com\/eci-instance-id\), possibly billed \(\d+\.\d{4} CNY per hour at list price\): eci-orphan0000000000001 \(default\/old\)/);
    assert.doesNotMatch(c.hint ?? '', /DeleteContainerGroup|cleanup-orphans/);
    groups.splice(groups.indexOf(orphan), 1);

    groups.splice(groups.indexOf(mine), 1);
    r = await doctor();
    c = status(r.checks, 'pods-without-instance');
    assert.equal(c.status, 'FAIL');
    assert.match(c.message, /default\/web/);
    groups.push(mine);
    assert.deepEqual(failing((await doctor()).checks), []);
  });

  it('scheduling-webhook fails when its certificate Secret is gone', async () => {
    await ok(['scheduling', 'enable']);
    assert.equal(status((await doctor()).checks, 'scheduling-webhook').status, 'PASS');
    await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'vnode-scheduling-tls' });
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(status(r.checks, 'scheduling-webhook').message, /certificate Secret kube-system\/vnode-scheduling-tls is missing/);
    await ok(['scheduling', 'disable']);
  });

  it('add-on mode: registration, add-on and eci-profile pass; addon-key fails for a deleted AccessKey, ram-policy for a detached policy; the key never appears', async () => {
    await ok(['ram', 'grant', '--yes']);
    await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes']);
    let r = await doctor();
    assert.deepEqual(failing(r.checks), []);
    assert.equal(status(r.checks, 'addon-key').status, 'PASS');
    assert.equal(status(r.checks, 'ram-policy').status, 'PASS');
    for (const name of ['registration', 'addon', 'eci-profile']) assert.equal(status(r.checks, name).status, 'PASS', name);

    const att = emu.state.data.attachments.find((a) => a.user.startsWith('vnode'))!;
    emu.state.data.attachments.splice(emu.state.data.attachments.indexOf(att), 1);
    r = await doctor();
    assert.equal(r.code, 1);
    assert.match(status(r.checks, 'ram-policy').message, new RegExp(`no longer attached to RAM user ${att.user}: ${att.policyType}:${att.policyName}`));
    assert.match(status(r.checks, 'addon-key').message, /cannot call ECI/);
    emu.state.data.attachments.push(att);

    const key = emu.state.data.accessKeys.find((k) => k.user === att.user)!;
    emu.state.data.accessKeys.splice(emu.state.data.accessKeys.indexOf(key), 1);
    const text = await vk(['doctor', 'virtual-kubelet-cn-hangzhou-h']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /FAIL\s+addon-key\s+kube-system\/alibaba-addon-secret\s+AccessKey \S+ cannot call ECI/);
    assert.doesNotMatch(text.stdout + text.stderr, new RegExp(key.secret));
    emu.state.data.accessKeys.push(key);
  });

  it('identity fails when the VNode\'s ServiceAccount token is deleted', async () => {
    const secrets = await admin.list<KubeObject>('v1', 'Secret', { namespace: 'kube-system', fieldSelector: 'type=kubernetes.io/service-account-token', labelSelector: 'app.kubernetes.io/managed-by=vnode' });
    const token = secrets.find((s) => s.metadata.name === 'vnode-token')!;
    await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: token.metadata.name! });
    const r = await doctor(['vnode']);
    assert.equal(r.code, 1);
    const c = status(r.checks, 'identity');
    assert.equal(c.status, 'FAIL');
    assert.match(c.message, /ServiceAccount token of identity vnode is gone/);
  });

  it('uninstall --all --drain --deregister with a bare pod on the VNode refuses before anything changes: the add-on, the registration and the VNode stay', async () => {
    const vnodeNode = (await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' }))[0]!.metadata.name!;
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'default' }, spec: { nodeName: vnodeNode, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx' }] } } as KubeObject);
    const before = JSON.stringify([emu.state.data.addons, emu.state.data.clusters, emu.state.data.virtualNodes.map((v) => [v.id, v.status])]);
    const r = await vk(['uninstall', '--all', '--drain', '--deregister', '--yes']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot drain ${vnodeNode.replace(/\./g, '\\.')}: \\d pod\\(s\\) need a flag: .*default/bare \\(has no controller: --force\\).*; nothing was changed`));
    assert.equal(JSON.stringify([emu.state.data.addons, emu.state.data.clusters, emu.state.data.virtualNodes.map((v) => [v.id, v.status])]), before);
    for (const n of await admin.list<KubeObject>('v1', 'Node')) assert.notEqual((n.spec as { unschedulable?: boolean } | undefined)?.unschedulable, true, `${n.metadata.name} cordoned`);
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'bare' });
  });
});
