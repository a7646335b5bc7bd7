/**
 * Benchmarks, printed with the reference measured on the same machine in the same run.
 * 1. startup: median wall time of `vnode --help` vs `node -e 0` (target ratio <= 1.3).
 * 2. install: wall time of `vnode install` minus the emulator's ready delay (target <= 1.5 s), and its API requests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandboxCloud } from '../src/sandbox/cloud-sandbox.js';
import { startControlPlane } from '../src/sandbox/controlplane.js';

const root = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

function wall(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function startup(): { vnodeMs: number; nodeMs: number; ratio: number } {
  const vnode = [path.join(root, 'bin/vnode.js'), '--help'];
  // warm the file cache, then interleave so drift affects both alike
  wall(process.execPath, vnode);
  wall(process.execPath, ['-e', '0']);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(wall(process.execPath, vnode));
    b.push(wall(process.execPath, ['-e', '0']));
  }
  const vnodeMs = median(a);
  const nodeMs = median(b);
  return { vnodeMs, nodeMs, ratio: vnodeMs / nodeMs };
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; ms: number; stderr: string }> {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const child = spawn(process.execPath, [path.join(root, 'bin/vnode.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, ms: Number(process.hrtime.bigint() - t) / 1e6, stderr }));
  });
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

const s = startup();
console.log(`startup (${RUNS} runs each, median wall time)`);
console.log(`  vnode --help   ${s.vnodeMs.toFixed(1)} ms`);
console.log(`  node -e 0      ${s.nodeMs.toFixed(1)} ms`);
console.log(`  ratio          ${s.ratio.toFixed(2)}  (target <= 1.30: ${s.ratio <= 1.3 ? 'met' : 'NOT met'})`);
await installBench();
