import { PROBES, requirePermissions } from '../ground/permissions.js';
import type { RegisteredCluster } from '../../cloud/port.js';
import type { KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { refuseUnlisted, unlistedInstances } from '../drain/unlisted.js';
import { cordon, drainRefusals, refuseDrain, type DrainOptions, type DrainResult } from '../drain/drain.js';
import { busyPods, NodeRetirement } from '../drain/retire.js';
import { asInput } from '../ground/preflight.js';
import { addonNodes, CONTROLLER_REF, followTask, waitInstance } from './addon.js';
import { ADDON } from './constants.js';
import { deregister, readRegistration, type DeregisterResult } from './registration.js';

export interface AddonUninstallOptions {
  drain: boolean;
  drainOptions: DrainOptions;
  force: boolean;
  cleanupOrphans: boolean;
  deregister: boolean;
}

export interface AddonUninstallResult {
  found: boolean;
  clusterId: string | null;
  drained: DrainResult[];
  returning: string[];
  instancesDeleted: string[];
  addonUninstalled: boolean;
  nodesDeleted: string[];
  deregistered: DeregisterResult | null;
  wouldDelete?: string[];
  /** The registration that stays (no --deregister): what it is, whether its public endpoint is billed, and what removes it. */
  registrationKept?: { clusterId: string; name: string; publicEndpoint: boolean | null; remove: string };
}


const kept = (c: RegisteredCluster): NonNullable<AddonUninstallResult['registrationKept']> =>
  ({ clusterId: c.id, name: c.name, publicEndpoint: c.publicEndpoint ?? null, remove: 'vnode cluster deregister' });

/**
 * Removes the add-on without losing pods or leaving ECI instances (in a registered cluster, uninstalling it deletes
 * neither): drain its nodes, wait until ECI released the evicted pods' instances, UnInstallClusterAddons followed to
 * success, then delete the Nodes it leaves. --deregister also removes the registration and its agent.
 */
export async function uninstallAddon(ctx: Context, opts: AddonUninstallOptions): Promise<AddonUninstallResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const record = await readRegistration(cluster);
  const nodes = await addonNodes(cluster);
  const deployment = await cluster.get<KubeObject>(CONTROLLER_REF);
  const result: AddonUninstallResult = {
    found: Boolean(deployment) || nodes.length > 0, clusterId: record?.clusterId ?? null, drained: [], returning: [], instancesDeleted: [],
    addonUninstalled: false, nodesDeleted: [], deregistered: null,
  };
  if (!result.found && !(opts.deregister && record)) {
    // nothing of the add-on left: a registration that stays is still said
    const reg = record ? await (await ctx.cloud().catch(asInput)).cs.describeCluster(record.clusterId).catch(() => undefined) : undefined;
    if (reg && reg.state !== 'deleting' && reg.state !== 'deleted') result.registrationKept = kept(reg);
    return result;
  }
  const cloud = await ctx.cloud().catch(asInput);
  const registered = record ? await cloud.cs.describeCluster(record.clusterId).catch(asInput) : undefined;
  const instance = registered && registered.state !== 'deleting' ? await cloud.cs.getAddonInstance(registered.id, ADDON) : undefined;
  if (instance) result.found = true;
  if (deployment && !instance && !registered) {
    throw operationError('NotRegistered', `Deployment ${CONTROLLER_REF.namespace}/${CONTROLLER_REF.name} exists but this cluster has no registration vnode knows of, so the add-on cannot be uninstalled through ACK One`,
      { hint: 'run `vnode cluster register --name <its registered name>` to adopt the registration, then uninstall again' });
  }

  refuseUnlisted(await unlistedInstances(cluster, cloud, nodes.map((n) => n.metadata.name!)));
  if (opts.drain) refuseDrain(nodes.map((n) => n.metadata.name!).join(', '), await drainRefusals(cluster, nodes.map((n) => n.metadata.name!), opts.drainOptions));
  if (!opts.drain && !opts.force) {
    const busy: string[] = [];
    for (const n of nodes) for (const p of await busyPods(cluster, n.metadata.name!)) busy.push(`${p} on ${n.metadata.name}`);
    if (busy.length > 0) {
      throw operationError('PodsRunning', `${busy.length} pod(s) still run on the add-on's virtual node(s): ${busy.slice(0, 20).join(', ')}${busy.length > 20 ? ', …' : ''}; `
        + 'uninstalling in a registered cluster leaves their ECI instances running and billed', {
        hint: 'pass --drain to evict them first (or --force to delete anyway)',
      });
    }
  }
  if (flags.dryRun) {
    const would: string[] = [];
    for (const n of nodes) if (opts.drain) would.push(`drain Node ${n.metadata.name}`);
    if (instance) would.push(`UnInstallClusterAddons ${ADDON} from ${registered!.id}`);
    for (const n of nodes) would.push(`delete Node ${n.metadata.name}`);
    if (opts.deregister && record) would.push(...((await deregister(ctx, { addonRemovedFirst: true })).would ?? []));
    return { ...result, wouldDelete: would };
  }

  // the drain and the add-on's removal are changes: whether the calls after them are allowed is asked first
  await requirePermissions(ctx, cloud, [...(registered && instance ? [PROBES.uninstallAddon] : []), ...(opts.deregister && registered ? [PROBES.deleteCluster] : []),
    ...(opts.force || opts.cleanupOrphans ? [PROBES.deleteContainerGroup] : [])]);

  const checkpoint = (left: string) => (): void => {
    if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `uninstall of ${ADDON} interrupted; left to do: ${left}`, { hint: 'run the same command again to finish' });
  };
  const retirements = nodes.map((n) => new NodeRetirement(ctx, cluster, cloud, n.metadata.name!, {
    drain: opts.drain ? opts.drainOptions : null, force: opts.force, cleanupOrphans: opts.cleanupOrphans, timeoutMs: opts.drainOptions.timeoutMs,
  }, checkpoint(`drain ${nodes.map((x) => x.metadata.name).join(', ')}, uninstall the add-on, delete the Nodes`)));
  // no pod hops from one node being removed to another
  if (opts.drain || opts.force) for (const n of nodes) if (!(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable) await cordon(cluster, n.metadata.name!);
  for (const r of retirements) {
    try {
      await r.prepare();
    } finally {
      if (r.result.drain) result.drained.push(r.result.drain);
      result.returning.push(...r.result.returning.map((p) => `${p.namespace}/${p.name}`));
    }
  }
  checkpoint('uninstall the add-on, delete the Nodes')();
  if (registered && instance) {
    const deadline = opts.drainOptions.timeoutMs > 0 ? Date.now() + opts.drainOptions.timeoutMs : Date.now() + 30 * 60_000;
    let state: string | undefined = instance.state;
    if (state === 'updating' || state === 'upgrading') {
      // the Container Service takes no uninstall while it changes the add-on: wait until it is done
      state = await status.step(`Waiting for ${ADDON} to be done ${state}`, () => waitInstance(ctx, cloud, registered.id, (s) => s !== 'updating' && s !== 'upgrading', deadline), (s) => s ?? 'gone');
      if (state === 'updating' || state === 'upgrading') throw operationError('AddonBusy', `${ADDON} is still ${state} in ${registered.id}`, { hint: 'run the same command again later' });
    }
    if (state !== undefined && state !== 'deleting') {
      const taskId = await status.step(`Uninstalling ${ADDON} (UnInstallClusterAddons)`, () => cloud.cs.uninstallAddon(registered.id, ADDON).catch(async (e: unknown) => {
        // a retry after an answer that was lost: the instance is going or gone, so the uninstall took effect
        const now = await cloud.cs.getAddonInstance(registered.id, ADDON);
        if (!now || now.state === 'deleting') { ctx.out.debug(`UnInstallClusterAddons failed but ${ADDON} is ${now?.state ?? 'gone'}; following its state`); return ''; }
        throw e;
      }));
      await followTask(ctx, cloud, taskId, `Uninstalling ${ADDON}`, deadline);
    }
    const left = await status.step(`Waiting for ${ADDON} to be gone`, () => waitInstance(ctx, cloud, registered.id, (s) => s === undefined, deadline));
    if (left !== undefined) throw operationError('Timeout', `${ADDON} is still listed (${left}) after its uninstall task`, { hint: 'run the same command again' });
    result.addonUninstalled = true;
  }
  // the add-on leaves its Nodes (documented); no new instance can appear on them now
  for (const r of retirements) {
    checkpoint(`delete Nodes ${nodes.map((x) => x.metadata.name).join(', ')}`)();
    const { nodeDeleted } = await r.finish();
    result.instancesDeleted.push(...r.result.instancesDeleted);
    if (nodeDeleted) result.nodesDeleted.push(r.nodeName!);
    await cluster.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'kube-node-lease', name: r.nodeName! });
  }
  if (opts.deregister) result.deregistered = await deregister(ctx);
  else if (registered && registered.state !== 'deleting') {
    result.registrationKept = kept(registered);
  }
  return result;
}
