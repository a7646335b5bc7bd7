import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { asInput, checkNetwork } from '../ground/preflight.js';
import { addonNodes, PROFILE_REF, profileChanges, readProfile, type ProfileChange } from './addon.js';
import { ADDON, ECI_PROFILE, NAMESPACE } from './constants.js';

/** The settings `vnode config` knows, as the user writes them, and their eci-profile keys (documented). */
export const CONFIG_KEYS = { vswitch: 'vSwitchIds', 'security-group': 'securityGroupId', 'kube-proxy': 'enableClusterIp', 'resource-group': 'resourceGroupId' } as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;
const NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

export interface ConfigView {
  configMap: string;
  vswitch: string | null;
  'security-group': string | null;
  'kube-proxy': string | null;
  'resource-group': string | null;
  vpc: string | null;
  /** The whole eci-profile, as the add-on reads it (selectors and feature flags included). */
  'eci-profile': Record<string, string>;
  nodes: string[];
}

async function requireProfile(ctx: Context): Promise<Record<string, string>> {
  const cluster = await ctx.cluster();
  const data = await readProfile(cluster);
  if (!data) {
    throw usageError('NotInstalled', `no ConfigMap ${NAMESPACE}/${ECI_PROFILE}: the ${ADDON} add-on is not installed`, 'install it with `vnode install --mode addon --vswitch <ids> --security-group <id>`');
  }
  return data;
}

export async function getConfig(ctx: Context): Promise<ConfigView> {
  const data = await requireProfile(ctx);
  const nodes = (await addonNodes(await ctx.cluster())).map((n) => n.metadata.name!);
  return {
    configMap: `${NAMESPACE}/${ECI_PROFILE}`, vswitch: data.vSwitchIds ?? null, 'security-group': data.securityGroupId ?? null, 'kube-proxy': data.enableClusterIp ?? null,
    'resource-group': data.resourceGroupId ?? null, vpc: data.vpcId ?? null, 'eci-profile': data, nodes,
  };
}

/** key=value pairs; every one is checked before anything is read from the cluster. */
export function parseAssignments(pairs: string[]): Partial<Record<ConfigKey, string>> {
  if (pairs.length === 0) throw usageError('NoAssignment', 'nothing to set', `give key=value, with key one of ${NAMES.join(', ')}`);
  const out: Partial<Record<ConfigKey, string>> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    const key = (i < 0 ? p : p.slice(0, i)) as ConfigKey;
    const value = i < 0 ? '' : p.slice(i + 1);
    if (!NAMES.includes(key)) throw usageError('UnknownKey', `unknown setting "${i < 0 ? p : key}": expected key=value with key one of ${NAMES.join(', ')}`);
    if (i < 0) throw usageError('NoValue', `${key} has no value: expected ${key}=<value>`);
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
    if (key === 'resource-group' && !/^rg-[a-z0-9]+$/.test(value)) throw usageError('InvalidResourceGroup', `invalid resource-group "${value}": expected an id such as rg-acfm...`);
    out[key] = value;
  }
  return out;
}

export interface SetConfigResult {
  changes: ProfileChange[];
  dryRun: boolean;
}

/**
 * `vnode config set`: writes eci-profile's documented keys. The add-on reads eci-profile live: the change applies to
 * ECI pods created from now on, with no restart; running pods keep the settings they were created with.
 */
export async function setConfig(ctx: Context, assignments: Partial<Record<ConfigKey, string>>): Promise<SetConfigResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const data = await requireProfile(ctx);
  const want: Record<string, string> = {};
  for (const k of NAMES) if (assignments[k] !== undefined) want[CONFIG_KEYS[k]] = k === 'vswitch' ? assignments[k].split(',').map((v) => v.trim()).join(',') : assignments[k];
  if (want.vSwitchIds !== undefined || want.securityGroupId !== undefined) {
    const cloud = await ctx.cloud().catch(asInput);
    const vswitches = (want.vSwitchIds ?? data.vSwitchIds ?? '').split(',').filter(Boolean);
    const sg = want.securityGroupId ?? data.securityGroupId ?? '';
    // the pair must still work together: vSwitches of one VPC, the security group in it
    const net = await status.step('Checking the vSwitches and security group', () => checkNetwork(cloud, { vswitches, securityGroup: sg }).catch(asInput), (n) => `VPC ${n.vpcId}`);
    for (const w of net.warnings) ctx.out.warn(w);
    want.vpcId = net.vpcId;
  }
  const changes = profileChanges(data, want);
  if (flags.dryRun || changes.length === 0) return { changes, dryRun: flags.dryRun };
  await status.step(`Updating ConfigMap ${NAMESPACE}/${ECI_PROFILE}`, () => cluster.patch(PROFILE_REF, { data: Object.fromEntries(changes.map((c) => [c.key, c.to])) }, 'merge'));
  return { changes, dryRun: false };
}
