import type { ClusterPort, ClusterTarget } from './cluster/port.js';
import { Redactor } from './secrets.js';
import { Output, type OutputFormat } from './ui/output.js';
import { InquirerPrompt, type Prompt } from './ui/prompt.js';
import { Status } from './ui/status.js';
import type { Streams } from './ui/streams.js';

export interface GlobalFlags {
  kubeconfig: string | undefined;
  context: string | undefined;
  output: OutputFormat;
  dryRun: boolean;
  yes: boolean;
  verbose: boolean;
  color: boolean;
}

/** What a run gets from outside: streams, environment, and factories for the ports (fakes in tests). */
export interface Deps {
  streams: Streams;
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  connectCluster?: (target: ClusterTarget, ctx: Context) => Promise<ClusterPort>;
  prompt?: Prompt;
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
}

export function createContext(flags: GlobalFlags, deps: Deps): Context {
  const { streams, env } = deps;
  const redactor = new Redactor();
  const color = flags.color && env.NO_COLOR === undefined && Boolean(streams.stderr.isTTY);
  const out = new Output(flags.output, streams.stdout, streams.stderr, redactor, { color, verbose: flags.verbose });
  const statusMode = out.structured ? 'silent' : streams.stderr.isTTY ? 'spinner' : 'plain';
  const status = new Status(out, streams.stderr, statusMode);
  const interactive = Boolean(streams.stdin.isTTY && streams.stderr.isTTY) && env.CI !== 'true';
  const prompt = deps.prompt ?? new InquirerPrompt(streams.stdin, streams.stderr, flags.yes, interactive);
  let cluster: Promise<ClusterPort> | undefined;
  const ctx: Context = {
    flags, out, status, prompt, redactor, env, cwd: deps.cwd, signal: deps.signal,
    cluster() {
      cluster ??= (async () => {
        const target = { kubeconfig: flags.kubeconfig, context: flags.context };
        if (deps.connectCluster) return deps.connectCluster(target, ctx);
        const { connectCluster } = await import('./cluster/kube.js');
        return connectCluster(target, { env, cwd: deps.cwd, log: (m) => out.debug(m) });
      })();
      return cluster;
    },
  };
  return ctx;
}
