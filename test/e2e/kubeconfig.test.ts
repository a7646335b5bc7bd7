import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { connectCluster } from '../../src/cluster/kube.js';
import type { AccessCheck, ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { approveVnodeCsr } from '../../src/sandbox/approver.js';
import { serviceAccountToken, startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;

const env = { ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' };

function connect(kubeconfig: string): Promise<ClusterPort> {
  return connectCluster({ kubeconfig, context: undefined }, { env, cwd: process.cwd() });
}

/** What a virtual node must be able to do (the ECI documentation's roles). */
const CAN: AccessCheck[] = [
  { verb: 'get', resource: 'nodes' },
  { verb: 'list', resource: 'nodes' },
  { verb: 'watch', resource: 'nodes' },
  { verb: 'create', resource: 'nodes' },
  { verb: 'update', resource: 'nodes', subresource: 'status' },
  { verb: 'update', resource: 'pods', namespace: 'default' },
  { verb: 'patch', resource: 'pods', namespace: 'default' },
  { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'default' },
  { verb: 'patch', resource: 'persistentvolumeclaims', namespace: 'default' },
  { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: 'kube-node-lease' },
  { verb: 'create', resource: 'certificatesigningrequests', group: 'certificates.k8s.io' },
  { verb: 'get', resource: 'secrets', namespace: 'default' },
];

/** Nothing beyond those roles. */
const CANNOT: AccessCheck[] = [
  { verb: 'create', resource: 'roles', group: 'rbac.authorization.k8s.io', namespace: 'default' },
  { verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io', namespace: 'default' },
  { verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' },
  { verb: 'create', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' },
  { verb: 'delete', resource: 'namespaces' },
  { verb: 'delete', resource: 'nodes' },
  { verb: 'create', resource: 'deployments', group: 'apps', namespace: 'default' },
  { verb: 'patch', resource: 'daemonsets', group: 'apps', namespace: 'kube-system' },
  { verb: 'create', resource: 'endpoints', namespace: 'default' },
  { verb: 'update', resource: 'certificatesigningrequests', subresource: 'approval', group: 'certificates.k8s.io' },
  { verb: '*', resource: '*', group: '*' },
];

async function assertPermissions(cluster: ClusterPort, who: string): Promise<void> {
  for (const c of CAN) assert.equal(await cluster.canI(c), true, `${who} should be able to ${JSON.stringify(c)}`);
  for (const c of CANNOT) assert.equal(await cluster.canI(c), false, `${who} must not be able to ${JSON.stringify(c)}`);
}

function tokenOf(file: string): string {
  const cfg = parse(readFileSync(file, 'utf8')) as { users: { user: { token: string } }[] };
  return cfg.users[0]!.user.token;
}

async function managedObjects(admin: ClusterPort): Promise<string[]> {
  const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
  const lists = await Promise.all([
    admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', sel),
    admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel),
    admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }),
    admin.list('v1', 'Secret', { ...sel, namespace: 'kube-system' }),
    admin.list('v1', 'ConfigMap', { ...sel, namespace: 'kube-system' }),
    admin.list('apps/v1', 'Deployment', { ...sel, namespace: 'kube-system' }),
  ]);
  return lists.flat().map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

describe('vnode kubeconfig against a real kube-apiserver', () => {
  let cp: CP;
  let admin: ClusterPort;
  const vk = (...a: string[]) => runVnode(['--kubeconfig', cp.kubeconfig, ...a], { cwd: cp.workDir, env });

  before(async () => {
    cp = await startTestControlPlane();
    admin = await connect(cp.kubeconfig);
  });
  after(async () => { await cp?.stop(); });

  it('ServiceAccount mode writes a 0600 kubeconfig with the CA inlined, whose identity has exactly the documented permissions', async () => {
    const r = await vk('kubeconfig', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(cp.workDir, 'vnode-config');
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(summary.file, file);
    assert.equal(summary.mode, 'serviceaccount');
    assert.equal(summary.identity, 'system:serviceaccount:kube-system:vnode');
    assert.equal(summary.fileAction, 'written');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const cfg = parse(readFileSync(file, 'utf8'));
    // the admin kubeconfig names its CA by file path: the result must carry the data itself
    assert.equal(cfg.clusters[0].cluster['certificate-authority-data'], readFileSync(cp.caFile).toString('base64'));
    assert.equal(cfg.clusters[0].cluster['certificate-authority'], undefined);
    assert.equal(cfg.clusters[0].cluster.server, cp.server);
    assert.equal(cfg.contexts[0].context.namespace, 'kube-system');
    assert.equal(cfg.users[0].name, 'vnode');
    const token = tokenOf(file);
    assert.ok(token.length > 100, 'a ServiceAccount JWT');
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'the token never appears in output');
    assert.match(r.stderr, /loopback/, 'warns that 127.0.0.1 is unreachable from the cloud');

    const asVnode = await connect(file);
    await assertPermissions(asVnode, 'the ServiceAccount');
  });

  it('running ServiceAccount mode again converges: same token, no new objects, file untouched', async () => {
    const file = path.join(cp.workDir, 'vnode-config');
    const before = await managedObjects(admin);
    const token = tokenOf(file);
    const mtime = statSync(file).mtimeMs;
    const r = await vk('kubeconfig', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { fileAction: string; token: { action: string }; objects: { action: string }[] };
    assert.equal(summary.fileAction, 'unchanged');
    assert.equal(summary.token.action, 'reused');
    assert.deepEqual([...new Set(summary.objects.map((o) => o.action))], ['unchanged']);
    assert.deepEqual(await managedObjects(admin), before);
    assert.equal(tokenOf(file), token);
    assert.equal(statSync(file).mtimeMs, mtime);
  });

  it('a deleted binding is recreated by a re-run', async () => {
    await admin.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'vnode:vnode:node' });
    const r = await vk('kubeconfig');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is up to date/);
    assert.ok(await admin.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'vnode:vnode:node' }));
  });

  it('bootstrap mode: the token can only ask for a certificate; the approved certificate has the node permissions', async () => {
    const file = path.join(cp.workDir, 'boot-config');
    const r = await vk('kubeconfig', '--bootstrap', '--name', 'vk1', '--file', file, '--ttl', '2h', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { token: { id: string; action: string }; expiresAt: string; mode: string };
    assert.equal(summary.mode, 'bootstrap');
    assert.equal(summary.token.action, 'created');
    const token = tokenOf(file);
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(token.split('.')[0], summary.token.id);
    assert.ok(!r.stdout.includes(token.split('.')[1]!) && !r.stderr.includes(token.split('.')[1]!));
    const expires = Date.parse(summary.expiresAt) - Date.now();
    assert.ok(expires > 110 * 60_000 && expires <= 120 * 60_000, `expiry ~2h away, got ${expires}ms`);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const secret = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: `bootstrap-token-${summary.token.id}` });
    assert.equal(secret?.type, 'bootstrap.kubernetes.io/token');
    assert.equal(Buffer.from((secret!.data as Record<string, string>)['auth-extra-groups']!, 'base64').toString(), 'system:bootstrappers:vnode');
    const deploy = await admin.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'vnode-approver-deployment' });
    assert.equal((deploy?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image,
      'registry.cn-hangzhou.aliyuncs.com/eci-release/vnode-approver:0.0.1');

    const asToken = await connect(file);
    assert.equal(await asToken.canI({ verb: 'create', resource: 'certificatesigningrequests', group: 'certificates.k8s.io' }), true);
    assert.equal(await asToken.canI({ verb: 'create', resource: 'certificatesigningrequests', subresource: 'nodeclient', group: 'certificates.k8s.io' }), true);
    assert.equal(await asToken.canI({ verb: 'list', resource: 'nodes' }), false);
    assert.equal(await asToken.canI({ verb: 'get', resource: 'secrets', namespace: 'default' }), false);

    // the virtual node's side: a key and a CSR for CN=system:vnode:<node>, O=system:vnodes
    const key = path.join(cp.workDir, 'vk1.key');
    const csrPem = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-subj', '/O=system:vnodes/CN=system:vnode:cn-hangzhou.vnd-test'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    await asToken.create({
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'vnode-csr-vk1' },
      spec: { request: Buffer.from(csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'key encipherment', 'client auth'] },
    });

    // vnode-approver's part, with its own ServiceAccount's credentials from the manifest vnode applied
    const approverToken = await serviceAccountToken(cp.kubeconfig, 'kube-system', 'vnode-approver');
    const approverKc = new KubeConfig();
    approverKc.loadFromOptions({
      clusters: [{ name: 'c', server: cp.server, caFile: cp.caFile }],
      users: [{ name: 'approver', token: approverToken }],
      contexts: [{ name: 'c', cluster: 'c', user: 'approver' }], currentContext: 'c',
    });
    assert.equal(await approveVnodeCsr(approverKc, 'vnode-csr-vk1'), 'approved');

    const signed = await admin.waitFor<KubeObject>({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', name: 'vnode-csr-vk1' },
      (o) => Boolean((o?.status as { certificate?: string } | undefined)?.certificate), { timeoutMs: 60_000, signal: new AbortController().signal });
    const certPem = Buffer.from((signed!.status as { certificate: string }).certificate, 'base64').toString();
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject'], { input: certPem }).toString();
    assert.match(subject, /O ?= ?system:vnodes/);
    assert.match(subject, /CN ?= ?system:vnode:cn-hangzhou\.vnd-test/);

    const certFile = path.join(cp.workDir, 'vk1-cert.kubeconfig');
    const cfg = parse(readFileSync(file, 'utf8'));
    cfg.users[0].user = { 'client-certificate-data': Buffer.from(certPem).toString('base64'), 'client-key-data': readFileSync(key).toString('base64') };
    writeFileSync(certFile, stringify(cfg), { mode: 0o600 });
    await assertPermissions(await connect(certFile), 'the virtual node certificate');
  });

  it('running bootstrap mode again reuses the live token and leaves the file alone', async () => {
    const file = path.join(cp.workDir, 'boot-config');
    const token = tokenOf(file);
    const before = await managedObjects(admin);
    const r = await vk('kubeconfig', '--bootstrap', '--name', 'vk1', '--file', file, '--ttl', '2h', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { token: { action: string }; fileAction: string };
    assert.equal(summary.token.action, 'reused');
    assert.equal(summary.fileAction, 'unchanged');
    assert.equal(tokenOf(file), token);
    assert.deepEqual(await managedObjects(admin), before);
  });

  it('--dry-run prints the objects and changes nothing', async () => {
    const before = await managedObjects(admin);
    const file = path.join(cp.workDir, 'dry-config');
    const r = await vk('kubeconfig', '--name', 'dry', '--file', file, '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kind: ServiceAccount\n/);
    assert.match(r.stdout, /name: vnode:dry:node\n/);
    assert.match(r.stdout, /kubernetes.io\/service-account-token/);
    assert.ok(!existsSync(file));
    assert.deepEqual(await managedObjects(admin), before);
  });

  it('refuses to overwrite a different existing file without --force, before creating anything', async () => {
    const file = path.join(cp.workDir, 'other-config');
    writeFileSync(file, 'something else\n');
    const before = await managedObjects(admin);
    const r = await vk('kubeconfig', '--name', 'other', '--file', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists.*\n.*--force/);
    assert.deepEqual(await managedObjects(admin), before);
    const forced = await vk('kubeconfig', '--name', 'other', '--file', file, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(tokenOf(file).length > 100);
  });

  it('an identity without RBAC rights gets a 403 naming what is missing, and nothing is created', async () => {
    const before = await managedObjects(admin);
    const r = await runVnode(['--kubeconfig', path.join(cp.workDir, 'vnode-config'), 'kubeconfig', '--name', 'x', '--file', path.join(cp.workDir, 'x-config')], { cwd: cp.workDir, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /may not: create clusterroles\.rbac\.authorization\.k8s\.io/);
    assert.deepEqual(await managedObjects(admin), before);
  });

  it('bad input: unknown context, unreadable kubeconfig, insecure-skip-tls-verify, unreachable server', async () => {
    const ctx = await vk('--context', 'nope', 'kubeconfig');
    assert.equal(ctx.code, 2);
    assert.match(ctx.stderr, /context "nope" not found.*\n.*available contexts: vnode-sandbox/);

    const missing = await runVnode(['--kubeconfig', '/nonexistent/config', 'kubeconfig'], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read kubeconfig \/nonexistent\/config: ENOENT/);

    const cfg = parse(readFileSync(cp.kubeconfig, 'utf8'));
    cfg.clusters[0].cluster = { server: cp.server, 'insecure-skip-tls-verify': true };
    const insecure = path.join(cp.workDir, 'insecure.kubeconfig');
    writeFileSync(insecure, stringify(cfg));
    const ins = await runVnode(['--kubeconfig', insecure, 'kubeconfig', '--file', path.join(cp.workDir, 'never')], { env });
    assert.equal(ins.code, 2);
    assert.match(ins.stderr, /insecure-skip-tls-verify/);

    const down = parse(readFileSync(cp.kubeconfig, 'utf8'));
    down.clusters[0].cluster.server = 'https://127.0.0.1:1';
    const downFile = path.join(cp.workDir, 'down.kubeconfig');
    writeFileSync(downFile, stringify(down));
    const unreachable = await runVnode(['--kubeconfig', downFile, 'kubeconfig', '--file', path.join(cp.workDir, 'never')], { env });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    assert.ok(!existsSync(path.join(cp.workDir, 'never')));
  });
});
