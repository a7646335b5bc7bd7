import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';
import { connectCluster } from '../../src/cluster/kube.js';
import { binaryVersion, findBinaries } from '../../src/sandbox/controlplane.js';
import { sandboxProcesses } from '../../src/sandbox/processes.js';
import type { KubeObject } from '../../src/cluster/port.js';

const root = path.resolve(import.meta.dirname, '../..');

function vnode(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/vnode.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => /^export (\w+)=(.*)$/.exec(l)!).map((m) => [m[1]!, m[2]!]));
}

/** The processes whose process group is this one (read from /proc). */
function groupOf(pgid: number): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).flatMap((n) => {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid ? [Number(n)] : [];
    } catch { return []; }
  });
}

function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('vnode sandbox up / env / down', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'vnode-sandbox-')), 'sb');
  after(async () => {
    await vnode(['sandbox', 'down', '--dir', dir]);
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('starts both halves, prints their environment, stops every process, and keeps state across down/up', async () => {
    const up = await vnode(['sandbox', 'up', '--dir', dir, '--ready-delay', '200ms']);
    assert.equal(up.code, 0, up.stderr);
    const env = parseEnv(up.stdout);
    assert.equal(env.KUBECONFIG, path.join(dir, 'cp', 'admin.kubeconfig'));
    assert.ok(env.VNODE_ENDPOINT_ECI && env.ALIBABA_CLOUD_ACCESS_KEY_ID);
    const again = await vnode(['sandbox', 'env', '--dir', dir]);
    assert.deepEqual(parseEnv(again.stdout), env);

    const cluster = await connectCluster({ kubeconfig: env.KUBECONFIG, context: undefined }, { env: {}, cwd: dir });
    // the version of whatever binaries the run was given (VNODE_KUBE_BIN_DIR), not a literal
    const bins = findBinaries(process.env);
    assert.equal((await cluster.version()).gitVersion, (await binaryVersion(bins['kube-apiserver'])).gitVersion);
    const signal = new AbortController().signal;
    await connectCloud({ profile: undefined, region: undefined }, { env, signal, log: () => {} }).ram.ensureUser('kept-across-restarts', 'k', 'c');

    const pids = Object.values(JSON.parse(readFileSync(path.join(dir, 'cp', 'pids.json'), 'utf8')) as Record<string, number>);
    const supervisor = Number(readFileSync(path.join(dir, 'sandbox.pid'), 'utf8'));
    const down = await vnode(['sandbox', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped/);
    for (const pid of [supervisor, ...pids]) assert.equal(alive(pid), false, `pid ${pid} still running`);
    assert.equal(existsSync(path.join(dir, 'sandbox.pid')), false);
    const noEnv = await vnode(['sandbox', 'env', '--dir', dir]);
    assert.equal(noEnv.code, 2);

    const up2 = await vnode(['sandbox', 'up', '--dir', dir]);
    assert.equal(up2.code, 0, up2.stderr);
    const env2 = parseEnv(up2.stdout);
    assert.equal(env2.ALIBABA_CLOUD_ACCESS_KEY_ID, env.ALIBABA_CLOUD_ACCESS_KEY_ID, 'same cloud account');
    assert.equal((await connectCloud({ profile: undefined, region: undefined }, { env: env2, signal, log: () => {} }).ram.getUser('kept-across-restarts'))?.name, 'kept-across-restarts');
    const cluster2 = await connectCluster({ kubeconfig: env2.KUBECONFIG, context: undefined }, { env: {}, cwd: dir });
    assert.ok(await cluster2.get({ apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' }), 'etcd data kept');
  });

  it('down right after a Deployment on the normal node went: every part stops, within 30 s, and no process of the sandbox is left', async () => {
    const env = parseEnv((await vnode(['sandbox', 'env', '--dir', dir])).stdout);
    const cluster = await connectCluster({ kubeconfig: env.KUBECONFIG, context: undefined }, { env: {}, cwd: dir });
    const major = process.versions.node.split('.')[0];
    await cluster.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'busy', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'busy' } }, template: { metadata: { labels: { app: 'busy' } }, spec: {
        containers: [{ name: 'c', image: `node:${major}-alpine`, command: ['node', '-e', 'setInterval(() => {}, 1000)'] }],
      } } },
    } as KubeObject);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pods = await cluster.list<KubeObject>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=busy' });
      if (pods.length === 2 && pods.every((p) => (p.status as { phase?: string }).phase === 'Running')) break;
      assert.ok(Date.now() < deadline, 'the pods did not run on the worker');
      await new Promise((r) => setTimeout(r, 300));
    }
    await cluster.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'busy' });
    const started = Date.now();
    const down = await vnode(['sandbox', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(Date.now() - started < 30_000, `down took ${Date.now() - started} ms`);
    assert.deepEqual(sandboxProcesses(dir), [], 'processes of the sandbox left running');
    const log = readFileSync(path.join(dir, 'sandbox.log'), 'utf8');
    assert.match(log.slice(log.lastIndexOf('sandbox ready')), /sandbox stopped/);
    assert.doesNotMatch(log, /undefined\/undefined/);
  });

  it('a sandbox whose supervisor was killed: the next up ends what it left, and down ends stragglers by pid and says so', async () => {
    const up = await vnode(['sandbox', 'up', '--dir', dir]);
    assert.equal(up.code, 0, up.stderr);
    const pids = Object.values(JSON.parse(readFileSync(path.join(dir, 'cp', 'pids.json'), 'utf8')) as Record<string, number>);
    const supervisor = Number(readFileSync(path.join(dir, 'sandbox.pid'), 'utf8'));
    // the scheduling server's pods on the worker node: processes (and their API-server forwarders) of the supervisor's group
    const env = parseEnv(up.stdout);
    const enable = await vnode(['scheduling', 'enable', '--namespace', 'default', '--mode', 'vnode', '--yes'], env);
    assert.equal(enable.code, 0, enable.stderr);
    const deadline = Date.now() + 60_000;
    while (!groupOf(supervisor).some((p) => /loader\.cjs serve/.test(cmdline(p)))) {
      assert.ok(Date.now() < deadline, 'no pod process started on the worker');
      await new Promise((r) => setTimeout(r, 300));
    }
    const group = groupOf(supervisor).filter((p) => p !== supervisor);
    // SIGKILL to the supervisor alone: its children live on, as after a crash
    process.kill(supervisor, 'SIGKILL');
    while (alive(supervisor)) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pids.every(alive), 'the control plane outlived its supervisor');
    assert.ok(group.some(alive), 'the pods outlived their supervisor');
    const started = Date.now();
    const again = await vnode(['sandbox', 'up', '--dir', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /ending \d+ process\(es\) a stopped sandbox of .* left running/);
    for (const pid of pids) assert.equal(alive(pid), false, `old pid ${pid} still running`);
    for (const pid of group) assert.equal(alive(pid), false, `pid ${pid} of the killed supervisor's group still running`);
    assert.ok(Date.now() - started < 60_000);

    const newSupervisor = Number(readFileSync(path.join(dir, 'sandbox.pid'), 'utf8'));
    const newPids = Object.values(JSON.parse(readFileSync(path.join(dir, 'cp', 'pids.json'), 'utf8')) as Record<string, number>);
    process.kill(newSupervisor, 'SIGKILL');
    while (alive(newSupervisor)) await new Promise((r) => setTimeout(r, 50));
    const down = await vnode(['sandbox', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /Ended \d+ process\(es\) it left running: \d+ \((etcd|kube-)/);
    for (const pid of newPids) assert.equal(alive(pid), false, `pid ${pid} still running`);
    assert.deepEqual(sandboxProcesses(dir), []);
  });
});
