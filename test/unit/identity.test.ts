import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapTokenSecret, identityObjects, isReusable, newBootstrapToken, tokenFromSecret } from '../../src/steps/identity/identity.js';
import { parseServer, serverWarnings } from '../../src/steps/identity/kubeconfig-file.js';

describe('identity objects', () => {
  it('bootstrap mode binds the bootstrap group and system:vnodes, never broader than the documented roles', () => {
    const objs = identityObjects({ name: 'vnode', mode: 'bootstrap', extraPrivilege: false, approverImage: 'img' });
    const bindings = objs.filter((o) => o.kind === 'ClusterRoleBinding');
    const pairs = bindings.map((b) => `${(b.subjects as { name: string }[])[0]!.name} -> ${(b.roleRef as { name: string }).name}`).sort();
    assert.deepEqual(pairs, [
      'system:bootstrappers:vnode -> system:certificates.k8s.io:certificatesigningrequests:nodeclient',
      'system:bootstrappers:vnode -> system:node-bootstrapper',
      'system:vnodes -> system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
      'system:vnodes -> system:node',
      'system:vnodes -> system:node-proxier',
      'system:vnodes -> vnode:extra',
      'vnode-approver -> system:vnode-approver',
    ]);
    for (const o of objs) assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode', `${o.kind} ${o.metadata.name}`);
    assert.ok(objs.some((o) => o.kind === 'Deployment' && o.metadata.name === 'vnode-approver-deployment'));
  });

  it('roles come before the bindings that use them', () => {
    const objs = identityObjects({ name: 'x', mode: 'serviceaccount', extraPrivilege: true, approverImage: 'img' });
    const firstBinding = objs.findIndex((o) => o.kind === 'ClusterRoleBinding');
    assert.ok(objs.slice(firstBinding).every((o) => o.kind !== 'ClusterRole'));
  });

  it('bootstrap tokens are random, well-formed, and read back from their Secret', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const t = newBootstrapToken(3_600_000, now);
    assert.match(t.id, /^[a-z0-9]{6}$/);
    assert.match(t.secret, /^[a-z0-9]{16}$/);
    assert.notEqual(newBootstrapToken(0, now).secret, t.secret);
    const secret = bootstrapTokenSecret('vnode', t);
    assert.equal(secret.metadata.name, `bootstrap-token-${t.id}`);
    assert.equal((secret.stringData as Record<string, string>).expiration, '2026-01-01T01:00:00Z');
    const data = Object.fromEntries(Object.entries(secret.stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    assert.deepEqual(tokenFromSecret({ ...secret, data }), t);
  });

  it('reuses a token only while half of the requested lifetime remains', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const h = 3_600_000;
    assert.equal(isReusable({ id: 'a', secret: 'b', expiresAt: new Date(now.getTime() + 13 * h) }, 24 * h, now), true);
    assert.equal(isReusable({ id: 'a', secret: 'b', expiresAt: new Date(now.getTime() + 11 * h) }, 24 * h, now), false);
    assert.equal(isReusable({ id: 'a', secret: 'b', expiresAt: undefined }, 0, now), true);
    assert.equal(isReusable({ id: 'a', secret: 'b', expiresAt: undefined }, h, now), false);
  });
});

describe('server address', () => {
  it('warns about loopback, link-local and DNS names; not about routable IPs', () => {
    for (const s of ['https://127.0.0.1:6443', 'https://localhost:6443', 'https://[::1]:6443', 'https://169.254.10.1']) assert.match(serverWarnings(s)[0] ?? '', /loopback\/link-local/, s);
    assert.match(serverWarnings('https://lb.kubesphere.local:6443')[0] ?? '', /DNS name/);
    assert.deepEqual(serverWarnings('https://192.168.1.10:6443'), []);
    assert.deepEqual(serverWarnings('https://[2001:db8::1]:6443'), []);
  });
  it('--server must be an https URL without a path', () => {
    assert.equal(parseServer('https://10.0.0.1:6443/'), 'https://10.0.0.1:6443');
    for (const bad of ['10.0.0.1:6443', 'http://10.0.0.1', 'https://10.0.0.1/api']) assert.throws(() => parseServer(bad), /expected an https URL/);
  });
});
