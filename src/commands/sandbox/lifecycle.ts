import { homedir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Context } from '../../context.js';
import { ExitCode, usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { collect } from '../flags.js';
import type { CommandModule } from '../registry.js';

function dirOf(ctx: Context, raw: Record<string, unknown>): string {
  return raw.dir === undefined
    ? path.join(ctx.env.VNODE_CACHE_DIR || path.join(ctx.env.HOME || homedir(), '.cache', 'vnode'), 'sandbox')
    : path.resolve(ctx.cwd, String(raw.dir));
}

const dirOption = (): Option => new Option('--dir <path>', 'sandbox directory (default: ~/.cache/vnode/sandbox)');
const delayOption = (): Option => new Option('--ready-delay <duration>', 'how long a new virtual node stays Pending').default('2s');
const releaseOption = (): Option => new Option('--release-delay <duration>', 'how long ECI keeps an instance after its pod is gone').default('3s');
const faultsOption = (): Option => new Option('--faults <spec>', 'inject cloud faults, e.g. "*:throttle=0.1,500=0.05,503=0.05,reset=0.05;CreateAccessKey:latency=2s"');
const unpullableOption = (): Option => new Option('--unpullable <pattern>', 'images the worker node cannot pull (ErrImagePull), a glob such as "registry.example.com/*"; repeatable. '
  + 'Registries under the reserved .invalid domain are never pullable').argParser(collect);
const retiredOption = (): Option => new Option('--retired <action>', 'answer this cloud API as removed (InvalidAction.NotFound), e.g. DescribeExternalAgent; repeatable').argParser(collect);

/** The simulation settings `up` hands to `serve`, checked before anything starts. */
async function simSettings(raw: Record<string, unknown>): Promise<{ readyDelayMs: number; releaseDelayMs: number; faults: string | undefined; unpullable: string[]; retired: string[] }> {
  const faults = raw.faults === undefined ? undefined : String(raw.faults);
  if (faults !== undefined) (await import('../../sandbox/cloud/faults.js')).parseFaults(faults);
  const unpullable = (raw.unpullable as string[] | undefined) ?? [];
  for (const u of unpullable) if (!/^[\w.*/:@-]+$/.test(u)) throw usageError('InvalidPattern', `invalid --unpullable "${u}": expected an image pattern such as "registry.example.com/*" (letters, digits, . _ - / : @ and *)`);
  const retired = (raw.retired as string[] | undefined) ?? [];
  for (const r of retired) if (!/^[A-Z][A-Za-z0-9]+$/.test(r)) throw usageError('InvalidAction', `invalid --retired "${r}": expected an API action name such as DescribeExternalAgent`);
  return { readyDelayMs: parseDuration('--ready-delay', String(raw.readyDelay)), releaseDelayMs: parseDuration('--release-delay', String(raw.releaseDelay)), faults, unpullable, retired };
}

export const up: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Start the local sandbox in the background: a real Kubernetes control plane (etcd, API server, controller manager, ' +
      'scheduler; 1.20.2 built once, or the binaries in VNODE_KUBE_BIN_DIR) and the Alibaba Cloud emulator with its virtual-node simulation. Prints export lines; state survives down/up.')
      .addOption(dirOption()).addOption(delayOption()).addOption(releaseOption()).addOption(faultsOption()).addOption(unpullableOption()).addOption(retiredOption());
  },
  async run(ctx, _args, raw) {
    const dir = dirOf(ctx, raw);
    const settings = await simSettings(raw);
    const sup = await import('../../sandbox/supervisor.js');
    const existing = sup.envText(sup.sandboxFiles(dir));
    if (existing) {
      ctx.out.info(`sandbox in ${dir} is already running`);
      ctx.out.print(existing);
      return;
    }
    const env = sup.ensureBinaries(ctx.env, (m) => ctx.out.info(m));
    const text = await ctx.status.step(`Starting the sandbox in ${dir}`, () =>
      sup.startSandboxDetached(dir, { ...settings, env, timeoutMs: 180_000, signal: ctx.signal, log: (m) => ctx.out.info(m) }));
    ctx.out.print(text);
    ctx.out.info(`eval "$(vnode sandbox env${raw.dir === undefined ? '' : ` --dir ${dir}`})" points kubectl and vnode at it; vnode sandbox down stops it`);
  },
};

export const down: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Stop every process the sandbox started; its state stays for the next `sandbox up`.').addOption(dirOption());
  },
  async run(ctx, _args, raw) {
    const dir = dirOf(ctx, raw);
    const { stopSandbox } = await import('../../sandbox/supervisor.js');
    const r = await ctx.status.step(`Stopping the sandbox in ${dir}`, () => stopSandbox(dir));
    const killed = r.killed.length ? ` Ended ${r.killed.length} process(es) it left running: ${r.killed.map((p) => `${p.pid} (${p.cmdline.split(' ')[0]!.split('/').pop()})`).join(', ')}.` : '';
    ctx.out.result({ dir, ...r }, () => `${r.stopped ? `Sandbox in ${dir} stopped.` : `Sandbox in ${dir} is not running.`}${killed}`);
  },
};

export const env: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Print the export lines of the running sandbox again.').addOption(dirOption());
  },
  async run(ctx, _args, raw) {
    const dir = dirOf(ctx, raw);
    const sup = await import('../../sandbox/supervisor.js');
    const text = sup.envText(sup.sandboxFiles(dir));
    if (!text) throw usageError('SandboxNotRunning', `no sandbox is running in ${dir}`, 'start it with vnode sandbox up');
    ctx.out.print(text);
  },
};

export const serve: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Run the sandbox in the foreground (what `sandbox up` starts in the background).').addOption(dirOption()).addOption(delayOption())
      .addOption(releaseOption()).addOption(faultsOption()).addOption(unpullableOption()).addOption(retiredOption());
  },
  async run(ctx, _args, raw) {
    const { serveSandbox } = await import('../../sandbox/supervisor.js');
    await serveSandbox(dirOf(ctx, raw), { ...(await simSettings(raw)), signal: ctx.signal, log: (m) => ctx.out.info(m), env: ctx.env });
    // a foreground server ends only by a signal, and says so as its exit status
    return ExitCode.interrupted;
  },
};
