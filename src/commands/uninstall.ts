import { usageError } from '../errors.js';
import { isAddonName, removeVirtualNodes, type RemovalResult } from '../steps/removal/removal.js';
import type { AddonUninstallResult } from '../steps/addon/uninstall.js';
import { ADDON } from '../steps/addon/constants.js';
import { defineCommand, flag, read } from './define.js';
import { drainFlags, drainOptions, FORCE_REMOVE_HELP, renderDrain } from './drain.js';
import { VNODE_ACCESS } from './contract.js';

function renderController(r: AddonUninstallResult, dryRun: boolean): string[] {
  if (!r.found && !r.deregistered && !r.wouldDelete?.length && !r.registrationKept) return [];
  if (dryRun) return r.wouldDelete?.length ? r.wouldDelete.map((w) => `(dry run) would ${w}`) : [];
  const lines = r.drained.map(renderDrain);
  if (r.returning.length) lines.push(`${r.returning.length} pod(s) kept coming back (--force): ${r.instancesDeleted.length} ECI instance(s) deleted`);
  else if (r.instancesDeleted.length) lines.push(`${r.instancesDeleted.length} ECI instance(s) left on the nodes deleted: ${r.instancesDeleted.join(', ')}`);
  if (r.found) {
    const parts = [r.addonUninstalled ? `UnInstallClusterAddons done for ${r.clusterId}` : null, r.nodesDeleted.length ? `Node(s) ${r.nodesDeleted.join(', ')} deleted` : null].filter(Boolean);
    lines.push(`Add-on ${ADDON} uninstalled${parts.length ? `: ${parts.join('; ')}` : ''}.`);
  }
  if (r.deregistered) {
    const d = r.deregistered;
    if (d.clusterId) lines.push(`Registered cluster ${d.clusterId} ${d.clusterDeleted ? 'deleted' : 'was already gone'}${d.agentDeleted.length ? `; agent objects deleted: ${d.agentDeleted.join(', ')}` : ''}.`);
  }
  if (r.registrationKept) {
    const k = r.registrationKept;
    lines.push(`The ACK One registration ${k.clusterId} (${k.name}) stays${k.publicEndpoint === false ? ' (VPC endpoint only)' : ': its public API server endpoint, an SLB with an EIP, is billed while it exists'}; `
      + `\`${k.remove}\` removes it (or pass --deregister).`);
  }
  lines.push('alibaba-addon-secret and the RAM user stay (not billed); see vnode ram revoke.');
  return lines;
}

function render(r: RemovalResult): string {
  const c = r.controller ? renderController(r.controller, r.dryRun) : [];
  if (r.controller?.found && r.nodes.length === 0 && r.alreadyGone.length === 0 && !r.wouldDelete?.length) {
    return [...c, ...(r.dryRun ? ['No changes were applied; run again without --dry-run to apply them.'] : [])].join('\n');
  }
  const lines: string[] = [...c];
  if (r.dryRun) {
    lines.push(...(r.wouldDelete?.length ? r.wouldDelete.map((w) => `(dry run) would ${w}`) : ['(dry run) nothing to do']));
    lines.push('No changes were applied; run again without --dry-run to apply them.');
    return lines.join('\n');
  }
  const installed = r.installed === undefined ? '' : r.installed.length ? ` (installed: ${r.installed.join(', ')})` : ' (no virtual node is installed)';
  for (const g of r.alreadyGone) lines.push(`Virtual node ${g}: not found — already uninstalled${g === ADDON ? '' : installed}.`);
  for (const n of r.nodes) {
    if (n.drain) lines.push(renderDrain(n.drain));
    if (n.orphansDeleted.length) lines.push(`${n.orphansDeleted.length} orphaned ECI container group(s) deleted: ${n.orphansDeleted.join(', ')}`);
    if (n.returning.length) {
      const own = n.instancesDeleted.length - n.orphansDeleted.length;
      lines.push(`${n.returning.length} pod(s) kept coming back (--force): ${own} ECI instance(s) deleted; ${n.podsDeleted.length} pod(s) deleted for their controllers to recreate elsewhere`);
    }
    const parts = [n.virtualNodeDeleted ? `virtual node ${n.virtualNodeId} deleted` : n.virtualNodeId ? `virtual node ${n.virtualNodeId} was already gone from ECI` : null,
      n.nodeDeleted ? `node ${n.nodeName} deleted` : null].filter(Boolean);
    lines.push(`Virtual node ${n.name} uninstalled${parts.length ? ': ' + parts.join(', ') : ''}.`);
  }
  if (r.credentialsDeleted.length) lines.push(`Credentials removed: ${r.credentialsDeleted.join(', ')}`);
  if (r.sharedDeleted.length) lines.push(`Shared RBAC and vnode-approver removed (no virtual node left): ${r.sharedDeleted.join(', ')}`);
  if (r.strays.length) lines.push(`${r.strays.length} ECI instance(s) of this cluster's removed virtual nodes deleted: ${r.strays.join(', ')}`);
  if (r.daemonSetsReverted.length) lines.push(`DaemonSet affinity reverted: ${r.daemonSetsReverted.join(', ')}`);
  if (r.nodes.length === 0 && r.alreadyGone.length === 0 && !r.controller?.found) lines.push('No virtual node to uninstall.');
  return lines.join('\n');
}

export default defineCommand({
  description: 'Remove virtual node(s) vnode installed (found by ECI tags and Node labels): optionally drain them, refuse while pods would be '
    + 'orphaned, check ECI for instances left behind, DeleteVirtualNode, delete the Node and the credentials no other virtual node uses. '
    + 'Already gone is success; an interrupted uninstall is finished by a re-run.',
  args: [['[name...]', `install name, Node name or VirtualNodeId; ${ADDON} for the add-on (with its nodes)`]],
  flags: {
    all: flag('--all', 'every virtual node of this cluster', read.bool),
    drain: flag('--drain', 'drain first (evict the pods, PodDisruptionBudgets honoured)', read.bool),
    cleanupOrphans: flag('--cleanup-orphans', 'delete ECI container groups left on the node (DeleteContainerGroup)', read.bool),
    deregister: flag('--deregister', `with ${ADDON} (or --all): also deregister the cluster from ACK One and delete its agent (without it, the registration stays, and its public endpoint is billed)`, read.bool),
    keepRbac: flag('--keep-rbac', 'keep the shared RBAC objects and vnode-approver even when the last virtual node goes', read.bool),
    keepDaemonsetAffinity: flag('--keep-daemonset-affinity', 'leave the DaemonSet exclusions (the default; they are harmless)', read.bool),
    revertDaemonsetAffinity: flag('--revert-daemonset-affinity', 'remove exactly the DaemonSet exclusions vnode added, once no virtual node is left', read.bool),
    ...drainFlags(FORCE_REMOVE_HELP),
  },
  mutates: true,
  contract: {
    cloud: { always: ['eci:DescribeVirtualNodes', 'eci:DescribeContainerGroups', 'eci:DeleteVirtualNode', 'cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:UnInstallClusterAddons',
      'cs:DescribeTaskInfo'], when: { '--deregister': ['cs:DeleteCluster'], '--cleanup-orphans': ['eci:DeleteContainerGroup'], '--force': ['eci:DeleteContainerGroup'] } },
    // the add-on route applies whatever the agent manifest holds (Alibaba's): with --mode addon, any object
    kubernetes: VNODE_ACCESS,
    // the add-on's agent objects, whatever its manifest held
    kubernetesByFlag: { '--deregister': [{ group: '*', resources: ['*'], verbs: ['get', 'list', 'delete'] }] },
    risk: 'delete-or-bill',
    waits: 'the evicted pods\' instances released, the VNode deleted',
    converges: true,
  },
  async run(ctx, o, args) {
    if (o.keepDaemonsetAffinity && o.revertDaemonsetAffinity) throw usageError('ConflictingFlags', '--keep-daemonset-affinity and --revert-daemonset-affinity contradict each other');
    for (const a of args) {
      // an install name, a Node name (a DNS subdomain) or a VirtualNodeId: nothing else can be installed
      if (a.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(a)) {
        throw usageError('InvalidName', `invalid name "${a}": expected an install name, Node name or VirtualNodeId (lowercase letters, digits, '-' and '.', at most 253 characters)`, 'see `vnode status` for the installed ones');
      }
    }
    if (o.all && args.length > 0) throw usageError('ConflictingFlags', `--all and names (${args.join(', ')}) contradict each other`);
    if (!o.all && args.length === 0) throw usageError('NoTarget', 'name the virtual node(s) to uninstall, or pass --all', 'see `vnode status` for the installed ones');
    if (o.deregister && !o.all && args.every((a) => !isAddonName(a))) throw usageError('ConflictingFlags', `--deregister goes with ${ADDON} or --all`, `vnode uninstall ${ADDON} --drain --deregister`);
    const r = await removeVirtualNodes(ctx, { ...o, args, drainOptions: drainOptions(o) }, (done) => ctx.out.result(done, () => render(done)));
    ctx.out.result(r, () => render(r));
  },
});
