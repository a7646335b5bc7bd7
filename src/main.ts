import { CommanderError } from 'commander';
import { fstatSync, statSync, writeSync } from 'node:fs';
import type { Deps } from './context.js';
import { ExitCode, isVnodeError } from './errors.js';
import { buildProgram, isHelpOrVersion } from './program.js';
import type { OutputFormat } from './ui/formats.js';
import type { OutStream } from './ui/streams.js';

/** Runs one invocation and returns its exit code; never exits the process (tests call this in-process). */
export async function cli(argv: string[], deps: Deps): Promise<number> {
  // ends with the run: a cloud call still retrying in the background (its sibling failed) stops and stays quiet
  const finished = new AbortController();
  const outcome: { code?: number } = {};
  try {
    const program = await buildProgram(argv, { ...deps, lifetime: AbortSignal.any([deps.signal, finished.signal]) }, outcome);
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.ok;
    }
    await program.parseAsync(argv, { from: 'user' });
    // the command completed: a Ctrl-C that came after its last change does not undo that
    return outcome.code ?? ExitCode.ok;
  } catch (e) {
    if (isHelpOrVersion(e)) return ExitCode.ok;
    // commander has already printed its message (unknown option, missing argument ...)
    if (e instanceof CommanderError) return ExitCode.usage;
    const [{ Output }, { Redactor }] = await Promise.all([import('./ui/output.js'), import('./secrets.js')]);
    const out = new Output(outputFormat(argv), deps.streams.stdout, deps.streams.stderr, new Redactor(), {
      color: !argv.includes('--no-color') && deps.env.NO_COLOR === undefined && Boolean(deps.streams.stderr.isTTY),
      verbose: argv.includes('-v') || argv.includes('--verbose'),
    });
    if (isVnodeError(e)) {
      const exitCode = deps.signal.aborted ? ExitCode.interrupted : e.exitCode;
      if (out.structured) {
        const { retryable } = await import('./errors.js');
        out.errorObject({ code: e.code, message: e.message, hint: e.hint, exitCode, retryable: exitCode === ExitCode.interrupted || retryable(e), details: e.details });
      } else out.error(e.message, e.hint);
      if (e.cause instanceof Error) out.debug(`cause: ${e.cause.stack ?? e.cause.message}`);
      return exitCode;
    }
    if (deps.signal.aborted) {
      if (out.structured) out.errorObject({ code: 'Interrupted', message: 'interrupted', hint: 'run the same command again to finish', exitCode: ExitCode.interrupted, retryable: true });
      else out.error('interrupted', 'run the same command again to finish');
      return ExitCode.interrupted;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (out.structured) out.errorObject({ code: 'Error', message: err.message || String(e), exitCode: ExitCode.failed, retryable: false });
    else out.error(err.message || String(e));
    out.debug(err.stack ?? '');
    return ExitCode.failed;
  } finally {
    finished.abort();
  }
}

function outputFormat(argv: string[]): OutputFormat {
  const i = argv.findIndex((a) => a === '-o' || a === '--output');
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--output='))?.slice(9);
  return v === 'json' || v === 'yaml' ? v : 'text';
}

const watched = new WeakSet<NodeJS.WriteStream>();
/** `vnode status -o json | head -1`: a reader that goes away ends vnode quietly, as SIGPIPE ends kubectl. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(process.exitCode ?? ExitCode.ok);
    });
  }
  return stream;
}

/**
 * stdout for help and version when it is no terminal (a pipe, a file, /dev/null): plain writes to fd 1. Creating
 * process.stdout loads Node's stream modules, a tenth of such a start; a terminal (or anything unsure) gets process.stdout.
 */
function lightStdout(): OutStream | undefined {
  try {
    const st = fstatSync(1);
    const devNull = st.isCharacterDevice() && st.rdev === statSync('/dev/null', { throwIfNoEntry: false })?.rdev;
    if (!(st.isFIFO() || st.isFile() || st.isSocket() || devNull)) return undefined;
  } catch {
    return undefined;
  }
  let fallback = false;
  const write = (s: string | Uint8Array): boolean => {
    if (fallback) return process.stdout.write(s);
    let buf = typeof s === 'string' ? Buffer.from(s) : s;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(1, buf));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // the reader went away (`vnode --help | head -1`): end quietly, as SIGPIPE ends kubectl
        if (code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
        // a non-blocking pipe that is full: Node's stream waits for it, in order
        if (code === 'EAGAIN') { fallback = true; return process.stdout.write(buf); }
        throw e;
      }
    }
    return true;
  };
  return { isTTY: false, write } as unknown as OutStream;
}

/**
 * 'kubectl vnode' when kubectl runs vnode as its plugin: kubectl executes `kubectl-vnode` (the npm bin, or the
 * executable under that name) with that path as argv[0].
 */
export function invokedName(argv0: string = process.argv0, script: string = process.argv[1] ?? ''): string {
  const plugin = (p: string): boolean => /^kubectl-vnode(\.js)?$/.test(p.split(/[\\/]/).pop() ?? '');
  return plugin(argv0) || plugin(script) ? 'kubectl vnode' : 'vnode';
}

/** The process entry: the only place that handles signals and sets the exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // a second Ctrl-C means "now", without waiting for cleanup
    if (signals > 1) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // help and version: the cheapest stdout there is (see lightStdout)
  const quick = argv.length === 0 || (argv.length === 1 && ['--help', '-h', '--version', 'help'].includes(argv[0]!));
  const light = quick ? lightStdout() : undefined;
  const code = await cli(argv, {
    // getters: creating a process stream costs milliseconds, and --help needs only stdout
    streams: {
      get stdin() { return process.stdin; },
      get stdout() { return light ?? quietOnClosedPipe(process.stdout); },
      get stderr() { return quietOnClosedPipe(process.stderr); },
    },
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    name: invokedName(),
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
  // interrupted: what is still in flight (a read's HTTP call, a retry's timer) must not hold the process open
  if (code === ExitCode.interrupted) process.exit(code);
}
