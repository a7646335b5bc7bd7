import { requiredTerms, selectsNode, toleratesTaint, type NodeFacts, type PodSchedulingSpec, type Toleration } from '../../cluster/node-match.js';
import { ADDON_NODE_LABELS as CONTROLLER_LABELS, ADDON_TAINT as CONTROLLER_TAINT, VNODE_LABELS, VNODE_TAINT } from '../ground/virtual-nodes.js';

export type SchedulingMode = 'vnode' | 'controller';
export const SCHEDULING_MODES: SchedulingMode[] = ['vnode', 'controller'];

/** Labels users put on a pod or namespace to ask for ECI: the documents' current and older spellings. */
export const POD_LABEL = { key: 'alibabacloud.com/eci', value: 'true' };
export const LEGACY_POD_LABEL = { key: 'eci', value: 'true' };
export const NAMESPACE_LABEL = POD_LABEL;
export const LEGACY_NAMESPACE_LABEL = { key: 'virtual-node-affinity-injection', value: 'enabled' };
/** The documents' shorter namespace label. */
export const SHORT_NAMESPACE_LABEL = LEGACY_POD_LABEL;
/** On a pod: which virtual nodes the webhook sent it to. */
export const INJECTED_ANNOTATION = 'vnode.dev/scheduling';

export interface ModeTarget {
  nodeSelector: Record<string, string>;
  toleration: Toleration;
  /** The mode's nodes, as a label selector. */
  nodeLabelSelector: string;
  /** The same, evaluated. */
  isNode(labels: Record<string, string>): boolean;
  /** What a node of the mode looks like when none is registered yet. */
  canonical: NodeFacts;
}

export const TARGETS: Record<SchedulingMode, ModeTarget> = {
  vnode: {
    nodeSelector: { 'k8s.aliyun.com/vnode': 'true' },
    toleration: { key: VNODE_TAINT.key, operator: 'Exists', effect: VNODE_TAINT.effect },
    nodeLabelSelector: 'k8s.aliyun.com/vnode=true',
    isNode: (l) => l['k8s.aliyun.com/vnode'] === 'true',
    canonical: { name: '', labels: VNODE_LABELS, taints: [VNODE_TAINT] },
  },
  controller: {
    nodeSelector: { type: 'virtual-kubelet' },
    toleration: { key: CONTROLLER_TAINT.key, operator: 'Exists', effect: CONTROLLER_TAINT.effect },
    // VNode-mode nodes carry type=virtual-kubelet too; their own taint keeps controller-mode pods off them
    nodeLabelSelector: 'type=virtual-kubelet,!k8s.aliyun.com/vnode',
    isNode: (l) => l.type === 'virtual-kubelet' && l['k8s.aliyun.com/vnode'] === undefined,
    // virtual-kubelet registers the GA os label too
    canonical: { name: '', labels: { ...CONTROLLER_LABELS, 'kubernetes.io/os': 'linux' }, taints: [CONTROLLER_TAINT] },
  },
};

export interface PatchOp { op: 'add' | 'replace' | 'test'; path: string; value: unknown }

export interface Decision {
  /** Empty: nothing to change. */
  patch: PatchOp[];
  /** Why the pod was left alone although it asked for a virtual node. */
  skipped?: string;
}

/**
 * A taint the pod must tolerate to run on the node at all: NoSchedule/NoExecute, and not one the control plane puts on
 * for the node's state (node.kubernetes.io/unschedulable while it is cordoned or drained, not-ready, unreachable,
 * pressure): tolerating those would send pods to a node being drained.
 */
export function identityTaint(t: { key: string; effect: string }): boolean {
  return (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !t.key.startsWith('node.kubernetes.io/') && !t.key.startsWith('node.cloudprovider.kubernetes.io/');
}

/** The tolerations a pod lacks for these nodes of the mode: the mode's own taint and each node's others (--taint extras). */
export function missingTolerations(have: Toleration[], mode: SchedulingMode, nodes: NodeFacts[]): Toleration[] {
  const target = TARGETS[mode];
  const added: Toleration[] = [];
  const tolerates = (t: NodeFacts['taints'][number]): boolean => toleratesTaint([...have, ...added], t);
  if (!target.canonical.taints.every(tolerates)) added.push(target.toleration);
  for (const n of nodes) {
    for (const t of n.taints) {
      if (!identityTaint(t) || tolerates(t)) continue;
      added.push(t.value ? { key: t.key, operator: 'Equal', value: t.value, effect: t.effect } : { key: t.key, operator: 'Exists', effect: t.effect });
    }
  }
  return added;
}

interface PodLike { metadata?: { annotations?: Record<string, string> }; spec?: PodSchedulingSpec }

/** A key as one JSON Pointer token (RFC 6901: ~ and / escaped). */
export function pointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describeSelector(sel: Record<string, string>): string {
  return Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * What the webhook does to a pod that asked for a virtual node: add the mode's nodeSelector and toleration, unless
 * the pod already chose other nodes (then it is left alone, with the reason). `nodes` are the mode's registered nodes.
 */
export function decide(pod: PodLike, mode: SchedulingMode, nodes: NodeFacts[]): Decision {
  const target = TARGETS[mode];
  const spec = pod.spec ?? {};
  const candidates = nodes.length > 0 ? nodes : [target.canonical];
  if (spec.nodeName) {
    return candidates.some((n) => n.name === spec.nodeName) ? { patch: [] } : { patch: [], skipped: `spec.nodeName is ${spec.nodeName}, not a virtual node` };
  }
  const selector = spec.nodeSelector ?? {};
  const conflicting = Object.entries(target.nodeSelector).filter(([k, v]) => selector[k] !== undefined && selector[k] !== v);
  if (conflicting.length > 0) return { patch: [], skipped: `its nodeSelector ${describeSelector(Object.fromEntries(conflicting.map(([k]) => [k, selector[k]!])))} excludes virtual nodes` };

  const missingSelector = Object.entries(target.nodeSelector).filter(([k]) => selector[k] === undefined);
  const selected = candidates.filter((n) => selectsNode({ ...spec, nodeSelector: { ...selector, ...target.nodeSelector } }, n));
  if (selected.length === 0) {
    const own = Object.entries(selector).filter(([k, v]) => !candidates.some((n) => n.labels[k] === v));
    const why = own.length > 0 ? `its nodeSelector ${describeSelector(Object.fromEntries(own))}` : requiredTerms(spec) ? 'its required node affinity' : 'its node selection';
    return { patch: [], skipped: `${why} matches no ${mode === 'vnode' ? 'VNode' : 'controller'} virtual node` };
  }
  const added = missingTolerations(spec.tolerations ?? [], mode, selected);
  const tolerated = added.length === 0;
  if (missingSelector.length === 0 && tolerated) return { patch: [] };

  const patch: PatchOp[] = [];
  if (!spec.nodeSelector) patch.push({ op: 'add', path: '/spec/nodeSelector', value: Object.fromEntries(missingSelector) });
  else for (const [k, v] of missingSelector) patch.push({ op: 'add', path: `/spec/nodeSelector/${pointer(k)}`, value: v });
  if (!spec.tolerations && added.length > 0) patch.push({ op: 'add', path: '/spec/tolerations', value: added });
  else for (const t of added) patch.push({ op: 'add', path: '/spec/tolerations/-', value: t });
  if (!pod.metadata?.annotations) patch.push({ op: 'add', path: '/metadata/annotations', value: { [INJECTED_ANNOTATION]: mode } });
  else patch.push({ op: 'add', path: `/metadata/annotations/${pointer(INJECTED_ANNOTATION)}`, value: mode });
  return { patch };
}
