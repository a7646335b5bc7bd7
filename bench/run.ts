/**
 * Benchmarks, printed with the reference measured on the same machine in the same run.
 * 1. startup: median wall time of `vnode --help` vs `node -e 0` (target ratio <= 1.3).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

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

const s = startup();
console.log(`startup (${RUNS} runs each, median wall time)`);
console.log(`  vnode --help   ${s.vnodeMs.toFixed(1)} ms`);
console.log(`  node -e 0      ${s.nodeMs.toFixed(1)} ms`);
console.log(`  ratio          ${s.ratio.toFixed(2)}  (target <= 1.30: ${s.ratio <= 1.3 ? 'met' : 'NOT met'})`);
