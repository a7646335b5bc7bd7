import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/cluster/port.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { runVnode } from '../helpers/run.js';

function setup(configure: (c: FakeCluster) => void = () => {}) {
  const cluster = new FakeCluster();
  configure(cluster);
  const cwd = mkdtempSync(path.join(tmpdir(), 'vnode-cmd-'));
  const run = (...argv: string[]) => runVnode(argv, { cwd, deps: { connectCluster: async () => cluster } });
  return { cluster, cwd, run };
}

describe('vnode kubeconfig (in-memory cluster)', () => {
  it('ServiceAccount mode: binds exactly the documented roles to the ServiceAccount and never cluster-admin', async () => {
    const { cluster, cwd, run } = setup();
    const r = await run('kubeconfig');
    assert.equal(r.code, 0, r.stderr);
    const bindings = await cluster.list<KubeObject>('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding');
    const roles = bindings.map((b) => (b.roleRef as { name: string }).name).sort();
    assert.deepEqual(roles, [
      'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
      'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
      'system:node', 'system:node-proxier', 'vnode:extra',
    ]);
    for (const b of bindings) {
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'vnode', namespace: 'kube-system' }]);
      assert.equal(b.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    }
    const cfg = parse(readFileSync(path.join(cwd, 'vnode-config'), 'utf8'));
    assert.equal(cfg.clusters[0].cluster.server, 'https://10.0.0.10:6443');
    assert.equal(cfg.users[0].name, 'vnode');
    assert.match(cfg.users[0].user.token, /^jwt-for-vnode-token/);
    assert.equal(statSync(path.join(cwd, 'vnode-config')).mode & 0o777, 0o600);
    assert.ok(r.stdout.startsWith(`Kubeconfig ${path.join(cwd, 'vnode-config')} written (ServiceAccount token, server https://10.0.0.10:6443, mode 0600)`), r.stdout);
    assert.ok(!r.stdout.includes(cfg.users[0].user.token) && !r.stderr.includes(cfg.users[0].user.token));
  });

  it('names the file by its absolute path, whatever the working directory (here /)', async () => {
    const cluster = new FakeCluster();
    const dir = mkdtempSync(path.join(tmpdir(), 'vnode-cmd-'));
    const rel = path.relative('/', path.join(dir, 'x'));
    const r = await runVnode(['kubeconfig', '--file', rel], { cwd: '/', deps: { connectCluster: async () => cluster } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(dir, 'x')));
    assert.ok(r.stdout.startsWith(`Kubeconfig ${path.join(dir, 'x')} written`), r.stdout);
  });

  it('on 1.30+ (legacy token cleanup) ServiceAccount mode says its token Secret is an explicit one, and why that matters', async () => {
    const modern = setup((c) => { c.serverVersion = { major: 1, minor: 30, gitVersion: 'v1.30.4' }; c.gvs = ['v1', 'certificates.k8s.io/v1', 'policy/v1', 'rbac.authorization.k8s.io/v1', 'apps/v1']; });
    const r = await modern.run('kubeconfig');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: Kubernetes v1\.30\.4 removes unused auto-generated ServiceAccount token Secrets; vnode's kube-system\/vnode-token is created explicitly/);
    const token = await modern.cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'vnode-token' });
    assert.equal(token?.type, 'kubernetes.io/service-account-token');
    assert.equal(token?.metadata.annotations?.['kubernetes.io/service-account.name'], 'vnode');
    const old = setup();
    const r20 = await old.run('kubeconfig');
    assert.doesNotMatch(r20.stderr, /auto-generated/);
  });

  it('--extra-privilege adds endpoints create/update through its own role', async () => {
    const { cluster, run } = setup();
    assert.equal((await run('kubeconfig', '--extra-privilege')).code, 0);
    const role = await cluster.get<KubeObject>({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'vnode:extra-endpoints' });
    assert.deepEqual(role?.rules, [{ apiGroups: [''], resources: ['endpoints'], verbs: ['create', 'update'] }]);
    assert.ok(await cluster.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'vnode:vnode:extra-endpoints' }));
  });

  it('--bootstrap on a server older than 1.19 is refused with exit 2 before any change', async () => {
    const { cluster, run } = setup((c) => { c.serverVersion = { major: 1, minor: 18, gitVersion: 'v1.18.20' }; c.gvs = ['v1', 'certificates.k8s.io/v1beta1']; });
    const r = await run('kubeconfig', '--bootstrap');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--bootstrap needs Kubernetes 1\.19 or newer .* this server is v1\.18\.20/);
    assert.match(r.stderr, /run without --bootstrap/);
    assert.equal(cluster.writes, 0);
  });

  it('--bootstrap on 1.19+ creates a token with the vnode group, an expiry and the approver', async () => {
    const { cluster, cwd, run } = setup((c) => { c.serverVersion = { major: 1, minor: 30, gitVersion: 'v1.30.1' }; });
    const r = await run('kubeconfig', '--bootstrap', '--ttl', '1h', '--approver-image', 'example.com/approver:1', '-o', 'yaml');
    assert.equal(r.code, 0, r.stderr);
    const summary = parse(r.stdout) as { token: { id: string }; ttl: string };
    assert.equal(summary.ttl, '1h');
    const secret = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: `bootstrap-token-${summary.token.id}` });
    const data = Object.fromEntries(Object.entries(secret!.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.equal(data['auth-extra-groups'], 'system:bootstrappers:vnode');
    assert.equal(data['usage-bootstrap-authentication'], 'true');
    assert.match(data['token-secret']!, /^[a-z0-9]{16}$/);
    const ttl = Date.parse(data.expiration!) - Date.now();
    assert.ok(ttl > 55 * 60_000 && ttl <= 3_600_000);
    const deploy = await cluster.get<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'vnode-approver-deployment' });
    assert.equal((deploy!.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image, 'example.com/approver:1');
    const cfg = parse(readFileSync(path.join(cwd, 'vnode-config'), 'utf8'));
    assert.equal(cfg.users[0].user.token, `${data['token-id']}.${data['token-secret']}`);
    assert.ok(!r.stdout.includes(data['token-secret']!));
  });

  it('a token close to expiry is not reused; a fresh one is minted', async () => {
    const { cluster, run } = setup();
    assert.equal((await run('kubeconfig', '--bootstrap', '--ttl', '1h', '--force')).code, 0);
    // a later run asking for 24h: 1h left is less than half of that
    const again = await run('-o', 'json', 'kubeconfig', '--bootstrap', '--force');
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { token: { action: string } }).token.action, 'created');
    const tokens = await cluster.list('v1', 'Secret', { fieldSelector: 'type=bootstrap.kubernetes.io/token' });
    assert.equal(tokens.length, 2);
  });

  it('a server address the cloud cannot use is warned about; --server overrides it', async () => {
    const { cwd, run } = setup((c) => { (c.info as { server: string }).server = 'https://lb.kubesphere.local:6443'; });
    const r = await run('kubeconfig');
    assert.match(r.stderr, /DNS name: it must resolve inside the VPC/);
    const r2 = await run('kubeconfig', '--server', 'https://192.168.0.10:6443', '--force');
    assert.equal(r2.code, 0, r2.stderr);
    assert.doesNotMatch(r2.stderr, /Warning/);
    assert.equal(parse(readFileSync(path.join(cwd, 'vnode-config'), 'utf8')).clusters[0].cluster.server, 'https://192.168.0.10:6443');
  });

  it('missing permissions are all listed at once and nothing is created', async () => {
    const { cluster, run } = setup((c) => { c.denied = [{ verb: 'create', resource: 'clusterrolebindings' }, { verb: 'create', resource: 'serviceaccounts' }]; });
    const r = await run('kubeconfig');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /may not: create clusterrolebindings\.rbac\.authorization\.k8s\.io, create serviceaccounts in kube-system/);
    assert.equal(cluster.writes, 0);
  });

  it('bad flag values exit 2 naming the value and what is valid, with nothing created', async () => {
    const cases: [string[], RegExp][] = [
      [['kubeconfig', '--name', 'Bad_Name'], /invalid --name "Bad_Name": use lowercase letters/],
      [['kubeconfig', '--bootstrap', '--ttl', '5 days'], /invalid --ttl "5 days": expected a duration such as 30s, 10m, 24h/],
      [['kubeconfig', '--ttl', '1h'], /--ttl 1h applies to bootstrap tokens only/],
      [['kubeconfig', '--server', 'http://10.0.0.1:6443'], /invalid --server "http:\/\/10\.0\.0\.1:6443": expected an https URL/],
      [['-o', 'xml', 'kubeconfig'], /argument 'xml' is invalid\. Allowed choices are text, json, yaml/],
      [['kubeconfig', '--bogus'], /unknown option '--bogus'/],
    ];
    for (const [argv, re] of cases) {
      const { cluster, cwd, run } = setup();
      const r = await run(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(cluster.writes, 0);
      assert.ok(!existsSync(path.join(cwd, 'vnode-config')));
    }
  });

  it('--dry-run writes nothing, redacts the token secret, and -o json still gives a summary', async () => {
    const { cluster, cwd, run } = setup();
    const r = await run('kubeconfig', '--bootstrap', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /token-secret: <generated>/);
    assert.match(r.stdout, /kind: Deployment/);
    assert.equal(cluster.writes, 0);
    assert.ok(!existsSync(path.join(cwd, 'vnode-config')));
    const j = await run('kubeconfig', '--dry-run', '-o', 'json');
    const summary = JSON.parse(j.stdout) as { dryRun: boolean; objects: { action: string }[] };
    assert.equal(summary.dryRun, true);
    assert.ok(summary.objects.every((o) => o.action === 'would create'));
  });

  it('help and version exit 0; no arguments prints help', async () => {
    const { run } = setup();
    const h = await run('--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /kubeconfig\s+create the identity/);
    assert.equal((await run('--version')).code, 0);
    const none = await run();
    assert.equal(none.code, 0);
    assert.match(none.stdout, /Usage: vnode/);
    const sub = await run('kubeconfig', '--help');
    assert.match(sub.stdout, /--bootstrap/);
    assert.match(sub.stdout, /Global Options:[\s\S]*--kubeconfig/);
  });
});
