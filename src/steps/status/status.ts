import type { VirtualNodeInfo } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import type { KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { PROFILE_REF } from '../addon/addon.js';
import { readRegistration } from '../addon/registration.js';
import { addonVersionInfo, type AddonVersionInfo } from '../addon/versions.js';
import { NODE_PREFIX, VNODE_LABEL } from '../addon/constants.js';
import { NAME_LABEL, TAG_CLUSTER, TAG_NAME } from '../virtual-node/install.js';
import { zoneOf } from '../virtual-node/zone.js';

export interface Condition { type: string; status: string; reason?: string; message?: string; lastHeartbeatTime?: string }

export interface VirtualNodeStatus {
  /** vnode: an ECI-hosted VNode; addon: a node of the ack-virtual-node add-on (one per zone). */
  mode: 'vnode' | 'addon';
  name: string;
  virtualNodeId: string | null;
  nodeName: string | null;
  eciStatus: string;
  nodeReady: string;
  pods: number | null;
  vSwitches: string[];
  securityGroup: string | null;
  zone: string | null;
  createdAt: string | null;
  lastWarning: string | null;
  /** Only for `status <name>`. */
  events?: { type: string; reason: string; message: string; count: number; lastTimestamp: string }[];
  conditions?: Condition[];
}

export function isVirtualNode(n: KubeObject): boolean {
  const l = n.metadata.labels ?? {};
  return l['k8s.aliyun.com/vnode'] === 'true' || l.type === 'virtual-kubelet';
}

export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** ECI's view (this cluster's virtual nodes, all pages) joined with the cluster's (Node objects). */
export async function collectStatus(ctx: Context, detail: boolean): Promise<{ region: string; nodes: VirtualNodeStatus[]; addon: AddonVersionInfo | null }> {
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud();
  const id = await clusterUid(cluster);
  const [eci, nodes] = await Promise.all([
    cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: id }] }),
    cluster.list<KubeObject>('v1', 'Node'),
  ]);
  const vnodes = nodes.filter(isVirtualNode);
  const byName = new Map(vnodes.map((n) => [n.metadata.name!, n]));
  const rows: VirtualNodeStatus[] = [];
  const seen = new Set<string>();
  const podCount = async (nodeName: string): Promise<number> =>
    (await cluster.list('v1', 'Pod', { fieldSelector: `spec.nodeName=${nodeName},status.phase!=Succeeded,status.phase!=Failed` })).length;
  const conditionsOf = (n: KubeObject | undefined): Condition[] => ((n?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []);
  const readyOf = (n: KubeObject | undefined): string => {
    if (!n) return 'not registered';
    const c = conditionsOf(n).find((x) => x.type === 'Ready');
    return c ? (c.status === 'True' ? 'Ready' : c.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown';
  };
  for (const v of eci as VirtualNodeInfo[]) {
    const nodeName = `${cloud.regionId}.${v.id}`;
    const node = byName.get(nodeName);
    seen.add(nodeName);
    const warnings = v.events.filter((e) => e.type === 'Warning');
    const last = warnings[warnings.length - 1];
    rows.push({
      mode: 'vnode', name: v.tags.find((t) => t.key === TAG_NAME)?.value ?? v.name, virtualNodeId: v.id, nodeName: node ? nodeName : null,
      eciStatus: v.status, nodeReady: readyOf(node), pods: node ? await podCount(nodeName) : null, vSwitches: v.vSwitchIds,
      securityGroup: v.securityGroupId, zone: await zoneOf(cloud, node, v.vSwitchIds), createdAt: v.creationTime || null, lastWarning: last ? `${last.reason}: ${last.message}` : null,
      ...(detail ? {
        events: v.events.map((e) => ({ type: e.type, reason: e.reason, message: e.message, count: e.count, lastTimestamp: e.lastTimestamp })),
        conditions: conditionsOf(node),
      } : {}),
    });
  }
  // the add-on's nodes, one per zone; its ECI settings are eci-profile's
  const addon = vnodes.filter((n) => n.metadata.name!.startsWith(NODE_PREFIX) && !n.metadata.labels?.[VNODE_LABEL]);
  const profile = addon.length ? ((await cluster.get<KubeObject & { data?: Record<string, string> }>(PROFILE_REF))?.data) : undefined;
  for (const n of addon) {
    const name = n.metadata.name!;
    seen.add(name);
    rows.push({
      mode: 'addon', name, virtualNodeId: null, nodeName: name, eciStatus: profile ? 'add-on' : 'add-on removed', nodeReady: readyOf(n),
      pods: await podCount(name), vSwitches: (profile?.vSwitchIds ?? '').split(',').filter(Boolean), securityGroup: profile?.securityGroupId ?? null,
      zone: n.metadata.labels?.['topology.kubernetes.io/zone'] ?? null,
      createdAt: typeof n.metadata.creationTimestamp === 'string' ? n.metadata.creationTimestamp : null, lastWarning: null,
      ...(detail ? { events: [], conditions: conditionsOf(n) } : {}),
    });
  }
  for (const n of vnodes) {
    if (seen.has(n.metadata.name!)) continue;
    rows.push({
      mode: 'vnode', name: n.metadata.labels?.[NAME_LABEL] ?? n.metadata.name!, virtualNodeId: null, nodeName: n.metadata.name!, eciStatus: 'gone from ECI',
      nodeReady: readyOf(n), pods: await podCount(n.metadata.name!), vSwitches: [], securityGroup: null, zone: n.metadata.labels?.['topology.kubernetes.io/zone'] ?? null,
      createdAt: typeof n.metadata.creationTimestamp === 'string' ? n.metadata.creationTimestamp : null, lastWarning: null,
      ...(detail ? { events: [], conditions: conditionsOf(n) } : {}),
    });
  }
  // the add-on's version, and what is newer, when this cluster has it
  const record = addon.length ? await readRegistration(cluster) : undefined;
  const version = record ? await addonVersionInfo(cloud, record.clusterId).catch(() => null) : null;
  return { region: cloud.regionId, nodes: rows, addon: version };
}

export function findOne(rows: VirtualNodeStatus[], key: string): VirtualNodeStatus {
  const hit = rows.find((r) => r.name === key || r.virtualNodeId === key || r.nodeName === key);
  if (!hit) {
    throw usageError('VirtualNodeNotFound', `no virtual node "${key}" in this cluster`, rows.length ? `known: ${rows.map((r) => r.name).join(', ')}` : 'none is installed; see vnode install');
  }
  return hit;
}
