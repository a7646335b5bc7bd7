import { PassThrough, Writable } from 'node:stream';
import { cli } from '../../src/main.js';
import type { Deps } from '../../src/context.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Capture extends Writable {
  text = '';
  isTTY: boolean;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  tty?: boolean;
  signal?: AbortSignal;
  deps?: Partial<Deps>;
  /** What the command reads on stdin (not a terminal). */
  stdin?: string;
}

/** Runs vnode in-process, as `vnode <argv>` would, and captures what it prints. */
export async function runVnode(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture(false);
  const stderr = new Capture(Boolean(opts.tty));
  const stdin = Object.assign(new PassThrough(), { isTTY: Boolean(opts.tty) });
  if (!opts.tty) stdin.end(opts.stdin ?? '');
  const code = await cli(argv, {
    streams: { stdin, stdout, stderr },
    env: { HOME: '/nonexistent-home', PATH: process.env.PATH, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    signal: opts.signal ?? new AbortController().signal,
    ...opts.deps,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Polls until `f` gives a value (tests of eventually-true cluster state); fails naming what was awaited. */
export async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
