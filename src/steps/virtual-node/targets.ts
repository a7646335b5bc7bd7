import type { VirtualNodeInfo } from '../../cloud/port.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import { usageError } from '../../errors.js';
import { NAME_LABEL, TAG_NAME } from './install.js';
import { assumedNodeName } from '../../assumptions.js';
import { listVirtualNodeNodes, nodeOfVirtualNode } from './node-of.js';

export interface Target {
  /** The install name. */
  name: string;
  virtualNodeId: string | null;
  nodeName: string | null;
  node: KubeObject | undefined;
  eci: VirtualNodeInfo | undefined;
}

/** A node given as its install name, Node name or VirtualNodeId. */
export function matches(t: Target, key: string): boolean {
  return t.name === key || t.nodeName === key || t.virtualNodeId === key;
}

/** Virtual nodes vnode installed for this cluster: by ECI tag and by Node label, no local state. */
export async function findTargets(cluster: ClusterPort, eci: VirtualNodeInfo[], region: string): Promise<Target[]> {
  const nodes = await cluster.list<KubeObject>('v1', 'Node', { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` });
  const candidates = [...nodes, ...(await listVirtualNodeNodes(cluster)).filter((n) => !nodes.some((m) => m.metadata.name === n.metadata.name))];
  const out: Target[] = [];
  const seen = new Set<string>();
  for (const v of eci) {
    const node = nodeOfVirtualNode(candidates, v, region);
    const nodeName = node?.metadata.name ?? assumedNodeName(region, v.id);
    seen.add(nodeName);
    out.push({ name: v.tags.find((t) => t.key === TAG_NAME)?.value ?? v.name, virtualNodeId: v.id, nodeName, node, eci: v });
  }
  for (const n of nodes) {
    if (seen.has(n.metadata.name!)) continue;
    // its VNode is gone from ECI: the id only from the assumed name, for display
    const id = n.metadata.name!.split('.').pop() ?? null;
    out.push({ name: n.metadata.labels?.[NAME_LABEL] ?? n.metadata.name!, virtualNodeId: id?.startsWith('vnd-') ? id : null, nodeName: n.metadata.name!, node: n, eci: undefined });
  }
  return out;
}

export function select(all: Target[], keys: string[], everything: boolean): { chosen: Target[]; missing: string[] } {
  if (everything) return { chosen: all, missing: [] };
  if (keys.length === 0) throw usageError('NoTarget', 'name the virtual node(s) to act on, or pass --all', all.length ? `installed: ${all.map((t) => t.name).join(', ')}` : 'none is installed');
  const chosen: Target[] = [];
  const missing: string[] = [];
  // a name can stand for several VNodes: an interrupted update leaves the old one and its replacement
  for (const k of keys) {
    const found = all.filter((x) => matches(x, k));
    if (found.length === 0) missing.push(k);
    for (const t of found) if (!chosen.includes(t)) chosen.push(t);
  }
  return { chosen, missing };
}
