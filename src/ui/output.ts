import { createRequire } from 'node:module';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Redactor } from '../secrets.js';
import type { OutStream } from './streams.js';

import type { OutputFormat } from './formats.js';

export type { OutputFormat } from './formats.js';

// yaml costs ~25 ms to load: only when YAML is printed
const requireLazy = createRequire(import.meta.url);
function toYaml(data: unknown): string {
  return (requireLazy('yaml') as typeof import('yaml')).stringify(data);
}

/** Results go to stdout; progress, warnings and logs to stderr. Everything passes the redactor. */
export class Output {
  readonly color: ChalkInstance;

  constructor(
    readonly format: OutputFormat,
    private readonly stdout: OutStream,
    private readonly stderr: OutStream,
    private readonly redactor: Redactor,
    opts: { color: boolean; verbose: boolean },
  ) {
    this.color = new Chalk({ level: opts.color ? 1 : 0 });
    this.verbose = opts.verbose;
  }

  private readonly verbose: boolean;

  get structured(): boolean {
    return this.format !== 'text';
  }

  /** The command's result: rendered as text, or the data itself as JSON/YAML. */
  result(data: unknown, text: () => string): void {
    if (this.format === 'json') this.writeOut(JSON.stringify(data, null, 2) + '\n');
    else if (this.format === 'yaml') this.writeOut(toYaml(data));
    else {
      const s = text();
      if (s) this.writeOut(s.endsWith('\n') ? s : s + '\n');
    }
  }

  /** Raw result text (e.g. YAML manifests of a dry run), whatever the format. */
  print(text: string): void {
    this.writeOut(text.endsWith('\n') ? text : text + '\n');
  }

  info(message: string): void {
    if (!this.structured) this.writeErr(message + '\n');
  }

  warn(message: string): void {
    this.writeErr(this.color.yellow('Warning: ') + message + '\n');
  }

  debug(message: string): void {
    if (this.verbose) this.writeErr(this.color.dim(message) + '\n');
  }

  /**
   * An error as one object on stderr for scripts and agents (-o json|yaml): a stable code, the message and hint, the
   * exit code, whether a re-run as is may succeed, and its details (what is missing, what would be valid, what was done).
   */
  errorObject(e: { code: string; message: string; hint?: string | undefined; exitCode: number; retryable: boolean; details?: Record<string, unknown> | undefined }): void {
    const body = { error: { code: e.code, message: cutLong(e.message), ...(e.hint ? { hint: cutLong(e.hint) } : {}), exitCode: e.exitCode, retryable: e.retryable, ...(e.details ? { details: e.details } : {}) } };
    this.writeErr(this.format === 'yaml' ? toYaml(body) : JSON.stringify(body) + '\n');
  }

  error(message: string, hint?: string): void {
    this.writeErr(this.color.red('Error: ') + cutLong(message) + '\n');
    if (hint) this.writeErr(this.color.dim('Hint: ' + cutLong(hint)) + '\n');
  }

  writeOut(s: string): void {
    this.stdout.write(this.redactor.redact(s));
  }

  writeErr(s: string): void {
    this.stderr.write(this.redactor.redact(s));
  }
}

/** A value echoed in an error (a 100 KB --tag, say) is cut to its start and its length: one line stays one line. */
export function cutLong(text: string): string {
  return text.replace(/"[^"\n]{200,}"|[^\s"]{200,}/g, (m) => {
    const q = m.startsWith('"') ? '"' : '';
    const inner = q ? m.slice(1, -1) : m;
    return `${q}${inner.slice(0, 60)}… (${inner.length} characters)${q}`;
  });
}
