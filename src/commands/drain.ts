import { Option, type Command } from 'commander';
import type { KubeObject } from '../cluster/port.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { drainNode, drainRefusals, refuseDrain, type DrainOptions, type DrainResult } from '../steps/drain/drain.js';
import { NAME_LABEL } from '../steps/virtual-node/install.js';
import { parseDuration } from '../util/duration.js';
import type { CommandModule } from './registry.js';

/** --force where a node is removed: pods without a controller, pods that keep coming back, and their instances. */
export const FORCE_REMOVE_HELP = 'remove the node even with pods on it: pods without a controller are deleted, and pods that come back '
  + 'after eviction (they tolerate the cordon) have their ECI instances deleted so their controllers recreate them elsewhere';

export function addDrainOptions(cmd: Command, forceHelp = 'also remove pods that no controller manages (they are not recreated)'): Command {
  return cmd
    .addOption(new Option('--disable-eviction', 'delete pods instead of evicting them (bypasses PodDisruptionBudgets)'))
    .addOption(new Option('--timeout <duration>', 'give up after this long; 0 = no limit').default('5m'))
    .addOption(new Option('--parallel <n>', 'evictions in flight at once').default('64'))
    .addOption(new Option('--force', forceHelp))
    .addOption(new Option('--delete-emptydir-data', 'also remove pods with emptyDir volumes (their data is lost)'))
    .addOption(new Option('--grace-period <seconds>', 'termination grace period; -1 = each pod\'s own').default('-1'))
    .addOption(new Option('--pod-selector <selector>', 'only pods matching this label selector'));
}

export function parseDrainOptions(raw: Record<string, unknown>): DrainOptions {
  const parallel = Number(raw.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 1000) throw usageError('InvalidParallel', `invalid --parallel "${String(raw.parallel)}": expected a whole number from 1 to 1000`);
  const grace = Number(raw.gracePeriod);
  if (!Number.isInteger(grace) || grace < -1) throw usageError('InvalidGracePeriod', `invalid --grace-period "${String(raw.gracePeriod)}": expected -1 (the pod's own) or seconds >= 0`);
  const sel = raw.podSelector === undefined ? undefined : String(raw.podSelector);
  if (sel !== undefined && !/^[A-Za-z0-9_./-]+(\s*(=|==|!=)\s*[A-Za-z0-9_.-]*)?(\s*,\s*[A-Za-z0-9_./-]+(\s*(=|==|!=)\s*[A-Za-z0-9_.-]*)?)*$/.test(sel)) {
    throw usageError('InvalidSelector', `invalid --pod-selector "${sel}": expected key=value[,key!=value,...]`);
  }
  return {
    disableEviction: Boolean(raw.disableEviction), timeoutMs: parseDuration('--timeout', String(raw.timeout)), parallel,
    force: Boolean(raw.force), deleteEmptydirData: Boolean(raw.deleteEmptydirData), gracePeriodSeconds: grace === -1 ? undefined : grace,
    podSelector: sel,
  };
}

/** A node given by its Node name, or a virtual node by its install name or VirtualNodeId. */
async function resolveNode(ctx: Context, key: string): Promise<string> {
  const cluster = await ctx.cluster();
  if (await cluster.get({ apiVersion: 'v1', kind: 'Node', name: key })) return key;
  const nodes = await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `${NAME_LABEL}=${key}` });
  if (nodes[0]) return nodes[0].metadata.name!;
  const byId = (await cluster.list<KubeObject>('v1', 'Node')).find((n) => n.metadata.name!.endsWith(`.${key}`));
  if (byId) return byId.metadata.name!;
  throw usageError('NodeNotFound', `no node "${key}": give a Node name, a virtual node's install name or its VirtualNodeId`);
}

export function renderDrain(r: DrainResult): string {
  if (r.dryRun) return `(dry run) ${r.node}: would cordon and evict ${r.wouldEvict!.length} pod(s)${r.wouldEvict!.length ? ': ' + r.wouldEvict!.map((p) => `${p.namespace}/${p.name}`).join(', ') : ''}`;
  return `node/${r.node} drained: ${r.evicted} evicted${r.deleted ? `, ${r.deleted} deleted` : ''}${r.skipped.daemonSet ? `, ${r.skipped.daemonSet} DaemonSet pod(s) left` : ''}${r.skipped.mirror ? `, ${r.skipped.mirror} mirror pod(s) skipped` : ''} in ${(r.durationMs / 1000).toFixed(1)}s`;
}

const command: CommandModule = {
  configure(cmd: Command) {
    addDrainOptions(cmd
      .description('Cordon node(s) and evict their pods through the Eviction API (PodDisruptionBudgets honoured, retried until --timeout), ' +
        'with kubectl drain\'s pod rules; waits until they are gone. On timeout or interrupt the node stays cordoned; running it again continues.')
      .argument('<name...>', 'Node name, or a virtual node\'s install name or VirtualNodeId'));
  },
  async run(ctx, args, raw) {
    const opts = parseDrainOptions(raw);
    const cluster = await ctx.cluster();
    const nodes = [];
    for (const a of args) nodes.push(await resolveNode(ctx, a));
    const unique = [...new Set(nodes)];
    // every node's refusals before the first cordon; a budget only slows a drain down, as with kubectl drain
    if (unique.length > 1) refuseDrain(unique.join(', '), await drainRefusals(cluster, unique, opts, false));
    const results: DrainResult[] = [];
    for (const n of unique) results.push(await drainNode(ctx, cluster, n, opts));
    ctx.out.result(results.length === 1 ? results[0] : results, () => results.map(renderDrain).join('\n'));
  },
};

export default command;
