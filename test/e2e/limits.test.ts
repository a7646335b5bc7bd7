import assert from 'node:assert/strict';
import { get as httpsGet } from 'node:https';
import { createServer as createTcpServer, connect, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { PER_GIB_SECOND, PER_VCPU_SECOND } from '../../src/sandbox/cloud/pricing.js';
import { LIMIT_STATE_REFS } from '../../src/steps/scheduling/scheduling.js';
import { startWebhookServer, type WebhookServer } from '../../src/steps/scheduling/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
type Pod = KubeObject & { spec: { nodeName?: string; tolerations?: { key?: string }[] }; status?: { phase?: string } };
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

/** Two scheduling servers behind one address, as the Service spreads the API server's calls over the replicas. */
async function roundRobin(ports: number[]): Promise<{ port: number; server: Server }> {
  let i = 0;
  const server = createTcpServer((sock) => {
    const up = connect(ports[i++ % ports.length]!, '127.0.0.1');
    sock.pipe(up).pipe(sock);
    const end = (): void => { sock.destroy(); up.destroy(); };
    sock.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

describe('burst limits (real control plane, sandbox cloud and VNode, two scheduling servers)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let lb: Server;
  const servers: WebhookServer[] = [];
  /** What the round-robin proxy sends to (a stopped server is taken out). */
  const ports: number[] = [];
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const pod = (name: string, app: string, resources?: Record<string, string>, nodeSelector?: Record<string, string>): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app } },
    spec: { automountServiceAccountToken: false, terminationGracePeriodSeconds: 0, ...(nodeSelector ? { nodeSelector } : {}), containers: [{ name: 'c', image: 'nginx', ...(resources ? { resources: { requests: resources } } : {}) }] },
  } as KubeObject);
  const get = (name: string): Promise<Pod | undefined> => admin.get<Pod>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name });
  const onVirtual = (p: Pod | undefined): boolean => (p?.spec.tolerations ?? []).some((t) => t.key === 'k8s.aliyun.com/vnode');
  const create = async (p: KubeObject): Promise<{ ok: true } | { ok: false; message: string }> => {
    try { await admin.create(p); return { ok: true }; } catch (e) { return { ok: false, message: (e as Error).message }; }
  };
  const limitList = async (): Promise<{ limits: { name: string; used: Record<string, number>; inForce: Record<string, number>; window?: string }[] }> =>
    JSON.parse((await ok(['scheduling', 'limit', 'list', '-o', 'json'])).stdout) as never;

  const metricsOf = (server: WebhookServer): Promise<string> => new Promise<string>((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port: server.port, path: '/metrics', rejectUnauthorized: false }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => { t += c.toString(); }).on('end', () => resolve(t));
    }).on('error', reject);
  });
  const ledgerWrites = async (): Promise<number> => (await Promise.all(servers.map(metricsOf))).reduce((n, t) => n + Number(/vnode_burst_ledger_writes_total (\d+)/.exec(t)?.[1] ?? NaN), 0);
  const createMany = async (prefix: string, app: string, n: number): Promise<number> => {
    let made = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < n) { const i = next++; if ((await create(pod(`${prefix}-${i}`, app))).ok) made++; }
    }));
    return made;
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 300, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'lim']);
    const cluster = (): Promise<ClusterPort> => Promise.resolve(admin);
    // the servers' certificate is the one enable makes for the address the API server calls
    const a = await roundRobin([]);
    lb = a.server;
    await ok(['scheduling', 'enable', '--mode', 'vnode', '--webhook-url', `https://127.0.0.1:${a.port}`]);
    const tls = await admin.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'vnode-scheduling-tls' });
    const cert = Buffer.from(tls!.data['tls.crt']!, 'base64').toString();
    const key = Buffer.from(tls!.data['tls.key']!, 'base64').toString();
    for (let i = 0; i < 2; i++) servers.push(await startWebhookServer({ host: '127.0.0.1', port: 0, cert, key, cluster, log: (m) => { if (process.env.DEBUG_LIMITS) console.error(`server ${i}: ${m}`); }, mode: 'vnode' }));
    lb.close();
    ports.push(...servers.map((s) => s.port));
    const b = await roundRobin(ports);
    lb = b.server;
    await ok(['scheduling', 'enable', '--mode', 'vnode', '--webhook-url', `https://127.0.0.1:${b.port}`]);
  });
  after(async () => {
    lb?.close();
    for (const s of servers) await s.close();
    await emu?.stop();
    await cp?.stop();
  });

  it('bad input exits 2 naming the value and creates nothing', async () => {
    for (const [args, re] of [
      [['--cpu', 'lots'], /invalid --cpu "lots": expected a number of vCPU/],
      [['--memory', '12 GiB'], /invalid --memory "12 GiB": expected a quantity such as 64Gi/],
      [['--pods', '1.5'], /invalid --pods "1.5": expected a whole number/],
      [['--window', 'Mon-Fri 08:00-20:00 Mars/Olympus pods=1'], /invalid --window .*time zone "Mars\/Olympus"/],
      [['--window', 'Weekdays 08:00-20:00 UTC pods=1'], /invalid --window .*days "Weekdays"/],
      [[], /sets nothing: give at least one of --cpu/],
    ] as [string[], RegExp][]) {
      const r = await vk(['scheduling', 'limit', 'set', 'bad', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal((await vk(['scheduling', 'limit', 'set', 'Bad_Name', '--pods', '1'])).code, 2);
    assert.deepEqual((await limitList()).limits, []);
  });

  it('virtual-node-only: a Deployment past a vCPU limit gets exactly the pods that fit; the rest are refused naming the limit, as ResourceQuota refuses', async () => {
    await ok(['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'web-cap', '--selector', 'web', '--cpu', '4']);
    assert.match((await vk(['scheduling', 'limit', 'set', 'web-cap', '--selector', 'web', '--cpu', '4'])).stdout, /unchanged/);
    await admin.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 6, selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '1', memory: '2Gi' } } }] } } } } as KubeObject);
    const events = await until('the ReplicaSet told why', async () => {
      const ev = await admin.list<KubeObject & { reason?: string; message?: string }>('v1', 'Event', { namespace: 'default' });
      return ev.filter((e) => e.reason === 'FailedCreate' && /exceeded burst limit web-cap/.test(e.message ?? '')).length > 0 && ev;
    }, 60_000);
    const warned = events.find((e) => e.reason === 'BurstLimitReached');
    assert.ok(warned, 'a Warning event of the server names the limit');
    assert.match(warned.message!, /requested cpu 1 vCPU, used 4 vCPU, limited 4 vCPU; raise it with `vnode scheduling limit set web-cap --cpu <more>`/);
    const pods = (await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' }));
    assert.equal(pods.length, 4, 'exactly the pods that fit');
    await until('the four running on the VNode', async () => (await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' })).filter((p) => p.status?.phase === 'Running').length === 4);
    const l = (await limitList()).limits.find((x) => x.name === 'web-cap')!;
    assert.equal(l.used.cpu, 4);
    assert.equal(l.used.pods, 4);
    // the limit raised: the controller's retry creates the rest. Its retry waits 5 ms doubled per failed sync (every pod
    // update while refused is one: 80 s seen); a change to the ReplicaSet is synced at once, as after a ResourceQuota
    // (a sync that still met a replica with the old value backs off again: nudged until it has them all)
    await ok(['scheduling', 'limit', 'set', 'web-cap', '--cpu', '6']);
    const rs = (await admin.list<KubeObject>('apps/v1', 'ReplicaSet', { namespace: 'default', labelSelector: 'app=web' }))[0]!;
    let nudges = 0;
    let nudged = 0;
    await until('six pods', async () => {
      if ((await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=web' })).length === 6) return true;
      if (Date.now() - nudged < 3000) return false;
      nudged = Date.now();
      await admin.patch({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'default', name: rs.metadata.name! }, { metadata: { annotations: { 'test/nudge': String(++nudges) } } }, 'merge');
      return false;
    }, 90_000);
    const text = (await ok(['scheduling', 'limit', 'list'])).stdout;
    assert.match(text, /web-cap\s+selector web\s+6\/6\s+-/);
  });

  it('normal-node-prefer: pods past a pod limit wait and burst in arrival order when a pod ends', async () => {
    await ok(['scheduling', 'add', 'batch', '--pod-selector', 'app=batch', '--policy', 'normal-node-prefer']);
    await ok(['scheduling', 'limit', 'set', 'batch-cap', '--selector', 'batch', '--pods', '2']);
    for (const n of ['b1', 'b2', 'b3', 'b4']) {
      // no normal node fits them (only the virtual node has the label): Unschedulable, as on a full cluster
      assert.deepEqual(await create(pod(n, 'batch', undefined, { type: 'virtual-kubelet' })), { ok: true });
      await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has seconds
    }
    await until('two burst', async () => (await Promise.all(['b1', 'b2'].map(get))).every(onVirtual), 60_000);
    await until('the held ones told why', async () => (await admin.list<KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }>('v1', 'Event', { namespace: 'default' }))
      .some((e) => e.reason === 'BurstLimitReached' && e.involvedObject?.name === 'b3' && /waits for room under the limit.*exceeded burst limit batch-cap/.test(e.message ?? '')), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(onVirtual(await get('b3')), false);
    assert.equal(onVirtual(await get('b4')), false);
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'b1' });
    await until('b3, the first to wait, bursts', async () => onVirtual(await get('b3')), 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(onVirtual(await get('b4')), false, 'b4 still waits');
    await ok(['scheduling', 'limit', 'remove', 'batch-cap']);
    assert.match((await ok(['scheduling', 'limit', 'remove', 'batch-cap'])).stdout, /not found/);
    await until('without the limit, b4 bursts', async () => onVirtual(await get('b4')), 60_000);
  });

  it('fair: over the limit, a pod is admitted for normal nodes only, with a warning', async () => {
    await ok(['scheduling', 'add', 'fairy', '--pod-selector', 'app=fairy', '--policy', 'fair']);
    await ok(['scheduling', 'limit', 'set', 'fair-cap', '--selector', 'fairy', '--pods', '1']);
    await create(pod('f1', 'fairy'));
    await create(pod('f2', 'fairy'));
    assert.equal(onVirtual(await get('f1')), true);
    assert.equal(onVirtual(await get('f2')), false);
  });

  it('spend per hour, priced from the emulator\'s DescribeContainerGroupPrice; the estimate agrees with vnode cost', async () => {
    const hourly = (2 * PER_VCPU_SECOND + 4 * PER_GIB_SECOND) * 3600;
    await ok(['scheduling', 'add', 'spend', '--pod-selector', 'app=spend', '--policy', 'virtual-node-only']);
    const set = await ok(['scheduling', 'limit', 'set', 'spend-cap', '--selector', 'spend', '--max-hourly', String(Math.round(hourly * 2.5 * 1000) / 1000)]);
    assert.match(set.stdout, /ECI prices fetched into kube-system\/vnode-eci-prices/);
    // no resources: ECI's default 2 vCPU / 4 GiB
    assert.deepEqual(await create(pod('s1', 'spend')), { ok: true });
    assert.deepEqual(await create(pod('s2', 'spend')), { ok: true });
    const third = await create(pod('s3', 'spend'));
    assert.equal(third.ok, false);
    assert.match((third as { message: string }).message, /exceeded burst limit spend-cap .*requested spend 0\.441 CNY\/h, used 0\.882 CNY\/h/);
    await until('both running', async () => (await Promise.all(['s1', 's2'].map(get))).every((p) => p?.status?.phase === 'Running'), 60_000);
    const est = (await limitList()).limits.find((x) => x.name === 'spend-cap')!.used.maxHourly;
    const cost = JSON.parse((await ok(['cost', '--selector', 'app=spend', '-o', 'json'])).stdout) as { total: { perHour: number } };
    assert.ok(Math.abs(est - cost.total.perHour) / cost.total.perHour < 0.05, `estimate ${est} vs cost ${cost.total.perHour}`);
  });

  it('a time window switches the limit', async () => {
    await ok(['scheduling', 'add', 'win', '--pod-selector', 'app=win', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'win-cap', '--selector', 'win', '--pods', '0', '--window', '* 00:00-24:00 UTC pods=1']);
    assert.equal((await limitList()).limits.find((x) => x.name === 'win-cap')!.window, '* 00:00-24:00 UTC pods=1');
    assert.deepEqual(await create(pod('w1', 'win')), { ok: true });
    assert.equal((await create(pod('w2', 'win'))).ok, false);
    // a window not in force now (yesterday's weekday only): the base limit of 0 holds even the one that fit before
    const yesterday = new Date(Date.now() - 86_400_000).toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' });
    await ok(['scheduling', 'limit', 'set', 'win-cap', '--pods', '2', '--window', `${yesterday} 00:00-24:00 UTC pods=0`]);
    assert.equal((await limitList()).limits.find((x) => x.name === 'win-cap')!.window, undefined);
    assert.deepEqual(await create(pod('w3', 'win')), { ok: true });
  });

  it('far from a limit the servers admit from grants (a few writes, not one per pod); lowered near the usage, it holds exactly', async () => {
    await ok(['scheduling', 'add', 'many', '--pod-selector', 'app=many', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'many-cap', '--selector', 'many', '--pods', '1000']);
    const before = await ledgerWrites();
    assert.equal(await createMany('k', 'many', 300), 300);
    const writes = await ledgerWrites() - before;
    assert.ok(writes <= 30, `${writes} ledger writes for 300 pods`);
    await ok(['scheduling', 'limit', 'set', 'many-cap', '--pods', '310']);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await createMany('l', 'many', 50), 10);
    assert.equal((await limitList()).limits.find((x) => x.name === 'many-cap')!.used.pods, 310);
  });

  it('500 pods created at once against a limit that fits 100, through two servers: exactly 100', async () => {
    await ok(['scheduling', 'add', 'mass', '--pod-selector', 'app=mass', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'mass-cap', '--selector', 'mass', '--pods', '100']);
    const results: boolean[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < 500) { const i = next++; results.push((await create(pod(`m-${i}`, 'mass'))).ok); }
    }));
    assert.equal(results.filter(Boolean).length, 100);
    assert.equal((await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=mass' })).length, 100);
    const l = (await limitList()).limits.find((x) => x.name === 'mass-cap')!;
    assert.equal(l.used.pods, 100);
    // both: the counting replica from its own view, the other from the count it publishes (live grants included)
    for (const server of servers) {
      const metrics = await metricsOf(server);
      assert.match(metrics, /vnode_burst_limit\{limit="mass-cap",resource="pods"\} 100/);
      assert.match(metrics, /vnode_burst_usage\{limit="mass-cap",resource="pods"\} 100/);
    }
    const doctor = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; status: string; message: string }[] };
    const mass = doctor.checks.find((c) => c.check === 'burst-limit' && c.target === 'mass-cap');
    assert.equal(mass?.status, 'WARN');
    assert.match(mass!.message, /100% used/);
    // a pod put on the virtual node by its own nodeSelector and toleration (not by vnode) is counted once seen there
    await ok(['scheduling', 'limit', 'set', 'everything', '--pods', '100000']);
    const mine = pod('own', 'own', undefined, { type: 'virtual-kubelet' }) as KubeObject & { spec: Record<string, unknown> };
    await admin.create({ ...mine, spec: { ...mine.spec, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }] } } as KubeObject);
    const own = await until('the pod of its own on the VNode charged', async () => { const p = await get('own'); return p?.spec.nodeName && p.metadata.labels?.['vnode.dev/charge'] ? p : undefined; }, 30_000);
    assert.equal(own.metadata.labels?.['vnode.dev/charge'], own.metadata.uid);
    assert.ok((await limitList()).limits.find((x) => x.name === 'everything')!.used.pods >= 1);
    for (const args of [['scheduling', 'status'], ['status'], ['cost']]) assert.match((await ok(args)).stdout, /mass-cap\s+selector mass\s+-\s+-\s+100\/100/, args.join(' '));
    const asJson = JSON.parse((await ok(['cost', '-o', 'json'])).stdout) as { burstLimits: { limits: { name: string; used: { pods: number } }[] } };
    assert.equal(asJson.burstLimits.limits.find((x) => x.name === 'mass-cap')?.used.pods, 100);
  });

  it('pods admitted towards ECI and never bound still count once the grant that admitted them has lapsed (listed, not watched)', async () => {
    await ok(['scheduling', 'add', 'idle', '--pod-selector', 'app=idle', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'idle-cap', '--selector', 'idle', '--pods', '8']);
    // no scheduler takes these: they stay unbound, so only the counting replica's list of unbound charged pods sees them
    const idle = (name: string): KubeObject => {
      const p = pod(name, 'idle') as KubeObject & { spec: Record<string, unknown> };
      return { ...p, spec: { ...p.spec, schedulerName: 'nobody' } } as KubeObject;
    };
    for (let i = 0; i < 5; i++) assert.deepEqual(await create(idle(`idle-a${i}`)), { ok: true });
    // past GRANT_TTL_MS (60 s): the grant no longer counts them, the list made at 45 s does
    await new Promise((r) => setTimeout(r, 65_000));
    let made = 0;
    for (let i = 0; i < 5; i++) if ((await create(idle(`idle-b${i}`))).ok) made++;
    assert.equal(made, 3, 'the 5 unbound pods still count: 3 more fit under 8');
    assert.equal((await limitList()).limits.find((l) => l.name === 'idle-cap')?.used.pods, 8);
  });

  it('one replica counts the charged pods for both; when it stops, the other takes over and the count stays exact', async () => {
    const counting = async (): Promise<boolean[]> => Promise.all(servers.map(async (s) => ports.includes(s.port) && /^vnode_burst_counting 1$/m.test(await metricsOf(s))));
    const now = await counting();
    assert.equal(now.filter(Boolean).length, 1, 'exactly one replica counts');
    await ok(['scheduling', 'add', 'hand', '--pod-selector', 'app=hand', '--policy', 'virtual-node-only']);
    await ok(['scheduling', 'limit', 'set', 'hand-cap', '--selector', 'hand', '--pods', '10']);
    assert.equal(await createMany('h1', 'hand', 6), 6);
    // the counting replica stops (a rolling update): it hands the Lease over, the other counts from then on
    const i = now.indexOf(true);
    ports.splice(ports.indexOf(servers[i]!.port), 1);
    await servers[i]!.close();
    await until('the other replica counting', async () => (await counting()).filter(Boolean).length === 1, 30_000);
    assert.equal(await createMany('h2', 'hand', 10), 4, 'the 6 already there count: 4 more fit');
    assert.equal((await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=hand' })).length, 10);
    // no server left and no count: doctor says the limited pods are held back, and why
    for (const s of servers) if (ports.includes(s.port)) await s.close();
    ports.length = 0;
    await admin.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-burst-usage' });
    const doctor = await vk(['doctor', '-o', 'json']);
    assert.equal(doctor.code, 1, doctor.stderr);
    const check = (JSON.parse(doctor.stdout) as { checks: { check: string; target: string; status: string; message: string }[] }).checks
      .find((c) => c.check === 'burst-limit' && c.target === 'kube-system/vnode-burst-usage');
    assert.equal(check?.status, 'FAIL');
    assert.match(check!.message, /no count of the charged pods was published \(Lease vnode-burst-accountant: not held\): pods of limited scopes are held back from ECI/);
  });

  it('disable removes the limits\' working state once no server pod is left to write it again, and keeps the limits', async () => {
    const state = async (): Promise<string[]> => (await Promise.all(LIMIT_STATE_REFS.map(async (r) => ((await admin.get(r)) ? r.name : '')))).filter(Boolean);
    await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vnode-burst-usage', namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'vnode' } }, data: {} } as KubeObject);
    assert.deepEqual(await state(), ['vnode-burst-accountant', 'vnode-burst-ledger', 'vnode-burst-usage']);
    // a server pod still stopping (never scheduled here): disable waits for it before it deletes what that pod could write again
    const stopping = { apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system', name: 'vnode-scheduling-stopping' };
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: stopping.name, namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'vnode-scheduling' } },
      spec: { schedulerName: 'nobody', containers: [{ name: 'c', image: 'nginx' }] } } as KubeObject);
    const disabled = ok(['scheduling', 'disable']);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await state()).length, 3, 'kept while a server pod exists');
    await admin.deletePod('kube-system', stopping.name, 0);
    const r = await disabled;
    for (const o of ['Lease kube-system/vnode-burst-accountant', 'ConfigMap kube-system/vnode-burst-ledger', 'ConfigMap kube-system/vnode-burst-usage']) assert.match(r.stdout, new RegExp(`^${o} deleted$`, 'm'));
    assert.match(r.stdout, /^\d+ burst limits \(.*hand-cap.*\) kept \(they apply again on `vnode scheduling enable`/m);
    assert.deepEqual(await state(), []);
    assert.ok((await admin.list('v1', 'ConfigMap', { namespace: 'kube-system', labelSelector: 'vnode.dev/burst-limit' })).length > 0, 'the limits stay');
    assert.doesNotMatch((await ok(['scheduling', 'disable'])).stdout, /deleted/, 'a re-run has nothing left to delete');
  });
});
