/**
 * Benchmarks, printed with the reference measured on the same machine in the same run.
 * 1. startup: median wall time of `vnode --help` vs `node -e 0` (target ratio <= 1.3), for the npm build on this machine's
 *    Node.js and for the single executable against the Node.js it is made of.
 * 2. install: wall time of `vnode install` minus the emulator's ready delay (target <= 1.5 s), and its API requests.
 * 4. scheduling (bench/scheduling.ts): admission cost of the webhook against no webhook and a no-op one (interleaved
 *    rounds: time and CPU per pod, median of the ratios), and burst latency of normal-node-prefer (median < 2 s, p90 < 3 s).
 * 5. cost (bench/cost.ts): `vnode cost` over 3000 instances tied to 3000 pods of 30 workloads (spot and economy among them): wall time and ECI calls against the documented floor.
 * 3. drain: one virtual node with 3000 running pods drained by `vnode drain` and, on an identical node, by
 *    `kubectl drain --ignore-daemonsets --delete-emptydir-data --force` (target: >= 5x faster, peak RSS <= 150 MB, no pod lost).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { connectCluster } from '../src/cluster/kube.js';
import type { KubeObject } from '../src/cluster/port.js';
import { startSandboxCloud } from '../src/sandbox/cloud-sandbox.js';
import { startControlPlane } from '../src/sandbox/controlplane.js';
import { costBench } from './cost.js';
import { median, schedulingBench } from './scheduling.js';

const root = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

function wall(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Median wall times of a command and of a reference, interleaved (after one warm-up of each) so drift affects both alike. */
function startup(cmd: string[], ref: string[]): { ms: number; refMs: number; ratio: number; spread: [number, number] } {
  wall(cmd[0]!, cmd.slice(1));
  wall(ref[0]!, ref.slice(1));
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(wall(cmd[0]!, cmd.slice(1)));
    b.push(wall(ref[0]!, ref.slice(1)));
  }
  // the spread of the pairwise ratios: the middle half of them
  const pairs = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
  const ms = median(a);
  const refMs = median(b);
  return { ms, refMs, ratio: ms / refMs, spread: [pairs[Math.floor(pairs.length / 4)]!, pairs[Math.floor((3 * pairs.length) / 4)]!] };
}

/** The single executable (built by `npm run build:exe` when missing) and the Node.js it is made of. */
function executable(): { exe: string; node: string; version: string } | undefined {
  if (process.env.BENCH_SKIP_EXE) return undefined;
  const exe = path.join(root, 'dist/exe/vnode-linux-x64');
  const src = readFileSync(path.join(root, 'scripts/build-exe.mjs'), 'utf8');
  const version = /EXE_NODE_VERSION = '([^']+)'/.exec(src)?.[1] ?? '';
  const node = path.join(process.env.VNODE_CACHE_DIR || path.join(homedir(), '.cache', 'vnode'), 'node-dist', `${version}-linux-x64`, 'node');
  if (!existsSync(exe) || !existsSync(node)) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/build-exe.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error('npm run build:exe failed');
  }
  return { exe, node, version };
}

/** Runs a command; wall time, and peak RSS from /proc (VmHWM, read until it exits). */
function runTimed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; ms: number; stdout: string; stderr: string; peakRssMb: number }> {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    let stderr = '';
    let peak = 0;
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch { /* exited */ }
    };
    const timer = setInterval(sample, 50);
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); sample(); });
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code: code ?? 1, ms: Number(process.hrtime.bigint() - t) / 1e6, stdout, stderr, peakRssMb: peak });
    });
  });
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; ms: number; stdout: string; stderr: string; peakRssMb: number }> {
  return runTimed(process.execPath, [path.join(root, 'bin/vnode.js'), ...args], env);
}

function newestKubectl(): { path: string; version: string } | undefined {
  for (const candidate of ['kubectl', '/usr/bin/kubectl', '/usr/local/bin/kubectl']) {
    const r = spawnSync(candidate, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    if (r.status === 0) {
      const v = (JSON.parse(r.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? '?';
      return { path: candidate, version: v };
    }
  }
  return undefined;
}

async function drainBench(): Promise<void> {
  const PODS = Number(process.env.BENCH_DRAIN_PODS ?? 3000);
  const kubectl = process.env.BENCH_SKIP_KUBECTL ? undefined : newestKubectl();
  const work = mkdtempSync(path.join(tmpdir(), 'vnode-bench-drain-'));
  const cp = await startControlPlane({ dir: path.join(work, 'cp') });
  const cloud = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
  try {
    const env = { ...process.env, ...cloud.env(), KUBECONFIG: cp.kubeconfig, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' };
    const admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: work });
    const names = kubectl ? ['bench-vnode', 'bench-kubectl'] : ['bench-vnode'];
    for (const name of names) {
      const r = await runCli(['install', '--vswitch', 'vsw-bp1sandboxzoneh00001', '--security-group', 'sg-bp1sandboxkubelet0001', '--name', name], env);
      if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`);
      await admin.create({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
        spec: {
          replicas: PODS, selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'c', image: 'nginx' }], nodeSelector: { 'vnode.dev/name': name }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }] },
          },
        },
      });
    }
    const setup = Date.now();
    for (const name of names) {
      await admin.waitFor<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name },
        (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === PODS, { timeoutMs: 20 * 60_000, signal: new AbortController().signal });
    }
    const nodeOf = async (name: string): Promise<string> =>
      (await admin.list<KubeObject>('v1', 'Node', { labelSelector: `vnode.dev/name=${name}` }))[0]!.metadata.name!;
    const alive = async (name: string): Promise<number> =>
      (await admin.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: `app=${name}` })).filter((p) => !p.metadata.deletionTimestamp).length;
    console.log(`drain (${PODS} running pods per virtual node; ${names.length * PODS} pods set up in ${((Date.now() - setup) / 1000).toFixed(0)} s)`);

    const v = await runCli(['drain', await nodeOf('bench-vnode'), '--timeout', '0', '-o', 'json', ...(process.env.BENCH_PARALLEL ? ['--parallel', process.env.BENCH_PARALLEL] : [])],
      { ...env, ...(process.env.BENCH_VNODE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_VNODE_NODE_OPTIONS } : {}) });
    if (v.code !== 0) throw new Error(`vnode drain failed: ${v.stderr}`);
    const vLost = PODS - (await alive('bench-vnode'));
    console.log(`  vnode drain    ${(v.ms / 1000).toFixed(1)} s, peak RSS ${v.peakRssMb.toFixed(0)} MB (target <= 150: ${v.peakRssMb <= 150 ? 'met' : 'NOT met'}), pods lost ${vLost}`);
    if (!kubectl) {
      console.log(process.env.BENCH_SKIP_KUBECTL
        ? '  kubectl drain  not run: BENCH_SKIP_KUBECTL is set'
        : '  kubectl drain  not run: no kubectl on this machine (install Debian\'s kubernetes-client to compare)');
      return;
    }
    const k = await runTimed(kubectl.path, ['--kubeconfig', cp.kubeconfig, 'drain', await nodeOf('bench-kubectl'), '--ignore-daemonsets', '--delete-emptydir-data', '--force'], env);
    if (k.code !== 0) throw new Error(`kubectl drain failed: ${k.stderr.slice(-500)}`);
    const kLost = PODS - (await alive('bench-kubectl'));
    console.log(`  kubectl drain  ${(k.ms / 1000).toFixed(1)} s (kubectl ${kubectl.version}), peak RSS ${k.peakRssMb.toFixed(0)} MB, pods lost ${kLost}`);
    const ratio = k.ms / v.ms;
    console.log(`  ratio          vnode ${ratio.toFixed(1)}x faster (target >= 5x: ${ratio >= 5 ? 'met' : 'NOT met'})`);
  } finally {
    await cloud.stop();
    await cp.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function installBench(): Promise<void> {
  const READY_DELAY_MS = 2000;
  const work = mkdtempSync(path.join(tmpdir(), 'vnode-bench-'));
  const cp = await startControlPlane({ dir: path.join(work, 'cp') });
  const cloud = await startSandboxCloud({ readyDelayMs: READY_DELAY_MS, adminKubeconfig: cp.kubeconfig });
  try {
    const env = { ...process.env, ...cloud.env(), KUBECONFIG: cp.kubeconfig, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' };
    const overheads: number[] = [];
    let k8s = 0;
    let eci = 0;
    for (let i = 0; i < 3; i++) {
      const before = [...cloud.stats.values()].reduce((a, b) => a + b, 0);
      const r = await runCli(['install', '-v', '--vswitch', 'vsw-bp1sandboxzoneh00001', '--security-group', 'sg-bp1sandboxkubelet0001', '--name', `bench-${i}`], env);
      if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`);
      overheads.push(r.ms - READY_DELAY_MS);
      k8s = r.stderr.split('\n').filter((l) => /k8s: /.test(l)).length;
      eci = [...cloud.stats.values()].reduce((a, b) => a + b, 0) - before;
    }
    const med = median(overheads);
    console.log(`install (3 fresh installs, ServiceAccount mode, emulator ready delay ${READY_DELAY_MS} ms)`);
    console.log(`  overhead       ${med.toFixed(0)} ms median (${overheads.map((x) => x.toFixed(0)).join(', ')})  (target <= 1500: ${med <= 1500 ? 'met' : 'NOT met'})`);
    console.log(`  API requests   ${k8s} Kubernetes (as logged by vnode -v), ${eci} Alibaba Cloud (counted by the emulator), last run`);
  } finally {
    await cloud.stop();
    await cp.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The cost benchmark: its own control plane and cloud, whose state it fills. */
async function costSandbox(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'vnode-bench-'));
  const cp = await startControlPlane({ dir: path.join(work, 'cp') });
  const cloud = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
  try {
    await costBench(cp.kubeconfig, { ...process.env, ...cloud.env(), KUBECONFIG: cp.kubeconfig, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' }, runCli, cloud);
  } finally {
    await cloud.stop();
    await cp.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A fresh control plane and sandbox cloud (with its worker node) for one benchmark. */
async function withSandbox(f: (kubeconfig: string, env: NodeJS.ProcessEnv, work: string) => Promise<void>): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'vnode-bench-'));
  const cp = await startControlPlane({ dir: path.join(work, 'cp') });
  const cloud = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
  try {
    await f(cp.kubeconfig, { ...process.env, ...cloud.env(), KUBECONFIG: cp.kubeconfig, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true' }, work);
  } finally {
    await cloud.stop();
    await cp.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const s = startup([process.execPath, path.join(root, 'bin/vnode.js'), '--help'], [process.execPath, '-e', '0']);
const pctRange = (r: [number, number]): string => `${r[0].toFixed(2)} to ${r[1].toFixed(2)}`;
console.log(`startup (${RUNS} interleaved runs each, median wall time; the spread is the middle half of the pairwise ratios)`);
console.log(`  npm build      vnode --help ${s.ms.toFixed(1)} ms, node -e 0 ${s.refMs.toFixed(1)} ms (Node.js ${process.versions.node}): ratio ${s.ratio.toFixed(2)} (${pctRange(s.spread)})  (target <= 1.30: ${s.ratio <= 1.3 ? 'met' : 'NOT met'})`);
const x = executable();
if (x) {
  const e = startup([x.exe, '--help'], [x.node, '-e', '0']);
  console.log(`  executable     vnode-linux-x64 --help ${e.ms.toFixed(1)} ms, node -e 0 ${e.refMs.toFixed(1)} ms (its Node.js ${x.version}): ratio ${e.ratio.toFixed(2)} (${pctRange(e.spread)})  ` +
    `(target <= 1.30: ${e.ratio <= 1.3 ? 'met' : 'NOT met'}); ` +
    `against this machine's node -e 0: ${(e.ms / s.refMs).toFixed(2)}`);
} else {
  console.log('  executable     not measured: BENCH_SKIP_EXE is set');
}
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'install') await installBench();
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'scheduling') await withSandbox((kubeconfig, env, work) => schedulingBench(kubeconfig, env, runCli, work));
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'drain') await drainBench();
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'cost') await costSandbox();
