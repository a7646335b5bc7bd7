/**
 * The main job on a fresh machine, against the local sandbox: start a real Kubernetes 1.20 control plane,
 * run `vnode kubeconfig` in both modes through the built CLI, show what the written identities may do, stop.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectCluster } from '../src/cluster/kube.js';
import { startControlPlane } from '../src/sandbox/controlplane.js';

const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(tmpdir(), 'vnode-demo-'));
const cp = await startControlPlane({ dir: path.join(work, 'cp'), log: (m) => console.error(`sandbox: ${m}`) });
let failed = false;
try {
  const vnode = (...args: string[]): void => {
    console.error(`\n$ vnode ${args.join(' ')}`);
    const r = spawnSync(process.execPath, [path.join(root, 'bin/vnode.js'), '--kubeconfig', cp.kubeconfig, ...args], { cwd: work, stdio: 'inherit' });
    if (r.status !== 0) { failed = true; throw new Error(`vnode ${args.join(' ')} exited ${r.status}`); }
  };
  vnode('kubeconfig');
  vnode('kubeconfig');
  vnode('kubeconfig', '--bootstrap', '--name', 'vk', '--file', 'vnode-bootstrap-config', '--ttl', '2h');
  const asVnode = await connectCluster({ kubeconfig: path.join(work, 'vnode-config'), context: undefined }, { env: process.env, cwd: work });
  console.error('\nWhat the ServiceAccount identity in vnode-config may do:');
  for (const [verb, resource, ns] of [['create', 'nodes', ''], ['patch', 'pods', 'default'], ['create', 'clusterrolebindings', ''], ['delete', 'namespaces', '']] as const) {
    const ok = await asVnode.canI({ verb, resource, namespace: ns, ...(resource === 'clusterrolebindings' ? { group: 'rbac.authorization.k8s.io' } : {}) });
    console.error(`  ${ok ? 'yes' : 'no '}  ${verb} ${resource}`);
  }
} finally {
  await cp.stop();
  rmSync(work, { recursive: true, force: true });
  console.error('\nsandbox stopped');
}
if (failed) process.exitCode = 1;
