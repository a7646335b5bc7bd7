import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import { versionProfile, type VersionProfile } from '../../src/cluster/versions.js';
import { binaryVersion, findBinaries, startControlPlane, type ControlPlane } from '../../src/sandbox/controlplane.js';

/**
 * Binaries that say they are 1.24 and, like it, refuse the flags removed in 1.24 ("unknown flag"); what they
 * accept runs on the real binaries of this run. The launcher must choose its flags from the version alone.
 */
function binariesClaiming124(realDir: Record<string, string>, dir: string, real: VersionProfile): void {
  // the real binaries of this run may still need the old flag to keep their insecure port off (1.20), or lack it
  const wrap = (name: string, removed: string, realFlagOff: string): void => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/usr/bin/env bash
if [ "$1" = "--version" ]; then echo "Kubernetes v1.24.17"; exit 0; fi
for a in "$@"; do case "$a" in ${removed}=*|${removed}) echo "Error: unknown flag: ${removed}" >&2; exit 1;; esac; done
exec "${realDir[name]}" "$@" ${realFlagOff}
`);
    chmodSync(file, 0o755);
  };
  wrap('kube-apiserver', '--insecure-port', real.apiserverInsecurePortFlag ? '--insecure-port=0' : '');
  wrap('kube-controller-manager', '--port', real.componentPortFlag ? '--port=0' : '');
  wrap('kube-scheduler', '--port', real.componentPortFlag ? '--port=0' : '');
}

describe('the control-plane launcher chooses flags by the binaries\' version', () => {
  let cp: ControlPlane | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'vnode-cpv-'));
  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binaries of a version without --insecure-port/--port start (etcd from PATH or the real directory)', async () => {
    const real = findBinaries(process.env);
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    binariesClaiming124(real, bin, versionProfile(await binaryVersion(real['kube-apiserver'])));
    assert.equal((await binaryVersion(path.join(bin, 'kube-apiserver'))).minor, 24);
    const env = { ...process.env, VNODE_KUBE_BIN_DIR: bin, PATH: `${path.dirname(real.etcd)}:${process.env.PATH ?? ''}` };
    const logs: string[] = [];
    cp = await startControlPlane({ dir: path.join(dir, 'cp'), env, log: (m) => logs.push(m) });
    assert.equal(cp.version, 'v1.24.17');
    assert.ok(logs.some((l) => /Kubernetes v1\.24\.17 from /.test(l)), logs.join('\n'));
    const cluster = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: dir });
    assert.ok(await cluster.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'default', name: 'default' }), 'the controller manager runs');
  });
});
