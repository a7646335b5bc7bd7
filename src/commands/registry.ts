import type { Command } from 'commander';
import type { Context } from '../context.js';

/** A leaf command: its flags and arguments, and the handler. Imported only when it is the one being run. */
export interface CommandModule {
  configure(cmd: Command): void;
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<void>;
}

export interface CommandEntry {
  /** e.g. ['kubeconfig'] or ['ram', 'grant'] */
  path: string[];
  summary: string;
  aliases?: string[];
  load(): Promise<CommandModule>;
}

export interface GroupEntry {
  name: string;
  summary: string;
}

export const groups: GroupEntry[] = [];

export const commands: CommandEntry[] = [
  {
    path: ['kubeconfig'],
    summary: 'create the identity and kubeconfig a virtual node uses (ServiceAccount, or --bootstrap TLS bootstrap)',
    load: async () => (await import('./kubeconfig.js')).default,
  },
];
