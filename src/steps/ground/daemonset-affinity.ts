import { fitsNode, type PodSchedulingSpec } from '../../cluster/node-match.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';

export const VIRTUAL_KUBELET_LABEL = { key: 'type', value: 'virtual-kubelet' };
/** Records on a DaemonSet that vnode added the exclusion (so it can be reverted exactly). */
export const AFFINITY_ANNOTATION = 'vnode.dev/daemonset-affinity';

export interface Requirement { key: string; operator: string; values?: string[] }
export interface Term { matchExpressions?: Requirement[]; matchFields?: Requirement[] }
interface Toleration { key?: string; operator?: string; value?: string; effect?: string }
export interface NodeTaint { key: string; value: string; effect: string }

interface PodSpec {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Term[] } } & Record<string, unknown> } & Record<string, unknown>;
}

export const EXCLUDE: Requirement = { key: VIRTUAL_KUBELET_LABEL.key, operator: 'NotIn', values: [VIRTUAL_KUBELET_LABEL.value] };

function termExcludes(t: Term): boolean {
  return (t.matchExpressions ?? []).some((r) => r.key === VIRTUAL_KUBELET_LABEL.key
    && ((r.operator === 'NotIn' && (r.values ?? []).includes(VIRTUAL_KUBELET_LABEL.value))
      || (r.operator === 'In' && !(r.values ?? []).includes(VIRTUAL_KUBELET_LABEL.value))
      || r.operator === 'DoesNotExist'));
}

function podSpec(ds: KubeObject): PodSpec {
  return ((ds.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec) ?? {};
}

export function terms(ds: KubeObject): Term[] {
  return podSpec(ds).affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
}

/** Already kept off virtual nodes: every (ORed) term excludes them. */
export function isExcluded(ds: KubeObject): boolean {
  const t = terms(ds);
  return t.length > 0 && t.every(termExcludes);
}

/**
 * Would the DaemonSet controller put a pod on a node with these labels and taints? Its whole node selection counts
 * (nodeSelector, every required affinity term and expression, tolerations), not only what vnode adds.
 */
export function wouldSchedule(ds: KubeObject, labels: Record<string, string>, taints: NodeTaint[]): boolean {
  if (isExcluded(ds)) return false;
  return fitsNode(podSpec(ds) as PodSchedulingSpec, { name: '', labels, taints });
}

/** Patching a DaemonSet's template rolls every pod of it: said first, and approved (a prompt, or --yes). */
export async function confirmDaemonSetPatches(ctx: Context, planned: AffinityChange[]): Promise<void> {
  const names = planned.filter((c) => c.action === 'would patch').map((c) => `${c.namespace}/${c.name}`);
  if (names.length === 0 || ctx.flags.dryRun) return;
  const ok = await ctx.prompt.confirm(`Keeping DaemonSets off the virtual nodes patches ${names.join(', ')}: every pod of ${names.length > 1 ? 'each' : 'it'} is restarted (rolling update). Continue?`, { default: true });
  if (!ok) throw usageError('Declined', 'nothing was changed', 'or pass --no-daemonset-affinity and keep them off yourself');
}

/** Terms are ORed: the exclusion goes into every term; all existing terms and expressions stay. */
export function excludedTerms(existing: Term[]): Term[] {
  if (existing.length === 0) return [{ matchExpressions: [EXCLUDE] }];
  return existing.map((t) => (termExcludes(t) ? t : { ...t, matchExpressions: [...(t.matchExpressions ?? []), EXCLUDE] }));
}

/** The inverse: removes exactly the expression vnode added. */
export function revertedTerms(existing: Term[]): Term[] | null {
  const out = existing.map((t) => ({ ...t, matchExpressions: (t.matchExpressions ?? []).filter((r) => !(r.key === EXCLUDE.key && r.operator === EXCLUDE.operator && r.values?.length === 1 && r.values[0] === EXCLUDE.values![0])) }));
  const meaningful = out.filter((t) => t.matchExpressions.length > 0 || (t.matchFields ?? []).length > 0);
  return meaningful.length === 0 ? null : out;
}

export interface AffinityChange { namespace: string; name: string; action: 'patched' | 'already excluded' | 'would patch' }

/** Patches every DaemonSet (kube-proxy and the rest) that would land pods on a virtual node. */
export async function keepDaemonSetsOff(cluster: ClusterPort, labels: Record<string, string>, taints: NodeTaint[], dryRun: boolean): Promise<AffinityChange[]> {
  const all = await cluster.list<KubeObject>('apps/v1', 'DaemonSet');
  const changes: AffinityChange[] = [];
  for (const ds of all) {
    const ref = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: ds.metadata.namespace!, name: ds.metadata.name! };
    const isKubeProxy = ds.metadata.name === 'kube-proxy' && ds.metadata.namespace === 'kube-system';
    if (isExcluded(ds)) {
      if (isKubeProxy) changes.push({ namespace: ref.namespace, name: ref.name, action: 'already excluded' });
      continue;
    }
    if (!isKubeProxy && !wouldSchedule(ds, labels, taints)) continue;
    if (dryRun) { changes.push({ namespace: ref.namespace, name: ref.name, action: 'would patch' }); continue; }
    const nodeSelectorTerms = excludedTerms(terms(ds));
    // resourceVersion makes the patch fail rather than overwrite a concurrent edit
    await cluster.patch(ref, {
      metadata: { resourceVersion: ds.metadata.resourceVersion, annotations: { [AFFINITY_ANNOTATION]: 'excluded-virtual-kubelet' } },
      spec: { template: { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } } } } },
    }, 'merge');
    changes.push({ namespace: ref.namespace, name: ref.name, action: 'patched' });
  }
  return changes;
}
