import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { after, before, describe, it } from 'node:test';
import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const RBAC = 'rbac.authorization.k8s.io/v1';

describe('installing a name again, and uninstall runs that were interrupted (real control plane, sandbox cloud)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  /** Called on every answered cloud request (after the emulator changed its state, before the client has the answer). */
  let onRequest: (action: string, code: string) => void = () => {};
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env(), ...(signal ? { signal } : {}) });
  const install = async (name: string, ...extra: string[]): Promise<{ id: string; node: string }> => {
    const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', name, '-o', 'json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    const n = (JSON.parse(r.stdout) as { nodes: { virtualNodeId: string; nodeName: string; status: string }[] }).nodes[0]!;
    assert.equal(n.status, 'Ready');
    return { id: n.virtualNodeId, node: n.nodeName };
  };
  const createTokens = (): string[] => emu.state.data.idempotency.filter((r) => r.action === 'CreateVirtualNode').map((r) => r.token);
  const credentialsOf = async (name: string): Promise<string[]> => {
    const sel = { labelSelector: `app.kubernetes.io/managed-by=vnode,app.kubernetes.io/instance=${name}` };
    return (await Promise.all([
      admin.list(RBAC, 'ClusterRoleBinding', sel), admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
    ])).flat().map((o) => `${o.kind}/${o.metadata.name}`).sort();
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig, onRequest: (a, c) => onRequest(a, c) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('install on an installed name with other identity flags exits 2 naming the difference; the Node keeps its true identity', async () => {
    const first = await install('ident');
    const annotation = async (): Promise<string | undefined> => (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Node', name: first.node }))?.metadata.annotations?.['vnode.dev/identity'];
    assert.equal(await annotation(), 'sa:ident');
    const empty = path.join(cp.workDir, 'empty-kubeconfig');
    writeFileSync(empty, '');
    for (const [flags, asks] of [[['--bootstrap'], /asks for a TLS-bootstrap identity \(--bootstrap, ident\)/], [['--kubeconfig-file', empty], /asks for a kubeconfig given with --kubeconfig-file/]] as const) {
      const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'ident', ...flags]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /virtual node ident is installed with a ServiceAccount identity \(ident\)/);
      assert.match(r.stderr, asks);
      assert.equal(await annotation(), 'sa:ident', 'the Node still says how it authenticates');
    }
    // other network settings: named, with the command that changes them; contradictory flags exit 2 too
    const moved = await vk(['install', '--vswitch', 'vsw-bp1sandboxzonei00001', '--security-group', 'sg-bp1sandboxbare0000001', '--name', 'ident']);
    assert.equal(moved.code, 2, moved.stderr);
    assert.match(moved.stderr, new RegExp(`virtual node ident is installed with vSwitches ${VSW} \\(this run: vsw-bp1sandboxzonei00001\\) and security group ${SG} \\(this run: sg-bp1sandboxbare0000001\\): install does not change an installed node`));
    assert.match(moved.stderr, /vnode update ident --vswitch vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxbare0000001/);
    for (const args of [['update', 'ident', '--bootstrap', '--no-bootstrap'], ['update', 'ident', '--no-bootstrap', '--bootstrap']]) {
      const both = await vk(args);
      assert.equal(both.code, 2, `vnode ${args.join(' ')}: ${both.stderr}`);
      assert.match(both.stderr, /--bootstrap and --no-bootstrap contradict each other/);
    }
    const v = emu.state.data.virtualNodes.find((x) => x.name === 'ident')!;
    assert.deepEqual([v.vSwitchIds, v.securityGroupId], [[VSW], SG], 'the node stays where it was');
    const again = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'ident']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await vk(['uninstall', 'ident'])).code, 0);
  });

  it('a name can be installed again after it was uninstalled: a new install gets new ClientTokens', async () => {
    const first = await install('again');
    assert.equal((await vk(['uninstall', 'again'])).code, 0);
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-install-again' }), undefined, 'the install record went with it');
    const second = await install('again');
    assert.notEqual(second.id, first.id);
    assert.equal(emu.state.data.virtualNodes.filter((v) => v.name === 'again').length, 1);
    assert.equal(new Set(createTokens()).size, createTokens().length, 'one token per install');
    assert.equal((await vk(['uninstall', 'again'])).code, 0);
  });

  it('with --kubeconfig-file too: the second install does not reuse the deleted VirtualNodeId', async () => {
    const kc = await vk(['kubeconfig', '--name', 'shared-file', '--file', 'shared-config']);
    assert.equal(kc.code, 0, kc.stderr);
    const file = path.join(cp.workDir, 'shared-config');
    const first = await install('from-file', '--kubeconfig-file', file);
    assert.equal((await vk(['uninstall', 'from-file'])).code, 0);
    const second = await install('from-file', '--kubeconfig-file', file);
    assert.notEqual(second.id, first.id);
    assert.equal((await vk(['uninstall', 'from-file'])).code, 0);
  });

  it('one install keeps its ClientToken: a CreateVirtualNode whose answer was lost is retried and gives one node', async () => {
    const before = createTokens().length;
    emu.faults.set('CreateVirtualNode', { throttle: 0, http500: 0, http503: 0, reset: 0, lost: 1, latencyMs: 0 });
    onRequest = (action, code) => { if (action === 'CreateVirtualNode' && code === 'lost') emu.faults.clear(); };
    try {
      const n = await install('lost-answer');
      assert.equal(emu.stats.get('CreateVirtualNode lost'), 1, 'the first answer was lost');
      assert.deepEqual(emu.state.data.virtualNodes.filter((v) => v.name === 'lost-answer').map((v) => v.id), [n.id]);
      assert.equal(createTokens().length, before + 1, 'the retry used the same token');
    } finally { emu.faults.clear(); onRequest = () => {}; }
    const record = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-install-lost-answer' });
    assert.equal(record?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    // a re-run finds the same record: the same install, the same tokens
    const again = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'lost-answer']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-install-lost-answer' }))?.metadata.uid, record!.metadata.uid);
    assert.equal((await vk(['uninstall', 'lost-answer'])).code, 0);
  });

  it('uninstall --all --drain interrupted at the second node exits 130 naming what is left; a re-run removes every install credential, not stand-alone ones', async () => {
    const standalone = await vk(['kubeconfig', '--name', 'keep-me', '--file', 'keep-me-config']);
    assert.equal(standalone.code, 0, standalone.stderr);
    const a = await install('first');
    const b = await install('second');
    assert.ok((await credentialsOf('first')).includes('ServiceAccount/first'));
    const labelled = await admin.list<KubeObject>('v1', 'ServiceAccount', { namespace: 'kube-system', labelSelector: 'vnode.dev/name=first' });
    assert.deepEqual(labelled.map((s) => s.metadata.name), ['first'], 'install marks its credentials with the virtual node\'s name');

    // Ctrl-C as the second node's VNode is deleted (drained, its instances gone first, its VNode deleted, its Node not yet)
    const ctl = new AbortController();
    let deletes = 0;
    onRequest = (action, code) => { if (action === 'DeleteVirtualNode' && code === 'OK' && ++deletes === 2) ctl.abort(); };
    let r: RunResult;
    try { r = await vk(['uninstall', '--all', '--drain'], ctl.signal); } finally { onRequest = () => {}; }
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, new RegExp(`uninstall interrupted; left to do: second: Node ${b.node.replace(/\./g, '\\.')} still in the cluster \\(drained\\); the credentials no remaining virtual node uses`));
    assert.match(r.stderr, /run the same command again to finish/);
    assert.equal(emu.state.data.virtualNodes.some((v) => v.id === a.id), false, 'the first node was removed');
    assert.ok(await admin.get({ apiVersion: 'v1', kind: 'Node', name: b.node }), 'the second node\'s Node was not');
    assert.ok((await credentialsOf('first')).length > 0, 'the first node\'s credentials are still there');

    const again = await vk(['uninstall', '--all', '--drain', '-o', 'json']);
    assert.equal(again.code, 0, again.stderr);
    const res = JSON.parse(again.stdout) as { credentialsDeleted: string[] };
    assert.ok(res.credentialsDeleted.includes('ServiceAccount kube-system/first'), res.credentialsDeleted.join(', '));
    assert.ok(res.credentialsDeleted.includes('ServiceAccount kube-system/second'), res.credentialsDeleted.join(', '));
    assert.deepEqual(await credentialsOf('first'), []);
    assert.deepEqual(await credentialsOf('second'), []);
    assert.deepEqual(emu.state.data.virtualNodes, []);
    const crbs = await admin.list<KubeObject>(RBAC, 'ClusterRoleBinding', { labelSelector: 'app.kubernetes.io/managed-by=vnode' });
    assert.deepEqual(crbs.filter((c) => c.metadata.name!.startsWith('vnode:first:')), [], 'no binding of system:node is left behind');
    assert.ok((await credentialsOf('keep-me')).includes('ServiceAccount/keep-me'), 'a stand-alone vnode kubeconfig stays');
    const records = await admin.list<KubeObject>('v1', 'ConfigMap', { namespace: 'kube-system', labelSelector: 'vnode.dev/install' });
    assert.deepEqual(records.map((c) => c.metadata.name), []);
  });

  it('a deleted virtual node listed as Cleaned (as ECI does for a while) is gone for install, status and uninstall', async () => {
    const a = await install('cleaned');
    assert.equal((await vk(['uninstall', 'cleaned', '--drain'])).code, 0);
    // the emulator answers like ECI: the record is still listed, with its tags, as Cleaned
    const k = emu.state.operatorKey;
    const client = new eciSdk.default(new openapiClient.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    const raw = await client.describeVirtualNodes(new eciSdk.DescribeVirtualNodesRequest({ regionId: 'cn-hangzhou', virtualNodeIds: JSON.stringify([a.id]) }));
    assert.equal(raw.body?.virtualNodes?.[0]?.status, 'Cleaned');
    assert.ok(raw.body?.virtualNodes?.[0]?.tags?.some((t) => t.key === 'vnode-name' && t.value === 'cleaned'));

    const st = JSON.parse((await vk(['status', '-o', 'json'])).stdout) as { virtualNodes: { virtualNodeId: string | null }[] };
    assert.equal(st.virtualNodes.some((v) => v.virtualNodeId === a.id), false, 'status does not list it');
    const b = await install('cleaned');
    assert.notEqual(b.id, a.id, 'install creates a new one instead of "already installed"');
    const gone = await vk(['uninstall', 'cleaned', '--drain', '-o', 'json']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.deepEqual(await credentialsOf('cleaned'), [], 'its credentials are not "still in use" by the Cleaned record');
  });

  it('--kubeconfig-file sends one context (its cluster and user, files inlined) and refuses a cluster admin\'s unless --force', async () => {
    assert.equal((await vk(['kubeconfig', '--name', 'file-ctx', '--file', 'vnode-only'])).code, 0);
    const admin = parse(readFileSync(cp.kubeconfig, 'utf8')) as { clusters: { name: string }[]; users: { name: string }[]; contexts: { name: string }[]; 'current-context': string };
    const vn = parse(readFileSync(path.join(cp.workDir, 'vnode-only'), 'utf8')) as typeof admin;
    const merged = {
      apiVersion: 'v1', kind: 'Config', 'current-context': admin['current-context'],
      clusters: [...admin.clusters, ...vn.clusters.map((c) => ({ ...c, name: 'vn-cluster' }))],
      users: [...admin.users, ...vn.users.map((u) => ({ ...u, name: 'vn-user' }))],
      contexts: [...admin.contexts, { name: 'vn', context: { cluster: 'vn-cluster', user: 'vn-user', namespace: 'kube-system' } }],
    };
    const file = path.join(cp.workDir, 'merged-config');
    writeFileSync(file, stringify(merged));
    const refused = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'from-merged', '--kubeconfig-file', file]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /user "[^"]+" is a cluster admin \(may do anything\).*\n.*vnode kubeconfig.*--force/);
    assert.equal(emu.state.data.virtualNodes.some((v) => v.name === 'from-merged'), false);
    assert.match((await vk(['install', '--vswitch', VSW, '--security-group', SG, '--file-context', 'vn'])).stderr, /--file-context and --force apply only with --kubeconfig-file/);

    const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'from-merged', '--kubeconfig-file', file, '--file-context', 'vn']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Sending context "vn" of .*merged-config to ECI: cluster "vn-cluster" \(https:\/\/127\.0\.0\.1:\d+\), user "vn-user"; 1 other context\(s\) and 1 other user\(s\) stay here/);
    const sent = parse(Buffer.from(emu.state.data.virtualNodes.find((v) => v.name === 'from-merged')!.kubeConfig, 'base64').toString()) as typeof admin;
    assert.deepEqual([sent.contexts.map((c) => c.name), sent.clusters.map((c) => c.name), sent.users.map((u) => u.name)], [['vn'], ['vn-cluster'], ['vn-user']]);
    assert.equal((await vk(['uninstall', 'from-merged', '--drain'])).code, 0);
  });
});
