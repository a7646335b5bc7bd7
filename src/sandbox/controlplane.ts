import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseKubeVersion, versionProfile, type KubeVersion, type VersionProfile } from '../cluster/versions.js';
import { operationError } from '../errors.js';

const run = promisify(execFile);

/** The version scripts/kube-bins.sh builds (CI's); any other directory of binaries works too. */
export const KUBE_VERSION = '1.20.2';
/** scripts/kube-bins.sh's BUILD_REV: the cache directory of the binaries it builds. */
export const KUBE_BUILD_REV = 2;
const BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'] as const;
type Binary = (typeof BINARIES)[number];

function executable(file: string): boolean {
  try { accessSync(file, constants.X_OK); return true; } catch { return false; }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Where the control-plane binaries are: $VNODE_KUBE_BIN_DIR, then $KUBEBUILDER_ASSETS, then the cache that
 * scripts/kube-bins.sh fills. etcd may also come from PATH (Debian's etcd-server).
 */
export function findBinaries(env: NodeJS.ProcessEnv): Record<Binary, string> {
  const cache = path.join(env.VNODE_CACHE_DIR || path.join(env.HOME || homedir(), '.cache', 'vnode'), `kubernetes-v${KUBE_VERSION}-r${KUBE_BUILD_REV}`);
  const dirs = [env.VNODE_KUBE_BIN_DIR, env.KUBEBUILDER_ASSETS, cache].filter((d): d is string => Boolean(d));
  const found: Partial<Record<Binary, string>> = {};
  for (const b of BINARIES) {
    const dir = dirs.find((d) => executable(path.join(d, b)));
    const p = dir ? path.join(dir, b) : b === 'etcd' ? onPath('etcd', env) : undefined;
    if (p) found[b] = p;
  }
  const missing = BINARIES.filter((b) => !found[b]);
  if (missing.length > 0) {
    throw operationError('BinariesMissing', `control-plane binaries not found: ${missing.join(', ')} (looked in ${dirs.join(', ')})`, {
      hint: 'run scripts/kube-bins.sh (builds Kubernetes 1.20.2 once, ~4 minutes) or set VNODE_KUBE_BIN_DIR',
    });
  }
  return found as Record<Binary, string>;
}

/** The binaries' own version (`kube-apiserver --version`): it decides which flags they have. */
export async function binaryVersion(apiserver: string): Promise<KubeVersion & { gitVersion: string }> {
  const { stdout } = await run(apiserver, ['--version']);
  return parseKubeVersion(stdout);
}

/** Flags of kube-apiserver that only some versions have (the rest are the same on 1.20-1.36). */
export function apiserverArgs(p: VersionProfile): string[] {
  return p.apiserverInsecurePortFlag ? ['--insecure-port=0'] : [];
}

/** kube-controller-manager's and kube-scheduler's --port (their insecure port) exists before 1.24 only. */
export function componentPortArgs(p: VersionProfile): string[] {
  return p.componentPortFlag ? ['--port=0'] : [];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The ports of the last start when still free: a virtual node's kubeconfig keeps pointing at the same server. */
async function choosePorts(file: string): Promise<[number, number, number]> {
  let last: number[] = [];
  try { last = JSON.parse(readFileSync(file, 'utf8')) as number[]; } catch { /* first start */ }
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const p = last[i];
    ports.push(p && !ports.includes(p) && (await isFree(p)) ? p : await freePort());
  }
  writeFileSync(file, JSON.stringify(ports));
  return ports as [number, number, number];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/** CA, serving cert, admin client cert and service-account keys; kept when the directory is reused. */
async function ensurePki(dir: string): Promise<void> {
  if (existsSync(path.join(dir, 'admin.crt'))) return;
  mkdirSync(dir, { recursive: true });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=vnode-sandbox-ca'], dir);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const sign = async (name: string, subj: string, ext: string): Promise<void> => {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '3650', '-extfile', ext], dir);
  };
  await sign('apiserver', '/CN=kube-apiserver', 'server.ext');
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  await sign('admin', '/O=system:masters/CN=kubernetes-admin', 'client.ext');
}

export interface ControlPlane {
  dir: string;
  server: string;
  /** Admin kubeconfig; its CA and client cert are file paths, as many real kubeconfigs have. */
  kubeconfig: string;
  caFile: string;
  pids: number[];
  /** The binaries' Kubernetes version, e.g. v1.20.2. */
  version: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  dir: string;
  env?: NodeJS.ProcessEnv;
  log?: (m: string) => void;
  /** Also start kube-scheduler (default true). */
  scheduler?: boolean;
  readyTimeoutMs?: number;
}

interface Proc { name: string; child: ChildProcess; logFile: string }

function tail(file: string, lines = 15): string {
  try { return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

async function stopProc(p: Proc, graceMs = 10_000): Promise<void> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function httpsGet(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

/** Polls a health endpoint until it answers 200; fails at once when the process dies. */
async function waitHealthy(p: Proc, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw operationError('ControlPlaneFailed', `${p.name} exited with code ${p.child.exitCode}:\n${tail(p.logFile)}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw operationError('ControlPlaneFailed', `${p.name} did not become healthy within ${timeoutMs / 1000}s:\n${tail(p.logFile)}`);
}

/**
 * A real Kubernetes control plane on loopback, of whatever version the binaries are (flags chosen by versions.ts): etcd, kube-apiserver (bootstrap tokens, Node+RBAC),
 * kube-controller-manager (CSR signing, token controllers, bootstrapsigner/tokencleaner) and kube-scheduler.
 */
export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const bins = findBinaries(env);
  const version = await binaryVersion(bins['kube-apiserver']);
  const profile = versionProfile(version);
  log(`Kubernetes ${version.gitVersion} from ${path.dirname(bins['kube-apiserver'])}`);
  const dir = path.resolve(opts.dir);
  const pki = path.join(dir, 'pki');
  await ensurePki(pki);
  const [etcdPort, peerPort, apiPort] = await choosePorts(path.join(dir, 'ports.json'));
  const procs: Proc[] = [];
  const timeout = opts.readyTimeoutMs ?? 90_000;
  const f = (n: string): string => path.join(pki, n);
  const start = (name: string, bin: string, args: string[]): Proc => {
    const logFile = path.join(dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], cwd: dir });
    closeSync(fd);
    const p = { name, child, logFile };
    procs.push(p);
    log(`started ${name} (pid ${child.pid})`);
    return p;
  };
  const stopAll = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await stopProc(p);
    process.off('exit', killAll);
  };
  const killAll = (): void => { for (const p of procs) { try { p.child.kill('SIGKILL'); } catch { /* gone */ } } };
  // a test runner that dies must not leave a control plane behind
  process.on('exit', killAll);

  try {
    const etcd = start('etcd', bins.etcd, [
      '--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
      '--log-level', 'warn', '--quota-backend-bytes', String(4 * 1024 ** 3),
    ]);
    await waitHealthy(etcd, async () => {
      try { return (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok; } catch { return false; }
    }, timeout);

    const server = `https://127.0.0.1:${apiPort}`;
    const api = start('kube-apiserver', bins['kube-apiserver'], [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`, '--bind-address=127.0.0.1', `--secure-port=${apiPort}`,
      '--advertise-address=127.0.0.1', `--tls-cert-file=${f('apiserver.crt')}`, `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`, `--service-account-key-file=${f('sa.pub')}`,
      `--service-account-signing-key-file=${f('sa.key')}`, '--service-account-issuer=https://kubernetes.default.svc',
      '--authorization-mode=Node,RBAC', '--enable-bootstrap-token-auth', '--service-cluster-ip-range=10.0.0.0/24',
      '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
      '--max-requests-inflight=1000', '--max-mutating-requests-inflight=500', '--v=0', ...apiserverArgs(profile),
      // webhooks and aggregated APIs behind a Service are reached at its endpoints: no kube-proxy runs here
      '--enable-aggregator-routing=true',
    ]);
    const tls = { ca: readFileSync(f('ca.crt')), cert: readFileSync(f('admin.crt')), key: readFileSync(f('admin.key')) };
    await waitHealthy(api, async () => (await httpsGet(`${server}/readyz`, tls)) === 200, timeout);

    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'vnode-sandbox', cluster: { server, 'certificate-authority': f('ca.crt') } }],
      users: [{ name: 'kubernetes-admin', user: { 'client-certificate': f('admin.crt'), 'client-key': f('admin.key') } }],
      contexts: [{ name: 'vnode-sandbox', context: { cluster: 'vnode-sandbox', user: 'kubernetes-admin' } }],
      'current-context': 'vnode-sandbox',
    }), { mode: 0o600 });

    start('kube-controller-manager', bins['kube-controller-manager'], [
      `--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', '--secure-port=0', ...componentPortArgs(profile),
      `--cluster-signing-cert-file=${f('ca.crt')}`, `--cluster-signing-key-file=${f('ca.key')}`, `--root-ca-file=${f('ca.crt')}`,
      `--service-account-private-key-file=${f('sa.key')}`, '--use-service-account-credentials=true',
      '--controllers=*,bootstrapsigner,tokencleaner', '--leader-elect=false', '--kube-api-qps=200', '--kube-api-burst=400',
    ]);
    if (opts.scheduler !== false) {
      start('kube-scheduler', bins['kube-scheduler'], [
        `--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', '--secure-port=0', ...componentPortArgs(profile), '--leader-elect=false',
        '--kube-api-qps=200', '--kube-api-burst=400',
      ]);
    }
    // the controller manager is working once it has created the default ServiceAccount
    await waitHealthy(procs[2]!, async () => {
      const status = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls);
      return status === 200;
    }, timeout);
    for (const p of procs.slice(2)) {
      if (p.child.exitCode !== null) throw operationError('ControlPlaneFailed', `${p.name} exited with code ${p.child.exitCode}:\n${tail(p.logFile)}`);
    }
    writeFileSync(path.join(dir, 'pids.json'), JSON.stringify(Object.fromEntries(procs.map((p) => [p.name, p.child.pid]))));
    return { dir, server, kubeconfig, caFile: f('ca.crt'), pids: procs.map((p) => p.child.pid!), version: version.gitVersion, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
