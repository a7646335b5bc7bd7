import type { CloudPorts, ContainerGroupInfo } from '../../cloud/port.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { workloadOf } from '../../cluster/workload.js';
import { toleratesTaint, type Toleration } from '../../cluster/node-match.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { INSTANCE_ANNOTATION, TAG_NODE_NAME, TERMINAL_STATUSES } from '../../assumptions.js';
import { pause } from '../../util/sleep.js';
import { deletionToken } from '../../cloud/tokens.js';
import { classify, drainNode, type DrainOptions, type DrainResult } from './drain.js';

/** The taint `kubectl cordon` and vnode's cordon put on a node. */
export const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export interface PodBrief { namespace: string; name: string; uid: string; instanceId: string | undefined; controller: string | undefined }

export interface RetireOptions {
  /** null: no drain (the caller refused or was told to --force). */
  drain: DrainOptions | null;
  /** Remove the node even with pods on it: their instances are deleted and their controllers recreate them elsewhere. */
  force: boolean;
  /** Delete instances no live pod claims. */
  cleanupOrphans: boolean;
  /** Bound for waiting until the evicted pods' instances are released; 0 = no limit. */
  timeoutMs: number;
}

export interface Retirement {
  drain: DrainResult | null;
  /** Pods that came back to the node after the drain began (they tolerate the cordon). */
  returning: PodBrief[];
  /** Instances of evicted pods, waited for until ECI released them. */
  released: string[];
  instancesDeleted: string[];
  podsDeleted: string[];
  /** Unclaimed instances found only by the NodeName tag (an assumption), not deleted without --cleanup-orphans or --force. */
  unconfirmed: string[];
}

interface Pod extends KubeObject {
  spec?: { tolerations?: Toleration[]; nodeName?: string };
  status?: { phase?: string };
}

/** Where a node stands in its retirement: what the caller names when interrupted. */
export type RetireStage = 'recorded' | 'drained' | 'released' | 'checked';

const TERMINATING = (p: KubeObject): boolean => Boolean(p.metadata.deletionTimestamp);


async function briefs(cluster: ClusterPort, pods: Pod[]): Promise<PodBrief[]> {
  const cache = new Map<string, string>();
  const out: PodBrief[] = [];
  for (const p of pods) {
    out.push({
      namespace: p.metadata.namespace!, name: p.metadata.name!, uid: p.metadata.uid!, instanceId: p.metadata.annotations?.[INSTANCE_ANNOTATION],
      controller: await workloadOf(cluster, p, cache),
    });
  }
  return out;
}

/** Pods a removal would orphan: those a drain would evict that still run. */
export async function busyPods(cluster: ClusterPort, node: string): Promise<string[]> {
  const pods = await cluster.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${node}` });
  return pods.filter((p) => {
    const phase = (p.status as { phase?: string } | undefined)?.phase;
    return classify(p, { force: true, deleteEmptydirData: true }) === 'evict' && phase !== 'Succeeded' && phase !== 'Failed';
  }).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

const podsOn = (cluster: ClusterPort, node: string): Promise<Pod[]> => cluster.list<Pod>('v1', 'Pod', { fieldSelector: `spec.nodeName=${node}` });

/** Instances ECI still lists among these ids (released ones are gone or in a terminal state). */
async function stillThere(cloud: CloudPorts, ids: string[]): Promise<ContainerGroupInfo[]> {
  if (ids.length === 0) return [];
  return (await cloud.eci.describeContainerGroups({ ids })).filter((g) => !TERMINAL_STATUSES.includes(g.status));
}

const show = (p: PodBrief): string => `${p.namespace}/${p.name}${p.controller ? ` (${p.controller})` : ''}`;

/**
 * Takes the pods off a virtual node and makes sure nothing stays billed, before and after the caller deletes the
 * virtual node itself:
 * - `prepare`: record each pod's instance (the documented pod annotation, cross-checked with ECI), drain, wait until
 *   ECI has released the evicted pods' instances, then refuse on pods that came back (they tolerate the cordon) or
 *   on instances no pod claims, unless told otherwise;
 * - `clear` (before DeleteVirtualNode, which ECI refuses while an instance exists on the node): with --force the
 *   pods still there, then the instances vnode may delete;
 * - `finish` (after it): what is left, the Node, and with --force the pods still bound to it.
 */
export class NodeRetirement {
  private recorded = new Map<string, PodBrief>();
  private drainStarted = 0;
  private cleared = false;
  /** The Node was deleted before the virtual node (--force). */
  nodeGone = false;
  stage: RetireStage | undefined;
  readonly result: Retirement = { drain: null, returning: [], released: [], instancesDeleted: [], podsDeleted: [], unconfirmed: [] };

  constructor(
    private readonly ctx: Context,
    private readonly cluster: ClusterPort,
    private readonly cloud: CloudPorts,
    /** The Node's name; undefined when the Node is already gone. */
    readonly nodeName: string | undefined,
    private readonly opts: RetireOptions,
    /** Throws, naming what is left, once an interrupt fired. */
    private readonly checkpoint: () => void = () => {
      if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `removal of ${nodeName} interrupted`, { hint: 'run the same command again to finish' });
    },
  ) {}

  async prepare(): Promise<void> {
    const { status } = this.ctx;
    const node = this.nodeName;
    if (!node || !(await this.cluster.get({ apiVersion: 'v1', kind: 'Node', name: node }))) { this.stage = 'checked'; return; }
    const pods = (await podsOn(this.cluster, node)).filter((p) => !TERMINATING(p));
    const withIds = (await briefs(this.cluster, pods)).filter((p) => p.instanceId);
    const known = new Set((await stillThere(this.cloud, withIds.map((p) => p.instanceId!))).map((g) => g.id));
    for (const p of withIds) if (known.has(p.instanceId!)) this.recorded.set(p.uid, p);
    for (const p of pods) if (!this.recorded.has(p.metadata.uid!)) this.recorded.set(p.metadata.uid!, { namespace: p.metadata.namespace!, name: p.metadata.name!, uid: p.metadata.uid!, instanceId: undefined, controller: undefined });
    this.stage = 'recorded';
    this.checkpoint();

    this.drainStarted = Date.now();
    if (this.opts.drain) this.result.drain = await drainNode(this.ctx, this.cluster, node, this.opts.drain);
    this.stage = 'drained';
    this.checkpoint();

    // the evicted pods' instances: ECI releases them some seconds after their pods are gone
    const live = new Set((await podsOn(this.cluster, node)).map((p) => p.metadata.uid));
    const waitFor = [...this.recorded.values()].filter((p) => p.instanceId && !live.has(p.uid)).map((p) => p.instanceId!);
    if (waitFor.length > 0) {
      const started = Date.now();
      const deadline = this.opts.timeoutMs > 0 ? started + this.opts.timeoutMs : Infinity;
      let left = await stillThere(this.cloud, waitFor);
      if (left.length > 0) {
        await status.start(`Waiting for ECI to release ${waitFor.length} instance(s) of the evicted pods`);
        while (left.length > 0 && Date.now() < deadline && !this.ctx.signal.aborted) {
          status.update(`Waiting for ECI to release the evicted pods' instances: ${left.length} of ${waitFor.length} left (${Math.round((Date.now() - started) / 1000)}s)`);
          await pause(Math.min(1000, Math.max(0, deadline - Date.now())), this.ctx.signal);
          left = await stillThere(this.cloud, left.map((g) => g.id));
        }
        status.end(left.length === 0, left.length === 0 ? `released in ${((Date.now() - started) / 1000).toFixed(1)}s` : undefined);
      }
      const stuck = new Set(left.map((g) => g.id));
      this.result.released = waitFor.filter((id) => !stuck.has(id));
      this.checkpoint();
      this.stage = 'released';
      if (stuck.size > 0 && !this.opts.cleanupOrphans && !this.opts.force) {
        const pods = [...this.recorded.values()].filter((p) => p.instanceId && stuck.has(p.instanceId));
        const list = pods.map((p) => `${p.instanceId} (was ${p.namespace}/${p.name})`).join(', ');
        throw operationError('OrphanedInstances', `${stuck.size} ECI instance(s) of pods evicted from ${node} still exist ${Math.round((Date.now() - started) / 1000)}s after their pods went, and are billed: ${list}`, {
          hint: 'run the same command again to wait longer (--timeout), or pass --cleanup-orphans to delete them (DeleteContainerGroup)',
        });
      }
    }
    this.stage = 'released';

    // pods that came back: created after the drain began and tolerating the cordon
    const now = await podsOn(this.cluster, node);
    const back = now.filter((p) => !TERMINATING(p) && !this.recorded.has(p.metadata.uid!)
      && new Date(p.metadata.creationTimestamp ?? 0).getTime() >= this.drainStarted - 1000
      && toleratesTaint(p.spec?.tolerations ?? [], UNSCHEDULABLE_TAINT));
    this.result.returning = await briefs(this.cluster, back);
    if (this.result.returning.length > 0 && !this.opts.force) {
      const controllers = [...new Set(this.result.returning.map((p) => p.controller).filter(Boolean))];
      throw operationError('PodsReturn', `${this.result.returning.length} pod(s) came back to ${node} after their predecessors were evicted: ${this.result.returning.slice(0, 20).map(show).join(', ')}. `
        + `They tolerate ${UNSCHEDULABLE_TAINT.key} (e.g. a toleration with operator Exists and no key), so cordoning does not keep them off, and draining again would not end`, {
        hint: `narrow the tolerations of ${controllers.length ? controllers.join(', ') : 'their controller'} to the virtual node's own taint, or pass --force to remove the virtual node with them: `
          + 'their ECI instances are deleted and their controller recreates them elsewhere',
      });
    }
    this.stage = 'checked';
  }

  /**
   * Before the virtual node is deleted (ECI refuses DeleteVirtualNode while an instance exists on it): with --force
   * the pods still on the node go first (it is cordoned: their controllers recreate them elsewhere), then every
   * instance vnode may delete. Run again after ECI refused, for what appeared meanwhile.
   */
  async clear(): Promise<void> {
    const { status, out } = this.ctx;
    const node = this.nodeName;
    if (!node) return;
    this.cleared = true;
    if (this.opts.force && !this.nodeGone) {
      // pods that tolerate the cordon would land here again as fast as they are deleted: without its Node, nothing binds here
      this.nodeGone = await status.step(`Deleting node ${node} (nothing new is scheduled there)`, () => this.cluster.delete({ apiVersion: 'v1', kind: 'Node', name: node })) || this.nodeGone;
      this.checkpoint();
    }
    const pods = await podsOn(this.cluster, node);
    const claimedHere = new Map<string, string>();
    for (const p of pods) { const id = p.metadata.annotations?.[INSTANCE_ANNOTATION]; if (id) claimedHere.set(id, `${p.metadata.namespace}/${p.metadata.name}`); }
    if (this.opts.force) {
      for (const p of pods) {
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        if (await this.cluster.deletePod(p.metadata.namespace!, p.metadata.name!, 0) && !this.result.podsDeleted.includes(key)) this.result.podsDeleted.push(key);
      }
    }
    const stuck = [...this.recorded.values()].filter((p) => p.instanceId && !claimedHere.has(p.instanceId) && !this.result.released.includes(p.instanceId)).map((p) => p.instanceId!);
    const tagged = await this.cloud.eci.describeContainerGroups({ tags: [{ key: TAG_NODE_NAME, value: node }] });
    const ids = new Set<string>();
    if (this.opts.force) for (const id of claimedHere.keys()) ids.add(id);
    if (this.opts.force || this.opts.cleanupOrphans) for (const id of stuck) ids.add(id);
    const unconfirmed: string[] = [];
    for (const g of tagged) {
      if (TERMINAL_STATUSES.includes(g.status)) continue;
      // Terminating: ECI is releasing it already; the node cannot go until it has
      if (this.opts.force || (this.opts.cleanupOrphans && !claimedHere.has(g.id))) ids.add(g.id);
      else if (!claimedHere.has(g.id) && g.status !== 'Terminating') unconfirmed.push(g.id);
    }
    for (const id of (await stillThere(this.cloud, [...ids])).map((g) => g.id)) {
      this.checkpoint();
      if (await status.step(`Deleting ECI instance ${id}${claimedHere.has(id) ? ` of pod ${claimedHere.get(id)}` : ''}`, () => this.cloud.eci.deleteContainerGroup(id, deletionToken('cg', id)))) {
        if (!this.result.instancesDeleted.includes(id)) this.result.instancesDeleted.push(id);
      }
    }
    const fresh = unconfirmed.filter((id) => !this.result.unconfirmed.includes(id));
    this.result.unconfirmed.push(...fresh);
    if (fresh.length > 0) {
      out.warn(`ECI lists ${fresh.length} instance(s) tagged ${TAG_NODE_NAME}=${node} that no pod claims: ${fresh.join(', ')}. `
        + 'ECI does not document that tag, so vnode does not treat them as this node\'s on that evidence alone; check them in the ECI console');
    }
    await this.waitReleasing();
  }

  /** Instances that still keep the node from being deleted: those of its pods (the documented annotation) and those tagged with it. */
  async instancesLeft(): Promise<ContainerGroupInfo[]> {
    const node = this.nodeName;
    if (!node) return [];
    const ids = new Set<string>();
    for (const p of await podsOn(this.cluster, node)) { const id = p.metadata.annotations?.[INSTANCE_ANNOTATION]; if (id) ids.add(id); }
    for (const g of await this.cloud.eci.describeContainerGroups({ tags: [{ key: TAG_NODE_NAME, value: node }] })) ids.add(g.id);
    return stillThere(this.cloud, [...ids]);
  }

  /** Instances ECI is releasing (Terminating) still count as on the node: waited for, bounded by the timeout, before the node goes. */
  async waitReleasing(): Promise<void> {
    const { status } = this.ctx;
    const releasing = async (): Promise<ContainerGroupInfo[]> => (await this.instancesLeft()).filter((g) => g.status === 'Terminating');
    let left = await releasing();
    if (left.length === 0) return;
    const started = Date.now();
    const deadline = this.opts.timeoutMs > 0 ? started + this.opts.timeoutMs : Infinity;
    await status.start(`Waiting for ECI to release ${left.length} instance(s) still on ${this.nodeName}`);
    while (left.length > 0 && Date.now() < deadline && !this.ctx.signal.aborted) {
      await pause(Math.min(500, Math.max(0, deadline - Date.now())), this.ctx.signal);
      left = await releasing();
    }
    status.end(left.length === 0, left.length === 0 ? `released in ${((Date.now() - started) / 1000).toFixed(1)}s` : `${left.length} still releasing`);
    this.checkpoint();
  }

  /** After the virtual node is gone: anything left on it (when `clear` did not run), the Node, and (with --force) the pods still bound to it. */
  async finish(): Promise<{ nodeDeleted: boolean }> {
    const node = this.nodeName;
    if (!node) return { nodeDeleted: false };
    if (!this.cleared) await this.clear();
    this.checkpoint();
    const nodeDeleted = await this.ctx.status.step(`Deleting node ${node}`, () => this.cluster.delete({ apiVersion: 'v1', kind: 'Node', name: node })) || this.nodeGone;
    if (this.opts.force) {
      // bound to a Node that no longer exists: their controllers make new ones elsewhere
      for (const p of await podsOn(this.cluster, node)) {
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        if (await this.cluster.deletePod(p.metadata.namespace!, p.metadata.name!, 0) && !this.result.podsDeleted.includes(key)) this.result.podsDeleted.push(key);
      }
    }
    return { nodeDeleted };
  }
}
