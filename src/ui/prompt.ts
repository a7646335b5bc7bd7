import { usageError } from '../errors.js';
import type { InStream, OutStream } from './streams.js';

export interface Prompt {
  /** Asks yes/no. --yes answers yes; without a terminal and without --yes it is an error naming --yes. */
  confirm(message: string, opts?: { default?: boolean }): Promise<boolean>;
  select<T extends string>(message: string, choices: { name: string; value: T }[]): Promise<T>;
  readonly interactive: boolean;
}

export class InquirerPrompt implements Prompt {
  constructor(
    private readonly input: InStream,
    private readonly output: OutStream,
    private readonly yes: boolean,
    readonly interactive: boolean,
  ) {}

  async confirm(message: string, opts: { default?: boolean } = {}): Promise<boolean> {
    if (this.yes) return true;
    if (!this.interactive) {
      throw usageError('ConfirmationRequired', `${message} — no terminal to ask on`, 'pass --yes to approve without a prompt');
    }
    const prompt = await this.module();
    const { ok } = await prompt<{ ok: boolean }>([{ type: 'confirm', name: 'ok', message, default: opts.default ?? false }]);
    return ok;
  }

  async select<T extends string>(message: string, choices: { name: string; value: T }[]): Promise<T> {
    if (!this.interactive) throw usageError('InputRequired', `${message} — no terminal to ask on`);
    const prompt = await this.module();
    const { v } = await prompt<{ v: T }>([{ type: 'list', name: 'v', message, choices }]);
    return v;
  }

  private async module() {
    const { default: inquirer } = await import('inquirer');
    return inquirer.createPromptModule({ input: this.input, output: this.output });
  }
}
