import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { specVersion, startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW_H = 'vsw-bp1sandboxzoneh00001';
const VSW_I = 'vsw-bp1sandboxzonei00001';
const SG = 'sg-bp1sandboxkubelet0001';
const never = new AbortController().signal;

describe('vnode install against the real control plane and the sandbox cloud', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;

  const vk = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });

  async function snapshot(): Promise<string> {
    const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
    const k8s = await Promise.all([
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', sel), admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }), admin.list('apps/v1', 'DaemonSet'), admin.list('v1', 'Node'),
    ]);
    const d = emu.state.data;
    return JSON.stringify({ k8s: k8s.flat().map((o) => `${o.kind}/${o.metadata.name}/${specVersion(o)}`).sort(), vn: d.virtualNodes, cg: d.containerGroups, users: d.users });
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 300, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    // kubeadm's kube-proxy tolerates everything; a user DaemonSet with two ORed terms
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { k8s: 'kube-proxy' } }, template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'p', image: 'kube-proxy:v1.20.2' }] } } },
    });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            tolerations: [{ operator: 'Exists' }], containers: [{ name: 'a', image: 'agent:1' }],
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
              { matchExpressions: [{ key: 'disk', operator: 'Exists' }] },
            ] } } },
          },
        },
      },
    });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input changes nothing and exits 2', async () => {
    const before = await snapshot();
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['install', '--vswitch', 'vsw-bp1nosuchvswitch0001', '--security-group', SG], {}, /unknown vSwitch vsw-bp1nosuchvswitch0001/],
      [['install', '--vswitch', `${VSW_H},vsw-bp1othervpczoneh0001`, '--security-group', SG], {}, /belong to different VPCs/],
      [['install', '--vswitch', Array.from({ length: 11 }, (_, i) => `vsw-a${i}`).join(','), '--security-group', SG], {}, /11 vSwitches given: a virtual node takes 1 to 10/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--taint', 'dedicated=gpu:Sometimes'], {}, /invalid --taint "dedicated=gpu:Sometimes"/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--region', 'xx-nowhere-1'], {}, /unknown region/],
      [['install', '--vswitch', VSW_H, '--security-group', SG], { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' }, /no Alibaba Cloud credentials/],
      [['install', '--security-group', SG], {}, /--vswitch is required/],
      // patching DaemonSets rolls their pods: said first, and without a terminal only with --yes
      [['install', '--vswitch', VSW_H, '--security-group', SG], {}, /patches default\/agent, kube-system\/kube-proxy: every pod of each is restarted \(rolling update\).*\n.*pass --yes/],
      [['install', '--vswitch', VSW_H, '--security-group', 'sg-bp1othervpc0000000001'], {}, /security group sg-bp1othervpc0000000001 is in vpc-bp1sandbox0000000002/],
      // the name becomes a Node label value (at most 63 characters)
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'a'.repeat(64)], {}, /invalid --name "a{64}" \(64 characters\): 2-63 lowercase/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'a'.repeat(118)], {}, /invalid --name .*\(118 characters\): 2-63/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'a'.repeat(62), '--count', '3'], {}, /2-61 lowercase .*with --count 3, "-3" is appended/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--custom-resources', 'nogood'], {}, /invalid --custom-resources "nogood": "nogood" is not name=count; expected name=count pairs/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--custom-resources', 'x.com/a=abc'], {}, /invalid --custom-resources "x\.com\/a=abc": "x\.com\/a=abc" is not name=count/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--cluster-dns', '999.1.1.1'], {}, /invalid --cluster-dns "999\.1\.1\.1": "999\.1\.1\.1" is not an IP address/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--cluster-domain', 'bad..domain'], {}, /invalid --cluster-domain "bad\.\.domain": expected a DNS domain/],
      [['install', '--vswitch', `${VSW_H},,`, '--security-group', SG], {}, /invalid --vswitch "vsw-bp1sandboxzoneh00001,,": an empty entry/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--tag', 'k=1', '--tag', 'k=2'], {}, /--tag k is given twice \("k=1" and "k=2"\)/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--tag', 'vnode-cluster=x'], {}, /invalid --tag "vnode-cluster=x": vnode-cluster is one of vnode's own tags/],
      [['install', '--vswitch', VSW_H, '--security-group', SG, '--tag', 'vnode-identity=x'], {}, /vnode-identity is one of vnode's own tags/],
    ];
    for (const [args, env, re] of cases) {
      const r = await vk(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(await snapshot(), before);
  });

  it('ServiceAccount mode: Ready in ECI and in the cluster; DaemonSets excluded; a tolerating pod runs on it', async () => {
    // kube-proxy and agent are patched (their pods roll): approved with --yes
    const r = await vk(['install', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--name', 'vn-sa', '-o', 'json', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { nodes: { virtualNodeId: string; nodeName: string; status: string; action: string }[]; daemonSets: { name: string; action: string }[] };
    assert.equal(res.nodes.length, 1);
    assert.equal(res.nodes[0]!.status, 'Ready');
    const node = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: res.nodes[0]!.nodeName });
    assert.equal(node?.metadata.labels?.type, 'virtual-kubelet');
    assert.equal(node?.metadata.labels?.['k8s.aliyun.com/vnode'], 'true');
    assert.equal(node?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    assert.deepEqual((node?.spec as { taints: unknown[] }).taints, [{ key: 'k8s.aliyun.com/vnode', value: 'true', effect: 'NoSchedule' }]);
    assert.deepEqual(res.daemonSets.map((d) => `${d.name}:${d.action}`).sort(), ['agent:patched', 'kube-proxy:patched']);

    const proxy = await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' });
    const proxyTerms = (proxy!.spec as { template: { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: unknown[] } } } } } })
      .template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(proxyTerms, [{ matchExpressions: [{ key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] }]);
    const agent = await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'default', name: 'agent' });
    const agentTerms = (agent!.spec as { template: { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: unknown[] } } } } } })
      .template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(agentTerms, [
      { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }, { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] },
      { matchExpressions: [{ key: 'disk', operator: 'Exists' }, { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] },
    ]);
    // the DaemonSet controller now places no kube-proxy pod on the virtual node
    const proxyPods = await admin.list<KubeObject>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'k8s=kube-proxy' });
    assert.equal(proxyPods.filter((p) => (p.spec as { nodeName?: string }).nodeName === res.nodes[0]!.nodeName).length, 0);

    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-eci', namespace: 'default' },
      spec: {
        containers: [{ name: 'c', image: 'nginx' }], nodeSelector: { 'k8s.aliyun.com/vnode': 'true' },
        tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
      },
    });
    const pod = await admin.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'on-eci' },
      (p) => (p?.status as { phase?: string } | undefined)?.phase === 'Running', { timeoutMs: 60_000, signal: never });
    assert.equal((pod!.spec as { nodeName: string }).nodeName, res.nodes[0]!.nodeName, 'placed by the real scheduler');
    const cgId = pod!.metadata.annotations?.['k8s.aliyun.com/eci-instance-id'];
    assert.match(cgId ?? '', /^eci-/);
    assert.match((pod!.status as { podIP: string }).podIP, /^192\.168\.(0|1)\./);
    const cg = emu.state.data.containerGroups.find((c) => c.id === cgId);
    assert.deepEqual(cg?.tags.filter((t) => t.Key !== 'ClusterName').map((t) => `${t.Key}=${t.Value}`), [`NodeName=${res.nodes[0]!.nodeName}`, 'NameSpace=default', 'PodName=on-eci', `UID=${pod!.metadata.uid}`]);

    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'on-eci' });
    await admin.waitFor({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'on-eci' }, (p) => p === undefined, { timeoutMs: 30_000, signal: never });
    // ECI releases the instance some seconds after its pod is gone
    const going = emu.state.data.containerGroups.find((c) => c.id === cgId);
    assert.equal(going?.status, 'Terminating', 'the container group goes with the pod');
    assert.ok(going!.releaseAt! > Date.now() - 60_000);
  });

  it('re-running changes nothing and says it is already installed', async () => {
    const before = emu.state.data.virtualNodes.length;
    const r = await vk(['install', '--vswitch', `${VSW_H},${VSW_I}`, '--security-group', SG, '--name', 'vn-sa']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Virtual node vn-sa \(vnd-\w+\) is already installed: Ready/);
    assert.equal(emu.state.data.virtualNodes.length, before);
  });

  it('bootstrap mode: TLS bootstrap through the approver, then Ready', async () => {
    const r = await vk(['install', '--bootstrap', '--vswitch', VSW_I, '--security-group', SG, '--name', 'vn-boot', '--taint', 'team=batch:NoExecute']);
    assert.equal(r.code, 0, r.stderr);
    const vn = emu.state.data.virtualNodes.find((v) => v.name === 'vn-boot')!;
    assert.equal(vn.status, 'Ready');
    assert.equal(vn.tlsBootstrapEnabled, true);
    const node = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: `cn-hangzhou.${vn.id}` });
    assert.deepEqual((node!.spec as { taints: { key: string }[] }).taints.map((t) => t.key), ['k8s.aliyun.com/vnode', 'team']);
    const csrs = await admin.list<KubeObject>('certificates.k8s.io/v1', 'CertificateSigningRequest');
    assert.ok(csrs.some((c) => (c.spec as { username: string }).username.startsWith('system:bootstrap:') && (c.status as { certificate?: string }).certificate));
  });

  it('a kubeconfig whose server is unreachable ends Failed with the events shown, exit 1', async () => {
    const file = path.join(cp.workDir, 'unreachable-config');
    const cfg = parse(readFileSync(cp.kubeconfig, 'utf8'));
    const ok = await vk(['kubeconfig', '--file', file, '--name', 'unreach']);
    assert.equal(ok.code, 0, ok.stderr);
    const vcfg = parse(readFileSync(file, 'utf8'));
    vcfg.clusters[0].cluster.server = 'https://127.0.0.1:1';
    writeFileSync(file, stringify(vcfg));
    void cfg;
    const r = await vk(['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'vn-bad', '--kubeconfig-file', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed to get kubernetes server version, Get "https:\/\/127\.0\.0\.1:1\/version\?timeout=32s": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    assert.match(r.stderr, /--server/);
  });

  it('with 20% injected cloud faults: still exactly one virtual node, Ready', async () => {
    for (const [k, v] of parseFaults('*:throttle=0.08,500=0.04,503=0.04,reset=0.04')) emu.faults.set(k, v);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await vk(['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'vn-faults']);
        assert.equal(r.code, 0, r.stderr);
      }
    } finally { emu.faults.clear(); }
    const mine = emu.state.data.virtualNodes.filter((v) => v.name === 'vn-faults');
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.status, 'Ready');
  });

  it('status joins ECI and the cluster: Ready nodes, the Failed one with its warning, and a node whose ECI side is gone', async () => {
    const r = await vk(['status', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { virtualNodes: { name: string; eciStatus: string; nodeReady: string; pods: number | null; lastWarning: string | null }[] }).virtualNodes;
    const by = new Map(rows.map((x) => [x.name, x]));
    assert.equal(by.get('vn-sa')?.eciStatus, 'Ready');
    assert.equal(by.get('vn-sa')?.nodeReady, 'Ready');
    assert.equal(by.get('vn-sa')?.pods, 0);
    assert.equal(by.get('vn-bad')?.eciStatus, 'Failed');
    assert.equal(by.get('vn-bad')?.nodeReady, 'not registered');
    assert.match(by.get('vn-bad')?.lastWarning ?? '', /connection refused/);
    const one = await vk(['list', 'vn-bad']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /ECI status:\s+Failed[\s\S]*Events:\n\s+Warning\s+VirtualNodeFailed/);
    const text = await vk(['status']);
    assert.match(text.stdout, /^NAME\s+MODE\s+VNODE ID\s+ECI STATUS\s+NODE\s+PODS/);

    // the ECI side vanishes (deleted elsewhere): the Node stays behind, shown as such
    const boot = emu.state.data.virtualNodes.find((v) => v.name === 'vn-boot')!;
    emu.state.data.virtualNodes = emu.state.data.virtualNodes.filter((v) => v !== boot);
    const after = JSON.parse((await vk(['status', '-o', 'json'])).stdout) as { virtualNodes: { nodeName: string; eciStatus: string }[] };
    assert.equal(after.virtualNodes.find((x) => x.nodeName === `cn-hangzhou.${boot.id}`)?.eciStatus, 'gone from ECI');
    const missing = await vk(['status', 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no virtual node "nope" in this cluster/);
  });

  it('cluster DNS for the pods: the kube-dns Service\'s IP and CoreDNS\'s domain by default, flags override', async () => {
    const dry = await vk(['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'vn-dns', '--dry-run']);
    assert.match(dry.stderr, /no kube-dns Service in kube-system: .*pass --cluster-dns/);
    await admin.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: '10.0.0.10', selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } });
    await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' },
      data: { Corefile: '.:53 {\n    errors\n    kubernetes corp.local in-addr.arpa ip6.arpa {\n      pods insecure\n    }\n    forward . /etc/resolv.conf\n}\n' } });
    const r = await vk(['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'vn-dns']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Cluster DNS for the virtual node's pods: 10\.0\.0\.10, domain corp\.local \(Service kube-system\/kube-dns; domain from ConfigMap kube-system\/coredns/);
    const v = emu.state.data.virtualNodes.find((x) => x.name === 'vn-dns')!;
    assert.deepEqual([v.clusterDns, v.clusterDomain], ['10.0.0.10', 'corp.local']);
    const o = await vk(['install', '--vswitch', VSW_H, '--security-group', SG, '--name', 'vn-dns2', '--cluster-dns', '10.0.0.53', '--no-wait']);
    assert.equal(o.code, 0, o.stderr);
    const v2 = emu.state.data.virtualNodes.find((x) => x.name === 'vn-dns2')!;
    assert.deepEqual([v2.clusterDns, v2.clusterDomain], ['10.0.0.53', 'corp.local']);
  });
});
