import { Command } from 'commander';
import { stringify } from 'yaml';
import { usageError } from '../errors.js';
import { VERSION } from '../version.js';
import { allActions, type Contract } from './contract.js';
import { defineCommand, REPEATABLE } from './define.js';
import { globalOptions } from './global-options.js';
import { commands, docsPage, type CommandEntry } from './registry.js';

interface FlagSchema {
  name: string; short?: string; type: 'boolean' | 'string' | 'list'; value?: string; default?: unknown; choices?: readonly string[];
  required: boolean; repeatable: boolean; help: string;
}

type OptionLike = Command['options'][number];

function flagSchema(o: OptionLike): FlagSchema {
  const repeatable = REPEATABLE.has(o) || Boolean(o.variadic);
  return {
    name: o.long ?? o.flags, ...(o.short ? { short: o.short } : {}), type: o.required || o.optional ? (repeatable ? 'list' : 'string') : 'boolean',
    ...(o.required || o.optional ? { value: /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)?.slice(1).find(Boolean) ?? 'value' } : {}),
    ...(o.defaultValue !== undefined && !o.negate ? { default: o.defaultValue } : {}), ...(o.argChoices ? { choices: o.argChoices } : {}),
    required: Boolean(o.mandatory), repeatable, help: o.description,
  };
}

/** One command's contract for scripts and agents: its flags and arguments as --help shows them, and its declaration. */
export async function schemaOf(entry: CommandEntry): Promise<Record<string, unknown>> {
  const mod = await entry.load();
  const cmd = new Command(entry.path[entry.path.length - 1]!);
  mod.configure(cmd);
  const c: Contract = mod.contract;
  return {
    command: entry.path.join(' '), summary: entry.summary, description: cmd.description(), ...(entry.aliases ? { aliases: entry.aliases } : {}),
    arguments: cmd.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic, help: a.description })),
    flags: cmd.options.filter((o) => !o.hidden).map(flagSchema),
    cloud: { actions: allActions(c), always: c.cloud.always, ...(c.cloud.when ? { byFlag: c.cloud.when } : {}) },
    kubernetes: c.kubernetes, ...(c.kubernetesByFlag ? { kubernetesByFlag: c.kubernetesByFlag } : {}), risk: c.risk, ...(c.waits ? { waits: c.waits } : {}), converges: c.converges,
    exitCodes: { 0: 'success', 1: 'the operation failed', 2: 'bad input or usage (nothing was changed)', 130: 'interrupted (run the same command again to finish)' },
    docs: docsPage(entry.path), examples: entry.examples,
  };
}

export default defineCommand({
  description: 'Print the contract of a command, or of every command, for scripts and agents: its flags (types, defaults, choices) and arguments, '
    + 'the Alibaba Cloud actions it may call (by flag where they differ), the Kubernetes access it needs, its risk (read, change, delete-or-bill), '
    + 'what it waits for, whether a re-run converges, its exit codes and its docs page. YAML unless -o json.',
  args: [['[command...]', 'the command, e.g. install or ram grant (default: every command)']],
  flags: {},
  mutates: false,
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, _o, args) {
    const visible = commands.filter((c) => !c.hidden);
    if (args.length > 0) {
      const name = args.join(' ');
      const entry = commands.find((c) => c.path.join(' ') === name || c.aliases?.includes(name));
      if (!entry) throw usageError('UnknownCommand', `no command "${name}"`, `commands: ${visible.map((c) => c.path.join(' ')).join(', ')}`);
      const one = await schemaOf(entry);
      ctx.out.result(one, () => (ctx.out.format === 'text' ? yamlOf(one) : ''));
      return;
    }
    const all = {
      program: 'vnode', version: VERSION,
      globalFlags: globalOptions().filter((o) => !o.hidden).map(flagSchema),
      commands: await Promise.all(visible.map(schemaOf)),
    };
    ctx.out.result(all, () => yamlOf(all));
  },
});

function yamlOf(o: unknown): string {
  return stringify(o);
}
