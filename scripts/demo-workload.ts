/**
 * The demo's workload: a Deployment of 3 pods that tolerate the virtual-node taint, shown once Running on ECI.
 * `controller` as the argument: for the in-cluster controller's nodes (type=virtual-kubelet).
 */
import { connectCluster } from '../src/cluster/kube.js';
import type { KubeObject } from '../src/cluster/port.js';

const cluster = await connectCluster({ kubeconfig: undefined, context: undefined }, { env: process.env, cwd: process.cwd() });
const controller = process.argv[2] === 'controller';
const name = controller ? 'hello-controller' : 'hello-eci';
const labels = { app: name, 'alibabacloud.com/eci': 'true' };
await cluster.create({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
  spec: {
    replicas: 3, selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels },
      spec: {
        containers: [{ name: 'web', image: 'nginx:1.25' }],
        ...(controller
          ? { nodeSelector: { type: 'virtual-kubelet' }, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }] }
          : { nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }),
      },
    },
  },
});
console.error(`$ kubectl create deployment ${name} (3 replicas, nodeSelector ${controller ? 'type=virtual-kubelet' : 'k8s.aliyun.com/vnode=true'} + toleration)`);
const signal = new AbortController().signal;
await cluster.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name },
  (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 3, { timeoutMs: 120_000, signal });
const pods = await cluster.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: `app=${name}` });
for (const p of pods) {
  const st = p.status as { phase: string; podIP: string };
  console.log(`${p.metadata.name}  ${st.phase}  node=${(p.spec as { nodeName: string }).nodeName}  ip=${st.podIP}  eci=${p.metadata.annotations?.['k8s.aliyun.com/eci-instance-id']}`);
}
