import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
type Emu = Awaited<ReturnType<typeof startSandboxCloud>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

describe('bad input exits 2 with nothing changed (real control plane and emulator)', () => {
  let cp: CP;
  let emu: Emu;
  let admin: ClusterPort;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const managed = async (): Promise<string[]> => {
    const sel = { labelSelector: 'app.kubernetes.io/managed-by=vnode' };
    return (await Promise.all([
      admin.list('rbac.authorization.k8s.io/v1', 'ClusterRole', sel), admin.list('v1', 'ServiceAccount', { ...sel, namespace: 'kube-system' }),
      admin.list('v1', 'ConfigMap', { ...sel, namespace: 'kube-system' }),
    ])).flat().map((o) => `${o.kind}/${o.metadata.name}`).sort();
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 100, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    const tags = Array.from({ length: 16 }, (_, i) => ['--tag', `t${i}=v`]).flat();
    const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vn-x', ...tags]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('install --tag without a value, or a key ECI refuses', async () => {
    const before = await managed();
    for (const tag of ['novalue', `${'k'.repeat(65)}=v`, 'http://x=1']) {
      const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vn-bad', '--tag', tag]);
      assert.equal(r.code, 2, `${tag}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`invalid --tag "${tag.slice(0, 20).replace(/[/.]/g, '\\$&')}`));
    }
    assert.equal(emu.state.data.virtualNodes.length, 1);
    assert.deepEqual(await managed(), before);
  });

  it('uninstall with neither a name nor --all is a usage error, whatever is installed; a name that cannot be one is too', async () => {
    const r = await vk(['uninstall', '--yes']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /name the virtual node\(s\) to uninstall, or pass --all/);
    for (const name of ['x'.repeat(100_000), 'Has_Upper']) {
      const bad = await vk(['uninstall', name, '--yes']);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /invalid name "(x{60}… \(100000 characters\)|Has_Upper)": expected an install name, Node name or VirtualNodeId/);
      assert.ok(bad.stderr.length < 1000, `one short line (${bad.stderr.length} characters)`);
    }
    assert.equal(emu.state.data.virtualNodes.length, 1);
  });

  it('a 100 KB --tag value is refused with the value cut in the error', async () => {
    const r = await vk(['update', 'vn-x', '--tag', `k=${'v'.repeat(100_000)}`]);
    assert.equal(r.code, 2, r.stderr.slice(0, 500));
    assert.match(r.stderr, /invalid --tag "k=v{50,}… \(100002 characters\)"/);
    assert.ok(r.stderr.length < 1000, `one short line (${r.stderr.length} characters)`);
  });

  it('kubeconfig --file in a directory that does not exist: refused before any RBAC is made', async () => {
    const before = await managed();
    const r = await vk(['kubeconfig', '--name', 'other', '--file', '/nonexistent-dir/x/cfg']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --file "\/nonexistent-dir\/x\/cfg": directory \/nonexistent-dir\/x does not exist/);
    assert.doesNotMatch(r.stderr, /\.tmp/);
    assert.deepEqual(await managed(), before);
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kube-system', name: 'other' }), undefined);
  });

  it('ram grant --rotate-key --no-secret contradict each other', async () => {
    const r = await vk(['ram', 'grant', '--rotate-key', '--no-secret', '--yes']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--rotate-key and --no-secret contradict each other/);
    assert.equal(emu.state.data.users.length, 0);
  });

  it('install --kubeconfig-file that does not exist, on an installed name too', async () => {
    const r = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'vn-x', '--kubeconfig-file', '/nonexistent']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--kubeconfig-file \/nonexistent: no such readable file/);
  });

  it('a kubeconfig defining a context twice: warned, as kubectl does', async () => {
    const cfg = parse(readFileSync(cp.kubeconfig, 'utf8')) as { contexts: unknown[] };
    cfg.contexts.push(cfg.contexts[0]);
    const file = path.join(cp.workDir, 'dup.kubeconfig');
    writeFileSync(file, stringify(cfg));
    const r = await runVnode(['--kubeconfig', file, 'kubeconfig', '--dry-run'], { cwd: cp.workDir, env: emu.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /context "[^"]+" is defined 2 times .*: the first one is used/);
  });

  it('update that would take a VNode past 20 tags (vnode keeps 4 on a replacement): refused before anything is created', async () => {
    const before = emu.state.data.virtualNodes.map((v) => v.id);
    const r = await vk(['update', 'vn-x', '--recreate', '--tag', 'one=more']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /would carry 21 tags \(ECI allows 20; vnode keeps 4 of its own on a replacement\)/);
    assert.deepEqual(emu.state.data.virtualNodes.map((v) => v.id), before);
  });
});
