import { Argument, Command } from 'commander';
import type { KubeObject } from '../cluster/port.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../cluster/port.js';
import { globalOptions } from './global-options.js';
import { commands, groups } from './registry.js';
import type { CommandModule } from './registry.js';

/** What completion offers at each command path ('' is the top level): subcommands and long flags. */
export interface CompletionTable {
  paths: Map<string, { subcommands: string[]; flags: { name: string; takesValue: boolean; description: string }[]; nodeArgs: boolean }>;
  globals: { name: string; takesValue: boolean; description: string }[];
}

const NODE_ARGS = new Set(['status', 'uninstall', 'drain']);

function flagsOf(cmd: Command): { name: string; takesValue: boolean; description: string }[] {
  return cmd.options.filter((o) => o.long && !o.hidden).map((o) => ({ name: o.long!, takesValue: o.required || o.optional, description: o.description }));
}

/** Configures every command (loading each module once) to read its flags. */
export async function completionTable(): Promise<CompletionTable> {
  const paths: CompletionTable['paths'] = new Map();
  const top = commands.filter((c) => !c.hidden).map((c) => c.path[0]!);
  paths.set('', { subcommands: [...new Set(top)], flags: [], nodeArgs: false });
  for (const g of groups) {
    const depth = g.name.split(' ').length;
    const subcommands = commands.filter((c) => c.path.slice(0, depth).join(' ') === g.name && c.path.length > depth && !c.hidden).map((c) => c.path[depth]!);
    paths.set(g.name, { subcommands: [...new Set(subcommands)], flags: [], nodeArgs: false });
  }
  for (const entry of commands) {
    if (entry.hidden) continue;
    const cmd = new Command(entry.path.join(' '));
    (await entry.load()).configure(cmd);
    paths.set(entry.path.join(' '), { subcommands: [], flags: flagsOf(cmd), nodeArgs: entry.path.length === 1 && NODE_ARGS.has(entry.path[0]!) });
  }
  // config set takes key=value words
  paths.get('config set')!.subcommands.push('vswitch=', 'security-group=', 'kube-proxy=true', 'kube-proxy=false');
  return { paths, globals: globalOptions().filter((o) => o.long).map((o) => ({ name: o.long!, takesValue: o.required || o.optional, description: o.description })) };
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashScript(t: CompletionTable): string {
  const known = [...t.paths.keys()].filter(Boolean);
  const globals = t.globals.map((f) => f.name).join(' ');
  const valueFlags = [...new Set([...t.globals, ...[...t.paths.values()].flatMap((p) => p.flags)].filter((f) => f.takesValue).map((f) => f.name))];
  const cases = [...t.paths.entries()].map(([p, v]) => `    ${q(p)}) words=${q(v.subcommands.join(' '))}; flags=${q(v.flags.map((f) => f.name).join(' '))}; nodes=${v.nodeArgs ? 1 : 0} ;;`).join('\n');
  return `# vnode completion for bash: source <(vnode completion bash)
_vnode() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i next words flags nodes=0
  case "$prev" in ${valueFlags.join('|')}) return 0 ;; esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${valueFlags.join('|')}) i=$((i + 1)); continue ;;
      -*) continue ;;
    esac
    next="\${path:+$path }$w"
    case "$next" in ${known.map(q).join('|')}) path="$next" ;; esac
  done
  case "$path" in
${cases}
  esac
  # a word starting with - completes flags (the command's, then the global ones); anything else, arguments
  if [[ "$cur" == -* ]]; then
    words="$flags ${globals}"
  elif [[ $nodes == 1 ]]; then
    words="$words $(vnode __nodes 2>/dev/null)"
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _vnode vnode
`;
}

export function zshScript(t: CompletionTable): string {
  return `#compdef vnode
# vnode completion for zsh: source <(vnode completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(t)}`;
}

export function fishScript(t: CompletionTable): string {
  const lines = ['# vnode completion for fish: vnode completion fish | source', 'complete -c vnode -f'];
  for (const f of t.globals) lines.push(`complete -c vnode -l ${f.name.slice(2)}${f.takesValue ? ' -r' : ''} -d ${q(f.description)}`);
  for (const [p, v] of t.paths) {
    const words = p.split(' ').filter(Boolean);
    const cond = words.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${words[words.length - 1]}`;
    for (const s of v.subcommands) {
      const summary = p === '' ? (groups.find((g) => g.name === s)?.summary ?? commands.find((c) => c.path[0] === s)?.summary ?? 'print a shell completion script') : commands.find((c) => c.path.join(' ') === `${p} ${s}`)?.summary ?? '';
      lines.push(`complete -c vnode -n ${q(cond)} -a ${q(s)} -d ${q(summary)}`);
    }
    for (const f of v.flags) lines.push(`complete -c vnode -n ${q(cond)} -l ${f.name.slice(2)}${f.takesValue ? ' -r' : ''} -d ${q(f.description)}`);
    if (v.nodeArgs) lines.push(`complete -c vnode -n ${q(cond)} -a '(vnode __nodes 2>/dev/null)'`);
  }
  return `${lines.join('\n')}\n`;
}

export const completion: CommandModule = {
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  configure(cmd: Command) {
    cmd.description('Print a shell completion script: commands, their flags, and the names of installed virtual nodes.')
      .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']));
  },
  async run(ctx, args) {
    const table = await completionTable();
    const script = args[0] === 'bash' ? bashScript(table) : args[0] === 'zsh' ? zshScript(table) : fishScript(table);
    ctx.out.print(script.trimEnd());
  },
};

/** Names for completion: the virtual nodes' install names and Node names, from the cluster only (cheap, no cloud call). */
export const nodes: CommandModule = {
  contract: { cloud: { always: [] }, kubernetes: [{ group: '', resources: ['nodes'], verbs: ['list'] }], risk: 'read', converges: true },
  configure(cmd: Command) {
    cmd.description('list virtual node names for shell completion');
  },
  async run(ctx) {
    const cluster = await ctx.cluster();
    const list = await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` });
    const names = new Set<string>();
    for (const n of list) {
      names.add(n.metadata.name!);
      const install = n.metadata.labels?.['vnode.dev/name'];
      if (install) names.add(install);
    }
    // the add-on's nodes are its own, not labelled by vnode; uninstall takes the add-on by its name
    const addon = (await cluster.list<KubeObject>('v1', 'Node', { labelSelector: 'type=virtual-kubelet,!k8s.aliyun.com/vnode' })).filter((n) => n.metadata.name!.startsWith('virtual-kubelet-'));
    for (const n of addon) names.add(n.metadata.name!);
    if (addon.length) names.add('ack-virtual-node');
    if (names.size) ctx.out.print([...names].sort().join('\n'));
  },
};
