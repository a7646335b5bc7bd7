import { INSTANCE_ANNOTATION } from '../../assumptions.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { operationError } from '../../errors.js';

export interface Unlisted { pod: string; node: string; instanceId: string }

/** Said wherever ECI's listing is short of what the pods name. */
export const UNLISTED_CAUSE = 'ECI answers a caller without eci:DescribeContainerGroups with an empty list, not a denial (documented), so the caller may lack it';

/**
 * Pods on these nodes that name their instance (the documented annotation) and still run, whose instance ECI does
 * not list when asked by id. An empty DescribeContainerGroups is no proof: ECI answers a RAM user or role without
 * the permission with an empty list, so every instance a running pod names must be listed before vnode trusts the
 * listing.
 */
export async function unlistedInstances(cluster: ClusterPort, cloud: CloudPorts, nodes: string[], pods?: KubeObject[]): Promise<Unlisted[]> {
  const named: Unlisted[] = [];
  for (const node of nodes) {
    const on = pods ? pods.filter((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === node) : await cluster.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${node}` });
    for (const p of on) {
      const id = p.metadata.annotations?.[INSTANCE_ANNOTATION];
      const phase = (p.status as { phase?: string } | undefined)?.phase;
      if (id && !p.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') named.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, node, instanceId: id });
    }
  }
  if (named.length === 0) return [];
  const listed = new Set((await cloud.eci.describeContainerGroups({ ids: [...new Set(named.map((x) => x.instanceId))] })).map((g) => g.id));
  return named.filter((x) => !listed.has(x.instanceId));
}

/** Removal stops before any change when ECI does not list instances running pods name: it could delete a VNode over them. */
export function refuseUnlisted(found: Unlisted[]): void {
  if (found.length === 0) return;
  const nodes = [...new Set(found.map((x) => x.node))];
  throw operationError('InstancesNotListed', `ECI does not list the instance(s) of ${found.length} running pod(s) on ${nodes.join(', ')}: `
    + `${found.slice(0, 10).map((x) => `${x.instanceId} (${x.pod})`).join(', ')}${found.length > 10 ? ', …' : ''}. ${UNLISTED_CAUSE}; `
    + 'vnode will not delete a virtual node whose instances it cannot see; nothing was changed', {
    hint: 'grant eci:DescribeContainerGroups to the caller (`vnode ram operator-policy`), then run the same command again; if those instances are really gone, delete their pods (kubectl delete pod) first',
    details: { unlisted: found },
  });
}
