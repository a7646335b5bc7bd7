import type { KubeObject } from './port.js';

/** The scheduler's node-selection rules vnode needs: nodeSelector, required node affinity, taints and tolerations. */

export interface Requirement { key: string; operator: string; values?: string[] }
export interface Term { matchExpressions?: Requirement[]; matchFields?: Requirement[] }
export interface Toleration { key?: string; operator?: string; value?: string; effect?: string }
export interface NodeTaint { key: string; value?: string; effect: string }

export interface PodSchedulingSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Term[] } } & Record<string, unknown> } & Record<string, unknown>;
}

/** What the scheduler sees of a node. */
export interface NodeFacts { name: string; labels: Record<string, string>; taints: NodeTaint[] }

function matchRequirement(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const [have, want] = [Number.parseInt(value, 10), Number.parseInt(values[0]!, 10)];
      if (!Number.isInteger(have) || !Number.isInteger(want)) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default: return false;
  }
}

/** One term: every expression and field requirement holds (an empty term matches nothing, as in the scheduler). */
export function matchTerm(t: Term, node: NodeFacts): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => matchRequirement(r, node.labels[r.key]))
    && fields.every((r) => r.key === 'metadata.name' && matchRequirement(r, node.name));
}

export function requiredTerms(spec: PodSchedulingSpec): Term[] | undefined {
  return spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
}

/** nodeSelector and required node affinity (terms ORed) both allow the node. */
export function selectsNode(spec: PodSchedulingSpec, node: NodeFacts): boolean {
  if (spec.nodeName && spec.nodeName !== node.name) return false;
  if (Object.entries(spec.nodeSelector ?? {}).some(([k, v]) => node.labels[k] !== v)) return false;
  const terms = requiredTerms(spec);
  return terms === undefined || terms.some((t) => matchTerm(t, node));
}

export function toleratesTaint(tols: Toleration[], taint: NodeTaint): boolean {
  return tols.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** Only NoSchedule and NoExecute keep a new pod away. */
export function toleratesNode(spec: PodSchedulingSpec, node: NodeFacts): boolean {
  return node.taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute').every((t) => toleratesTaint(spec.tolerations ?? [], t));
}

/** Would the scheduler (or the DaemonSet controller) place this pod on the node? */
export function fitsNode(spec: PodSchedulingSpec, node: NodeFacts): boolean {
  return selectsNode(spec, node) && toleratesNode(spec, node);
}

/** The Node's Ready condition is True. */
export function nodeReady(node: KubeObject | undefined): boolean {
  return ((node?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
