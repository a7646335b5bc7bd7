import { requireAccount } from '../ground/account.js';
import { PROBES, requirePermissions } from '../ground/permissions.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError, VnodeError } from '../../errors.js';
import { pause } from '../../util/sleep.js';
import { ADDON_SECRET, readAddonSecret } from '../ram/addon-secret.js';
import { confirmDaemonSetPatches, keepDaemonSetsOff, type AffinityChange } from '../ground/daemonset-affinity.js';
import { asInput, checkNetwork, checkVersion } from '../ground/preflight.js';
import { nodeUsable, PROFILE_REF } from '../ground/virtual-nodes.js';
import { ADDON, ECI_PROFILE, NAMESPACE, NODE_LABELS, nodeNameForZone, TAINT } from './constants.js';
import { defaultRegistrationName, readRegistration, register, registrationCost, type RegisterResult } from './registration.js';

export { addonNodes, CONTROLLER_REF, PROFILE_REF, restartController } from '../ground/virtual-nodes.js';

type ConfigMap = KubeObject & { data?: Record<string, string> };

export async function readProfile(cluster: ClusterPort): Promise<Record<string, string> | undefined> {
  return (await cluster.get<ConfigMap>(PROFILE_REF))?.data;
}


/** Polls a task until it ends; a failed task is an error with the service's code and message. */
export async function followTask(ctx: Context, cloud: CloudPorts, taskId: string, what: string, deadline: number): Promise<void> {
  // older API versions answer without a task: the caller follows GetClusterAddonInstance's state instead
  if (!taskId) { ctx.out.debug(`${what}: no task_id in the answer; following the add-on instance's state`); return; }
  const started = Date.now();
  await ctx.status.start(`${what} (task ${taskId})`);
  try {
    for (;;) {
      const t = await cloud.cs.describeTask(taskId);
      if (t.state === 'success') {
        ctx.status.update(`${what} (task ${taskId})`);
        ctx.status.end(true, `done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        return;
      }
      if (t.state === 'fail' || t.state === 'failed') {
        throw operationError('AddonTaskFailed', `${what}: task ${taskId} failed${t.error ? `: ${t.error.code} ${t.error.message}` : ''}`, { hint: 'see the task in the ACK One console; run the same command again to retry' });
      }
      if (Date.now() >= deadline) throw operationError('Timeout', `${what}: task ${taskId} is still ${t.state} after ${Math.round((Date.now() - started) / 1000)}s`, { hint: 'run the same command again to keep waiting' });
      ctx.status.update(`${what} (task ${taskId}: ${t.state}, ${Math.round((Date.now() - started) / 1000)}s)`);
      await pause(Math.min(1000, Math.max(0, deadline - Date.now())), ctx.signal);
    }
  } catch (e) {
    ctx.status.end(false);
    throw e;
  }
}

export async function waitInstance(ctx: Context, cloud: CloudPorts, clusterId: string, done: (state: string | undefined) => boolean, deadline: number): Promise<string | undefined> {
  let state = (await cloud.cs.getAddonInstance(clusterId, ADDON))?.state;
  while (!done(state) && Date.now() < deadline && !ctx.signal.aborted) {
    await pause(1000, ctx.signal);
    state = (await cloud.cs.getAddonInstance(clusterId, ADDON))?.state;
  }
  return state;
}

export interface AddonInstallOptions {
  vswitches: string[];
  securityGroup: string | undefined;
  /** undefined: leave enableClusterIp as it is. */
  kubeProxy: boolean | undefined;
  resourceGroup: string | undefined;
  registrationName: string | undefined;
  privateAddress: boolean;
  agentManifest?: string | undefined;
  daemonsetAffinity: boolean;
  timeoutMs: number;
  wait: boolean;
  /** Activate ACK (OpenAckService) when the account has not. */
  activateAck?: boolean;
}

export interface ProfileChange { key: string; from: string | null; to: string }

export interface AddonInstallResult {
  mode: 'addon';
  region: string;
  clusterId: string;
  registration: RegisterResult;
  addon: { name: string; version: string; action: 'installed' | 'already installed' | 'would install' };
  profile: ProfileChange[];
  nodes: { name: string; ready: boolean }[];
  daemonSets: AffinityChange[];
  warnings: string[];
  dryRun: boolean;
}

/** The eci-profile data vnode's flags ask for (documented keys; all strings). */
function wantedProfile(opts: Pick<AddonInstallOptions, 'vswitches' | 'securityGroup' | 'kubeProxy' | 'resourceGroup'>, vpcId: string | undefined): Record<string, string> {
  return {
    ...(opts.vswitches.length ? { vSwitchIds: opts.vswitches.join(',') } : {}),
    ...(opts.securityGroup ? { securityGroupId: opts.securityGroup } : {}),
    ...(vpcId ? { vpcId } : {}),
    ...(opts.kubeProxy !== undefined ? { enableClusterIp: String(opts.kubeProxy) } : {}),
    ...(opts.resourceGroup ? { resourceGroupId: opts.resourceGroup } : {}),
  };
}

export function profileChanges(have: Record<string, string> | undefined, want: Record<string, string>): ProfileChange[] {
  return Object.entries(want).filter(([k, v]) => have?.[k] !== v).map(([key, to]) => ({ key, from: have?.[key] ?? null, to }));
}

/** Zones of the vSwitches eci-profile names: the add-on makes one node per zone. */
async function zonesOf(cloud: CloudPorts, vswitches: string[]): Promise<string[]> {
  const zones = new Set<string>();
  for (const id of vswitches) for (const v of await cloud.vpc.describeVSwitches({ vSwitchId: id })) if (v.id === id) zones.add(v.zoneId);
  return [...zones].sort();
}

/**
 * `vnode install --mode addon`: the documented route to the in-cluster controller on a self-managed cluster. The
 * cluster is registered with ACK One (asked first), DaemonSets are kept off virtual nodes before any can register,
 * the add-on is installed through the Container Service and followed to active, eci-profile gets the ECI settings,
 * and the nodes of every zone are waited for.
 */
export async function installAddon(ctx: Context, opts: AddonInstallOptions): Promise<AddonInstallResult> {
  const { status, out, flags } = ctx;
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud().catch(asInput);
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  const pre = await status.step('Preflight checks', async () => {
    const warnings = await checkVersion(cluster);
    const secret = await readAddonSecret(cluster);
    const net = opts.vswitches.length && opts.securityGroup ? await checkNetwork(cloud, { vswitches: opts.vswitches, securityGroup: opts.securityGroup }) : undefined;
    return { warnings: [...warnings, ...(net?.warnings ?? [])], secret, net, record: await readRegistration(cluster) };
  }, (p) => (p.net ? `VPC ${p.net.vpcId}, zones ${p.net.zones.join(', ')}` : 'ok'));
  if (opts.vswitches.length > 0 && !opts.securityGroup && !pre.record) throw usageError('SecurityGroupRequired', '--security-group is required with --vswitch for a first install');
  // every missing prerequisite named at once: the account's pieces and the Secret (exit 1: none is a usage error)
  const account = await status.step('Checking the account (ECI, ACK, ACK\'s service roles)', () => requireAccount(ctx, cloud, ['eci', 'ack', 'ack-roles'], { activateAck: opts.activateAck === true }))
    .then(() => undefined, (e: unknown) => { if (e instanceof VnodeError && e.code === 'AccountNotReady') return e; throw e; });
  if (!pre.secret?.accessKeyId) {
    const secret = `Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name} ${pre.secret ? 'holds no AccessKey' : 'is missing'}: the add-on creates ECI instances with the AccessKey it holds`;
    const remedy = 'run `vnode ram grant` (creates a least-privilege RAM user and key), or `vnode secret create` with an existing key';
    if (!account) throw operationError('AddonSecretMissing', secret, { hint: remedy });
    throw operationError('AccountNotReady', `${account.message}; ${secret}`, {
      hint: `${account.hint ?? ''}; then ${remedy}`, details: { ...account.details, lacking: [...((account.details?.lacking as string[] | undefined) ?? []), 'addon-secret'] },
    });
  }
  if (account) throw account;
  // registering and applying the agent are changes: whether the calls after them are allowed is asked first
  if (!flags.dryRun) {
    await requirePermissions(ctx, cloud, [...(pre.record ? [] : [PROBES.createCluster, PROBES.describeCluster, PROBES.describeExternalAgent]),
      PROBES.installAddon, PROBES.describeTask, PROBES.getAddonInstance]);
  }
  for (const w of pre.warnings) out.warn(w);

  if (!pre.record && !flags.dryRun) {
    const name = opts.registrationName ?? await defaultRegistrationName(cluster);
    const ok = await ctx.prompt.confirm(`This cluster is not registered with ACK One. Register it as ${name} and apply its agent? ${registrationCost(opts.privateAddress)}`, { default: true });
    if (!ok) throw usageError('Declined', 'nothing was changed', 'register first with `vnode cluster register`, or pass --yes');
  }
  const registration = await register(ctx, {
    accountChecked: true,
    name: opts.registrationName, vswitches: opts.vswitches, securityGroup: opts.securityGroup, privateAddress: opts.privateAddress, timeoutMs: opts.timeoutMs, agentManifest: opts.agentManifest,
  });
  const clusterId = registration.clusterId;

  // before the add-on can register a node: a tolerate-everything DaemonSet pod there would become a billed instance
  const nodeTaints = [TAINT];
  if (opts.daemonsetAffinity) await confirmDaemonSetPatches(ctx, await keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, true));
  const want = wantedProfile(opts, pre.net?.vpcId);

  if (flags.dryRun) {
    const instance = clusterId ? await cloud.cs.getAddonInstance(clusterId, ADDON) : undefined;
    const version = clusterId ? (await cloud.cs.describeAddon(clusterId, ADDON))?.version ?? '' : '';
    return {
      mode: 'addon', region: cloud.regionId, clusterId, registration,
      addon: { name: ADDON, version: instance?.version ?? version, action: instance ? 'already installed' : 'would install' },
      profile: profileChanges(await readProfile(cluster), want), nodes: [],
      daemonSets: opts.daemonsetAffinity ? await keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, true) : [], warnings: pre.warnings, dryRun: true,
    };
  }
  let daemonSets: AffinityChange[] = [];
  if (opts.daemonsetAffinity) {
    daemonSets = await status.step('Keeping DaemonSets off virtual nodes', () => keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, false),
      (c) => `${c.filter((x) => x.action === 'patched').length} patched`);
  }

  let instance = await cloud.cs.getAddonInstance(clusterId, ADDON);
  let action: AddonInstallResult['addon']['action'] = 'already installed';
  if (instance?.state === 'deleting') {
    await status.step(`Waiting for the previous ${ADDON} to finish uninstalling`, () => waitInstance(ctx, cloud, clusterId, (s) => s === undefined, deadline));
    instance = await cloud.cs.getAddonInstance(clusterId, ADDON);
  }
  if (!instance) {
    const offered = await status.step(`Looking up the ${ADDON} version offered to ${clusterId}`, () => cloud.cs.describeAddon(clusterId, ADDON), (a) => a?.version ?? 'not offered');
    if (!offered) throw operationError('AddonNotOffered', `ACK One offers no ${ADDON} add-on to registered cluster ${clusterId}`, { hint: 'check that the region supports ECI' });
    const taskId = await status.step(`Installing ${ADDON} ${offered.version} (InstallClusterAddons)`, () => cloud.cs.installAddon(clusterId, offered).catch(async (e: unknown) => {
      // a retry after an answer that was lost: the instance exists, so the install took effect
      if (await cloud.cs.getAddonInstance(clusterId, ADDON)) { ctx.out.debug(`InstallClusterAddons failed but ${ADDON} is present; following its state`); return ''; }
      throw e;
    }));
    await followTask(ctx, cloud, taskId, `Installing ${ADDON}`, deadline);
    action = 'installed';
  }
  const state = await status.step(`Checking ${ADDON} is active`, () => waitInstance(ctx, cloud, clusterId, (s) => s === 'active', deadline), (s) => s ?? 'not installed');
  if (state !== 'active') throw operationError('AddonNotActive', `the ${ADDON} add-on of ${clusterId} is ${state ?? 'not installed'}, not active`, { hint: 'run the same command again' });
  instance = await cloud.cs.getAddonInstance(clusterId, ADDON);

  // the add-on manager writes eci-profile; vnode sets the documented keys it was given, hot (no restart)
  const profile = await status.step(`Waiting for ConfigMap ${NAMESPACE}/${ECI_PROFILE}`, () => cluster.waitFor<ConfigMap>(PROFILE_REF, (o) => Boolean(o),
    { timeoutMs: Math.max(1, Math.min(deadline, Date.now() + 120_000) - Date.now()), signal: ctx.signal }));
  const changes = profileChanges(profile?.data, want);
  if (changes.length > 0) {
    await status.step(`Writing ${changes.map((c) => c.key).join(', ')} into ${ECI_PROFILE}`, () => cluster.patch(PROFILE_REF, { data: Object.fromEntries(changes.map((c) => [c.key, c.to])) }, 'merge'));
  }
  const vswitches = (opts.vswitches.length ? opts.vswitches : (profile?.data?.vSwitchIds ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
  const zones = await zonesOf(cloud, vswitches);
  const nodes: { name: string; ready: boolean }[] = [];
  for (const zone of zones) {
    const name = nodeNameForZone(zone);
    if (opts.wait) {
      await status.step(`Waiting for node ${name} to be Ready`, () => cluster.waitFor<KubeObject>({ apiVersion: 'v1', kind: 'Node', name }, nodeUsable,
        { timeoutMs: Math.max(1, Math.min(deadline, Date.now() + 24 * 3600_000) - Date.now()), signal: ctx.signal })).catch((e: unknown) => {
        if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `install interrupted while waiting for ${name}; the add-on is installed`, { hint: 'run the same command again to finish' });
        throw e;
      });
    }
    nodes.push({ name, ready: opts.wait });
  }
  return {
    mode: 'addon', region: cloud.regionId, clusterId, registration, addon: { name: ADDON, version: instance?.version ?? '', action },
    profile: changes, nodes, daemonSets, warnings: pre.warnings, dryRun: false,
  };
}
