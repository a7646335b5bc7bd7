import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { MAX_NAME, VNODE_BILLING } from '../steps/virtual-node/install.js';
import type { UpdateResult } from '../steps/virtual-node/update.js';
import { parseDuration } from '../util/duration.js';
import { addDrainOptions, FORCE_REMOVE_HELP, parseDrainOptions, renderDrain } from './drain.js';
import { collect, parseNetworkFlags } from './flags.js';
import { parseClusterDns, parseClusterDomain, parseCustomResources, parseTags, parseTaint } from './install.js';
import type { CommandModule } from './registry.js';

function render(r: UpdateResult): string {
  if (r.changes.length === 0) return `Virtual node ${r.name} already has these settings; nothing changed.`;
  const lines = r.changes.map((c) => `${r.dryRun ? '(dry run) ' : ''}${c.field}: ${c.from} -> ${c.to}  [${c.path}]`);
  if (r.dryRun) {
    lines.push(r.path === 'replacement'
      ? `Would replace ${r.virtualNodeId}: create a new virtual node with these settings, wait until Ready, drain ${r.virtualNodeId} onto it (PodDisruptionBudgets honoured), delete it. `
        + `Cost: until the old one is deleted, two VNodes are billed (${VNODE_BILLING}).`
      : `Would call UpdateVirtualNode on ${r.virtualNodeId}.`);
    lines.push('No changes were applied; run again without --dry-run to apply them.');
    return lines.join('\n');
  }
  if (r.drained) lines.push(renderDrain(r.drained));
  lines.push(r.path === 'replacement' ? `Replaced ${r.virtualNodeId} with ${r.replacedBy}; its pods were moved and it is deleted.` : `Updated ${r.virtualNodeId} in place.`);
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    addDrainOptions(cmd
      .description('Change an installed virtual node. Name, tags, custom resources, cluster DNS and domain are changed in place (UpdateVirtualNode). ' +
        'vSwitches, security group, taints and the kubeconfig mode cannot be: the node is replaced without losing pods (a new one is created ' +
        'and Ready first, then the old one is drained, PodDisruptionBudgets honoured, and deleted). --dry-run shows which path each change takes; ' +
        'an interrupted replacement is finished by running the same command again.')
      .argument('<name>', 'the virtual node\'s install name')
      .addOption(new Option('--rename <name>', 'new name (in place)'))
      .addOption(new Option('--tag <k=v>', 'set an ECI tag, repeatable (in place; other tags stay)').argParser(collect))
      .addOption(new Option('--custom-resources <list>', 'e.g. example.com/gpu=100 (in place)'))
      .addOption(new Option('--cluster-dns <ip>', 'cluster DNS address for the pods (in place)'))
      .addOption(new Option('--cluster-domain <domain>', 'cluster domain (in place)'))
      .addOption(new Option('--vswitch <ids>', 'new vSwitch id(s), comma-separated or repeated (replacement)').argParser(collect))
      .addOption(new Option('--security-group <id>', 'new security group (replacement)'))
      .addOption(new Option('--taint <key=value:Effect>', 'the node\'s extra taints, repeatable; replaces the current ones (replacement)').argParser(collect))
      .addOption(new Option('--bootstrap', 'switch to a TLS-bootstrap kubeconfig (replacement)'))
      .addOption(new Option('--no-bootstrap', 'switch to a ServiceAccount kubeconfig (replacement)'))
      .addOption(new Option('--recreate', 'replace the node even if nothing else changes (e.g. its credentials were lost)'))
      .addOption(new Option('--server <url>', 'API server address for the replacement\'s kubeconfig'))
      .addOption(new Option('--wait-timeout <duration>', 'how long to wait for the replacement to be Ready').default('10m')),
    FORCE_REMOVE_HELP);
  },
  async run(ctx, args, raw) {
    const name = args[0]!;
    const rename = raw.rename === undefined ? undefined : String(raw.rename);
    if (rename !== undefined && (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(rename) || rename.length > MAX_NAME)) {
      throw usageError('InvalidName', `invalid --rename "${rename}": 2-${MAX_NAME} lowercase letters, digits, '.' or '-', starting and ending with a letter or digit`);
    }
    const { vswitches, securityGroup } = parseNetworkFlags(raw);
    const opts = {
      name, rename, tags: parseTags((raw.tag as string[] | undefined) ?? []),
      customResources: raw.customResources === undefined ? undefined : parseCustomResources(String(raw.customResources)),
      clusterDns: raw.clusterDns === undefined ? undefined : parseClusterDns(String(raw.clusterDns)),
      clusterDomain: raw.clusterDomain === undefined ? undefined : parseClusterDomain(String(raw.clusterDomain)),
      vswitches, securityGroup, taints: (raw.taint as string[] | undefined)?.map(parseTaint),
      bootstrap: raw.bootstrap === undefined ? undefined : Boolean(raw.bootstrap), recreate: raw.recreate === true,
      server: raw.server === undefined ? undefined : parseServer(String(raw.server)),
      drain: parseDrainOptions(raw), force: Boolean(raw.force), waitTimeoutMs: parseDuration('--wait-timeout', String(raw.waitTimeout)),
    };
    const given = [opts.rename, opts.customResources, opts.clusterDns, opts.clusterDomain, opts.vswitches, opts.securityGroup, opts.taints, opts.bootstrap].some((x) => x !== undefined);
    if (!given && opts.tags.length === 0 && !opts.recreate) {
      throw usageError('NothingToChange', 'nothing to change', 'pass what to change, e.g. --tag team=ml, --cluster-dns 10.96.0.10, --vswitch vsw-a,vsw-b or --recreate');
    }
    const { updateVirtualNode } = await import('../steps/virtual-node/update.js');
    const r = await updateVirtualNode(ctx, opts);
    ctx.out.result(r, () => render(r));
  },
};

export default command;
