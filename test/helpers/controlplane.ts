import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/sandbox/controlplane.js';

/** A real control plane in a fresh directory; stop() also removes the directory. */
export async function startTestControlPlane(): Promise<ControlPlane & { workDir: string }> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'vnode-e2e-'));
  const cp = await startControlPlane({ dir: path.join(workDir, 'cp') });
  return {
    ...cp,
    workDir,
    async stop() {
      await cp.stop();
      if (!process.env.VNODE_KEEP_TEST_DIRS) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** A token of a ServiceAccount as its pod would get it (TokenRequest): no token Secret is read, as none exists from 1.24. */
export async function serviceAccountToken(adminKubeconfig: string, namespace: string, name: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  const tr = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name, namespace, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 600 } },
  });
  if (!tr.status?.token) throw new Error(`no token for ${namespace}/${name}`);
  return tr.status.token;
}

/**
 * An object's version for "nothing changed" snapshots: a workload by its generation (its controller keeps updating its
 * status while pods come and go on the sandbox's nodes; a change of its spec bumps the generation), anything else by
 * its resourceVersion.
 */
export function specVersion(o: { kind?: string; metadata: { resourceVersion?: string; generation?: number; labels?: Record<string, string> }; spec?: unknown }): string {
  // a Node's status changes all the time, and newer control planes maintain labels and taints of their own
  // (kubernetes.io/*, node.kubernetes.io/* taints, podCIDR): held is only what vnode could change
  if (o.kind === 'Node') {
    const spec = (o.spec ?? {}) as { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
    const labels = Object.entries(o.metadata.labels ?? {}).filter(([k]) => k.startsWith('app.kubernetes.io/') || !/(^|\.)kubernetes\.io\//.test(k)).sort();
    const taints = (spec.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/') && !t.key.startsWith('node.cloudprovider.kubernetes.io/'));
    return createHash('sha256').update(JSON.stringify([labels, Boolean(spec.unschedulable), taints])).digest('hex').slice(0, 16);
  }
  return ['DaemonSet', 'Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind ?? '') ? `g${o.metadata.generation}` : o.metadata.resourceVersion ?? '';
}
