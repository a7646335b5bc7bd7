import {
  CoordinationV1Api, CoreV1Api, PatchStrategy, V1MicroTime, Watch, setHeaderOptions, KubeConfig, type V1Container, type V1Pod,
} from '@kubernetes/client-node';
import { poolConnections } from '../cluster/kube.js';
import { pause as sleep } from '../util/sleep.js';

const LEASE_SECONDS = 40;
const RENEW_MS = 10_000;
const MAX_WORKERS = 32;
export const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const INSTANCE_ANNOTATION = 'k8s.aliyun.com/eci-instance-id';

/** Where a node's pods really run: ECI container groups, made directly (VNode) or through the ECI API (controller). */
export interface PodProvider {
  /** Creates the pod's container group, or finds the one it has; a thrown error is reported on the pod and retried. */
  create(pod: V1Pod): Promise<{ id: string; ip: string }>;
  /** Deletes the pod's container group; a thrown error is reported on the pod and retried. */
  delete(pod: V1Pod): Promise<void>;
}

export interface NodeSpec {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value: string; effect: string }[];
  internalIp: string;
  /** machineID / systemUUID. */
  machineId: string;
  providerId?: string;
  /** The cluster's version; a virtual kubelet reports it as its own. */
  serverVersion: string;
  /** Capacity (default: a virtual node's, practically unlimited). */
  resources?: Record<string, string>;
  osImage?: string;
}

export interface KubeletEvents {
  /** A warning about the node itself. */
  node(type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** A warning about one pod (a real kubelet records it as an Event of the pod). */
  pod(pod: V1Pod, reason: string, message: string): void;
}

export function messageOf(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'string') { try { return (JSON.parse(body) as { message?: string }).message ?? body; } catch { return body; } }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return (e as Error).message?.split('\n')[0] ?? String(e);
}

/** A pod field a fieldRef (env or downward API volume) names; the ones vnode's pods use. */
export function fieldOf(pod: V1Pod, fieldPath: string): string {
  switch (fieldPath) {
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    default: return '';
  }
}

/**
 * A container's env as a kubelet resolves it (values, fieldRefs, Secret and ConfigMap keys; no service links). A
 * missing Secret, ConfigMap or key throws, as a kubelet reports CreateContainerConfigError.
 */
export async function containerEnv(core: CoreV1Api, pod: V1Pod, c: V1Container): Promise<Record<string, string>> {
  const ns = pod.metadata!.namespace!;
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const f = e.valueFrom;
    if (f?.fieldRef) env[e.name] = fieldOf(pod, f.fieldRef.fieldPath);
    else if (f?.secretKeyRef) {
      const s = await core.readNamespacedSecret({ name: f.secretKeyRef.name!, namespace: ns }).catch(missing(`secret "${f.secretKeyRef.name}" not found`));
      const v = s.data?.[f.secretKeyRef.key];
      if (v === undefined) throw new Error(`couldn't find key ${f.secretKeyRef.key} in Secret ${ns}/${f.secretKeyRef.name}`);
      env[e.name] = Buffer.from(v, 'base64').toString('utf8');
    } else if (f?.configMapKeyRef) {
      const cm = await core.readNamespacedConfigMap({ name: f.configMapKeyRef.name!, namespace: ns }).catch(missing(`configmap "${f.configMapKeyRef.name}" not found`));
      const v = cm.data?.[f.configMapKeyRef.key];
      if (v === undefined) throw new Error(`couldn't find key ${f.configMapKeyRef.key} in ConfigMap ${ns}/${f.configMapKeyRef.name}`);
      env[e.name] = v;
    } else env[e.name] = e.value ?? '';
  }
  return env;
}

/** A read that failed: NotFound in the kubelet's words, anything else as it came. */
function missing(message: string): (e: unknown) => never {
  return (e) => { throw (e as { code?: number }).code === 404 ? new Error(message) : e; };
}

/** Registers the Node (or reports its status again after a restart). */
export async function registerNode(core: CoreV1Api, spec: NodeSpec): Promise<void> {
  const now = new Date();
  const resources = spec.resources ?? { cpu: '20000', memory: '80000Gi', pods: '3000', 'ephemeral-storage': '100000Gi' };
  const status = {
    capacity: resources, allocatable: resources,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'virtual node is ready', lastHeartbeatTime: now, lastTransitionTime: now },
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
      { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    addresses: [{ type: 'InternalIP', address: spec.internalIp }, { type: 'Hostname', address: spec.name }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: spec.machineId, systemUUID: spec.machineId, bootID: spec.machineId, kernelVersion: '', osImage: spec.osImage ?? 'Alibaba Cloud ECI', containerRuntimeVersion: 'eci://1.0',
      kubeletVersion: `${spec.serverVersion}-vnode`, kubeProxyVersion: `${spec.serverVersion}-vnode`, operatingSystem: 'linux', architecture: 'amd64',
    },
  };
  try {
    await core.createNode({
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: spec.name, labels: spec.labels }, spec: { taints: spec.taints, ...(spec.providerId ? { providerID: spec.providerId } : {}) }, status },
    });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
    await core.patchNodeStatus({ name: spec.name, body: { status } }, MERGE);
  }
}

export async function renewLease(api: CoordinationV1Api, nodeName: string): Promise<void> {
  // a Lease's times are MicroTime: microsecond precision on the wire
  const now = new V1MicroTime();
  try {
    const lease = await api.readNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' });
    lease.spec = { ...lease.spec, holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: now };
    await api.replaceNamespacedLease({ name: nodeName, namespace: 'kube-node-lease', body: lease });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await api.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name: nodeName, namespace: 'kube-node-lease' }, spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: now } } });
  }
}

/** Renews the node's Lease every 10 s until the signal fires; a failure is a node warning. */
export async function heartbeat(api: CoordinationV1Api, nodeName: string, events: KubeletEvents, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(RENEW_MS, signal);
    if (signal.aborted) return;
    try { await renewLease(api, nodeName); } catch (e) { events.node('Warning', 'NodeLeaseFailed', `failed to renew lease: ${messageOf(e)}`); }
  }
}

/** One watch of pods from a list's resourceVersion; resolves when it ends (the caller lists again) or the signal fires. */
export function watchPods(kc: KubeConfig, query: Record<string, string | undefined>, onEvent: (type: string, pod: V1Pod) => void, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    let ctl: AbortController | undefined;
    const finish = (): void => { signal.removeEventListener('abort', finish); ctl?.abort(); resolve(); };
    signal.addEventListener('abort', finish, { once: true });
    new Watch(kc).watch('/api/v1/pods', { ...query, allowWatchBookmarks: true }, (type, obj: V1Pod) => {
      // a BOOKMARK carries only a resourceVersion, an ERROR a Status: neither is a pod to act on
      if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && obj?.metadata?.uid && obj.metadata.name && obj.metadata.namespace) onEvent(type, obj);
    }, () => finish())
      .then((c) => { ctl = c; if (signal.aborted) c.abort(); }, () => finish());
  });
}

/** Keeps the node alive and runs its pods until the signal fires. */
export async function serveNode(kc: KubeConfig, nodeName: string, internalIp: string, provider: PodProvider, events: KubeletEvents, signal: AbortSignal): Promise<void> {
  const lease = kc.makeApiClient(CoordinationV1Api);
  await Promise.all([heartbeat(lease, nodeName, events, signal), runPods(kc, nodeName, internalIp, provider, events, signal)]);
}

/** The pods bound to this node, by list + watch with the node's identity; each becomes a container group. */
async function runPods(kc: KubeConfig, nodeName: string, hostIp: string, provider: PodProvider, events: KubeletEvents, signal: AbortSignal): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  // the newest state of each pod that needs work, worked off by a bounded number of workers
  const latest = new Map<string, V1Pod>();
  const queue: string[] = [];
  const busy = new Set<string>();
  const failures = new Map<string, number>();
  let workers = 0;
  const needsWork = (pod: V1Pod): boolean => Boolean(pod.metadata?.deletionTimestamp)
    || !pod.metadata?.annotations?.[INSTANCE_ANNOTATION] || pod.status?.phase !== 'Running';
  const pump = (): void => {
    while (workers < MAX_WORKERS && queue.length > 0) {
      const uid = queue.shift()!;
      const pod = latest.get(uid);
      latest.delete(uid);
      if (!pod || busy.has(uid)) continue;
      busy.add(uid);
      workers++;
      const work = pod.metadata?.deletionTimestamp ? finishDeletion(core, provider, pod) : startPod(core, provider, hostIp, pod);
      void work.then(() => { failures.delete(uid); }, (e: unknown) => {
        events.pod(pod, pod.metadata?.deletionTimestamp ? 'ProviderDeleteFailed' : 'ProviderCreateFailed', messageOf(e));
        // retried with backoff, as a kubelet resyncs a pod whose sync failed
        const n = (failures.get(uid) ?? 0) + 1;
        failures.set(uid, n);
        void sleep(Math.min(5000, 500 * 2 ** (n - 1)), signal).then(() => {
          // skipped when the pod was handled since (deleted, or failed again with its own retry)
          if (signal.aborted || failures.get(uid) !== n || busy.has(uid) || latest.has(uid)) return;
          latest.set(uid, pod);
          queue.push(uid);
          pump();
        });
      }).finally(() => {
        busy.delete(uid);
        workers--;
        // a change that arrived meanwhile is handled next
        if (latest.has(uid)) queue.push(uid);
        pump();
      });
    }
  };
  const handle = (pod: V1Pod): void => {
    const uid = pod.metadata?.uid ?? '';
    if (!needsWork(pod)) return;
    if (!latest.has(uid) && !busy.has(uid)) queue.push(uid);
    latest.set(uid, pod);
    pump();
  };
  while (!signal.aborted) {
    let rv: string | undefined;
    try {
      const list = await core.listPodForAllNamespaces({ fieldSelector });
      list.items.forEach(handle);
      rv = list.metadata?.resourceVersion;
    } catch (e) {
      events.node('Warning', 'PodListFailed', `failed to list pods: ${messageOf(e)}`);
      await sleep(2000, signal);
      continue;
    }
    await watchPods(kc, { fieldSelector, resourceVersion: rv }, (phase, obj) => { if (phase === 'ADDED' || phase === 'MODIFIED') handle(obj); }, signal);
  }
}

async function startPod(core: CoreV1Api, provider: PodProvider, hostIp: string, pod: V1Pod): Promise<void> {
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const cg = await provider.create(pod);
  if (pod.metadata?.annotations?.[INSTANCE_ANNOTATION] !== cg.id) {
    await core.patchNamespacedPod({ name, namespace: ns, body: { metadata: { annotations: { [INSTANCE_ANNOTATION]: cg.id } } } }, MERGE);
  }
  const now = new Date();
  const containers = (pod.spec?.containers ?? []).map((c) => ({
    name: c.name, image: c.image ?? '', imageID: `${c.image ?? ''}@sha256:${'0'.repeat(64)}`, containerID: `containerd://${cg.id}-${c.name}`,
    ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
  }));
  await core.patchNamespacedPodStatus({
    name, namespace: ns,
    body: {
      status: {
        phase: 'Running', hostIP: hostIp, podIP: cg.ip, podIPs: [{ ip: cg.ip }], startTime: now,
        conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
        containerStatuses: containers,
      },
    },
  }, MERGE);
}

async function finishDeletion(core: CoreV1Api, provider: PodProvider, pod: V1Pod): Promise<void> {
  const uid = pod.metadata!.uid!;
  await provider.delete(pod);
  try {
    await core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code !== 404 && code !== 409) throw e;
  }
}

const eventCounts = new Map<string, number>();

/** A Warning Event on a pod, as a kubelet's recorder makes it: created, then patched with a count it keeps itself. */
export async function podEvent(core: CoreV1Api, source: string, pod: V1Pod, reason: string, message: string): Promise<void> {
  const ns = pod.metadata!.namespace!;
  const name = `${pod.metadata!.name}.${reason.toLowerCase()}.${(pod.metadata!.uid ?? '').slice(0, 8)}`;
  const now = new Date();
  const count = (eventCounts.get(`${ns}/${name}`) ?? 0) + 1;
  eventCounts.set(`${ns}/${name}`, count);
  if (count > 1) {
    try {
      await core.patchNamespacedEvent({ name, namespace: ns, body: { count, lastTimestamp: now, message } }, MERGE);
      return;
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  try {
    await core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name, namespace: ns }, type: 'Warning', reason, message, count, firstTimestamp: now, lastTimestamp: now,
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod.metadata!.name!, uid: pod.metadata!.uid! }, source: { component: source },
      },
    });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
    await core.patchNamespacedEvent({ name, namespace: ns, body: { count, lastTimestamp: now, message } }, MERGE);
  }
}

/** A kubeconfig for a ServiceAccount with a TokenRequest token, as a pod (boundPod) or an outside host would hold one. */
export async function serviceAccountKubeConfig(admin: KubeConfig, namespace: string, serviceAccount: string, opts: { seconds: number; boundPod?: V1Pod }): Promise<KubeConfig> {
  const tr = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount, namespace,
    body: {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: {
        audiences: [], expirationSeconds: opts.seconds,
        ...(opts.boundPod ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: opts.boundPod.metadata!.name!, uid: opts.boundPod.metadata!.uid! } } : {}),
      },
    },
  });
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: serviceAccount, token: tr.status!.token }], contexts: [{ name: 'c', cluster: 'c', user: serviceAccount }], currentContext: 'c',
  });
  poolConnections(kc);
  return kc;
}
