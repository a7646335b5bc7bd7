import type { CloudPorts } from '../../cloud/port.js';
import type { KubeObject } from '../../cluster/port.js';

const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];

/**
 * A VNode's zone: DescribeVirtualNodes has no ZoneId (the SDK's model drops it), so the Node's topology label,
 * else the zones of its vSwitches.
 */
export async function zoneOf(cloud: CloudPorts, node: KubeObject | undefined, vSwitchIds: string[]): Promise<string | null> {
  for (const l of ZONE_LABELS) {
    const z = node?.metadata.labels?.[l];
    if (z) return z;
  }
  const found = await Promise.all(vSwitchIds.map((id) => cloud.vpc.describeVSwitches({ vSwitchId: id }).then((l) => l.find((v) => v.id === id)?.zoneId).catch(() => undefined)));
  const zones = [...new Set(found.filter((z): z is string => Boolean(z)))];
  return zones.length ? zones.join(',') : null;
}
