/**
 * The demo's workload: a Deployment of 3 pods that tolerate the virtual-node taint, shown once Running on ECI.
 * `addon` as the argument: a Deployment only labelled alibabacloud.com/eci=true, which the add-on's vk-webhook sends to its nodes.
 * `namespace`: creates namespace burst (for `scheduling enable --namespace burst`); `scheduling`: a plain
 * Deployment there and a pod only labelled alibabacloud.com/eci=true, placed by the webhook and the scheduler; `burst`:
 * more than the worker node holds, of a normal-node-prefer selector; `no-policy`: a Selector made as for eci-profile,
 * with no policy (virtual-node-only, as eci-profile has it), and a pod it picks.
 */
import { connectCluster } from '../src/cluster/kube.js';
import type { KubeObject } from '../src/cluster/port.js';

const cluster = await connectCluster({ kubeconfig: undefined, context: undefined }, { env: process.env, cwd: process.cwd() });
const signal = new AbortController().signal;
const show = (p: KubeObject): void => {
  const st = p.status as { phase: string; podIP: string };
  console.log(`${p.metadata.namespace}/${p.metadata.name}  ${st.phase}  node=${(p.spec as { nodeName: string }).nodeName}  ip=${st.podIP}  eci=${p.metadata.annotations?.['k8s.aliyun.com/eci-instance-id']}`);
};
const mode = process.argv[2];
if (mode === 'namespace') {
  await cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'burst' } });
  console.error('$ kubectl create namespace burst');
} else if (mode === 'scheduling') {
  await cluster.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'plain', namespace: 'burst' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'plain' } }, template: { metadata: { labels: { app: 'plain' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } },
  });
  console.error('$ kubectl -n burst create deployment plain --image=nginx:1.25 --replicas=2   # no nodeSelector, no toleration');
  await cluster.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'labelled', namespace: 'default', labels: { 'alibabacloud.com/eci': 'true' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } });
  console.error('$ kubectl run labelled --image=nginx:1.25 --labels=alibabacloud.com/eci=true');
  await cluster.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'burst', name: 'plain' },
    (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 2, { timeoutMs: 120_000, signal });
  await cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'labelled' },
    (p) => (p?.status as { phase?: string } | undefined)?.phase === 'Running', { timeoutMs: 120_000, signal });
  for (const p of await cluster.list<KubeObject>('v1', 'Pod', { namespace: 'burst' })) show(p);
  show((await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'labelled' }))!);
  // a bare pod has no controller to recreate it: uninstall --drain would (rightly) refuse it without --force
  await cluster.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'labelled' });
  console.error('$ kubectl delete pod labelled');
} else if (mode === 'no-policy') {
  await cluster.create({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'batch' }, spec: { objectLabels: { matchLabels: { app: 'batch' } } } } as KubeObject);
  console.error('$ kubectl apply -f selector-batch.yaml   # objectLabels app=batch, no policy');
  // the server picks the new Selector up from its watch: a pod made a moment too early is left to the worker
  let placed: KubeObject | undefined;
  for (let i = 0; i < 30 && !placed; i++) {
    const p = await cluster.create({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'batch-', namespace: 'default', labels: { app: 'batch' } }, spec: { containers: [{ name: 'job', image: 'registry.k8s.io/pause:3.9' }] } } as KubeObject);
    if ((p.spec as { nodeSelector?: Record<string, string> }).nodeSelector?.['k8s.aliyun.com/vnode'] === 'true') placed = p;
    else { await cluster.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: p.metadata.name! }); await new Promise((r) => setTimeout(r, 500)); }
  }
  if (!placed) throw new Error('the Selector without policy did not take effect');
  console.error('$ kubectl run batch --image=registry.k8s.io/pause:3.9 --labels=app=batch');
  const ref = { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: placed.metadata.name! };
  const running = await cluster.waitFor<KubeObject>(ref, (p) => (p?.status as { phase?: string } | undefined)?.phase === 'Running', { timeoutMs: 120_000, signal });
  show(running!);
  await cluster.delete(ref);
  await cluster.delete({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', name: 'batch' });
  console.error('$ kubectl delete pod/batch selector/batch');
} else if (mode === 'burst') {
  // 6 replicas of 1 CPU on a 4-CPU worker: 3 fit, the rest burst to the virtual nodes (selector web, normal-node-prefer)
  await cluster.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'surge', namespace: 'default' },
    spec: { replicas: 6, selector: { matchLabels: { app: 'surge' } }, template: { metadata: { labels: { app: 'surge' } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '1' } } }] } } },
  });
  console.error('$ kubectl create deployment surge --image=registry.k8s.io/pause:3.9 --replicas=6   # each requests 1 CPU; the worker has 4');
  const bound = await cluster.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'surge' },
    (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 6, { timeoutMs: 120_000, signal });
  if (!bound) throw new Error('surge did not become ready');
  for (const p of await cluster.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=surge' })) {
    console.log(`${p.metadata.name}  node=${(p.spec as { nodeName: string }).nodeName}  vnode.dev/burst=${p.metadata.labels?.['vnode.dev/burst']}`);
  }
  await cluster.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'surge' });
  console.error('$ kubectl delete deployment surge');
} else {
  await deployment(mode === 'addon');
}

async function deployment(addon: boolean): Promise<void> {
  const name = addon ? 'hello-addon' : 'hello-eci';
  const labels = { app: name, 'alibabacloud.com/eci': 'true' };
  await cluster.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas: 3, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: 'web', image: 'nginx:1.25' }],
          ...(addon
            ? {}
            : { nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }),
        },
      },
    },
  });
  console.error(`$ kubectl create deployment ${name} (3 replicas, ${addon ? 'labelled alibabacloud.com/eci=true only' : 'nodeSelector k8s.aliyun.com/vnode=true + toleration'})`);
  await cluster.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name },
    (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 3, { timeoutMs: 120_000, signal });
  const pods = await cluster.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: `app=${name}` });
  for (const p of pods) show(p);
}
