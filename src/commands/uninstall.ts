import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { uninstall, type UninstallResult } from '../steps/virtual-node/uninstall.js';
import { addDrainOptions, parseDrainOptions, renderDrain } from './drain.js';
import type { CommandModule } from './registry.js';

function render(r: UninstallResult): string {
  const lines: string[] = [];
  if (r.dryRun) {
    lines.push(...(r.wouldDelete?.length ? r.wouldDelete.map((w) => `(dry run) would ${w}`) : ['(dry run) nothing to do']));
    lines.push('No changes were applied; run again without --dry-run to apply them.');
    return lines.join('\n');
  }
  for (const g of r.alreadyGone) lines.push(`Virtual node ${g}: not found — already uninstalled.`);
  for (const n of r.nodes) {
    if (n.drain) lines.push(renderDrain(n.drain));
    if (n.orphansDeleted.length) lines.push(`${n.orphansDeleted.length} orphaned ECI container group(s) deleted: ${n.orphansDeleted.join(', ')}`);
    const parts = [n.virtualNodeDeleted ? `virtual node ${n.virtualNodeId} deleted` : n.virtualNodeId ? `virtual node ${n.virtualNodeId} was already gone from ECI` : null,
      n.nodeDeleted ? `node ${n.nodeName} deleted` : null].filter(Boolean);
    lines.push(`Virtual node ${n.name} uninstalled${parts.length ? ': ' + parts.join(', ') : ''}.`);
  }
  if (r.credentialsDeleted.length) lines.push(`Credentials removed: ${r.credentialsDeleted.join(', ')}`);
  if (r.sharedDeleted.length) lines.push(`Shared RBAC and vnode-approver removed (no virtual node left): ${r.sharedDeleted.join(', ')}`);
  if (r.daemonSetsReverted.length) lines.push(`DaemonSet affinity reverted: ${r.daemonSetsReverted.join(', ')}`);
  if (r.nodes.length === 0 && r.alreadyGone.length === 0) lines.push('No virtual node to uninstall.');
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    addDrainOptions(cmd
      .description('Remove virtual node(s) vnode installed (found by ECI tags and Node labels): optionally drain them, refuse while pods would be ' +
        'orphaned, check ECI for instances left behind, DeleteVirtualNode, delete the Node and the credentials no other virtual node uses. ' +
        'Already gone is success; an interrupted uninstall is finished by a re-run.')
      .argument('[name...]', 'install name, Node name or VirtualNodeId')
      .addOption(new Option('--all', 'every virtual node of this cluster'))
      .addOption(new Option('--drain', 'drain first (evict the pods, PodDisruptionBudgets honoured)'))
      .addOption(new Option('--cleanup-orphans', 'delete ECI container groups left on the node (DeleteContainerGroup)'))
      .addOption(new Option('--keep-rbac', 'keep the shared RBAC objects and vnode-approver even when the last virtual node goes'))
      .addOption(new Option('--keep-daemonset-affinity', 'leave the DaemonSet exclusions (the default; they are harmless)'))
      .addOption(new Option('--revert-daemonset-affinity', 'remove exactly the DaemonSet exclusions vnode added, once no virtual node is left')));
  },
  async run(ctx, args, raw) {
    if (raw.keepDaemonsetAffinity && raw.revertDaemonsetAffinity) throw usageError('ConflictingFlags', '--keep-daemonset-affinity and --revert-daemonset-affinity contradict each other');
    if (raw.all && args.length > 0) throw usageError('ConflictingFlags', `--all and names (${args.join(', ')}) contradict each other`);
    const r = await uninstall(ctx, {
      names: args, all: Boolean(raw.all), drain: Boolean(raw.drain), drainOptions: parseDrainOptions(raw), force: Boolean(raw.force),
      cleanupOrphans: Boolean(raw.cleanupOrphans), keepRbac: Boolean(raw.keepRbac), revertDaemonsetAffinity: Boolean(raw.revertDaemonsetAffinity),
    });
    ctx.out.result(r, () => render(r));
  },
};

export default command;
