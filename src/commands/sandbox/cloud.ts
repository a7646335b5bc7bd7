import path from 'node:path';
import { ExitCode, usageError } from '../../errors.js';
import { untilAborted } from '../../util/sleep.js';
import { defineCommand, flag, read } from '../define.js';
import { durationFlag } from '../flags.js';

function port(raw: unknown): number {
  const n = raw === undefined ? 0 : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError('InvalidPort', `invalid --port "${String(raw)}": expected 0-65535`);
  return n;
}

export default defineCommand({
  description: 'Run the local Alibaba Cloud emulator (RAM, ECI, VPC, ECS; signatures verified, real error codes) on 127.0.0.1 '
    + 'in the foreground. It first prints export lines that point vnode and the SDKs at it. Ctrl-C stops it.',
  flags: {
    port: flag('--port <n>', 'port to listen on (default: a free one)', port),
    state: flag('--state <file>', 'JSON file holding the state; created and seeded when missing (default: in memory)', read.text),
    readyDelayMs: durationFlag('--ready-delay <duration>', 'how long a new virtual node stays Pending before it connects', '2s'),
    admin: flag('--cluster-admin-kubeconfig <path>', 'admin kubeconfig of the cluster, used only to act as vnode-approver', read.text),
    releaseDelayMs: durationFlag('--release-delay <duration>', 'how long ECI keeps an instance after its pod is gone', '3s'),
    account: flag('--account <kind>', 'a new state\'s account: ready, or new (nothing activated, no service role)', read.given, { choices: ['ready', 'new'], default: 'ready' }),
    faults: flag('--faults <spec>', 'inject faults, e.g. "*:throttle=0.1,500=0.05,503=0.05,reset=0.05;CreateAccessKey:latency=2s"', read.text),
  },
  mutates: false,
  ownsInterrupt: true,
  contract: {
    cloud: { always: [] },
    kubernetes: [],
    risk: 'change',
    converges: true,
  },
  async run(ctx, o) {
    const { parseFaults } = await import('../../sandbox/cloud/faults.js');
    const faults = o.faults === undefined ? new Map() : parseFaults(o.faults);
    const { startSandboxCloud } = await import('../../sandbox/cloud-sandbox.js');
    const stateFile = o.state === undefined ? undefined : path.resolve(ctx.cwd, o.state);
    const admin = o.admin === undefined ? undefined : path.resolve(ctx.cwd, o.admin);
    const emu = await startSandboxCloud({
      port: o.port, faults, readyDelayMs: o.readyDelayMs, releaseDelayMs: o.releaseDelayMs, ...(stateFile ? { stateFile } : {}), ...(admin ? { adminKubeconfig: admin } : {}),
      account: o.account as 'ready' | 'new', log: (l) => ctx.out.debug(l),
    });
    for (const [k, v] of Object.entries(emu.env())) ctx.out.print(`export ${k}=${v}`);
    ctx.out.info(`cloud emulator listening on ${emu.endpoint}${stateFile ? ` (state in ${stateFile})` : ''}; Ctrl-C to stop`);
    await untilAborted(ctx.signal);
    await emu.stop();
    ctx.out.info('cloud emulator stopped');
    // a foreground server ends only by a signal, and says so as its exit status
    return ExitCode.interrupted;
  },
});
