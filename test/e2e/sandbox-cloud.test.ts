import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Starts `vnode sandbox cloud` (the built CLI) and resolves once it has printed its export lines. */
function startSandbox(args: string[]): Promise<{ env: Record<string, string>; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/vnode.js'), 'sandbox', 'cloud', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no export lines: ${out}`)); }, 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!out.includes('VNODE_ENDPOINT_PROTOCOL')) return;
      clearTimeout(timer);
      const env = Object.fromEntries(out.trim().split('\n').map((l) => /^export (\w+)=(.*)$/.exec(l)!).map((m) => [m[1]!, m[2]!]));
      resolve({
        env,
        stop: () => new Promise((res) => { child.once('exit', (code) => res(code)); child.kill('SIGINT'); }),
      });
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)); });
  });
}

describe('vnode sandbox cloud', () => {
  it('prints export lines that point the SDKs at it, keeps state in its file, and stops on Ctrl-C', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vnode-sbx-'));
    const state = path.join(dir, 'cloud.json');
    try {
      const first = await startSandbox(['--state', state]);
      assert.deepEqual(Object.keys(first.env).sort(), ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_REGION_ID',
        'VNODE_ENDPOINT_CS', 'VNODE_ENDPOINT_ECI', 'VNODE_ENDPOINT_ECS', 'VNODE_ENDPOINT_PROTOCOL', 'VNODE_ENDPOINT_RAM', 'VNODE_ENDPOINT_RESOURCEMANAGER', 'VNODE_ENDPOINT_STS', 'VNODE_ENDPOINT_VPC']);
      const cloud = connectCloud({ profile: undefined, region: undefined }, { env: first.env, signal: new AbortController().signal, log: () => {} });
      await cloud.ram.ensureUser('survives-restart', 'x', 'y');
      const vsw = await cloud.vpc.describeVSwitches({});
      assert.ok(vsw.length >= 3 && new Set(vsw.map((v) => v.zoneId)).size >= 2, 'seeded vSwitches in two zones');
      assert.equal(await first.stop(), 130);
      assert.ok(JSON.parse(readFileSync(state, 'utf8')).users.some((u: { name: string }) => u.name === 'survives-restart'));

      const second = await startSandbox(['--state', state, '--faults', 'GetUser:latency=10ms']);
      assert.equal(second.env.ALIBABA_CLOUD_ACCESS_KEY_ID, first.env.ALIBABA_CLOUD_ACCESS_KEY_ID, 'the same account after a restart');
      const again = connectCloud({ profile: undefined, region: undefined }, { env: second.env, signal: new AbortController().signal, log: () => {} });
      assert.equal((await again.ram.getUser('survives-restart'))?.name, 'survives-restart');
      await second.stop();

      // --account new seeds a first account: ECI refuses as not activated until it is
      const fresh = await startSandbox(['--state', path.join(dir, 'new.json'), '--account', 'new']);
      const newcomer = connectCloud({ profile: undefined, region: undefined }, { env: fresh.env, signal: new AbortController().signal, log: () => {} });
      await assert.rejects(newcomer.eci.describeRegions(), (e: { code?: string }) => e.code === 'ServiceNotEnabled');
      assert.equal(await newcomer.ram.roleExists('AliyunCSDefaultRole'), false);
      await fresh.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
