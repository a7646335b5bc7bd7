import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { kubeconfigFiles, resolveKubeconfig } from '../../src/cluster/kubeconfig.js';

function write(dir: string, name: string, cfg: unknown): string {
  const f = path.join(dir, name);
  writeFileSync(f, stringify(cfg));
  return f;
}

const cfgA = {
  clusters: [{ name: 'a', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority': 'pki/ca.crt' } }, { name: 'shared', cluster: { server: 'https://from-a' } }],
  users: [{ name: 'admin', user: { 'client-certificate': 'pki/admin.crt', 'client-key': '/abs/admin.key' } }],
  contexts: [{ name: 'ctx-a', context: { cluster: 'a', user: 'admin' } }, { name: 'ctx-shared', context: { cluster: 'shared', user: 'admin' } }],
  'current-context': 'ctx-a',
};
const cfgB = {
  clusters: [{ name: 'b', cluster: { server: 'https://10.0.0.2:6443', 'certificate-authority-data': 'Q0E=' } }, { name: 'shared', cluster: { server: 'https://from-b' } }],
  users: [{ name: 'admin', user: { token: 'ignored' } }, { name: 'b-user', user: { token: 't' } }],
  contexts: [{ name: 'ctx-b', context: { cluster: 'b', user: 'b-user' } }],
  'current-context': 'ctx-b',
};

describe('kubeconfig resolution (as kubectl)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vnode-kc-'));
  const a = write(dir, 'a.yaml', cfgA);
  const b = write(dir, 'b.yaml', cfgB);

  it('--kubeconfig wins over KUBECONFIG, which wins over ~/.kube/config', () => {
    assert.deepEqual(kubeconfigFiles('x', { KUBECONFIG: a }, '/w').files, ['/w/x']);
    assert.deepEqual(kubeconfigFiles(undefined, { KUBECONFIG: `${a}:${b}` }, '/w').files, [a, b]);
    assert.deepEqual(kubeconfigFiles(undefined, { HOME: '/home/u' }, '/w').files, ['/home/u/.kube/config']);
  });

  it('merges KUBECONFIG files: first definition and first current-context win; missing files skipped', () => {
    const r = resolveKubeconfig({ kubeconfig: undefined, context: undefined }, { KUBECONFIG: `${path.join(dir, 'missing')}:${a}:${b}` }, dir);
    assert.equal(r.info.contextName, 'ctx-a');
    const shared = resolveKubeconfig({ kubeconfig: undefined, context: 'ctx-shared' }, { KUBECONFIG: `${b}:${a}` }, dir);
    assert.equal(shared.info.server, 'https://from-b');
    const other = resolveKubeconfig({ kubeconfig: undefined, context: 'ctx-b' }, { KUBECONFIG: `${a}:${b}` }, dir);
    assert.equal(other.info.server, 'https://10.0.0.2:6443');
    assert.equal(other.info.caData, 'Q0E=');
  });

  it('makes file paths absolute relative to the kubeconfig that names them', () => {
    const r = resolveKubeconfig({ kubeconfig: a, context: undefined }, {}, '/');
    assert.equal(r.info.caFile, path.join(dir, 'pki/ca.crt'));
    assert.match(r.yaml, new RegExp(`client-certificate: ${path.join(dir, 'pki/admin.crt')}`));
    assert.match(r.yaml, /client-key: \/abs\/admin.key/);
  });

  it('explains what is wrong', () => {
    assert.throws(() => resolveKubeconfig({ kubeconfig: a, context: 'zzz' }, {}, dir), /context "zzz" not found/);
    assert.throws(() => resolveKubeconfig({ kubeconfig: undefined, context: undefined }, { HOME: dir }, dir), /no kubeconfig found: .*\.kube\/config does not exist/);
    assert.throws(() => resolveKubeconfig({ kubeconfig: undefined, context: undefined }, { KUBECONFIG: '/nope1:/nope2' }, dir), /none of the files in KUBECONFIG exists/);
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'clusters: [');
    assert.throws(() => resolveKubeconfig({ kubeconfig: broken, context: undefined }, {}, dir), /is not valid YAML/);
    const noCur = write(dir, 'nocur.yaml', { ...cfgA, 'current-context': undefined });
    assert.throws(() => resolveKubeconfig({ kubeconfig: noCur, context: undefined }, {}, dir), (e: Error & { hint?: string }) => /no current context/.test(e.message) && /ctx-a, ctx-shared/.test(e.hint ?? ''));
  });
});
