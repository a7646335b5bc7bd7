import type { CloudTarget } from './cloud/config.js';
import type { CloudPorts } from './cloud/port.js';
import type { ClusterPort, ClusterTarget } from './cluster/port.js';
import { Redactor } from './secrets.js';
import { Output, type OutputFormat } from './ui/output.js';
import { InquirerPrompt, type Prompt } from './ui/prompt.js';
import { Status } from './ui/status.js';
import type { Streams } from './ui/streams.js';

export interface GlobalFlags {
  kubeconfig: string | undefined;
  context: string | undefined;
  profile: string | undefined;
  region: string | undefined;
  output: OutputFormat;
  dryRun: boolean;
  yes: boolean;
  verbose: boolean;
  color: boolean;
  /** --lock-timeout as given (a duration). */
  lockTimeout: string;
  /** --skip-permission-check: the real calls decide, no probe asks first. */
  skipPermissionCheck?: boolean;
}

/** What a run gets from outside: streams, environment, and factories for the ports (fakes in tests). */
export interface Deps {
  streams: Streams;
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** Fires when the run ends (or is interrupted): background work such as cloud retries stops. */
  lifetime?: AbortSignal;
  connectCluster?: (target: ClusterTarget, ctx: Context) => Promise<ClusterPort>;
  connectCloud?: (target: CloudTarget, ctx: Context) => Promise<CloudPorts>;
  prompt?: Prompt;
  /** How the user called vnode: 'vnode', or 'kubectl vnode' as a kubectl plugin (help and examples say it). */
  name?: string;
}

/** The per-run context every command handler receives. */
export interface Context {
  readonly flags: GlobalFlags;
  readonly out: Output;
  readonly status: Status;
  readonly prompt: Prompt;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly redactor: Redactor;
  /** The cluster selected by --kubeconfig/--context; loaded on first use. */
  cluster(): Promise<ClusterPort>;
  /** Alibaba Cloud, with the credentials and region of --profile/--region/the environment; loaded on first use. */
  cloud(): Promise<CloudPorts>;
  /** Alibaba Cloud as the holder of another key (same region and endpoints). */
  cloudWith(key: { id: string; secret: string }): Promise<CloudPorts>;
  /** A secret typed at a hidden prompt on a terminal, else all of stdin (trailing newline removed). */
  readSecret(label: string): Promise<string>;
  /** All of stdin when it is not a terminal (trailing newline removed); undefined on a terminal. */
  readStdin(): Promise<string | undefined>;
}

export function createContext(flags: GlobalFlags, deps: Deps): Context {
  const { streams, env } = deps;
  const redactor = new Redactor();
  const color = flags.color && env.NO_COLOR === undefined && Boolean(streams.stderr.isTTY);
  const out = new Output(flags.output, streams.stdout, streams.stderr, redactor, { color, verbose: flags.verbose });
  const statusMode = out.structured ? 'silent' : streams.stderr.isTTY ? 'spinner' : 'plain';
  const status = new Status(out, streams.stderr, statusMode, deps.signal);
  const interactive = Boolean(streams.stdin.isTTY && streams.stderr.isTTY) && env.CI !== 'true';
  const prompt = deps.prompt ?? new InquirerPrompt(streams.stdin, streams.stderr, flags.yes, interactive);
  let cluster: Promise<ClusterPort> | undefined;
  let cloud: Promise<CloudPorts> | undefined;
  const connect = async (target: CloudTarget): Promise<CloudPorts> => {
    if (deps.connectCloud) return deps.connectCloud(target, ctx);
    const { connectCloud } = await import('./cloud/index.js');
    return connectCloud(target, { env, signal: deps.lifetime ?? deps.signal, log: (m) => out.debug(m) });
  };
  const ctx: Context = {
    flags, out, status, prompt, redactor, env, cwd: deps.cwd, signal: deps.signal,
    cluster() {
      cluster ??= (async () => {
        const target = { kubeconfig: flags.kubeconfig, context: flags.context };
        if (deps.connectCluster) return deps.connectCluster(target, ctx);
        const { connectCluster } = await import('./cluster/kube.js');
        return connectCluster(target, { env, cwd: deps.cwd, log: (m) => out.debug(m), warn: (m) => out.warn(m) });
      })();
      return cluster;
    },
    cloud() {
      cloud ??= connect({ profile: flags.profile, region: flags.region });
      return cloud;
    },
    cloudWith(key) {
      return connect({ profile: undefined, region: flags.region, accessKey: key });
    },
    async readSecret(label) {
      if (streams.stdin.isTTY) {
        const { default: inquirer } = await import('inquirer');
        const ask = inquirer.createPromptModule({ input: streams.stdin, output: streams.stderr });
        const { v } = await ask<{ v: string }>([{ type: 'password', name: 'v', message: label, mask: '*' }]);
        return v.trim();
      }
      return (await ctx.readStdin()) ?? '';
    },
    async readStdin() {
      if (streams.stdin.isTTY) return undefined;
      const chunks: Buffer[] = [];
      for await (const c of streams.stdin) chunks.push(Buffer.from(c as Buffer));
      return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '').trim();
    },
  };
  return ctx;
}
