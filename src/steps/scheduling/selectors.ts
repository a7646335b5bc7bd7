import type { KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { CONTROLLER_REF, PROFILE_REF } from '../addon/addon.js';
import { ADDON, ECI_PROFILE, NAMESPACE } from '../addon/constants.js';

/**
 * Selectors in the add-on's own format: eci-profile's `selectors` key, a JSON array of {name, namespaceSelector,
 * objectSelector, effect: {annotations, labels}}, matched in order by the add-on's vk-webhook. Pods a selector
 * matches go to the add-on's virtual nodes, with the effect's labels and annotations (the pod's own win).
 */
export interface ProfileSelector {
  name: string;
  namespaceSelector?: { matchLabels: Record<string, string> };
  objectSelector?: { matchLabels: Record<string, string> };
  effect?: { annotations?: Record<string, string>; labels?: Record<string, string> };
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;
const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** k=v pairs (comma-separated or repeated): label keys and values as Kubernetes allows them. */
export function parsePairs(flag: string, items: string[], opts: { anyValue?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items.flatMap((s) => (opts.anyValue ? [s] : s.split(','))).map((s) => s.trim()).filter(Boolean)) {
    const i = item.indexOf('=');
    if (i <= 0) throw usageError('InvalidSelector', `invalid ${flag} "${item}": expected key=value`);
    const [k, v] = [item.slice(0, i), item.slice(i + 1)];
    if (!KEY_RE.test(k)) throw usageError('InvalidSelector', `invalid ${flag} key "${k}": expected a label key such as app or example.com/tier`);
    if (!opts.anyValue && !VALUE_RE.test(v)) throw usageError('InvalidSelector', `invalid ${flag} value "${v}" of ${k}: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`);
    if (k in out) throw usageError('InvalidSelector', `${flag} sets ${k} twice`);
    out[k] = v;
  }
  return out;
}

export function checkSelectorName(name: string): void {
  if (!NAME_RE.test(name)) throw usageError('InvalidName', `invalid selector name "${name}": lower-case letters, digits, '-' and '.', at most 63, starting and ending alphanumeric`);
}

export function buildSelector(name: string, pod: Record<string, string>, ns: Record<string, string>, annotations: Record<string, string>, labels: Record<string, string>): ProfileSelector {
  checkSelectorName(name);
  if (Object.keys(pod).length === 0 && Object.keys(ns).length === 0) {
    throw usageError('NoSelector', `selector ${name} selects nothing: give --pod-selector k=v and/or --namespace-selector k=v`);
  }
  const effect = { ...(Object.keys(annotations).length ? { annotations } : {}), ...(Object.keys(labels).length ? { labels } : {}) };
  return {
    name,
    ...(Object.keys(ns).length ? { namespaceSelector: { matchLabels: ns } } : {}),
    ...(Object.keys(pod).length ? { objectSelector: { matchLabels: pod } } : {}),
    ...(Object.keys(effect).length ? { effect } : {}),
  };
}

/** The selectors eci-profile holds; a value the add-on could not read either is an error naming it. */
export function readSelectors(data: Record<string, string> | undefined): ProfileSelector[] {
  const raw = (data?.selectors ?? '').trim();
  if (raw === '') return [];
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch {
    throw operationError('InvalidSelectors', `${NAMESPACE}/${ECI_PROFILE} key selectors is not valid JSON, so the add-on ignores all of it`, { hint: `fix or empty it: kubectl -n ${NAMESPACE} edit configmap ${ECI_PROFILE}` });
  }
  if (!Array.isArray(parsed) || parsed.some((s) => !s || typeof s !== 'object' || typeof (s as { name?: unknown }).name !== 'string')) {
    throw operationError('InvalidSelectors', `${NAMESPACE}/${ECI_PROFILE} key selectors is not a list of named selectors`, { hint: `fix it: kubectl -n ${NAMESPACE} edit configmap ${ECI_PROFILE}` });
  }
  return parsed as ProfileSelector[];
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** eci-profile while the add-on is installed (its controller present), else undefined. */
async function addonProfile(ctx: Context): Promise<ConfigMap | undefined> {
  const cluster = await ctx.cluster();
  const [profile, controller] = await Promise.all([cluster.get<ConfigMap>(PROFILE_REF), cluster.get(CONTROLLER_REF)]);
  return profile && controller ? profile : undefined;
}

/** The add-on must be installed: its vk-webhook is what reads these selectors. */
async function requireAddonProfile(ctx: Context): Promise<ConfigMap> {
  const profile = await addonProfile(ctx);
  if (!profile) {
    throw usageError('NoSelectorEngine', `selectors are the ${ADDON} add-on's (its ${ECI_PROFILE} and vk-webhook), and the add-on is not installed`,
      'install it (`vnode install --mode addon`), or for VNodes use label-based scheduling: `vnode scheduling enable`');
  }
  return profile;
}

export interface SelectorChange { name: string; action: 'created' | 'updated' | 'unchanged' | 'deleted' | 'not found'; selectors: ProfileSelector[]; dryRun: boolean }

async function write(ctx: Context, profile: ConfigMap, selectors: ProfileSelector[]): Promise<void> {
  const cluster = await ctx.cluster();
  // resourceVersion: a concurrent edit makes this fail rather than be lost
  await cluster.patch(PROFILE_REF, { metadata: { resourceVersion: profile.metadata.resourceVersion }, data: { selectors: JSON.stringify(selectors) } }, 'merge');
}

export async function listSelectors(ctx: Context): Promise<ProfileSelector[]> {
  return readSelectors((await requireAddonProfile(ctx)).data);
}

/** Adds the selector, or replaces the one of that name (in its place: order is priority). */
export async function addSelector(ctx: Context, sel: ProfileSelector): Promise<SelectorChange> {
  const profile = await requireAddonProfile(ctx);
  const list = readSelectors(profile.data);
  const i = list.findIndex((s) => s.name === sel.name);
  if (i >= 0 && JSON.stringify(list[i]) === JSON.stringify(sel)) return { name: sel.name, action: 'unchanged', selectors: list, dryRun: ctx.flags.dryRun };
  const next = i >= 0 ? list.map((s, j) => (j === i ? sel : s)) : [...list, sel];
  if (!ctx.flags.dryRun) await ctx.status.step(`Writing selector ${sel.name} into ${NAMESPACE}/${ECI_PROFILE}`, () => write(ctx, profile, next));
  return { name: sel.name, action: i >= 0 ? 'updated' : 'created', selectors: next, dryRun: ctx.flags.dryRun };
}

export async function removeSelector(ctx: Context, name: string): Promise<SelectorChange> {
  checkSelectorName(name);
  const profile = await requireAddonProfile(ctx);
  const list = readSelectors(profile.data);
  if (!list.some((s) => s.name === name)) return { name, action: 'not found', selectors: list, dryRun: ctx.flags.dryRun };
  const next = list.filter((s) => s.name !== name);
  if (!ctx.flags.dryRun) await ctx.status.step(`Removing selector ${name} from ${NAMESPACE}/${ECI_PROFILE}`, () => write(ctx, profile, next));
  return { name, action: 'deleted', selectors: next, dryRun: ctx.flags.dryRun };
}

/** Which engine sends pods to virtual nodes: the add-on's vk-webhook, vnode's webhook, both or neither. */
export async function engineOf(ctx: Context): Promise<{ addon: boolean; selectors: number | null }> {
  const profile = await addonProfile(ctx);
  if (!profile) return { addon: false, selectors: null };
  try { return { addon: true, selectors: readSelectors(profile.data).length }; } catch { return { addon: true, selectors: null }; }
}
