import { compareVersions } from '../../util/versions.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError, VnodeError } from '../../errors.js';
import { asInput } from '../ground/preflight.js';
import { addonNodes, nodeUsable } from '../ground/virtual-nodes.js';
import { CONTROLLER_REF, followTask, PROFILE_REF, waitInstance } from './addon.js';
import { ADDON, NAMESPACE } from './constants.js';
import { readRegistration } from './registration.js';

export interface UpgradeOptions {
  /** The version to go to; the newest offered when not given. */
  to: string | undefined;
  /** 0: no limit. */
  timeoutMs: number;
}

export interface UpgradeResult {
  clusterId: string;
  from: string;
  to: string;
  /** upgraded, already (at the version: nothing to do), or would upgrade (dry run). */
  action: 'upgraded' | 'already' | 'would upgrade';
  /** UpgradeClusterAddons' body (what --dry-run prints). */
  body: { component_name: string; version: string; next_version: string }[];
  nodes: string[];
  /** What vnode put back that the upgrade changed of the add-on's configuration. */
  restored: string[];
  dryRun: boolean;
}

/** The add-on's configuration an upgrade must keep: eci-profile and the controller's env. */
interface Config { profile: Record<string, string> | undefined; env: unknown[] | undefined }

async function readConfig(cluster: ClusterPort): Promise<Config> {
  const profile = await cluster.get<KubeObject & { data?: Record<string, string> }>(PROFILE_REF);
  const dep = await cluster.get<KubeObject & { spec?: { template?: { spec?: { containers?: { env?: unknown[] }[] } } } }>(CONTROLLER_REF);
  return { profile: profile?.data, env: dep?.spec?.template?.spec?.containers?.[0]?.env };
}

/**
 * What an upgrade may overwrite, recorded in the cluster before UpgradeClusterAddons (the documents warn an upgrade
 * may revert edits, and its `policy: overwrite` does): a run interrupted between the call and the put-back leaves it,
 * and the next run puts it back once the add-on is at the recorded version.
 */
export const RESTORE_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: 'vnode-addon-upgrade' };
interface Pending { from: string; to: string; before: Config }

async function readPending(cluster: ClusterPort): Promise<Pending | undefined> {
  const cm = await cluster.get<KubeObject & { data?: Record<string, string> }>(RESTORE_REF);
  const d = cm?.data;
  if (!d?.to) return undefined;
  const parse = <T>(t: string | undefined): T | undefined => { try { return t ? JSON.parse(t) as T : undefined; } catch { return undefined; } };
  return { from: d.from ?? '', to: d.to, before: { profile: parse<Record<string, string>>(d.profile), env: parse<unknown[]>(d.env) } };
}

async function writePending(cluster: ClusterPort, p: Pending): Promise<void> {
  const data = { from: p.from, to: p.to, ...(p.before.profile ? { profile: JSON.stringify(p.before.profile) } : {}), ...(p.before.env ? { env: JSON.stringify(p.before.env) } : {}) };
  if (await cluster.get(RESTORE_REF)) {
    await cluster.patch(RESTORE_REF, [{ op: 'replace', path: '/data', value: data }], 'json');
    return;
  }
  await cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: RESTORE_REF.name, namespace: RESTORE_REF.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, data } as KubeObject);
}

export const VERSION_RE = /^v?\d+(\.\d+){1,3}([.-][0-9A-Za-z.-]+)?$/;

/**
 * `vnode update ack-virtual-node [--to V]`: the documented upgrade. Checks first (installed and active, V offered as
 * newer), says what changes, UpgradeClusterAddons with the installed version and V, follows the task and the
 * instance (upgrading -> active), waits for the controller's nodes to be Ready again, and keeps eci-profile and the
 * controller's env exactly as they were. A re-run converges: at V already is success; an upgrade under way is followed.
 */
export async function upgradeAddon(ctx: Context, opts: UpgradeOptions): Promise<UpgradeResult> {
  const { status, flags, out } = ctx;
  const cluster = await ctx.cluster();
  const record = await readRegistration(cluster);
  if (!record) throw usageError('NotInstalled', `the ${ADDON} add-on is not installed: this cluster has no ACK One registration`, 'install it with `vnode install --mode addon`');
  const cloud = await ctx.cloud().catch(asInput);
  const clusterId = record.clusterId;
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  let instance = await cloud.cs.getAddonInstance(clusterId, ADDON).catch(asInput);
  if (!instance) throw usageError('NotInstalled', `the ${ADDON} add-on is not installed in ${clusterId}`, 'install it with `vnode install --mode addon`');

  // an upgrade under way (an earlier run interrupted, or another tool): followed to its end first
  if (instance.state === 'upgrading' || instance.state === 'updating') {
    const state = await status.step(`Waiting for the ${ADDON} ${instance.state} under way`, () => waitInstance(ctx, cloud, clusterId, (s) => s !== 'upgrading' && s !== 'updating', deadline), (s) => s ?? 'gone');
    instance = await cloud.cs.getAddonInstance(clusterId, ADDON);
    if (!instance || state !== 'active') throw operationError('AddonNotActive', `the ${ADDON} add-on of ${clusterId} is ${instance?.state ?? 'gone'}, not active`, { hint: 'run the same command again later' });
  }
  if (instance.state !== 'active') throw operationError('AddonNotActive', `the ${ADDON} add-on of ${clusterId} is ${instance.state}, not active: it cannot be upgraded now`, { hint: 'run the same command again later' });

  // an earlier run's upgrade reached its version but not its put-back: done first
  const pending = await readPending(cluster);
  let restoredEarlier: string[] = [];
  if (pending && instance.version === pending.to && !flags.dryRun) {
    restoredEarlier = await keepConfig(ctx, cluster, pending.before);
    await cluster.delete(RESTORE_REF);
  }

  const from = instance.version;
  const offer = await status.step(`Looking up the ${ADDON} versions offered to ${clusterId}`, () => cloud.cs.addonUpgrades(clusterId, ADDON, from),
    (o) => (o.newer.length ? `newer: ${o.newer.join(', ')}` : `${from} is the newest`));
  const to = opts.to ?? offer.newer.at(-1) ?? from;
  const result: UpgradeResult = { clusterId, from, to, action: 'already', body: [], nodes: [], restored: restoredEarlier, dryRun: flags.dryRun };
  if (to === from) return result;
  if (compareVersions(to, from) < 0) {
    throw usageError('Downgrade', `--to ${to} is older than the installed ${ADDON} ${from}: the Container Service upgrades add-ons, it does not downgrade them`,
      offer.newer.length ? `newer versions offered: ${offer.newer.join(', ')}` : `${from} is the newest offered`);
  }
  if (!offer.newer.includes(to)) {
    throw usageError('VersionNotOffered', `--to ${to}: ${ADDON} ${to} is not offered to ${clusterId} as an upgrade from ${from}`,
      offer.newer.length ? `offered: ${offer.newer.join(', ')}` : `nothing newer than ${from} is offered`);
  }
  if (!offer.upgradable) throw usageError('NotUpgradable', `the Container Service lists no upgrade action for ${ADDON} (ListAddons' supported_actions)`);
  result.body = [{ component_name: ADDON, version: from, next_version: to }];
  if (flags.dryRun) return { ...result, action: 'would upgrade' };

  out.info(`Upgrading ${ADDON} from ${from} to ${to}: the controller Deployment ${NAMESPACE}/${CONTROLLER_REF.name} is replaced; ECI pods already running keep running; `
    + 'new pods wait for the new controller for a moment. eci-profile and the controller\'s env are kept.');
  const ok = await ctx.prompt.confirm(`Upgrade ${ADDON} to ${to}?`, { default: true });
  if (!ok) throw usageError('Declined', 'nothing was changed', 'pass --yes to upgrade without asking');
  // recorded before the call: what to put back survives an interrupt between the upgrade and the put-back
  const before = pending && pending.from === from ? pending.before : await readConfig(cluster);
  await writePending(cluster, { from, to, before });

  const taskId = await status.step(`Upgrading ${ADDON} to ${to} (UpgradeClusterAddons)`, () => cloud.cs.upgradeAddon(clusterId, ADDON, from, to).catch(async (e: unknown) => {
    // a retry after an answer that was lost: the instance is upgrading or upgraded, so the call took effect
    const now = await cloud.cs.getAddonInstance(clusterId, ADDON);
    if (now && (now.state === 'upgrading' || now.version === to)) { ctx.out.debug(`UpgradeClusterAddons failed but ${ADDON} is ${now.state} at ${now.version}; following its state`); return ''; }
    throw e;
  }));
  await followTask(ctx, cloud, taskId, `Upgrading ${ADDON}`, deadline);
  const state = await status.step(`Checking ${ADDON} is active at ${to}`, () => waitInstance(ctx, cloud, clusterId, (s) => s === 'active', deadline), (s) => s ?? 'gone');
  const after = await cloud.cs.getAddonInstance(clusterId, ADDON);
  if (state !== 'active' || after?.version !== to) {
    throw operationError('UpgradeNotDone', `the ${ADDON} add-on of ${clusterId} is ${after?.state ?? 'gone'} at ${after?.version ?? '-'}, not active at ${to}`, { hint: 'run the same command again' });
  }
  if (ctx.signal.aborted) {
    throw new VnodeError('interrupted', 'Interrupted', `interrupted after ${ADDON} reached ${to}, before its settings were compared and put back (recorded in ConfigMap ${RESTORE_REF.namespace}/${RESTORE_REF.name})`,
      { hint: 'run the same command again: it puts back what the upgrade changed' });
  }
  result.restored = [...result.restored, ...await keepConfig(ctx, cluster, before)];
  await cluster.delete(RESTORE_REF);
  // the new controller serves the same nodes: each Ready again
  for (const n of await addonNodes(cluster)) {
    const name = n.metadata.name!;
    await status.step(`Waiting for node ${name} to be Ready`, () => cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Node', name }, nodeUsable,
      { timeoutMs: Math.max(1, Math.min(deadline, Date.now() + 600_000) - Date.now()), signal: ctx.signal })).catch((e: unknown) => {
      if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `interrupted while waiting for ${name}; ${ADDON} is at ${to}`, { hint: 'run the same command again to finish' });
      throw e;
    });
    result.nodes.push(name);
  }
  return { ...result, action: 'upgraded' };
}

/** eci-profile and the controller's env as they were before the upgrade: what it changed is put back, and said. */
async function keepConfig(ctx: Context, cluster: ClusterPort, before: Config): Promise<string[]> {
  const now = await readConfig(cluster);
  const restored: string[] = [];
  if (before.profile && JSON.stringify(now.profile ?? {}) !== JSON.stringify(before.profile)) {
    const data: Record<string, string | null> = { ...before.profile };
    for (const k of Object.keys(now.profile ?? {})) if (!(k in before.profile)) data[k] = null;
    await cluster.patch(PROFILE_REF, { data }, 'merge');
    restored.push(`ConfigMap ${PROFILE_REF.namespace}/${PROFILE_REF.name}`);
  }
  if (before.env && JSON.stringify(now.env ?? []) !== JSON.stringify(before.env)) {
    await cluster.patch(CONTROLLER_REF, [{ op: 'replace', path: '/spec/template/spec/containers/0/env', value: before.env }], 'json');
    restored.push(`the env of Deployment ${CONTROLLER_REF.namespace}/${CONTROLLER_REF.name}`);
  }
  for (const r of restored) ctx.out.warn(`the upgrade changed ${r}: put back as it was`);
  return restored;
}
