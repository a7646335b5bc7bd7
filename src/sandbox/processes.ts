import { readdirSync, readFileSync } from 'node:fs';
import { alive } from '../util/process.js';

interface ProcInfo { pid: number; ppid: number; pgid: number; cmdline: string; start: number }

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    // starttime: clock ticks after boot, what tells a process from a later one with the same pid
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), cmdline, start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

function allProcs(): ProcInfo[] {
  let names: string[];
  try { names = readdirSync('/proc'); } catch { return []; }
  return names.filter((n) => /^\d+$/.test(n)).map((n) => readProc(Number(n))).filter((p): p is ProcInfo => p !== undefined);
}

/** This process and its ancestors: never counted as the sandbox's, even when their command line names its directory. */
function ownLine(procs: ProcInfo[]): Set<number> {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const out = new Set<number>();
  for (let pid: number | undefined = process.pid; pid && pid > 1 && !out.has(pid); pid = byPid.get(pid)?.ppid) out.add(pid);
  return out;
}

const CONTROL_PLANE = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/**
 * The processes of the sandbox in dir: what it starts whose command line names the directory (its supervisor, etcd,
 * the API server, the controller manager, the scheduler), and those of the supervisor's process group (its pods).
 * Other commands naming the directory (`vnode sandbox down --dir …`) are not the sandbox's.
 */
export function sandboxProcesses(dir: string, supervisorPid?: number): { pid: number; cmdline: string }[] {
  const procs = allProcs();
  const mine = ownLine(procs);
  const needle = dir.endsWith('/') ? dir : `${dir}/`;
  const names = (p: ProcInfo): boolean => p.cmdline.includes(needle) || p.cmdline.split(' ').includes(dir);
  const started = (p: ProcInfo): boolean => CONTROL_PLANE.includes(p.cmdline.split(' ')[0]!.split('/').pop()!) || / sandbox serve /.test(` ${p.cmdline} `);
  return procs.filter((p) => !mine.has(p.pid) && p.cmdline !== '' && ((supervisorPid !== undefined && p.pgid === supervisorPid) || (names(p) && started(p))))
    .map(({ pid, cmdline }) => ({ pid, cmdline }));
}

/** SIGTERM, then SIGKILL after graceMs for what is still there; returns the pids that needed SIGKILL. */
export async function endProcesses(pids: number[], graceMs: number): Promise<number[]> {
  const signal = (pid: number, sig: NodeJS.Signals): void => { try { process.kill(pid, sig); } catch { /* gone */ } };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stubborn = pids.filter(alive);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (stubborn.some(alive) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
  return stubborn;
}

/** When a process started (clock ticks after boot), or undefined when it is gone. */
export function startTime(pid: number): number | undefined {
  return readProc(pid)?.start;
}

/**
 * The processes left of a supervisor's group (its pods and their forwarders) once the supervisor is gone: those of
 * its process group that started after it. A supervisor still running (same pid, same start) has none left.
 */
export function groupLeftovers(group: { pid: number; start: number }): { pid: number; cmdline: string }[] {
  const procs = allProcs();
  const leader = procs.find((p) => p.pid === group.pid);
  if (leader && leader.start === group.start) return [];
  const mine = ownLine(procs);
  return procs.filter((p) => p.pgid === group.pid && p.start >= group.start && !mine.has(p.pid) && p.cmdline !== '').map(({ pid, cmdline }) => ({ pid, cmdline }));
}
