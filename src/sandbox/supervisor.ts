import type { AccountKind } from './cloud/state.js';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { operationError } from '../errors.js';
import { packageFile, selfCommand } from '../util/package-files.js';
import { alive } from '../util/process.js';
import { untilAborted } from '../util/sleep.js';
import { startSandboxCloud, stopEach } from './cloud-sandbox.js';
import { endProcesses, groupLeftovers, sandboxProcesses, startTime } from './processes.js';
import { findBinaries, freePort, startControlPlane } from './controlplane.js';

export interface SandboxFiles { dir: string; pid: string; group: string; env: string; ready: string; log: string; cloudState: string; cloudPort: string; kubeconfig: string }

export function sandboxFiles(dir: string): SandboxFiles {
  return {
    dir, pid: path.join(dir, 'sandbox.pid'), group: path.join(dir, 'sandbox.group'), env: path.join(dir, 'env'), ready: path.join(dir, 'ready'), log: path.join(dir, 'sandbox.log'),
    cloudState: path.join(dir, 'cloud.json'), cloudPort: path.join(dir, 'cloud-port'), kubeconfig: path.join(dir, 'cp', 'admin.kubeconfig'),
  };
}

export function runningPid(f: SandboxFiles): number | undefined {
  if (!existsSync(f.pid)) return undefined;
  const pid = Number(readFileSync(f.pid, 'utf8'));
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

export function envText(f: SandboxFiles): string | undefined {
  return runningPid(f) && existsSync(f.ready) && existsSync(f.env) ? readFileSync(f.env, 'utf8') : undefined;
}

/** The foreground half (`vnode sandbox serve`): owns every process of the sandbox until signalled. */
export interface SimSettings { readyDelayMs: number; releaseDelayMs: number; faults: string | undefined; unpullable: string[]; retired: string[]; account: AccountKind }

export async function serveSandbox(dir: string, opts: SimSettings & { signal: AbortSignal; log: (m: string) => void; env: NodeJS.ProcessEnv }): Promise<void> {
  const f = sandboxFiles(dir);
  mkdirSync(dir, { recursive: true });
  await endLeftovers(dir, opts.log);
  writeFileSync(f.pid, String(process.pid));
  // the supervisor leads the group of every process it starts: a later up or down ends what a killed one left
  writeFileSync(f.group, JSON.stringify({ pid: process.pid, start: startTime(process.pid) ?? 0 }));
  rmSync(f.ready, { force: true });
  const cp = await startControlPlane({ dir: path.join(dir, 'cp'), env: opts.env, log: opts.log });
  let cloud: Awaited<ReturnType<typeof startSandboxCloud>> | undefined;
  try {
    let port = Number(existsSync(f.cloudPort) ? readFileSync(f.cloudPort, 'utf8') : 0);
    if (!port) port = await freePort();
    const faults = opts.faults ? (await import('./cloud/faults.js')).parseFaults(opts.faults) : undefined;
    const common = { stateFile: f.cloudState, readyDelayMs: opts.readyDelayMs, releaseDelayMs: opts.releaseDelayMs, ...(faults ? { faults } : {}), adminKubeconfig: cp.kubeconfig, log: opts.log, unpullable: opts.unpullable, retired: opts.retired,
      account: opts.account };
    try {
      cloud = await startSandboxCloud({ port, ...common });
    } catch {
      cloud = await startSandboxCloud({ ...common, port: await freePort() });
    }
    writeFileSync(f.cloudPort, String(cloud.port));
    const env = { KUBECONFIG: cp.kubeconfig, ...cloud.env() };
    writeFileSync(f.env, Object.entries(env).map(([k, v]) => `export ${k}=${v}\n`).join(''), { mode: 0o600 });
    writeFileSync(f.ready, String(process.pid));
    opts.log(`sandbox ready: API server ${cp.server}, cloud ${cloud.endpoint}`);
    await untilAborted(opts.signal);
  } finally {
    rmSync(f.ready, { force: true });
    // each part in its own try, the control plane last; then whatever of this sandbox is still running
    await stopEach([() => cloud?.stop(), () => cp.stop()], opts.log).catch(() => undefined);
    const left = sandboxProcesses(dir, process.pid);
    if (left.length > 0) {
      opts.log(`ending ${left.length} process(es) still running: ${left.map((p) => p.pid).join(', ')}`);
      await endProcesses(left.map((p) => p.pid), 2000);
    }
    rmSync(f.pid, { force: true });
    opts.log('sandbox stopped');
  }
}

/** Processes a killed sandbox of this directory left (its supervisor gone): ended before anything starts. */
/** What an earlier supervisor of dir left: the sandbox's own processes, and those of its group (pods, forwarders). */
function leftBehind(f: SandboxFiles): { pid: number; cmdline: string }[] {
  const found = new Map(sandboxProcesses(f.dir).filter((p) => p.pid !== process.pid).map((p) => [p.pid, p]));
  const group = readGroup(f);
  if (group) for (const p of groupLeftovers(group)) if (p.pid !== process.pid) found.set(p.pid, p);
  return [...found.values()];
}

function readGroup(f: SandboxFiles): { pid: number; start: number } | undefined {
  try {
    const g = JSON.parse(readFileSync(f.group, 'utf8')) as { pid?: unknown; start?: unknown };
    return typeof g.pid === 'number' && typeof g.start === 'number' ? { pid: g.pid, start: g.start } : undefined;
  } catch {
    return undefined;
  }
}

async function endLeftovers(dir: string, log: (m: string) => void): Promise<number[]> {
  const left = leftBehind(sandboxFiles(dir));
  if (left.length === 0) return [];
  log(`ending ${left.length} process(es) a stopped sandbox of ${dir} left running: ${left.map((p) => `${p.pid} (${p.cmdline.split(' ')[0]!.split('/').pop()})`).join(', ')}`);
  await endProcesses(left.map((p) => p.pid), 3000);
  return left.map((p) => p.pid);
}

/** Builds the control-plane binaries on first use (scripts/kube-bins.sh), so `sandbox up` works on a fresh machine. */
export function ensureBinaries(env: NodeJS.ProcessEnv, log: (m: string) => void): NodeJS.ProcessEnv {
  try {
    findBinaries(env);
    return env;
  } catch {
    log('building the Kubernetes 1.20.2 control-plane binaries (first time only, ~4 minutes)');
    // a copy: the executable carries the script as an asset, not as a file
    const tmp = mkdtempSync(path.join(tmpdir(), 'vnode-kube-bins-'));
    const script = path.join(tmp, 'kube-bins.sh');
    writeFileSync(script, packageFile('scripts/kube-bins.sh'));
    const r = spawnSync('bash', [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    rmSync(tmp, { recursive: true, force: true });
    if (r.error) {
      throw operationError('BinariesMissing', `the sandbox needs bash to provide its control-plane binaries (${r.error.message})`, {
        hint: 'or set VNODE_KUBE_BIN_DIR to a directory with kube-apiserver, kube-controller-manager, kube-scheduler and etcd',
      });
    }
    if (r.status !== 0) throw operationError('BinariesMissing', 'could not provide the control-plane binaries (scripts/kube-bins.sh failed)', { hint: 'see its output above' });
    return { ...env, VNODE_KUBE_BIN_DIR: r.stdout.toString().trim() };
  }
}

/** The background half (`vnode sandbox up`): starts `sandbox serve` detached and returns once it is ready. */
export async function startSandboxDetached(dir: string, opts: SimSettings & { env: NodeJS.ProcessEnv; timeoutMs: number; signal: AbortSignal; log: (m: string) => void }): Promise<string> {
  const f = sandboxFiles(dir);
  mkdirSync(dir, { recursive: true });
  if (!runningPid(f)) await endLeftovers(dir, opts.log);
  const fd = openSync(f.log, 'a');
  const self = selfCommand(['sandbox', 'serve', '--dir', dir, '--ready-delay', `${opts.readyDelayMs}ms`,
    '--release-delay', `${opts.releaseDelayMs}ms`, ...(opts.faults ? ['--faults', opts.faults] : []), ...opts.unpullable.flatMap((u) => ['--unpullable', u]), ...opts.retired.flatMap((r) => ['--retired', r]),
    '--account', opts.account, '-v']);
  const child = spawn(self.command, self.args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env });
  closeSync(fd);
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? 1; });
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline && !opts.signal.aborted) {
    const text = envText(f);
    if (text) return text;
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (exited === null && child.pid) { try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ } }
  const logTail = existsSync(f.log) ? readFileSync(f.log, 'utf8').trim().split('\n').slice(-8).join('\n') : '';
  throw operationError('SandboxFailed', `the sandbox did not become ready${exited !== null ? ` (exited with ${exited})` : ''}:\n${logTail}`, { hint: `full log: ${f.log}` });
}

export interface StopResult {
  stopped: boolean;
  /** Processes of the sandbox that outlived its supervisor, ended by pid. */
  killed: { pid: number; cmdline: string }[];
}

/**
 * Stops the supervisor (SIGTERM, SIGKILL after graceMs), then ends by pid every process of the sandbox still running
 * (its process group, and whatever names its directory): nothing of it is left when this returns.
 */
export async function stopSandbox(dir: string, graceMs = 20_000): Promise<StopResult> {
  const f = sandboxFiles(dir);
  const pid = runningPid(f);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  const left = [...new Map([...sandboxProcesses(path.resolve(dir), pid), ...leftBehind(sandboxFiles(path.resolve(dir)))].map((p) => [p.pid, p])).values()];
  if (left.length > 0) await endProcesses(left.map((p) => p.pid), 3000);
  if (pid) { rmSync(f.pid, { force: true }); rmSync(f.ready, { force: true }); }
  return { stopped: pid !== undefined, killed: left };
}
