/**
 * Scheduling benchmarks, against the sandbox's real API server and scheduler, with vnode's server running from its
 * ConfigMap on the worker node and called through its Service:
 * - admission: 200 labelled pods created as fast as the API server takes them, with and without the webhook. The
 *   webhook's latency is the API server's own measure (apiserver_admission_webhook_admission_duration_seconds, its
 *   histogram interpolated as Prometheus' histogram_quantile does; the mean is exact). Target: p99 < 20 ms, and
 *   creation no more than 10% slower than without the webhook.
 * - burst: 100 pods of a normal-node-prefer selector on a full worker, from the moment the scheduler marks each
 *   Unschedulable to the moment it is bound to the virtual node (as a watch sees them). Target: median < 2 s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { connectCluster } from '../src/cluster/kube.js';
import { generateWebhookCerts } from '../src/steps/scheduling/certs.js';
import { DEFAULT_IMAGE } from '../src/steps/scheduling/webhook.js';
import type { ClusterPort, KubeObject } from '../src/cluster/port.js';

type Run = (args: string[], env: NodeJS.ProcessEnv) => Promise<{ code: number; stderr: string }>;
// the entry the benchmark's pods match: their own label
const WEBHOOK = 'pod-label.scheduling.vnode.dev';
const NOOP_MWC = { name: 'bench-noop', webhook: 'noop.bench.vnode.dev', namespace: 'kube-system' };

/**
 * The reference: a webhook that decides nothing (a fixed patch, what vnode adds to these pods) on the same image,
 * behind a Service, with TLS and keep-alive like vnode's server. What it costs is the price of any webhook here.
 */
const NOOP_SERVER = `const https = require('node:https'), fs = require('node:fs');
const patch = Buffer.from(JSON.stringify([
  { op: 'add', path: '/spec/nodeSelector', value: { 'k8s.aliyun.com/vnode': 'true' } },
  { op: 'add', path: '/spec/tolerations/-', value: { key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' } },
  { op: 'add', path: '/metadata/annotations', value: { 'vnode.dev/scheduling': 'vnode' } },
])).toString('base64');
https.createServer({ cert: fs.readFileSync('/opt/noop/tls/tls.crt'), key: fs.readFileSync('/opt/noop/tls/tls.key'), keepAliveTimeout: 120000 }, (q, s) => {
  if (q.method === 'GET') { s.writeHead(200).end('ok'); return; }
  const c = []; q.on('data', (d) => c.push(d));
  q.on('end', () => {
    const r = JSON.parse(Buffer.concat(c).toString());
    s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: r.apiVersion, kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: true, patchType: 'JSONPatch', patch } }));
  });
}).listen(8443);`;

/** An object as read, made fit to create again. */
function fresh(o: KubeObject): KubeObject {
  const meta = { ...o.metadata } as Record<string, unknown>;
  for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation']) delete meta[k];
  return { ...o, metadata: meta } as KubeObject;
}

/** The no-op webhook's Secret, Deployment (2 replicas on the worker) and Service; returns its configuration, not yet applied. */
async function deployNoop(admin: ClusterPort): Promise<KubeObject> {
  const ns = NOOP_MWC.namespace;
  const certs = await generateWebhookCerts([`${NOOP_MWC.name}.${ns}.svc`]);
  const b64 = (x: string): string => Buffer.from(x).toString('base64');
  const app = { app: NOOP_MWC.name };
  await admin.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: NOOP_MWC.name, namespace: ns }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(certs.certPem), 'tls.key': b64(certs.keyPem) } } as KubeObject);
  await admin.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NOOP_MWC.name, namespace: ns },
    spec: {
      replicas: 2, selector: { matchLabels: app },
      template: {
        metadata: { labels: app },
        spec: {
          securityContext: { runAsUser: 65532, runAsGroup: 65532 },
          containers: [{
            name: 'server', image: DEFAULT_IMAGE, command: ['node', '-e', NOOP_SERVER],
            readinessProbe: { httpGet: { path: '/healthz', port: 8443, scheme: 'HTTPS' }, periodSeconds: 5 },
            volumeMounts: [{ name: 'tls', mountPath: '/opt/noop/tls', readOnly: true }],
          }],
          volumes: [{ name: 'tls', secret: { secretName: NOOP_MWC.name } }],
        },
      },
    },
  } as KubeObject);
  await admin.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: NOOP_MWC.name, namespace: ns }, spec: { selector: app, ports: [{ port: 443, targetPort: 8443 }] } } as KubeObject);
  await admin.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: NOOP_MWC.name },
    (d) => Number((d?.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0) >= 2, { timeoutMs: 120_000, signal: new AbortController().signal });
  return {
    apiVersion: MWC.apiVersion, kind: MWC.kind, metadata: { name: NOOP_MWC.name },
    webhooks: [{
      name: NOOP_MWC.webhook, clientConfig: { service: { name: NOOP_MWC.name, namespace: ns, path: '/mutate', port: 443 }, caBundle: b64(certs.caPem) },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      failurePolicy: 'Ignore', matchPolicy: 'Equivalent', namespaceSelector: {},
      objectSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [NOOP_MWC.name] }] },
      sideEffects: 'None', timeoutSeconds: 5, admissionReviewVersions: ['v1', 'v1beta1'],
    }],
  } as KubeObject;
}
const MWC = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'vnode-scheduling' };

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

/** The API server's metrics text, with the admin's client certificate. */
function metrics(kc: KubeConfig): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts: Record<string, unknown> = {};
    void kc.applyToHTTPSOptions(opts).then(() => {
      const url = new URL('/metrics', kc.getCurrentCluster()!.server);
      get({ ...opts, host: url.hostname, port: url.port, path: url.pathname }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    }, reject);
  });
}

/** The scheduling server's own histogram, summed over its pods (reached at their IPs, as the sandbox routes them). */
async function serverMetrics(admin: ClusterPort): Promise<string> {
  const pods = await admin.list<KubeObject & { status: { podIP?: string } }>('v1', 'Pod', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=vnode-scheduling' });
  const texts = await Promise.all(pods.filter((p) => p.status.podIP).map((p) => new Promise<string>((resolve, reject) => {
    get({ host: p.status.podIP, port: 8443, path: '/metrics', rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  })));
  return texts.join('\n');
}

/** Cumulative bucket counts of a histogram (seconds -> count): the API server's for one webhook, or (no name) all lines of a metric. */
function webhookBuckets(text: string, webhook: string | undefined, metric = 'apiserver_admission_webhook_admission_duration_seconds'): Hist {
  const match = (l: string): boolean => webhook === undefined || (l.includes(`name="${webhook}"`) && l.includes('operation="CREATE"'));
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || !match(line)) continue;
    const v = Number(line.split(' ').pop());
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (line.includes('_bucket') && le) buckets.set(le === '+Inf' ? Infinity : Number(le), (buckets.get(le === '+Inf' ? Infinity : Number(le)) ?? 0) + v);
    else if (line.includes('_sum')) sum += v;
    else if (line.includes('_count')) count += v;
  }
  return { buckets, sum, count };
}

interface Hist { buckets: Map<number, number>; sum: number; count: number }

function addDelta(into: Hist, before: Hist, after: Hist): void {
  for (const [le, v] of after.buckets) into.buckets.set(le, (into.buckets.get(le) ?? 0) + v - (before.buckets.get(le) ?? 0));
  into.sum += after.sum - before.sum;
  into.count += after.count - before.count;
}

/** histogram_quantile, as Prometheus interpolates within a bucket. */
function histogramQuantile(buckets: Map<number, number>, q: number): number {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => buckets.get(le) ?? 0);
  const total = cum[cum.length - 1] ?? 0;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i]! >= rank) {
      if (les[i] === Infinity) return les[i - 1] ?? 0;
      const lo = i === 0 ? 0 : les[i - 1]!;
      const below = i === 0 ? 0 : cum[i - 1]!;
      return lo + (les[i]! - lo) * ((rank - below) / Math.max(1, cum[i]! - below));
    }
  }
  return NaN;
}

/** Creates n pods, `concurrency` at a time; the latency of each create call. */
/** CPU seconds (user + system) used so far by the processes whose command line matches, from /proc. */
function cpuSeconds(match: (cmdline: string) => boolean): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!match(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '))) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch { /* gone */ }
  }
  return total;
}

const GROUPS: [string, (c: string) => boolean][] = [
  ['kube-apiserver', (c) => c.includes('kube-apiserver ')], ['etcd', (c) => /\betcd --data-dir/.test(c)],
  ['scheduling server', (c) => c.includes('loader.cjs serve')], ['no-op webhook', (c) => c.includes('const https = require')], ['this benchmark (client, sandbox cloud)', (c) => c.includes('bench/run.ts')],
];

/** Creates in flight: 8 already reach the API server's top rate here (more only queue); BENCH_ADMISSION_CONCURRENCY to change. */
const CONCURRENCY = Number(process.env.BENCH_ADMISSION_CONCURRENCY ?? 8);

async function createPods(admin: ClusterPort, namespace: string, n: number, labels: Record<string, string>, spec: Record<string, unknown>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, namespace, labels }, spec } as KubeObject);
      latencies.push(performance.now() - t);
    }
  }));
  return { latencies, wallMs: performance.now() - t0 };
}

function cpuCount(): number {
  return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
}

/** A new namespace takes pods once its default ServiceAccount is ready (before 1.24, with its token Secret). */
async function namespace(admin: ClusterPort, name: string): Promise<void> {
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (let i = 0; ; i++) {
    try {
      await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ready', namespace: name }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } } as KubeObject, { dryRun: true });
      return;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function schedulingBench(kubeconfig: string, env: NodeJS.ProcessEnv, run: Run, work: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const admin = await connectCluster({ kubeconfig, context: undefined }, { env: {}, cwd: work });
  const must = async (args: string[]): Promise<void> => {
    const r = await run(args, env);
    if (r.code !== 0) throw new Error(`vnode ${args.join(' ')} failed: ${r.stderr}`);
  };
  await must(['install', '--vswitch', 'vsw-bp1sandboxzoneh00001', '--security-group', 'sg-bp1sandboxkubelet0001', '--name', 'bench-sched']);
  await must(['scheduling', 'enable']);

  // admission: no scheduler takes these pods (schedulerName), so creation is all that is measured
  const PODS = 200;
  const spec = { schedulerName: 'bench-nobody', containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] };
  const labels = { 'alibabacloud.com/eci': 'true' };
  const mwc = await admin.get<KubeObject>(MWC);
  const noop = await deployNoop(admin);
  const conds = ['without', 'noop', 'vnode'] as const;
  type Cond = typeof conds[number];
  const empty = (): Hist => ({ buckets: new Map(), sum: 0, count: 0 });
  const res = Object.fromEntries(conds.map((c) => [c, { lat: [] as number[], wall: 0, cpu: GROUPS.map(() => 0), api: empty(), server: empty() }])) as Record<Cond, { lat: number[]; wall: number; cpu: number[]; api: Hist; server: Hist }>;
  const use = async (c: Cond): Promise<void> => {
    const want = { [MWC.name]: c === 'vnode' ? mwc! : undefined, [NOOP_MWC.name]: c === 'noop' ? noop : undefined };
    for (const [name, obj] of Object.entries(want)) {
      const ref = { ...MWC, name };
      const live = await admin.get(ref);
      if (live && !obj) await admin.delete(ref);
      if (!live && obj) await admin.create(fresh(obj));
    }
    // the API server's view of webhook configurations follows within a moment
    await new Promise((r) => setTimeout(r, 1500));
  };
  const SERVER = 'vnode_scheduling_admission_duration_seconds';
  for (let round = 0; round < 2; round++) {
    // alternate the order, so warm-up and drift weigh on all alike
    for (const c of round === 0 ? conds : [...conds].reverse()) {
      const ns = `bench-${round}-${c}`;
      await namespace(admin, ns);
      await use(c);
      const hook = c === 'noop' ? NOOP_MWC.webhook : WEBHOOK;
      const api0 = webhookBuckets(await metrics(kc), hook);
      const server0 = webhookBuckets(await serverMetrics(admin), undefined, SERVER);
      const cpu0 = GROUPS.map(([, m]) => cpuSeconds(m));
      const r = await createPods(admin, ns, PODS, labels, spec);
      GROUPS.forEach(([, m], i) => { res[c].cpu[i]! += cpuSeconds(m) - cpu0[i]!; });
      addDelta(res[c].api, api0, webhookBuckets(await metrics(kc), hook));
      addDelta(res[c].server, server0, webhookBuckets(await serverMetrics(admin), undefined, SERVER));
      res[c].lat.push(...r.latencies);
      res[c].wall += r.wallMs;
      if (c !== 'without') {
        const sample = await admin.get<KubeObject & { spec: { nodeSelector?: Record<string, string> } }>({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'p-0' });
        if (sample?.spec.nodeSelector?.['k8s.aliyun.com/vnode'] !== 'true') throw new Error(`the ${c} webhook did not mutate the benchmark pods`);
      }
    }
  }
  await use('vnode');
  const ms = (h: Hist, q: number): number => histogramQuantile(h.buckets, q) * 1000;
  const mean = (h: Hist): number => (h.sum / Math.max(1, h.count)) * 1000;
  const v = res.vnode;
  const p99 = ms(v.api, 0.99);
  console.log(`admission (${PODS} labelled pods x 2 rounds per case, ${CONCURRENCY} creates in flight; cases: no webhook, a no-op webhook (same image, Service, TLS; a fixed patch), vnode's)`);
  console.log(`  API server     vnode p50 ${ms(v.api, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, mean ${mean(v.api).toFixed(2)} ms; no-op p50 ${ms(res.noop.api, 0.5).toFixed(1)} ms, p99 ${ms(res.noop.api, 0.99).toFixed(1)} ms, mean ${mean(res.noop.api).toFixed(2)} ms ` +
    `(the call as the API server times it; its buckets ${[...v.api.buckets.keys()].filter((k) => k !== Infinity).map((k) => k * 1000).join('/')} ms)  (target p99 < 20: ${p99 < 20 ? 'met' : 'NOT met'})`);
  console.log(`  server         p50 ${ms(v.server, 0.5).toFixed(2)} ms, p99 ${ms(v.server, 0.99).toFixed(2)} ms, mean ${mean(v.server).toFixed(2)} ms: vnode's own handling, ${v.server.count} reviews`);
  for (const c of conds) {
    console.log(`  create, ${c.padEnd(8)}p50 ${quantile(res[c].lat, 0.5).toFixed(1)} ms, p99 ${quantile(res[c].lat, 0.99).toFixed(1)} ms, ${((2 * PODS) / (res[c].wall / 1000)).toFixed(0)} pods/s; ` +
      `CPU ms per pod: ${GROUPS.map(([n], i) => `${n} ${((res[c].cpu[i]! / (2 * PODS)) * 1000).toFixed(2)}`).join(', ')}`);
  }
  const slower = (a: number, b: number): number => (a / b - 1) * 100;
  const pct = (x: number): string => `${x.toFixed(1)}%`;
  const vs = (c: Cond): number[] => [slower(quantile(v.lat, 0.5), quantile(res[c].lat, 0.5)), slower(quantile(v.lat, 0.99), quantile(res[c].lat, 0.99)), slower(v.wall, res[c].wall)];
  const [a50, a99, aTot] = vs('without');
  const [n50, n99, nTot] = vs('noop');
  console.log(`  vnode slower   than no webhook: p50 ${pct(a50)}, p99 ${pct(a99)}, total ${pct(aTot)}  (target <= 10%: ${Math.max(a50, a99, aTot) <= 10 ? 'met' : 'NOT met'}); ` +
    `than the no-op webhook: p50 ${pct(n50)}, p99 ${pct(n99)}, total ${pct(nTot)} (${cpuCount()} CPUs shared by all)`);

  // burst: fill the worker, then 100 pods of a normal-node-prefer selector
  await must(['scheduling', 'add', 'bench-burst', '--pod-selector', 'app=bench-burst', '--policy', 'normal-node-prefer']);
  await namespace(admin, 'bench-burst');
  const filler = { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '900m' } } }] };
  for (let i = 0; i < 4; i++) await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `filler-${i}`, namespace: 'bench-burst' }, spec: filler } as KubeObject);
  // the server sees the new Selector by its watch: probes (which no scheduler takes) until one is marked
  for (let i = 0; ; i++) {
    const p = await admin.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `probe-${i}`, namespace: 'bench-burst', labels: { app: 'bench-burst' } }, spec: { schedulerName: 'bench-nobody', containers: filler.containers } } as KubeObject);
    if (p.metadata.labels?.['vnode.dev/burst'] === 'pending') break;
    if (i > 100) throw new Error('the burst selector never took effect');
    await new Promise((r) => setTimeout(r, 100));
  }
  const BURST = 100;
  const seen = new Map<string, { unschedulable?: number; bound?: number }>();
  const abort = new AbortController();
  const vnodes = new Set((await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' })).map((n) => n.metadata.name));
  type P = KubeObject & { spec: { nodeName?: string; schedulerName?: string }; status?: { conditions?: { type: string; status: string; reason?: string }[] } };
  const watching = admin.watchList<P>('v1', 'Pod', { namespace: 'bench-burst', labelSelector: 'app=bench-burst' }, (type, p) => {
    if (type === 'DELETED' || p.spec.schedulerName === 'bench-nobody') return;
    const s = seen.get(p.metadata.name!) ?? {};
    const now = performance.now();
    if (s.unschedulable === undefined && p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')) s.unschedulable = now;
    if (s.bound === undefined && p.spec.nodeName && vnodes.has(p.spec.nodeName)) s.bound = now;
    seen.set(p.metadata.name!, s);
  }, abort.signal).catch(() => undefined);
  const big = { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '1' } } }] };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `b-${i}`, namespace: 'bench-burst', labels: { app: 'bench-burst' } }, spec: big } as KubeObject)));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && [...seen.values()].filter((s) => s.bound !== undefined).length < BURST) await new Promise((r) => setTimeout(r, 100));
  const allBound = performance.now() - t0;
  abort.abort();
  await watching;
  const waits = [...seen.values()].filter((s) => s.bound !== undefined && s.unschedulable !== undefined).map((s) => s.bound! - s.unschedulable!);
  const bound = [...seen.values()].filter((s) => s.bound !== undefined).length;
  const med = quantile(waits, 0.5);
  console.log(`burst (${BURST} pods of a normal-node-prefer selector, worker full; Unschedulable -> bound to the virtual node, as a watch sees it)`);
  console.log(`  bound          ${bound}/${BURST} on the virtual node, all within ${(allBound / 1000).toFixed(1)} s of the first create`);
  console.log(`  latency        median ${(med / 1000).toFixed(2)} s, p90 ${(quantile(waits, 0.9) / 1000).toFixed(2)} s, max ${(Math.max(...waits) / 1000).toFixed(2)} s  (target median < 2 s: ${med < 2000 ? 'met' : 'NOT met'})`);
}
