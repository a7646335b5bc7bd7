import type { Context } from '../../context.js';
import { errorText, withContext } from '../../errors.js';
import type { DrainOptions } from '../drain/drain.js';
import { ADDON } from '../ground/virtual-nodes.js';
import type { AddonUninstallResult } from '../addon/uninstall.js';
import { preflightUninstall, uninstall, type UninstallResult } from '../virtual-node/uninstall.js';

/** `vnode uninstall` across both kinds of virtual node: it stands above the two features, as status and doctor do. */
export interface RemovalOptions {
  /** The names given: install names, Node names or VirtualNodeIds, and ack-virtual-node for the add-on. */
  args: string[];
  all: boolean;
  drain: boolean;
  drainOptions: DrainOptions;
  force: boolean;
  cleanupOrphans: boolean;
  deregister: boolean;
  keepRbac: boolean;
  revertDaemonsetAffinity: boolean;
}

export type RemovalResult = UninstallResult & { controller?: AddonUninstallResult };

// the add-on is one install, named after it; its nodes go with it (virtual-node-eci: its former name)
export const isAddonName = (a: string): boolean => a === ADDON || a === 'virtual-node-eci';

const none = (dryRun: boolean): UninstallResult => ({ nodes: [], alreadyGone: [], credentialsDeleted: [], sharedDeleted: [], daemonSetsReverted: [], strays: [], dryRun });

/**
 * The add-on (when named, or --all) and then the VNodes. Every refusal of the VNodes comes before the add-on part
 * changes anything; when the VNode part fails after the add-on part is done, `partial` gets what was done.
 */
export async function removeVirtualNodes(ctx: Context, o: RemovalOptions, partial: (done: RemovalResult) => void): Promise<RemovalResult> {
  const names = o.args.filter((a) => !isAddonName(a));
  const withAddon = o.all || names.length < o.args.length;
  const withNodes = o.all || names.length > 0;
  const common = { drain: o.drain, drainOptions: o.drainOptions, force: o.force, cleanupOrphans: o.cleanupOrphans };
  const vnodeOpts = { ...common, names, all: o.all, keepRbac: o.keepRbac, revertDaemonsetAffinity: o.revertDaemonsetAffinity };
  if (withAddon && withNodes) await preflightUninstall(ctx, vnodeOpts);
  let controller: AddonUninstallResult | undefined;
  if (withAddon) {
    const { uninstallAddon } = await import('../addon/uninstall.js');
    controller = await uninstallAddon(ctx, { ...common, deregister: o.deregister });
  }
  const gone = controller && !controller.found && !controller.deregistered && !o.all ? [ADDON] : [];
  let r = none(ctx.flags.dryRun);
  try {
    if (withNodes) r = await uninstall(ctx, vnodeOpts);
  } catch (e) {
    if (!controller || ctx.flags.dryRun || !(controller.found || controller.deregistered)) throw e;
    // the add-on part is done: said, with what the re-run finishes
    partial({ ...none(false), controller });
    throw withContext(e, `the add-on part is done (see above); the virtual nodes are left: ${errorText(e)}`, 'run the same command again: it skips what is done and finishes the virtual nodes');
  }
  return { ...r, alreadyGone: [...gone, ...r.alreadyGone], ...(controller ? { controller } : {}) };
}
