import { homedir } from 'node:os';
import path from 'node:path';
import type { Context } from '../../context.js';
import { ExitCode, usageError } from '../../errors.js';
import { parseFaults } from '../../sandbox/cloud/faults.js';
import { defineCommand, flag, read } from '../define.js';
import { durationFlag } from '../flags.js';

function dirOf(ctx: Context, dir: string | undefined): string {
  return dir === undefined
    ? path.join(ctx.env.VNODE_CACHE_DIR || path.join(ctx.env.HOME || homedir(), '.cache', 'vnode'), 'sandbox')
    : path.resolve(ctx.cwd, dir);
}

const dirFlag = { dir: flag('--dir <path>', 'sandbox directory (default: ~/.cache/vnode/sandbox)', read.text) };

function faults(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  // checked here; parsed again by the foreground half, which loads the parser anyway
  parseFaults(String(raw));
  return String(raw);
}

const patterns = (flagName: string, re: RegExp, valid: string) => (raw: unknown): string[] => {
  const list = read.list(raw);
  for (const u of list) if (!re.test(u)) throw usageError('InvalidPattern', `invalid ${flagName} "${u}": expected ${valid}`);
  return list;
};

/** The simulation settings `up` hands to `serve`, checked before anything starts. */
const simFlags = {
  readyDelayMs: durationFlag('--ready-delay <duration>', 'how long a new virtual node stays Pending', '2s'),
  releaseDelayMs: durationFlag('--release-delay <duration>', 'how long ECI keeps an instance after its pod is gone', '3s'),
  faults: flag('--faults <spec>', 'inject cloud faults, e.g. "*:throttle=0.1,500=0.05,503=0.05,reset=0.05;CreateAccessKey:latency=2s"', faults),
  unpullable: flag('--unpullable <pattern>', 'images the worker node cannot pull (ErrImagePull), a glob such as "registry.example.com/*"; repeatable. '
    + 'Registries under the reserved .invalid domain are never pullable', patterns('--unpullable', /^[\w.*/:@-]+$/, 'an image pattern such as "registry.example.com/*" (letters, digits, . _ - / : @ and *)'), { repeatable: true }),
  account: flag('--account <kind>', 'the emulated account when its state is new: ready (ECI and ACK activated, roles authorized) or new (nothing activated, no service role)',
    read.given, { choices: ['ready', 'new'], default: 'ready' }),
  retired: flag('--retired <action>', 'answer this cloud API as removed (InvalidAction.NotFound), e.g. DescribeExternalAgent; repeatable',
    patterns('--retired', /^[A-Z][A-Za-z0-9]+$/, 'an API action name such as DescribeExternalAgent'), { repeatable: true }),
};

export const up = defineCommand({
  description: 'Start the local sandbox in the background: a real Kubernetes control plane (etcd, API server, controller manager, '
    + 'scheduler; 1.20.2 built once, or the binaries in VNODE_KUBE_BIN_DIR) and the Alibaba Cloud emulator with its virtual-node simulation. Prints export lines; state survives down/up.',
  flags: { ...dirFlag, ...simFlags },
  mutates: false,
  ownsInterrupt: true,
  // the sandbox is local: no cloud account, no cluster of the user's
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, o) {
    const dir = dirOf(ctx, o.dir);
    const sup = await import('../../sandbox/supervisor.js');
    const existing = sup.envText(sup.sandboxFiles(dir));
    if (existing) {
      ctx.out.info(`sandbox in ${dir} is already running`);
      ctx.out.print(existing);
      return;
    }
    const env = sup.ensureBinaries(ctx.env, (m) => ctx.out.info(m));
    const settings = { readyDelayMs: o.readyDelayMs, releaseDelayMs: o.releaseDelayMs, faults: o.faults, unpullable: o.unpullable, retired: o.retired, account: o.account as 'ready' | 'new' };
    const text = await ctx.status.step(`Starting the sandbox in ${dir}`, () =>
      sup.startSandboxDetached(dir, { ...settings, env, timeoutMs: 180_000, signal: ctx.signal, log: (m) => ctx.out.info(m) }));
    ctx.out.print(text);
    ctx.out.info(`eval "$(vnode sandbox env${o.dir === undefined ? '' : ` --dir ${dir}`})" points kubectl and vnode at it; vnode sandbox down stops it`);
  },
});

export const down = defineCommand({
  description: 'Stop every process the sandbox started; its state stays for the next `sandbox up`.',
  flags: dirFlag,
  mutates: false,
  ownsInterrupt: true,
  // the sandbox is local: no cloud account, no cluster of the user's
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, o) {
    const dir = dirOf(ctx, o.dir);
    const { stopSandbox } = await import('../../sandbox/supervisor.js');
    const r = await ctx.status.step(`Stopping the sandbox in ${dir}`, () => stopSandbox(dir));
    const killed = r.killed.length ? ` Ended ${r.killed.length} process(es) it left running: ${r.killed.map((p) => `${p.pid} (${p.cmdline.split(' ')[0]!.split('/').pop()})`).join(', ')}.` : '';
    ctx.out.result({ dir, ...r }, () => `${r.stopped ? `Sandbox in ${dir} stopped.` : `Sandbox in ${dir} is not running.`}${killed}`);
  },
});

export const env = defineCommand({
  description: 'Print the export lines of the running sandbox again.',
  flags: dirFlag,
  mutates: false,
  ownsInterrupt: true,
  // the sandbox is local: no cloud account, no cluster of the user's
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, o) {
    const dir = dirOf(ctx, o.dir);
    const sup = await import('../../sandbox/supervisor.js');
    const text = sup.envText(sup.sandboxFiles(dir));
    if (!text) throw usageError('SandboxNotRunning', `no sandbox is running in ${dir}`, 'start it with vnode sandbox up');
    ctx.out.print(text);
  },
});

export const serve = defineCommand({
  description: 'Run the sandbox in the foreground (what `sandbox up` starts in the background).',
  flags: { ...dirFlag, ...simFlags },
  mutates: false,
  ownsInterrupt: true,
  // the sandbox is local: no cloud account, no cluster of the user's
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, o) {
    const { serveSandbox } = await import('../../sandbox/supervisor.js');
    const { dir, account, ...settings } = o;
    await serveSandbox(dirOf(ctx, dir), { ...settings, account: account as 'ready' | 'new', signal: ctx.signal, log: (m) => ctx.out.info(m), env: ctx.env });
    // a foreground server ends only by a signal, and says so as its exit status
    return ExitCode.interrupted;
  },
});
