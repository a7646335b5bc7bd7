import { Option, type Command } from 'commander';
import type { Context } from '../context.js';
import type { Contract } from './contract.js';
import type { CommandModule } from './registry.js';

/**
 * A flag declared once: commander's Option (what --help shows) and how its raw value becomes the typed value the
 * command gets. `read` throws a usage error (exit 2) naming the flag and what would be valid.
 */
export interface Flag<T> {
  option: Option;
  read(raw: unknown): T;
}

export interface FlagOptions {
  default?: string;
  choices?: readonly string[];
  /** Each occurrence appends (the raw value is a string[]). */
  repeatable?: boolean;
  hidden?: boolean;
  /** commander refuses the command without it (its own message, exit 2). */
  mandatory?: boolean;
}

/** Options given more than once append (what `vnode schema` reports as repeatable). */
export const REPEATABLE = new WeakSet<Option>();

export function flag<T>(spec: string, help: string, read: (raw: unknown) => T, opts: FlagOptions = {}): Flag<T> {
  const option = new Option(spec, help);
  if (opts.repeatable) REPEATABLE.add(option);
  if (opts.default !== undefined) option.default(opts.default);
  if (opts.choices) option.choices(opts.choices);
  if (opts.repeatable) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  if (opts.hidden) option.hideHelp();
  if (opts.mandatory) option.makeOptionMandatory();
  return { option, read };
}

/** Readers for the common shapes of a raw commander value. */
export const read = {
  /** A switch: true when given (a --no-x switch reads false when given). */
  bool: (raw: unknown): boolean => raw === true,
  /** --no-x: true unless given. */
  unlessNegated: (raw: unknown): boolean => raw !== false,
  text: (raw: unknown): string | undefined => (raw === undefined ? undefined : String(raw)),
  /** A value with a default: always a string. */
  given: (raw: unknown): string => String(raw),
  list: (raw: unknown): string[] => (raw as string[] | undefined) ?? [],
  optionalList: (raw: unknown): string[] | undefined => raw as string[] | undefined,
  /** A checked value, or undefined when not given. */
  optional: <T>(check: (s: string) => T) => (raw: unknown): T | undefined => (raw === undefined ? undefined : check(String(raw))),
};

export type Values<F> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };

/** The typed values of flags out of commander's raw options (a flag not given reads its default). */
export function readFlags<F extends Record<string, Flag<unknown>>>(flags: F, raw: Record<string, unknown>): Values<F> {
  const values = {} as Record<string, unknown>;
  for (const [key, f] of Object.entries(flags)) {
    const given = raw[f.option.attributeName()];
    values[key] = f.read(given === undefined && !f.option.negate ? f.option.defaultValue : given);
  }
  return values as Values<F>;
}

/**
 * A command as its flags plus one typed call: the flags are declared once (help and parsing), `run` gets their
 * typed values, read in declaration order, so the first bad flag is the one named.
 */
export function defineCommand<F extends Record<string, Flag<unknown>>>(spec: {
  description: string;
  /** commander argument specs, e.g. ['<name>', 'selector name']. */
  args?: [string, string][];
  flags: F;
  /** Extra help (after the options), e.g. what --force means here. */
  configure?: (cmd: Command) => void;
  /**
   * Whether a run changes the cluster or the cloud for it: the runner then holds the cluster's lock around it (never
   * under --dry-run). A function of the flags when only some runs change anything.
   */
  mutates: boolean | ((o: Values<F>) => boolean);
  /** What it may call of Alibaba Cloud, what it needs of Kubernetes, what it risks (see contract.ts). */
  contract: Contract;
  /** A long-running command that stops cleanly on Ctrl-C itself (a server, the sandbox). */
  ownsInterrupt?: boolean;
  run(ctx: Context, o: Values<F>, args: string[]): Promise<void | number>;
}): CommandModule & { flags: F } {
  return {
    flags: spec.flags,
    contract: spec.contract,
    ...(spec.ownsInterrupt ? { ownsInterrupt: true } : {}),
    mutates: (raw) => (typeof spec.mutates === 'function' ? spec.mutates(readFlags(spec.flags, raw)) : spec.mutates),
    configure(cmd: Command) {
      cmd.description(spec.description);
      for (const [name, help] of spec.args ?? []) cmd.argument(name, help);
      for (const f of Object.values(spec.flags)) cmd.addOption(f.option);
      spec.configure?.(cmd);
    },
    async run(ctx, args, raw) {
      return spec.run(ctx, readFlags(spec.flags, raw), args);
    },
  };
}
