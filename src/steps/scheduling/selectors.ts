import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { ADDON, ADDON_NAMESPACE as NAMESPACE, CONTROLLER_REF, ECI_PROFILE, PROFILE_REF } from '../ground/virtual-nodes.js';
import { syncEntries } from './entries.js';
import { BUILT_IN_RULES, policyOf, POLICY_FLAG_OF, SELECTOR_API, SELECTOR_KIND, type PolicyName, type SelectorObject, type SelectorSpec } from './policy.js';
import { entryProblem } from './webhook.js';

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
  for (const given of items) {
    // as kubectl: an empty term (a stray comma) is an error, not nothing
    if (!opts.anyValue && given.split(',').some((t) => t.trim() === '')) throw usageError('InvalidSelector', `invalid ${flag} "${given}": an empty term; expected key=value[,key=value...]`);
  }
  for (const item of items.flatMap((s) => (opts.anyValue ? [s] : s.split(','))).map((s) => s.trim())) {
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

/** A valid name, and at least one of the two selectors (either engine). */
function checkSelects(name: string, pod: Record<string, string>, ns: Record<string, string>): void {
  checkSelectorName(name);
  if (Object.keys(pod).length === 0 && Object.keys(ns).length === 0) {
    throw usageError('NoSelector', `selector ${name} selects nothing: give --pod-selector k=v and/or --namespace-selector k=v`);
  }
}

export function buildSelector(name: string, pod: Record<string, string>, ns: Record<string, string>, annotations: Record<string, string>, labels: Record<string, string>): ProfileSelector {
  checkSelects(name, pod, ns);
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

export interface SelectorChange { name: string; action: 'created' | 'updated' | 'unchanged' | 'deleted' | 'not found'; selectors: ProfileSelector[]; dryRun: boolean }

async function write(ctx: Context, profile: ConfigMap, selectors: ProfileSelector[]): Promise<void> {
  const cluster = await ctx.cluster();
  // resourceVersion: a concurrent edit makes this fail rather than be lost
  await cluster.patch(PROFILE_REF, { metadata: { resourceVersion: profile.metadata.resourceVersion }, data: { selectors: JSON.stringify(selectors) } }, 'merge');
}

/** Adds the selector, or replaces the one of that name (in its place: order is priority). */
async function addSelector(ctx: Context, profile: ConfigMap, sel: ProfileSelector): Promise<SelectorChange> {
  const list = readSelectors(profile.data);
  const i = list.findIndex((s) => s.name === sel.name);
  if (i >= 0 && JSON.stringify(list[i]) === JSON.stringify(sel)) return { name: sel.name, action: 'unchanged', selectors: list, dryRun: ctx.flags.dryRun };
  const next = i >= 0 ? list.map((s, j) => (j === i ? sel : s)) : [...list, sel];
  if (!ctx.flags.dryRun) await ctx.status.step(`Writing selector ${sel.name} into ${NAMESPACE}/${ECI_PROFILE}`, () => write(ctx, profile, next));
  return { name: sel.name, action: i >= 0 ? 'updated' : 'created', selectors: next, dryRun: ctx.flags.dryRun };
}

async function removeSelector(ctx: Context, profile: ConfigMap, name: string): Promise<SelectorChange> {
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

/** vnode's own engine: Selector objects (eci.aliyun.com/v1), read by vnode's scheduling server. */
export interface SelectorRequest {
  name: string;
  pod: Record<string, string>;
  namespace: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  policy: PolicyName | undefined;
  priority: number | undefined;
}

export interface SelectorRow {
  name: string;
  policy: string;
  priority: number;
  podSelector: Record<string, string> | null;
  namespaceSelector: Record<string, string> | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** vnode made it (`scheduling add`), another tool did, or it is one of the label shortcuts. */
  origin: 'vnode' | 'other' | 'built-in';
  /** Why it is not applied (the API server would refuse its webhook entry); null when it is. */
  problem: string | null;
}

export type Engine = { kind: 'addon'; profile: ConfigMap } | { kind: 'vnode' };

/** The add-on's vk-webhook when the add-on is installed, else vnode's server, whose Selector API must be served. */
async function requireEngine(ctx: Context): Promise<Engine> {
  const profile = await addonProfile(ctx);
  if (profile) return { kind: 'addon', profile };
  const cluster = await ctx.cluster();
  if (!(await cluster.groupVersions()).includes(SELECTOR_API)) {
    throw usageError('NoSelectorEngine', `no engine applies selectors here: the Selector API (${SELECTOR_API}) is not served and the ${ADDON} add-on is not installed`,
      'run `vnode scheduling enable` first (it installs the Selector CRD and the server that applies it), or install the add-on (`vnode install --mode addon`)');
  }
  return { kind: 'vnode' };
}

/**
 * The webhook configuration's entries follow the Selectors now, not when the server notices (it does too, also for
 * Selectors made with kubectl).
 */
async function followSelectors(ctx: Context, cluster: ClusterPort): Promise<void> {
  await ctx.status.step('Updating the webhook configuration\'s entries', async () =>
    syncEntries(cluster, await cluster.list<SelectorObject>(SELECTOR_API, SELECTOR_KIND)), (r) => (r === 'absent' ? 'not enabled: `vnode scheduling enable` applies them' : r));
}

function selectorSpec(r: SelectorRequest): SelectorSpec {
  const effect = { ...(Object.keys(r.annotations).length ? { annotations: r.annotations } : {}), ...(Object.keys(r.labels).length ? { labels: r.labels } : {}) };
  return {
    ...(Object.keys(r.namespace).length ? { namespaceLabels: { matchLabels: r.namespace } } : {}),
    ...(Object.keys(r.pod).length ? { objectLabels: { matchLabels: r.pod } } : {}),
    ...(Object.keys(effect).length ? { effect } : {}),
    policy: { [r.policy ?? 'virtualNodeOnly']: {} },
    ...(r.priority !== undefined ? { priority: r.priority } : {}),
  };
}

const selectorRef = (name: string): { apiVersion: string; kind: string; name: string } => ({ apiVersion: SELECTOR_API, kind: SELECTOR_KIND, name });

function checkRequest(r: SelectorRequest, engine: Engine): void {
  checkSelects(r.name, r.pod, r.namespace);
  if (engine.kind === 'addon') {
    if (r.policy && r.policy !== 'virtualNodeOnly') {
      throw usageError('PolicyUnsupported', `--policy ${POLICY_FLAG_OF[r.policy]} is not available with the ${ADDON} add-on: its selectors always send pods to its virtual nodes (virtual-node-only)`,
        'drop --policy, or use vnode\'s engine (`vnode scheduling enable`) on a cluster without the add-on');
    }
    if (r.priority !== undefined) throw usageError('PriorityUnsupported', `--priority is not available with the ${ADDON} add-on: its selectors are matched in list order`, 'drop --priority');
  } else if (!r.policy) {
    throw usageError('PolicyRequired', `selector ${r.name} needs --policy: fair, normal-node-only, normal-node-prefer or virtual-node-only`);
  }
}

/** `vnode scheduling add`: a Selector object, or an entry of the add-on's eci-profile. */
export async function applySelector(ctx: Context, r: SelectorRequest): Promise<SelectorChange & { engine: Engine['kind'] }> {
  const engine = await requireEngine(ctx);
  checkRequest(r, engine);
  if (engine.kind === 'addon') return { ...(await addSelector(ctx, engine.profile, buildSelector(r.name, r.pod, r.namespace, r.annotations, r.labels))), engine: 'addon' };
  const cluster = await ctx.cluster();
  const spec = selectorSpec(r);
  const live = await cluster.get<SelectorObject>(selectorRef(r.name));
  const dryRun = ctx.flags.dryRun;
  const done = async (action: SelectorChange['action']): Promise<SelectorChange & { engine: 'vnode' }> => ({ name: r.name, action, selectors: [], dryRun, engine: 'vnode' });
  if (live) {
    if (live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw usageError('NotManaged', `Selector ${r.name} exists but vnode did not create it`, 'vnode changes only what it created; pick another name, or edit it with kubectl');
    }
    if (canonical(live.spec) === canonical(spec)) return done('unchanged');
    if (!dryRun) {
      await ctx.status.step(`Updating Selector ${r.name}`, () => cluster.patch(selectorRef(r.name), [{ op: 'replace', path: '/spec', value: spec }], 'json'));
      await followSelectors(ctx, cluster);
    }
    return done('updated');
  }
  if (!dryRun) {
    await ctx.status.step(`Creating Selector ${r.name}`, () => cluster.create({
      apiVersion: SELECTOR_API, kind: SELECTOR_KIND, metadata: { name: r.name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, spec,
    } as KubeObject));
    await followSelectors(ctx, cluster);
  }
  return done('created');
}

export async function deleteSelector(ctx: Context, name: string): Promise<SelectorChange & { engine: Engine['kind'] }> {
  checkSelectorName(name);
  const engine = await requireEngine(ctx);
  if (engine.kind === 'addon') return { ...(await removeSelector(ctx, engine.profile, name)), engine: 'addon' };
  const cluster = await ctx.cluster();
  const live = await cluster.get<SelectorObject>(selectorRef(name));
  const dryRun = ctx.flags.dryRun;
  if (!live) return { name, action: 'not found', selectors: [], dryRun, engine: 'vnode' };
  if (live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
    throw usageError('NotManaged', `Selector ${name} exists but vnode did not create it`, 'vnode changes only what it created; delete it with kubectl if you mean to');
  }
  if (!dryRun) {
    await ctx.status.step(`Deleting Selector ${name}`, () => cluster.delete(selectorRef(name)));
    await followSelectors(ctx, cluster);
  }
  return { name, action: 'deleted', selectors: [], dryRun, engine: 'vnode' };
}

/** JSON with sorted keys: the API server returns an object's maps in its own order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
}

function rowOf(o: SelectorObject): SelectorRow {
  const p = policyOf(o.spec);
  return {
    name: o.metadata.name ?? '', policy: POLICY_FLAG_OF[p], priority: Number(o.spec?.priority ?? 0),
    podSelector: o.spec?.objectLabels?.matchLabels ?? null, namespaceSelector: o.spec?.namespaceLabels?.matchLabels ?? null,
    labels: o.spec?.effect?.labels ?? {}, annotations: o.spec?.effect?.annotations ?? {},
    origin: o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? 'vnode' : 'other',
    problem: entryProblem(o) ?? null,
  };
}

/** The selectors in force, in the order they win: priority, then users' before built-ins, then name. */
export async function selectorRows(ctx: Context): Promise<{ engine: Engine['kind']; rows: SelectorRow[]; addon: ProfileSelector[] }> {
  const engine = await requireEngine(ctx);
  if (engine.kind === 'addon') return { engine: 'addon', rows: [], addon: readSelectors(engine.profile.data) };
  const cluster: ClusterPort = await ctx.cluster();
  const objects = await cluster.list<SelectorObject>(SELECTOR_API, SELECTOR_KIND);
  const builtIns: SelectorRow[] = BUILT_IN_RULES.map((r) => ({
    name: r.name, policy: 'virtual-node-only', priority: r.priority, podSelector: r.objectLabels?.matchLabels ?? null, namespaceSelector: r.namespaceLabels?.matchLabels ?? null,
    labels: {}, annotations: {}, origin: 'built-in' as const, problem: null,
  }));
  const rows = [...objects.map(rowOf), ...builtIns].sort((a, b) => b.priority - a.priority || Number(a.origin === 'built-in') - Number(b.origin === 'built-in') || a.name.localeCompare(b.name));
  return { engine: 'vnode', rows, addon: [] };
}
