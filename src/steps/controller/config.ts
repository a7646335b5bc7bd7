import { ensureObject } from '../../cluster/ensure.js';
import type { KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { asInput, checkNetwork } from '../virtual-node/preflight.js';
import { ensureStatefulSet, PROFILE_REF, requireController, restartStale } from './controller.js';
import { eciProfile, statefulSet, type ControllerSettings } from './manifest.js';

/** The keys `vnode config` knows, as the user writes them. */
export const CONFIG_KEYS = ['vswitch', 'security-group', 'kube-proxy'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export interface ConfigView {
  region: string;
  vswitch: string;
  'security-group': string;
  'kube-proxy': boolean;
  replicas: number;
  image: string;
  'resource-group': string | null;
  'eci-profile': Record<string, string> | null;
  /** Where eci-profile says otherwise than the controller's env (someone edited one of them). */
  drift: string[];
}

function view(s: ControllerSettings, profile: KubeObject | undefined): ConfigView {
  const data = (profile?.data ?? null) as Record<string, string> | null;
  const drift: string[] = [];
  if (data) {
    if (data.vSwitchIds !== s.vswitches.join(',')) drift.push(`eci-profile vSwitchIds is ${data.vSwitchIds ?? '(none)'}, the controller's ECI_VSWITCH ${s.vswitches.join(',')}`);
    if (data.securityGroupId !== s.securityGroup) drift.push(`eci-profile securityGroupId is ${data.securityGroupId ?? '(none)'}, the controller's ECI_SECURITY_GROUP ${s.securityGroup}`);
  }
  return {
    region: s.region, vswitch: s.vswitches.join(','), 'security-group': s.securityGroup, 'kube-proxy': s.kubeProxy, replicas: s.replicas, image: s.image,
    'resource-group': s.resourceGroup ?? null, 'eci-profile': data, drift,
  };
}

export async function getConfig(ctx: Context): Promise<ConfigView> {
  const cluster = await ctx.cluster();
  const { settings } = await requireController(cluster);
  return view(settings, await cluster.get<KubeObject>(PROFILE_REF));
}

/** key=value pairs; every one is checked before anything is read from the cluster. */
export function parseAssignments(pairs: string[]): Partial<Record<ConfigKey, string>> {
  if (pairs.length === 0) throw usageError('NoAssignment', 'nothing to set', `give key=value, with key one of ${CONFIG_KEYS.join(', ')}`);
  const out: Partial<Record<ConfigKey, string>> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    const key = (i < 0 ? p : p.slice(0, i)) as ConfigKey;
    const value = i < 0 ? '' : p.slice(i + 1);
    if (!CONFIG_KEYS.includes(key)) throw usageError('UnknownKey', `unknown setting "${i < 0 ? p : key}": expected key=value with key one of ${CONFIG_KEYS.join(', ')}`);
    if (out[key] !== undefined) throw usageError('DuplicateKey', `${key} is set twice`);
    if (key === 'vswitch') {
      const ids = value.split(',').map((v) => v.trim());
      const bad = ids.find((v) => !/^vsw-[a-z0-9]+$/.test(v));
      if (bad !== undefined) throw usageError('InvalidVSwitch', `invalid vswitch "${value}": "${bad}" is not a vSwitch id; expected ids such as vsw-bp1a,vsw-bp1b (1-10, of one VPC)`);
      if (ids.length > 10) throw usageError('TooManyVSwitches', `${ids.length} vSwitches given: at most 10`);
      if (new Set(ids).size !== ids.length) throw usageError('DuplicateVSwitch', `vswitch lists a vSwitch twice: ${value}`);
    }
    if (key === 'security-group' && !/^sg-[a-z0-9]+$/.test(value)) throw usageError('InvalidSecurityGroup', `invalid security-group "${value}": expected an id such as sg-bp1...`);
    if (key === 'kube-proxy' && value !== 'true' && value !== 'false') throw usageError('InvalidKubeProxy', `invalid kube-proxy "${value}": expected true or false`);
    out[key] = value;
  }
  return out;
}

export interface ConfigChange { key: ConfigKey; from: string; to: string }

export interface SetConfigResult {
  changes: ConfigChange[];
  restarted: string[];
  dryRun: boolean;
}

/**
 * `vnode config set`: changes the controller's env and eci-profile together, then restarts the replicas so they use
 * it. ECI instances that exist keep their settings; new pods get the new ones.
 */
export async function setConfig(ctx: Context, assignments: Partial<Record<ConfigKey, string>>): Promise<SetConfigResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const { settings } = await requireController(cluster);
  const next: ControllerSettings = {
    ...settings,
    ...(assignments.vswitch !== undefined ? { vswitches: assignments.vswitch.split(',').map((v) => v.trim()) } : {}),
    ...(assignments['security-group'] !== undefined ? { securityGroup: assignments['security-group'] } : {}),
    ...(assignments['kube-proxy'] !== undefined ? { kubeProxy: assignments['kube-proxy'] === 'true' } : {}),
  };
  const shown = (s: ControllerSettings): Record<ConfigKey, string> => ({ vswitch: s.vswitches.join(','), 'security-group': s.securityGroup, 'kube-proxy': String(s.kubeProxy) });
  const changes = CONFIG_KEYS.filter((k) => shown(settings)[k] !== shown(next)[k]).map((k) => ({ key: k, from: shown(settings)[k], to: shown(next)[k] }));
  const cloud = await ctx.cloud().catch(asInput);
  // the pair must still work together: vSwitches of one VPC, the security group in it
  const net = await status.step('Checking the vSwitches and security group', () => checkNetwork(cloud, { vswitches: next.vswitches, securityGroup: next.securityGroup }).catch(asInput),
    (n) => `VPC ${n.vpcId}`);
  for (const w of net.warnings) ctx.out.warn(w);
  if (flags.dryRun) return { changes, restarted: [], dryRun: true };
  await status.step('Updating ConfigMap kube-system/eci-profile', async () => (await ensureObject(cluster, eciProfile(next, net.vpcId))).action, (a) => a);
  await status.step('Updating StatefulSet kube-system/virtual-node-eci', () => ensureStatefulSet(cluster, statefulSet(next)), (a) => a);
  // also after an interrupted run whose change is already applied: replicas of an older revision restart
  const restarted = await status.step('Restarting replicas with the new settings', () => restartStale(ctx, cluster), (r) => (r.length ? r.join(', ') : 'none needed'));
  return { changes, restarted, dryRun: false };
}
