import { clusterUid } from '../../cluster/cluster-id.js';
import type { KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, throwIfAborted } from '../../errors.js';
import { drainNode, type DrainOptions, type DrainResult } from '../drain/drain.js';
import { containerGroupsOf, describeGroups, requireController, STS_REF, waitNodesReady } from './controller.js';
import { MODE_LABEL, NAMESPACE, nodeName, ordinalOf } from './manifest.js';

export interface ScaleOptions {
  replicas: number;
  drainOptions: DrainOptions;
  timeoutMs: number;
}

export interface ScaleResult {
  from: number;
  to: number;
  added: string[];
  removed: string[];
  drained: DrainResult[];
  dryRun: boolean;
}

/**
 * `vnode scale --replicas N`: one virtual node per replica. Scaling down removes the highest ordinals, as the
 * StatefulSet does, but drains each first (PodDisruptionBudgets honoured) and stops if any ECI instance would be
 * left on it; the Node objects go last.
 */
export async function scaleController(ctx: Context, opts: ScaleOptions): Promise<ScaleResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const { settings } = await requireController(cluster);
  const from = settings.replicas;
  const to = opts.replicas;
  // an earlier, interrupted scale-down may have left Nodes above the new count
  const leftover = (await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `${MODE_LABEL}=controller` }))
    .map((n) => ordinalOf(n.metadata.name!) ?? -1).filter((i) => i >= to);
  const top = Math.max(from, ...leftover.map((i) => i + 1));
  const removed = Array.from({ length: Math.max(0, top - to) }, (_, k) => nodeName(top - 1 - k));
  const added = Array.from({ length: Math.max(0, to - from) }, (_, k) => nodeName(from + k));
  const result: ScaleResult = { from, to, added, removed, drained: [], dryRun: flags.dryRun };

  if (removed.length > 0) {
    const cloud = await ctx.cloud();
    const clusterId = await clusterUid(cluster);
    for (const name of removed) {
      throwIfAborted(ctx.signal);
      if (!(await cluster.get({ apiVersion: 'v1', kind: 'Node', name }))) continue;
      const d = await drainNode(ctx, cluster, name, opts.drainOptions);
      result.drained.push(d);
      if (flags.dryRun) continue;
      const left = await status.step(`Checking ${name} for ECI instances left behind`, () => containerGroupsOf(cloud, name, clusterId), (l) => (l.length ? `${l.length} found` : 'none'));
      if (left.length > 0) {
        throw operationError('OrphanedInstances', `${left.length} ECI container group(s) of ${name} still exist: ${describeGroups(left)}; removing the replica now would leave them running and billed`, {
          hint: 'their pods are still being deleted; run the same command again in a moment',
        });
      }
    }
  }
  if (flags.dryRun) return result;

  if (from !== to) await status.step(`Scaling StatefulSet ${NAMESPACE}/${STS_REF.name} from ${from} to ${to}`, () => cluster.patch(STS_REF, { spec: { replicas: to } }, 'merge'));
  for (const name of removed) {
    throwIfAborted(ctx.signal);
    // the replica stops first, so it cannot register the Node again
    await cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Pod', namespace: NAMESPACE, name }, (p) => !p, { timeoutMs: 120_000, signal: ctx.signal });
    await status.step(`Deleting node ${name}`, async () => {
      await cluster.delete({ apiVersion: 'v1', kind: 'Node', name });
      await cluster.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'kube-node-lease', name });
    });
  }
  if (added.length > 0) await waitNodesReady(ctx, cluster, added.map((_, k) => from + k), opts.timeoutMs);
  return result;
}
