import { APPLIED_ANNOTATION } from '../../cluster/ensure.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { SelectorObject } from './policy.js';
import { MWC_REF, reconfigured } from './webhook.js';

/**
 * Brings vnode's webhook configuration in step with the Selectors (one entry each). Only ever patches: a configuration
 * that `disable` removed meanwhile is not brought back.
 */
export async function syncEntries(cluster: ClusterPort, selectors: SelectorObject[]): Promise<'updated' | 'unchanged' | 'absent'> {
  const live = await cluster.get<KubeObject>(MWC_REF);
  if (!live || live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return 'absent';
  const desired = reconfigured(live, selectors);
  if (!desired) return 'absent';
  if (live.metadata.annotations?.[APPLIED_ANNOTATION] === desired.metadata.annotations?.[APPLIED_ANNOTATION]) return 'unchanged';
  await cluster.patch(MWC_REF, {
    // resourceVersion: a concurrent change (enable, another replica) makes this fail; the next event tries again
    metadata: { resourceVersion: live.metadata.resourceVersion, annotations: { [APPLIED_ANNOTATION]: desired.metadata.annotations?.[APPLIED_ANNOTATION] } },
    webhooks: desired.webhooks,
  }, 'merge');
  return 'updated';
}
