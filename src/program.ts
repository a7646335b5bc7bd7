import { Command, CommanderError } from 'commander';
import type { Deps, GlobalFlags } from './context.js';
import { commands, docsPage, groups, type CommandEntry } from './commands/registry.js';
import type { OutputFormat } from './ui/formats.js';

import { VERSION } from './version.js';
import { globalOptions } from './commands/global-options.js';

/** Global options that take a value: needed to find the command word in argv without parsing everything. */
const VALUE_OPTIONS = new Set(['--kubeconfig', '--context', '-o', '--output', '--profile', '--region', '--lock-timeout']);

/** The command argv names, found without loading any command module. */
export function targetEntry(argv: string[]): CommandEntry | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 3; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  if (words[0] === 'help') words.shift();
  return commands.find((c) => c.path.every((p, i) => words[i] === p || (i === 0 && c.aliases?.includes(words[i] ?? ''))));
}

function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.optsWithGlobals<Record<string, unknown>>();
  return {
    kubeconfig: o.kubeconfig as string | undefined,
    context: o.context as string | undefined,
    profile: o.profile as string | undefined,
    region: o.region as string | undefined,
    output: (o.output as OutputFormat | undefined) ?? 'text',
    dryRun: Boolean(o.dryRun),
    yes: Boolean(o.yes),
    verbose: Boolean(o.verbose),
    color: o.color !== false,
    lockTimeout: String(o.lockTimeout ?? '5m'),
    skipPermissionCheck: Boolean(o.skipPermissionCheck),
  };
}

/** NO_COLOR, FORCE_COLOR and CLICOLOR_FORCE, as commander reads them. */
function forcedColor(env: NodeJS.ProcessEnv): boolean | undefined {
  if (env.NO_COLOR || env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true;
  return undefined;
}

function hasColors(s: unknown): boolean {
  return Boolean((s as { hasColors?: () => boolean }).hasColors?.());
}

/**
 * Builds the commander tree. Every command is listed (for help), but only the one argv names is
 * imported and given its flags, so `vnode --help` loads no SDK. The command's exit code lands in `outcome`.
 */
export async function buildProgram(argv: string[], deps: Deps, outcome: { code?: number } = {}): Promise<Command> {
  const name = deps.name ?? 'vnode';
  // examples read as the user typed the program: `kubectl vnode install ...` when run as a kubectl plugin
  const named = (text: string): string => (name === 'vnode' ? text : text.replace(/(^ {2}|\$\(|`)vnode (?=[a-z-])/gm, `$1${name} `));
  const program = new Command(name)
    .description('Connect a self-managed Kubernetes cluster to Alibaba Cloud ECI through virtual nodes.')
    .version(VERSION, '--version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.streams.stdout.write(s), writeErr: (s) => deps.streams.stderr.write(s),
      // as commander reads process.stdout and process.stderr, from the streams this run was given
      getOutHelpWidth: () => (deps.streams.stdout.isTTY ? deps.streams.stdout.columns : undefined) as number,
      getErrHelpWidth: () => (deps.streams.stderr.isTTY ? deps.streams.stderr.columns : undefined) as number,
      getOutHasColors: () => forcedColor(deps.env) ?? Boolean(deps.streams.stdout.isTTY && hasColors(deps.streams.stdout)),
      getErrHasColors: () => forcedColor(deps.env) ?? Boolean(deps.streams.stderr.isTTY && hasColors(deps.streams.stderr)),
    })
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  for (const o of globalOptions()) program.addOption(o);

  program.addHelpText('after', named(`
Workflow:
  vnode ram grant --yes                                          # RAM user, policy, AccessKey in the cluster
  vnode install --vswitch vsw-a,vsw-b --security-group sg-x      # a virtual node, Ready
  vnode status
  vnode scheduling enable --namespace burst                      # pods labelled alibabacloud.com/eci=true go there
  vnode doctor                                                   # what keeps them working
  vnode uninstall --all --drain --deregister                     # nothing left running or billed
Try it locally first: eval "$(vnode sandbox up)"`));

  // groups take the place of their first command, so help reads in the order of the workflow
  const parents = new Map<string, Command>();
  const target = targetEntry(argv);
  for (const entry of commands) {
    let parent = program;
    // a group per prefix (`scheduling`, `scheduling limit`)
    for (let depth = 1; depth < entry.path.length; depth++) {
      const prefix = entry.path.slice(0, depth);
      const key = prefix.join(' ');
      if (!parents.has(key)) {
        const group = parent.command(prefix[depth - 1]!).description(groups.find((g) => g.name === key)?.summary ?? '');
        const examples = commands.filter((c) => c.path.slice(0, depth).join(' ') === key && !c.hidden).map((c) => c.examples[0]).filter((e): e is string => Boolean(e)).slice(0, 4);
        group.addHelpText('after', named(`\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n\nDocs: ${docsPage(prefix)} (in vnode's package)`));
        parents.set(key, group);
      }
      parent = parents.get(key)!;
    }
    const cmd = parent.command(entry.path[entry.path.length - 1]!, entry.hidden ? { hidden: true } : {}).description(entry.summary);
    for (const a of entry.aliases ?? []) cmd.alias(a);
    cmd.addHelpText('after', named(`${entry.examples.length ? `\nExamples:\n${entry.examples.map((e) => `  ${e}`).join('\n')}\n` : ''}\nDocs: ${docsPage(entry.path)} (in vnode's package)`));
    if (entry !== target) continue;
    const mod = await entry.load();
    mod.configure(cmd);
    cmd.action(async (...params: unknown[]) => {
      const self = params[params.length - 1] as Command;
      const clash = contradiction(self, argv);
      if (clash) throw (await import('./errors.js')).usageError('ContradictoryFlags', clash, 'pass one of them, not both');
      const { createContext } = await import('./context.js');
      // a run that loses the cluster's lock stops before its next step, as an interrupt does
      const lockLost = new AbortController();
      const ctx = createContext(globalFlags(self), { ...deps, signal: AbortSignal.any([deps.signal, lockLost.signal]) });
      const n = self.registeredArguments.length;
      const args = params.slice(0, n).flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p]));
      let code: void | number;
      // one mutating vnode at a time per cluster: the runner holds the lock, never a step (flags are read first)
      const { holdLock, lockTimeoutMs } = await import('./commands/lock.js');
      const changes = Boolean(mod.mutates?.(self.opts())) && !ctx.flags.dryRun;
      const lock = changes ? await holdLock(ctx, entry.path.join(' '), lockTimeoutMs(ctx), () => lockLost.abort()) : (lockTimeoutMs(ctx), undefined);
      try {
        const work = mod.run(ctx, args.map(String), self.opts());
        // what a read left in flight after an interrupt ends unheard
        const race = !changes && !mod.ownsInterrupt;
        if (race) work.catch(() => {});
        // a read has nothing to leave half-done: one Ctrl-C ends it now, whatever call is in flight
        code = race ? await Promise.race([work, interruptedBy(ctx.signal)]) : await work;
      } catch (e) {
        if (!ctx.signal.aborted) throw await (await import('./errors.js')).describeDenial(e, ctx.status);
        const { describeInterrupt, describeLockLost } = await import('./errors.js');
        if (lockLost.signal.aborted && !deps.signal.aborted) throw describeLockLost(e, ctx.status, entry.rerun);
        throw describeInterrupt(e, ctx.status, entry.rerun);
      } finally {
        await lock?.release();
      }
      outcome.code = typeof code === 'number' ? code : 0;
    });
  }
  return program;
}

/** `--bootstrap --no-bootstrap`: a flag and its negation both given is no choice (commander would take the last). */
function contradiction(cmd: Command, argv: string[]): string | undefined {
  const end = argv.indexOf('--');
  const given = new Set((end >= 0 ? argv.slice(0, end) : argv).filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!));
  for (const o of cmd.options) {
    if (!o.negate || !o.long) continue;
    const positive = `--${o.long.slice('--no-'.length)}`;
    if (given.has(o.long) && given.has(positive)) return `${positive} and ${o.long} contradict each other`;
  }
  return undefined;
}

/** Rejects once the signal fires (never resolves): what a read races against. */
function interruptedBy(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fire = (): void => reject(new Error('interrupted'));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

export function isHelpOrVersion(e: unknown): boolean {
  return e instanceof CommanderError && ['commander.helpDisplayed', 'commander.help', 'commander.version', 'commander.executeSubCommandAsync'].includes(e.code);
}
