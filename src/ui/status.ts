import type { Ora } from 'ora';
import { throwIfAborted } from '../errors.js';
import type { Output } from './output.js';
import type { OutStream } from './streams.js';

/**
 * One line per step, as kind does: a spinner on a terminal, plain start/end lines otherwise,
 * nothing under -o json|yaml (stdout must stay machine-readable and stderr quiet).
 */
export class Status {
  private current: { text: string; started: number; spinner?: Ora } | undefined;
  /** The steps that finished, in order: what an interrupted run names as done. */
  readonly done: string[] = [];
  /** The step an interrupt stopped: the one running, or the next one, which did not start. */
  stoppedAt: { text: string; during: boolean } | undefined;
  /** The step that failed (not interrupted): what a failure after changes names. */
  failedAt: string | undefined;

  constructor(
    private readonly out: Output,
    private readonly stream: OutStream,
    readonly mode: 'spinner' | 'plain' | 'silent',
    /** An interrupt stops the run between steps: no new step starts once it fired. */
    private readonly signal: AbortSignal = new AbortController().signal,
    private readonly loadOra: () => Promise<typeof import('ora').default> = async () => (await import('ora')).default,
  ) {}

  async start(text: string): Promise<void> {
    this.end(true);
    this.current = { text, started: Date.now() };
    if (this.mode === 'spinner') {
      const ora = await this.loadOra();
      this.current.spinner = ora({ text, stream: this.stream, discardStdin: false }).start();
    } else if (this.mode === 'plain') {
      this.out.writeErr(` • ${text} ...\n`);
    }
  }

  /** Changes the text of the running step (progress counts). */
  update(text: string): void {
    if (!this.current) return;
    this.current.text = text;
    if (this.current.spinner) this.current.spinner.text = text;
  }

  end(ok: boolean, suffix?: string): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    const text = suffix ? `${cur.text} (${suffix})` : cur.text;
    if (ok) this.done.push(text);
    else if (this.signal.aborted) this.stoppedAt ??= { text: cur.text, during: true };
    else this.failedAt = cur.text;
    if (cur.spinner) {
      if (ok) cur.spinner.succeed(text);
      else cur.spinner.fail(text);
    } else if (this.mode === 'plain') {
      this.out.writeErr(` ${ok ? this.out.color.green('✓') : this.out.color.red('✗')} ${text}\n`);
    }
  }

  /** Runs fn as one step: marked done on success, failed on error. */
  async step<T>(text: string, fn: () => Promise<T>, done?: (r: T) => string | undefined): Promise<T> {
    if (this.signal.aborted) this.stoppedAt ??= { text, during: false };
    throwIfAborted(this.signal);
    await this.start(text);
    try {
      const r = await fn();
      this.end(true, done?.(r));
      return r;
    } catch (e) {
      this.end(false);
      throw e;
    }
  }
}
