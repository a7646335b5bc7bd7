import type { KubeObject } from '../cluster/port.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { drainNode, drainRefusals, refuseDrain, type DrainOptions, type DrainResult } from '../steps/drain/drain.js';
import { NAME_LABEL } from '../steps/virtual-node/install.js';
import { defineCommand, flag, read, type Values } from './define.js';
import { durationFlag } from './flags.js';
import { LOCK_ACCESS, READ, WRITE } from './contract.js';

/** --force where a node is removed: pods without a controller, pods that keep coming back, and their instances. */
export const FORCE_REMOVE_HELP = 'remove the node even with pods on it: pods without a controller are deleted, and pods that come back '
  + 'after eviction (they tolerate the cordon) have their ECI instances deleted so their controllers recreate them elsewhere';

const SELECTOR = /^[A-Za-z0-9_./-]+(\s*(=|==|!=)\s*[A-Za-z0-9_.-]*)?(\s*,\s*[A-Za-z0-9_./-]+(\s*(=|==|!=)\s*[A-Za-z0-9_.-]*)?)*$/;

/** The drain flags, declared once for drain, update and uninstall (only --force's help differs). */
export function drainFlags(forceHelp = 'also remove pods that no controller manages (they are not recreated)') {
  return {
    disableEviction: flag('--disable-eviction', 'delete pods instead of evicting them (bypasses PodDisruptionBudgets)', read.bool),
    timeoutMs: durationFlag('--timeout <duration>', 'give up after this long; 0 = no limit', '5m'),
    parallel: flag('--parallel <n>', 'evictions in flight at once', (raw) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw usageError('InvalidParallel', `invalid --parallel "${String(raw)}": expected a whole number from 1 to 1000`);
      return n;
    }, { default: '64' }),
    force: flag('--force', forceHelp, read.bool),
    deleteEmptydirData: flag('--delete-emptydir-data', 'also remove pods with emptyDir volumes (their data is lost)', read.bool),
    gracePeriodSeconds: flag('--grace-period <seconds>', 'termination grace period; -1 = each pod\'s own', (raw) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < -1) throw usageError('InvalidGracePeriod', `invalid --grace-period "${String(raw)}": expected -1 (the pod's own) or seconds >= 0`);
      return n === -1 ? undefined : n;
    }, { default: '-1' }),
    podSelector: flag('--pod-selector <selector>', 'only pods matching this label selector', (raw) => {
      if (raw === undefined) return undefined;
      const sel = String(raw);
      if (!SELECTOR.test(sel)) throw usageError('InvalidSelector', `invalid --pod-selector "${sel}": expected key=value[,key!=value,...]`);
      return sel;
    }),
  };
}

/** The drain options out of the typed values of drainFlags(). */
export function drainOptions(o: Values<ReturnType<typeof drainFlags>>): DrainOptions {
  return {
    disableEviction: o.disableEviction, timeoutMs: o.timeoutMs, parallel: o.parallel, force: o.force, deleteEmptydirData: o.deleteEmptydirData,
    gracePeriodSeconds: o.gracePeriodSeconds, podSelector: o.podSelector,
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
  const parts = [`${r.evicted} evicted`, r.deleted ? `${r.deleted} deleted` : '', r.skipped.daemonSet ? `${r.skipped.daemonSet} DaemonSet pod(s) left` : '',
    r.skipped.mirror ? `${r.skipped.mirror} mirror pod(s) skipped` : ''].filter(Boolean);
  return `node/${r.node} drained: ${parts.join(', ')} in ${(r.durationMs / 1000).toFixed(1)}s`;
}

export default defineCommand({
  description: 'Cordon node(s) and evict their pods through the Eviction API (PodDisruptionBudgets honoured, retried until --timeout), '
    + 'with kubectl drain\'s pod rules; waits until they are gone. On timeout or interrupt the node stays cordoned; running it again continues.',
  args: [['<name...>', 'Node name, or a virtual node\'s install name or VirtualNodeId']],
  flags: drainFlags(),
  mutates: true,
  contract: {
    cloud: { always: ['eci:DescribeVirtualNodes', 'eci:DescribeContainerGroups'], when: { '--cleanup-orphans': ['eci:DeleteContainerGroup'], '--force': ['eci:DeleteContainerGroup'] } },
    kubernetes: [LOCK_ACCESS, { group: '', resources: ['nodes', 'pods'], verbs: WRITE }, { group: '', resources: ['pods/eviction'], verbs: ['create'] }, { group: 'policy', resources: ['poddisruptionbudgets'], verbs: READ },
      { group: 'apps', resources: ['daemonsets', 'replicasets', 'deployments', 'statefulsets'], verbs: READ }],
    risk: 'change',
    waits: 'evicted pods gone and their ECI instances released',
    converges: true,
  },
  async run(ctx, o, args) {
    const opts = drainOptions(o);
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
});
