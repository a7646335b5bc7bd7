import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import path from 'node:path';
import { alive } from '../util/process.js';
import { FORWARDER, FORWARDER_FLAG } from './forwarder.js';
import { inExecutable } from '../util/package-files.js';

/**
 * How the sandbox's worker runs a container: the host's own `node` stands in for the official Node.js image of the
 * same major version, in a network namespace of the pod's own with an address from 198.18.0.0/15 (reserved for
 * benchmarks, RFC 2544; never a real private network), in a mount namespace where the pod's volumes are mounted at
 * their mountPaths, as the pod's runAsUser. The API server reaches it through the pod IP (a host route over a veth
 * pair); it reaches the API server at the `kubernetes` Service's address, which a forwarder in its namespace carries
 * over a Unix socket to the API server on loopback.
 */

/** Where the sandbox can mount a volume: directories it may cover with a tmpfs inside the pod's mount namespace. */
const MOUNTABLE_ROOTS = ['/opt', '/run', '/srv', '/mnt', '/media'];

export class RuntimeError extends Error {
  constructor(readonly reason: string, message: string) { super(message); }
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new RuntimeError('NetworkNotReady', `ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

function routeExists(addr: string): boolean {
  const r = spawnSync('ip', ['route', 'show', `${addr}/32`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

/** Can this process make network namespaces (root, with iproute2)? */
export function canIsolate(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['-V']).status === 0 && spawnSync('setpriv', ['--version']).status === 0;
}

export interface PodNetwork { ns: string; ip: string; hostIf: string }

/** A network namespace with one address, routed from the host. */
export function createNetwork(tag: string, apiAddress: string): PodNetwork {
  const ns = `vnode-${tag}`;
  const hostIf = `vh${tag}`.slice(0, 15);
  const podIf = `vp${tag}`.slice(0, 15);
  let addr = '';
  for (let i = 0; i < 20 && !addr; i++) {
    const a = `198.${18 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;
    if (!routeExists(a)) addr = a;
  }
  if (!addr) throw new RuntimeError('NetworkNotReady', 'no free address in 198.18.0.0/15');
  try {
    ip(['netns', 'add', ns]);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf]);
    ip(['link', 'set', podIf, 'netns', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'addr', 'add', `${addr}/32`, 'dev', podIf]);
    // the `kubernetes` Service's address, served by the forwarder inside
    ip(['-n', ns, 'addr', 'add', `${apiAddress}/32`, 'dev', 'lo']);
    ip(['-n', ns, 'link', 'set', podIf, 'up']);
    ip(['-n', ns, 'route', 'add', 'default', 'dev', podIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['route', 'add', `${addr}/32`, 'dev', hostIf]);
  } catch (e) {
    destroyNetwork({ ns, ip: addr, hostIf });
    throw e;
  }
  return { ns, ip: addr, hostIf };
}

/** Deleting the namespace deletes its veth pair, and with it the host route. */
export function destroyNetwork(n: PodNetwork): void {
  spawnSync('ip', ['link', 'del', n.hostIf]);
  spawnSync('ip', ['netns', 'del', n.ns]);
}

/** Namespaces left by a sandbox process that is gone (killed before it could clean up). */
export function removeStaleNetworks(): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^vnode-(\d+)x\d+/.exec(line.trim());
    if (m && !alive(Number(m[1]))) spawnSync('ip', ['netns', 'del', line.trim().split(' ')[0]!]);
  }
}

/** Carries connections from a Unix socket to the API server on loopback: the host half of the pods' route to it. */
export function startApiRelay(socketPath: string, apiPort: number): Promise<Server> {
  rmSync(socketPath, { force: true });
  const srv = createServer((c) => {
    const up = connect(apiPort, '127.0.0.1');
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(socketPath, () => { chmodSync(socketPath, 0o666); resolve(srv); });
  });
}


/** The pod half: listens on the Service address inside the namespace. */
export function startForwarder(n: PodNetwork, socketPath: string, apiAddress: string, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const run = inExecutable() ? [FORWARDER_FLAG] : ['-e', FORWARDER];
  const child = spawn('ip', ['netns', 'exec', n.ns, process.execPath, ...run, socketPath, apiAddress, '443'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

export interface Mount { source: string; target: string; readOnly: boolean }

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The directory a mountPath can be created under, or why it cannot. */
function mountRoot(target: string): string {
  // follow what exists (/var/run is /run on most hosts)
  let probe = target;
  while (!existsSync(probe)) probe = path.dirname(probe);
  const real = path.join(realpathSync(probe), path.relative(probe, target));
  const root = MOUNTABLE_ROOTS.find((r) => real === r || real.startsWith(`${r}/`));
  if (!root) throw new RuntimeError('CreateContainerConfigError', `the sandbox mounts volumes only under ${MOUNTABLE_ROOTS.join(', ')}, not at ${target}`);
  return root;
}

export interface Launch {
  network: PodNetwork;
  mounts: Mount[];
  command: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  workingDir: string | undefined;
  logFile: string;
}

/** The container's process: a shell inside the namespaces mounts the volumes, then becomes the command as the pod's user. */
export function launch(l: Launch): ChildProcess {
  const roots = [...new Set(l.mounts.map((m) => mountRoot(m.target)))];
  const lines = ['set -e'];
  for (const r of roots) lines.push(`mount -t tmpfs -o mode=0755 vnode-pod ${quote(r)}`);
  for (const m of l.mounts) {
    lines.push(`mkdir -p ${quote(m.target)}`, `mount --bind ${quote(m.source)} ${quote(m.target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${quote(m.target)}`);
  }
  if (l.workingDir) lines.push(`cd ${quote(l.workingDir)}`);
  lines.push(`exec setpriv --reuid=${l.uid} --regid=${l.gid} --clear-groups --no-new-privs -- "$@"`);
  const fd = openSync(l.logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', l.network.ns, 'sh', '-c', lines.join('\n'), 'sh', ...l.command],
    { stdio: ['ignore', fd, fd], env: l.env, detached: false });
  closeSync(fd);
  return child;
}

/** A volume's files, written as a kubelet would: readable by the pod's user. */
export function writeVolume(dir: string, files: Record<string, Buffer>, mode: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
  }
}
