import { selectsNode, type NodeFacts, type PodSchedulingSpec, type Toleration } from '../../cluster/node-match.js';
import type { KubeObject } from '../../cluster/port.js';
import {
  decide, INJECTED_ANNOTATION, pointer, LEGACY_NAMESPACE_LABEL, LEGACY_POD_LABEL, missingTolerations, NAMESPACE_LABEL, POD_LABEL, SHORT_NAMESPACE_LABEL, TARGETS, type PatchOp, type SchedulingMode,
} from './mutation.js';

/**
 * Selectors with the semantics of Alibaba's eci-profile component, stored as its `Selector` (eci.aliyun.com/v1,
 * cluster-scoped), so users can move between the two: namespaceLabels AND objectLabels pick pods, the highest
 * priority wins (0 when unset), the policy says where they may run, and the effect's labels and annotations are added.
 */
export const SELECTOR_GROUP = 'eci.aliyun.com';
export const SELECTOR_API = `${SELECTOR_GROUP}/v1`;
export const SELECTOR_KIND = 'Selector';
export const SELECTOR_CRD = `selectors.${SELECTOR_GROUP}`;

export type PolicyName = 'fair' | 'normalNodeOnly' | 'normalNodePrefer' | 'virtualNodeOnly';
/** The command line's spelling of each policy. */
export const POLICY_FLAGS: Record<string, PolicyName> = {
  fair: 'fair', 'normal-node-only': 'normalNodeOnly', 'normal-node-prefer': 'normalNodePrefer', 'virtual-node-only': 'virtualNodeOnly',
};
export const POLICY_FLAG_OF: Record<PolicyName, string> = Object.fromEntries(Object.entries(POLICY_FLAGS).map(([k, v]) => [v, k])) as Record<PolicyName, string>;

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface SelectorSpec {
  namespaceLabels?: LabelSelector;
  objectLabels?: LabelSelector;
  effect?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  policy?: Partial<Record<PolicyName | 'namespaceResourceLimit', Record<string, unknown>>>;
  priority?: number;
}

export interface SelectorObject extends KubeObject { spec?: SelectorSpec }

/** A selector as the webhook applies it: a Selector object, or one of the documented label shortcuts. */
export interface Rule {
  name: string;
  builtIn: boolean;
  priority: number;
  namespaceLabels?: LabelSelector;
  objectLabels?: LabelSelector;
  /** undefined: a policy vnode does not implement (namespaceResourceLimit); the pod is left alone. */
  policy: PolicyName | undefined;
  effect: { annotations: Record<string, string>; labels: Record<string, string> };
  /** How an Event names it. */
  describe: string;
}

/** On a pod of a normal-node-prefer selector: `pending` until it bursts to a virtual node, then `done`. */
export const BURST_LABEL = 'vnode.dev/burst';
/** On a pod: the selector that decided where it may run. */
export const SELECTOR_ANNOTATION = 'vnode.dev/selector';
/** A pod's own request (its label) always wins; it is a request, not a default. */
const POD_REQUEST_PRIORITY = 2 ** 31 - 1;
const NOT_OPTED_OUT: LabelSelector = { matchExpressions: [{ key: POD_LABEL.key, operator: 'NotIn', values: ['false'] }] };

const builtIn = (name: string, describe: string, priority: number, sel: Pick<Rule, 'namespaceLabels' | 'objectLabels'>): Rule =>
  ({ name, builtIn: true, priority, ...sel, policy: 'virtualNodeOnly', effect: { annotations: {}, labels: {} }, describe });

/** The documented labels that ask for ECI, as selectors of policy virtual-node-only. */
export const BUILT_IN_RULES: Rule[] = [
  builtIn('pod-label', `label ${POD_LABEL.key}=${POD_LABEL.value}`, POD_REQUEST_PRIORITY, { objectLabels: { matchLabels: { [POD_LABEL.key]: POD_LABEL.value } } }),
  builtIn('pod-short-label', `label ${LEGACY_POD_LABEL.key}=${LEGACY_POD_LABEL.value}`, POD_REQUEST_PRIORITY, { objectLabels: { matchLabels: { [LEGACY_POD_LABEL.key]: LEGACY_POD_LABEL.value } } }),
  ...[NAMESPACE_LABEL, SHORT_NAMESPACE_LABEL, LEGACY_NAMESPACE_LABEL].map((l, i) => builtIn(['namespace-label', 'namespace-short-label', 'namespace-injection-label'][i]!,
    `namespace label ${l.key}=${l.value}`, 0, { namespaceLabels: { matchLabels: { [l.key]: l.value } }, objectLabels: NOT_OPTED_OUT })),
];

/**
 * The policy that acts on a Selector's pods, as eci-profile's findExecutor picks it: fair, then virtualNodeOnly, then
 * normalNodeOnly, then normalNodePrefer; none of these (no policy, or only namespaceResourceLimit) is virtualNodeOnly.
 */
export function policyOf(spec: SelectorSpec | undefined): PolicyName {
  const p = spec?.policy ?? {};
  for (const k of ['fair', 'virtualNodeOnly', 'normalNodeOnly', 'normalNodePrefer'] as const) if (p[k]) return k;
  return 'virtualNodeOnly';
}

export function ruleOf(o: SelectorObject): Rule {
  const p = policyOf(o.spec);
  const name = o.metadata.name ?? '';
  return {
    name, builtIn: false, priority: Number(o.spec?.priority ?? 0),
    ...(o.spec?.namespaceLabels ? { namespaceLabels: o.spec.namespaceLabels } : {}),
    ...(o.spec?.objectLabels ? { objectLabels: o.spec.objectLabels } : {}),
    policy: p,
    effect: { annotations: o.spec?.effect?.annotations ?? {}, labels: o.spec?.effect?.labels ?? {} },
    describe: `selector ${name}`,
  };
}

/** A LabelSelector as the API server evaluates it; a missing selector matches everything. */
export function matchesLabels(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const have = labels[r.key];
    const values = r.values ?? [];
    const ok = r.operator === 'In' ? have !== undefined && values.includes(have)
      : r.operator === 'NotIn' ? have === undefined || !values.includes(have)
        : r.operator === 'Exists' ? have !== undefined
          : r.operator === 'DoesNotExist' ? have === undefined : false;
    if (!ok) return false;
  }
  return true;
}

/** A LabelSelector in the API server's query syntax (the selector is valid: entryProblem checked it). */
export function labelSelectorQuery(sel: LabelSelector | undefined): string[] {
  const out = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    out.push(e.operator === 'In' ? `${e.key} in (${values})` : e.operator === 'NotIn' ? `${e.key} notin (${values})` : e.operator === 'Exists' ? e.key : `!${e.key}`);
  }
  return out;
}

/**
 * The pods burst may have to look at, as label selectors of watches: those of each normal-node-prefer rule that are
 * not bursted yet. None when no rule bursts; one for all pods when a rule picks pods by their namespace only.
 */
export function burstScopes(rules: Rule[]): string[] {
  const base = `${BURST_LABEL}!=done`;
  const scopes = new Set<string>();
  for (const r of rules) {
    if (r.policy !== 'normalNodePrefer') continue;
    const own = labelSelectorQuery(r.objectLabels);
    if (own.length === 0) return [base];
    scopes.add([base, ...own].join(','));
  }
  return [...scopes].sort();
}

/** The selector in charge of a pod: the highest priority among those matching; on a tie a user's before a built-in, then by name. */
export function pick(rules: Rule[], podLabels: Record<string, string>, namespaceLabels: Record<string, string>): Rule | undefined {
  return rules
    .filter((r) => matchesLabels(r.namespaceLabels, namespaceLabels) && matchesLabels(r.objectLabels, podLabels))
    .sort((a, b) => b.priority - a.priority || Number(a.builtIn) - Number(b.builtIn) || a.name.localeCompare(b.name))[0];
}

interface PodLike { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: PodSchedulingSpec }

export interface Admission {
  patch: PatchOp[];
  rule: Rule | undefined;
  /** Why a pod its selector sends to virtual nodes was left alone. */
  skipped?: string;
}

/** Adds the entries a map lacks (the pod's own values win), creating the map when absent. */
function addEntries(ops: PatchOp[], path: string, existing: Record<string, string> | undefined, add: Record<string, string>): void {
  const missing = Object.entries(add).filter(([k]) => existing?.[k] === undefined);
  if (missing.length === 0) return;
  if (!existing) ops.push({ op: 'add', path, value: Object.fromEntries(missing) });
  else for (const [k, v] of missing) ops.push({ op: 'add', path: `${path}/${pointer(k)}`, value: v });
}

/**
 * The tolerations a pod needs for the mode's virtual nodes it could otherwise run on: the mode's own taint and those a
 * node carries (--taint extras; PreferNoSchedule is no obstacle). undefined: none of them fits the pod's own node selection.
 */
export function virtualTolerations(spec: PodSchedulingSpec, mode: SchedulingMode, nodes: NodeFacts[]): Toleration[] | undefined {
  const candidates = (nodes.length > 0 ? nodes : [TARGETS[mode].canonical]).filter((n) => selectsNode(spec, n));
  return candidates.length === 0 ? undefined : missingTolerations(spec.tolerations ?? [], mode, candidates);
}

function addTolerations(ops: PatchOp[], spec: PodSchedulingSpec, add: Toleration[]): void {
  if (add.length === 0) return;
  if (!spec.tolerations) ops.push({ op: 'add', path: '/spec/tolerations', value: add });
  else for (const t of add) ops.push({ op: 'add', path: '/spec/tolerations/-', value: t });
}

/** What the webhook does to a new pod: the selector in charge, its policy's changes and its effect. */
export function admit(pod: PodLike, namespaceLabels: Record<string, string>, rules: Rule[], mode: SchedulingMode, nodes: NodeFacts[]): Admission {
  const labels = pod.metadata?.labels ?? {};
  const rule = pick(rules, labels, namespaceLabels);
  if (!rule?.policy) return { patch: [], rule, ...(rule ? { skipped: `${rule.describe}'s policy is not one vnode applies (fair, normalNodeOnly, normalNodePrefer, virtualNodeOnly)` } : {}) };
  // as eci-profile's executor: normal-node-only changes nothing at all, not even the effect
  if (rule.policy === 'normalNodeOnly') return { patch: [], rule };
  const spec = pod.spec ?? {};
  const ops: PatchOp[] = [];
  let skipped: string | undefined;
  const marks: Record<string, string> = { ...rule.effect.labels };
  switch (rule.policy) {
    case 'virtualNodeOnly': {
      const d = decide(pod, mode, nodes);
      // decide() also annotates; that annotation is written below with the rest
      ops.push(...d.patch.filter((p) => !p.path.startsWith('/metadata/annotations')));
      skipped = d.skipped;
      break;
    }
    case 'fair': {
      if (spec.nodeName) break;
      const add = virtualTolerations(spec, mode, nodes);
      if (add === undefined) skipped = `its node selection matches no ${mode === 'vnode' ? 'VNode' : 'controller'} virtual node`;
      else addTolerations(ops, spec, add);
      break;
    }
    case 'normalNodePrefer':
      // a fast path only: burst takes every unbound pod of the Selector, marked or not
      if (!spec.nodeName && labels[BURST_LABEL] === undefined) marks[BURST_LABEL] = 'pending';
      break;
  }
  addEntries(ops, '/metadata/labels', pod.metadata?.labels, marks);
  const annotations = skipped ? { ...rule.effect.annotations } : { ...rule.effect.annotations, [INJECTED_ANNOTATION]: mode, ...(rule.builtIn ? {} : { [SELECTOR_ANNOTATION]: rule.name }) };
  addEntries(ops, '/metadata/annotations', pod.metadata?.annotations, annotations);
  return { patch: ops, rule, ...(skipped ? { skipped } : {}) };
}

interface UnscheduledPod extends PodLike {
  metadata?: PodLike['metadata'] & { resourceVersion?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

export function isUnschedulable(pod: UnscheduledPod): boolean {
  return !pod.spec?.nodeName && (pod.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}

/**
 * Burst: a pending pod of a normal-node-prefer selector that the scheduler found no normal node for gets the virtual
 * nodes' tolerations (the only change to a running pod's scheduling the API allows). The patch tests the tolerations
 * it read, so a second replica doing the same fails instead of adding them twice.
 */
export function burstPatch(pod: UnscheduledPod, rule: Rule | undefined, mode: SchedulingMode, nodes: NodeFacts[]): { patch: PatchOp[] | undefined; skipped?: string } {
  // every pod of the Selector, also those created before it existed or while the webhook was down (no mark)
  if (rule?.policy !== 'normalNodePrefer' || pod.metadata?.labels?.[BURST_LABEL] === 'done' || !isUnschedulable(pod)) return { patch: undefined };
  const spec = pod.spec ?? {};
  const add = virtualTolerations(spec, mode, nodes);
  if (add === undefined) return { patch: undefined, skipped: `its node selection matches no ${mode === 'vnode' ? 'VNode' : 'controller'} virtual node` };
  const ops: PatchOp[] = [];
  if (spec.tolerations) ops.push({ op: 'test', path: '/spec/tolerations', value: spec.tolerations });
  addTolerations(ops, spec, add);
  const labels = pod.metadata?.labels;
  ops.push(labels?.[BURST_LABEL] !== undefined ? { op: 'replace', path: `/metadata/labels/${pointer(BURST_LABEL)}`, value: 'done' }
    : labels ? { op: 'add', path: `/metadata/labels/${pointer(BURST_LABEL)}`, value: 'done' } : { op: 'add', path: '/metadata/labels', value: { [BURST_LABEL]: 'done' } });
  return { patch: ops };
}
