import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import type { Server } from 'node:net';
import path from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, type V1Container, type V1Pod, type V1Volume } from '@kubernetes/client-node';
import { poolConnections } from '../cluster/kube.js';
import { childController, pause as sleep, whenAborted } from '../util/sleep.js';
import { containerEnv, fieldOf, heartbeat, MERGE, messageOf, podEvent, registerNode, renewLease, watchPods } from './kubelet.js';
import { nodeForMajor } from './node-runtime.js';
import {
  canIsolate, createNetwork, destroyNetwork, launch, removeStaleNetworks, RuntimeError, startApiRelay, startForwarder, writeVolume, type Mount, type PodNetwork,
} from './pod-runtime.js';

export const WORKER_NODE = 'sandbox-worker';
/** A small machine: enough to fill in a test. */
export const WORKER_CAPACITY = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' };
const SOURCE = 'kubelet';
const MAX_BACKOFF_MS = 10_000;
const STOP_GRACE_MS = 5000;

export interface WorkerOptions {
  adminKubeconfig: string;
  /** Where pods' volumes and logs go. */
  dir: string;
  log?: (m: string) => void;
  /** Glob patterns of images the worker cannot pull (besides `.invalid` registries). */
  unpullable?: string[];
}

/** What the sandbox can run of an image; see docs/sandbox.md (the sandbox's worker node). */
export type ImageKind = 'node' | 'pause' | 'played' | 'unavailable';

/** `*` matches any run of characters (across '/' too), everything else itself. */
export function imagePattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The registry host of an image reference (docker.io when it names none). */
export function imageHost(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}

/** The Node.js major version a `node` image's tag names (`24`, `24-alpine`, `24.11.1-slim`); undefined for others. */
export function nodeMajorOf(image: string): string | undefined {
  const [repo, tag = 'latest'] = image.split('@')[0]!.split(/:(?=[^/]*$)/);
  if (repo!.split('/').pop() !== 'node') return undefined;
  return /^(\d+)([.-]|$)/.exec(tag)?.[1];
}

/**
 * The official Node.js image runs as a real process on the Node.js of its own major version (npm's node package);
 * pause images run as nothing (all they do is wait). Every other image is played, as the virtual-node simulator
 * plays pods: Running and ready, no process, as a cluster that can pull it would run it. Unpullable are only images
 * of a registry under the reserved `.invalid` domain (RFC 2606), those matching the sandbox's --unpullable patterns,
 * and `node` images whose tag names no major version.
 */
export function imageKind(image: string, unpullable: RegExp[] = []): ImageKind {
  const [repo] = image.split('@')[0]!.split(/:(?=[^/]*$)/);
  const host = imageHost(repo!);
  if (host.split(':')[0]!.endsWith('.invalid') || unpullable.some((p) => p.test(image))) return 'unavailable';
  const name = repo!.split('/').pop();
  if (name === 'pause') return 'pause';
  if (name === 'node') return nodeMajorOf(image) ? 'node' : 'unavailable';
  return 'played';
}

interface Run {
  pod: V1Pod;
  network?: PodNetwork;
  forwarder?: ChildProcess;
  proc?: ChildProcess;
  restarts: number;
  ready: boolean;
  stopped: boolean;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * A normal worker node of finite capacity, no taint, with a kubelet that runs what it can: the scheduler fills it, and
 * pods it cannot run fail the way a kubelet reports them (ErrImagePull, CrashLoopBackOff).
 */
export class WorkerNode {
  private readonly admin = new KubeConfig();
  private readonly abort = new AbortController();
  private readonly runs = new Map<string, Run>();
  private loops: Promise<unknown> | undefined;
  private relay: Server | undefined;
  private seq = 0;
  private apiAddress = '';
  private readonly isolate = canIsolate();
  private readonly unpullable: RegExp[];

  constructor(private readonly opts: WorkerOptions) {
    this.unpullable = (opts.unpullable ?? []).map(imagePattern);
    this.admin.loadFromFile(opts.adminKubeconfig);
    poolConnections(this.admin);
  }

  private get socket(): string {
    return path.join(this.opts.dir, 'api.sock');
  }

  private log(m: string): void {
    this.opts.log?.(`worker: ${m}`);
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    if (this.isolate) {
      removeStaleNetworks();
      this.relay = await startApiRelay(this.socket, Number(new URL(this.admin.getCurrentCluster()!.server).port));
    } else {
      this.log('not root (or no iproute2/setpriv): pods that need a process report ContainerCreating');
    }
    const core = this.admin.makeApiClient(CoreV1Api);
    const version = await this.admin.makeApiClient(VersionApi).getCode();
    this.apiAddress = (await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' })).spec?.clusterIP ?? '10.0.0.1';
    await registerNode(core, {
      name: WORKER_NODE, internalIp: '127.0.0.1', machineId: 'sandbox-worker', serverVersion: version.gitVersion, taints: [],
      labels: { 'kubernetes.io/hostname': WORKER_NODE, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
      resources: WORKER_CAPACITY, osImage: 'vnode sandbox worker',
    });
    const lease = this.admin.makeApiClient(CoordinationV1Api);
    await renewLease(lease, WORKER_NODE);
    const events = { node: (_t: string, reason: string, message: string) => this.log(`${reason}: ${message}`), pod: () => {} };
    this.loops = Promise.all([heartbeat(lease, WORKER_NODE, events, this.abort.signal).catch(() => undefined), this.watch()]);
  }

  /** Stops every pod whatever one of them throws, then the loops and the relay. */
  async stop(): Promise<void> {
    this.abort.abort();
    const failed = (await Promise.allSettled([...this.runs.values()].map((r) => this.teardown(r)))).filter((r) => r.status === 'rejected');
    for (const f of failed) this.log(`stopping a pod: ${messageOf((f as PromiseRejectedResult).reason)}`);
    await this.loops?.catch(() => undefined);
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    rmSync(this.socket, { force: true });
  }

  private async watch(): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${WORKER_NODE}`;
    const onPod = (type: string, pod: V1Pod): void => {
      const uid = pod.metadata?.uid;
      if (!uid || !pod.metadata?.name || !pod.metadata.namespace) return;
      const run = this.runs.get(uid);
      if (type === 'DELETED') { if (run) void this.teardown(run); return; }
      if (pod.metadata?.deletionTimestamp) { if (run) void this.teardown(run).then(() => this.finish(pod)); else void this.finish(pod); return; }
      if (!run && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') this.startRun(pod);
    };
    while (!this.abort.signal.aborted) {
      let rv: string | undefined;
      try {
        const list = await core.listPodForAllNamespaces({ fieldSelector });
        const live = new Set(list.items.map((p) => p.metadata?.uid));
        for (const r of this.runs.values()) if (!live.has(r.pod.metadata?.uid)) void this.teardown(r);
        for (const p of list.items) onPod('ADDED', p);
        rv = list.metadata?.resourceVersion;
      } catch (e) {
        this.log(`listing pods: ${messageOf(e)}`);
        await sleep(1000, this.abort.signal).catch(() => undefined);
        continue;
      }
      await watchPods(this.admin, { fieldSelector, resourceVersion: rv }, onPod, this.abort.signal);
    }
  }

  private startRun(pod: V1Pod): void {
    // a list or event that lands after stop() starts nothing: that pod's process would outlive the sandbox
    if (this.abort.signal.aborted) return;
    const abort = childController(this.abort.signal);
    const run: Run = { pod, restarts: 0, ready: false, stopped: false, abort, done: Promise.resolve() };
    this.runs.set(pod.metadata!.uid!, run);
    run.done = this.runPod(run).catch((e: unknown) => { if (!abort.signal.aborted) this.log(`${pod.metadata?.namespace}/${pod.metadata?.name}: ${messageOf(e)}`); });
  }

  /** The kubelet's finishing of a deleted pod once its containers are gone. */
  private async finish(pod: V1Pod): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    await core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } } })
      .catch((e: unknown) => { const c = (e as { code?: number }).code; if (c !== 404 && c !== 409) this.log(`deleting ${pod.metadata?.name}: ${messageOf(e)}`); });
  }

  private async teardown(run: Run): Promise<void> {
    if (run.stopped) return run.done;
    run.stopped = true;
    run.abort.abort();
    this.runs.delete(run.pod.metadata!.uid!);
    try {
      await stopProcess(run.proc);
      await stopProcess(run.forwarder);
      await run.done;
      // started while this stop began (runPod was between two awaits): stopped too, or it outlives the sandbox
      await stopProcess(run.proc);
      await stopProcess(run.forwarder);
    } finally {
      if (run.network) destroyNetwork(run.network);
    }
    // its volumes hold the pod's token and Secrets: gone with the pod, as a kubelet cleans up
    rmSync(path.join(this.opts.dir, 'pods', run.pod.metadata!.uid!), { recursive: true, force: true });
  }

  private async status(run: Run, containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    const now = new Date();
    const ready = run.ready ? 'True' : 'False';
    await core.patchNamespacedPodStatus({
      name: run.pod.metadata!.name!, namespace: run.pod.metadata!.namespace!,
      body: {
        status: {
          hostIP: '127.0.0.1', startTime: run.pod.status?.startTime ?? now, ...extra,
          conditions: [
            { type: 'Initialized', status: 'True', lastTransitionTime: now }, { type: 'Ready', status: ready, lastTransitionTime: now },
            { type: 'ContainersReady', status: ready, lastTransitionTime: now }, { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          ],
          containerStatuses: containers,
        },
      },
    }, MERGE).catch((e: unknown) => { if ((e as { code?: number }).code !== 404) throw e; });
  }

  private async runPod(run: Run): Promise<void> {
    const pod = run.pod;
    const containers = pod.spec?.containers ?? [];
    const kinds = containers.map((c) => imageKind(c.image ?? '', this.unpullable));
    const core = this.admin.makeApiClient(CoreV1Api);
    const base = (c: V1Container): Record<string, unknown> => ({ name: c.name, image: c.image ?? '', imageID: '', restartCount: run.restarts });
    const unavailable = containers.filter((_, i) => kinds[i] === 'unavailable');
    if (unavailable.length > 0) {
      const c = unavailable[0]!;
      const why = imageHost(c.image ?? '').split(':')[0]!.endsWith('.invalid') ? 'its registry is under the reserved .invalid domain'
        : imageKind(c.image ?? '') === 'unavailable' ? 'the sandbox runs node images whose tag names a major version (node:24-alpine) only' : 'it matches the sandbox\'s --unpullable';
      await this.pullFailed(run, c, `failed to pull image "${c.image}": ${why}`);
      return;
    }
    const procIndex = kinds.indexOf('node');
    if (procIndex < 0) {
      // nothing to run here (pause), or played: Running and ready without a process
      run.ready = true;
      const now = new Date();
      const running = containers.map((c) => ({ ...base(c), imageID: `${c.image}@sha256:${'0'.repeat(64)}`, ready: true, started: true, state: { running: { startedAt: now } } }));
      await this.status(run, running, { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] });
      return;
    }
    if (!this.isolate) {
      await this.status(run, containers.map((c) => ({ ...base(c), ready: false, started: false, state: { waiting: { reason: 'ContainerCreating', message: 'the sandbox needs root and iproute2 to run pods' } } })), { phase: 'Pending' });
      return;
    }
    const container = containers[procIndex]!;
    // the image's own Node.js major, as its image carries it
    let nodeBinary: string;
    try {
      nodeBinary = await nodeForMajor(nodeMajorOf(container.image ?? '')!, { log: (m) => this.log(m) });
    } catch (e) {
      await this.pullFailed(run, container, `failed to pull image "${container.image}": ${messageOf(e)}`);
      return;
    }
    if (run.abort.signal.aborted) return;
    const dir = path.join(this.opts.dir, 'pods', pod.metadata!.uid!);
    mkdirSync(dir, { recursive: true });
    let mounts: Mount[];
    let env: Record<string, string>;
    try {
      mounts = await this.volumes(pod, container, dir);
      env = await this.environment(pod, container);
      run.network = createNetwork(`${process.pid}x${++this.seq}`, this.apiAddress);
    } catch (e) {
      const reason = e instanceof RuntimeError ? e.reason : 'CreateContainerConfigError';
      await podEvent(core, SOURCE, pod, 'Failed', messageOf(e)).catch(() => undefined);
      await this.status(run, [{ ...base(container), ready: false, started: false, state: { waiting: { reason, message: messageOf(e) } } }], { phase: 'Pending' });
      return;
    }
    if (run.abort.signal.aborted) return;
    run.forwarder = startForwarder(run.network, this.socket, this.apiAddress, path.join(dir, 'forwarder.log'));
    const user = pod.spec?.securityContext;
    const csc = container.securityContext;
    const command = [...(container.command ?? ['node']), ...(container.args ?? [])];
    if (command[0] === 'node' || command[0] === '/usr/local/bin/node') command[0] = nodeBinary;
    const signal = run.abort.signal;
    while (!signal.aborted) {
      const started = new Date();
      run.proc = launch({
        network: run.network, mounts, command, env, workingDir: container.workingDir,
        uid: Number(csc?.runAsUser ?? user?.runAsUser ?? 0), gid: Number(csc?.runAsGroup ?? user?.runAsGroup ?? csc?.runAsUser ?? user?.runAsUser ?? 0),
        logFile: path.join(dir, `${container.name}.log`),
      });
      const exited = new Promise<number>((resolve) => run.proc!.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
      run.ready = false;
      await this.status(run, [{ ...base(container), imageID: `${container.image}@sha256:${'0'.repeat(64)}`, ready: false, started: true, state: { running: { startedAt: started } } }],
        { phase: 'Running', podIP: run.network.ip, podIPs: [{ ip: run.network.ip }] });
      const probe = this.probe(run, container, started, signal);
      const code = await Promise.race([exited, new Promise<never>((_, reject) => whenAborted(signal, () => reject(new Error('stopped'))))]).catch(() => undefined);
      run.ready = false;
      await probe.catch(() => undefined);
      if (code === undefined || signal.aborted) return;
      run.restarts++;
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (run.restarts - 1));
      await podEvent(core, SOURCE, pod, 'BackOff', `Back-off restarting failed container ${container.name} (exit code ${code})`).catch(() => undefined);
      await this.status(run, [{ ...base(container), ready: false, started: false, lastState: { terminated: { exitCode: code, startedAt: started, finishedAt: new Date() } },
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${container.name} pod=${pod.metadata!.name}` } } }]);
      await sleep(backoff, signal).catch(() => undefined);
    }
  }

  /** What a kubelet reports for an image it cannot pull: ErrImagePull on the container, a Failed event. */
  private async pullFailed(run: Run, c: V1Container, message: string): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    await podEvent(core, SOURCE, run.pod, 'Failed', message.replace(/^failed/, 'Failed')).catch(() => undefined);
    await this.status(run, (run.pod.spec?.containers ?? []).map((x) => ({
      name: x.name, image: x.image ?? '', imageID: '', restartCount: run.restarts, ready: false, started: false,
      state: { waiting: x === c ? { reason: 'ErrImagePull', message } : { reason: 'ContainerCreating' } },
    })), { phase: 'Pending' });
  }

  /** The readiness probe (HTTP(S) GET to the pod IP, as a kubelet does it from the node), until the container exits. */
  private async probe(run: Run, c: V1Container, started: Date, signal: AbortSignal): Promise<void> {
    const p = c.readinessProbe?.httpGet;
    const proc = run.proc;
    const period = (c.readinessProbe?.periodSeconds ?? 10) * 1000;
    const port = typeof p?.port === 'number' ? p.port : Number((c.ports ?? []).find((x) => x.name === p?.port)?.containerPort ?? p?.port);
    while (!signal.aborted && proc?.exitCode === null && run.proc === proc) {
      const ok = p ? await httpProbe(p.scheme === 'HTTPS', run.network!.ip, port, p.path ?? '/') : true;
      if (ok !== run.ready && proc.exitCode === null) {
        run.ready = ok;
        await this.status(run, [{ name: c.name, image: c.image ?? '', imageID: `${c.image}@sha256:${'0'.repeat(64)}`, restartCount: run.restarts, ready: ok, started: true, state: { running: { startedAt: started } } }]);
      }
      // until the first success, probe every second: a kubelet's first probes come as soon as the container runs
      await sleep(run.ready ? period : Math.min(period, 1000), signal).catch(() => undefined);
    }
  }

  /** The pod's volumes, written under its directory, mounted where the container wants them. */
  private async volumes(pod: V1Pod, c: V1Container, dir: string): Promise<Mount[]> {
    const core = this.admin.makeApiClient(CoreV1Api);
    const ns = pod.metadata!.namespace!;
    const byName = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts: Mount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const v = byName.get(vm.name);
      if (!v) throw new RuntimeError('CreateContainerConfigError', `volume ${vm.name} is not defined`);
      const source = path.join(dir, 'volumes', v.name);
      writeVolume(source, await this.volumeFiles(core, pod, ns, v), modeOf(v));
      mounts.push({ source: vm.subPath ? path.join(source, vm.subPath) : source, target: vm.mountPath, readOnly: Boolean(vm.readOnly) });
    }
    return mounts;
  }

  private async volumeFiles(core: CoreV1Api, pod: V1Pod, ns: string, v: V1Volume): Promise<Record<string, Buffer>> {
    const missing = (what: string): never => { throw new RuntimeError('CreateContainerConfigError', `${what} not found`); };
    const fromData = (data: Record<string, string> | undefined, binary: Record<string, string> | undefined, items: { key: string; path: string }[] | undefined, b64: boolean): Record<string, Buffer> => {
      const all: Record<string, Buffer> = {};
      for (const [k, val] of Object.entries(data ?? {})) all[k] = Buffer.from(val, b64 ? 'base64' : 'utf8');
      for (const [k, val] of Object.entries(binary ?? {})) all[k] = Buffer.from(val, 'base64');
      if (!items) return all;
      return Object.fromEntries(items.map((i) => [i.path, all[i.key] ?? missing(`key ${i.key}`)]));
    };
    if (v.secret) {
      const s = await core.readNamespacedSecret({ name: v.secret.secretName!, namespace: ns }).catch(() => missing(`secret "${v.secret!.secretName}"`));
      return fromData(s.data, undefined, v.secret.items as { key: string; path: string }[] | undefined, true);
    }
    if (v.configMap) {
      const cm = await core.readNamespacedConfigMap({ name: v.configMap.name!, namespace: ns }).catch(() => missing(`configmap "${v.configMap!.name}"`));
      return fromData(cm.data, cm.binaryData, v.configMap.items as { key: string; path: string }[] | undefined, false);
    }
    if (v.emptyDir) return {};
    if (v.projected) {
      const out: Record<string, Buffer> = {};
      for (const src of v.projected.sources ?? []) {
        if (src.serviceAccountToken) {
          const tr = await core.createNamespacedServiceAccountToken({
            name: pod.spec?.serviceAccountName ?? 'default', namespace: ns,
            body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {
              audiences: src.serviceAccountToken.audience ? [src.serviceAccountToken.audience] : [], expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3600,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
            } },
          });
          out[src.serviceAccountToken.path] = Buffer.from(tr.status!.token);
        }
        if (src.configMap) {
          const cm = await core.readNamespacedConfigMap({ name: src.configMap.name!, namespace: ns }).catch(() => missing(`configmap "${src.configMap!.name}"`));
          Object.assign(out, fromData(cm.data, cm.binaryData, src.configMap.items as { key: string; path: string }[] | undefined, false));
        }
        if (src.secret) {
          const s = await core.readNamespacedSecret({ name: src.secret.name!, namespace: ns }).catch(() => missing(`secret "${src.secret!.name}"`));
          Object.assign(out, fromData(s.data, undefined, src.secret.items as { key: string; path: string }[] | undefined, true));
        }
        for (const item of src.downwardAPI?.items ?? []) out[item.path] = Buffer.from(fieldOf(pod, item.fieldRef?.fieldPath ?? ''));
      }
      return out;
    }
    throw new RuntimeError('CreateContainerConfigError', `volume ${v.name}: the sandbox supports secret, configMap, projected and emptyDir volumes`);
  }

  /** The container's environment: what a kubelet puts in every container, then the container's own. */
  private async environment(pod: V1Pod, c: V1Container): Promise<Record<string, string>> {
    const own = await containerEnv(this.admin.makeApiClient(CoreV1Api), pod, c).catch((e: unknown) => { throw new RuntimeError('CreateContainerConfigError', messageOf(e)); });
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: pod.metadata!.name!, HOME: '/',
      KUBERNETES_SERVICE_HOST: this.apiAddress, KUBERNETES_SERVICE_PORT: '443', KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: `tcp://${this.apiAddress}:443`,
      ...own,
    };
  }
}

function modeOf(v: V1Volume): number {
  return v.secret?.defaultMode ?? v.configMap?.defaultMode ?? v.projected?.defaultMode ?? 0o644;
}

function httpProbe(https: boolean, host: string, port: number, p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (https ? request : httpRequest)(
      { host, port, path: p, method: 'GET', timeout: 1000, rejectUnauthorized: false }, (res) => { res.resume(); resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
}
