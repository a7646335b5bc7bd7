import { usageError } from '../errors.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { MAX_NAME, VNODE_BILLING } from '../steps/virtual-node/install.js';
import type { UpdateResult } from '../steps/virtual-node/update.js';
import { ADDON } from '../steps/addon/constants.js';
import { VERSION_RE, type UpgradeResult } from '../steps/addon/upgrade.js';
import { defineCommand, flag, read } from './define.js';
import { drainFlags, drainOptions, FORCE_REMOVE_HELP, renderDrain } from './drain.js';
import { durationFlag, securityGroupFlag, vswitchFlag } from './flags.js';
import { parseClusterDns, parseClusterDomain, parseCustomResources, parseTags, parseTaint } from './vnode-flags.js';
import { VNODE_ACCESS } from './contract.js';

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

function renderUpgrade(r: UpgradeResult): string {
  if (r.action === 'already') {
    return r.restored.length ? `${ADDON} is at ${r.to} already; an earlier upgrade's changes were put back as they were: ${r.restored.join(', ')}.`
      : `${ADDON} is at ${r.to} already; nothing changed.`;
  }
  if (r.dryRun) {
    return [`(dry run) would call UpgradeClusterAddons on ${r.clusterId}: ${JSON.stringify(r.body)}`, `(dry run) ${ADDON} ${r.from} -> ${r.to}; the controller is replaced, running ECI pods keep running.`,
      'No changes were applied; run again without --dry-run to apply them.'].join('\n');
  }
  const lines = [`${ADDON} upgraded from ${r.from} to ${r.to} in ${r.clusterId}; its node(s) ${r.nodes.join(', ') || '(none)'} Ready.`];
  if (r.restored.length) lines.push(`Put back as it was: ${r.restored.join(', ')}.`);
  return lines.join('\n');
}

function rename(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const name = String(raw);
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) || name.length > MAX_NAME) {
    throw usageError('InvalidName', `invalid --rename "${name}": 2-${MAX_NAME} lowercase letters, digits, '.' or '-', starting and ending with a letter or digit`);
  }
  return name;
}

export default defineCommand({
  description: `Change an installed virtual node, or upgrade the ${ADDON} add-on (\`vnode update ${ADDON} [--to V]\`: UpgradeClusterAddons, followed to the end, running pods kept). Name, `
    + 'tags, custom resources, cluster DNS and domain are changed in place (UpdateVirtualNode). '
    + 'vSwitches, security group, taints and the kubeconfig mode cannot be: the node is replaced without losing pods (a new one is created '
    + 'and Ready first, then the old one is drained, PodDisruptionBudgets honoured, and deleted). --dry-run shows which path each change takes; '
    + 'an interrupted replacement is finished by running the same command again.',
  args: [['<name>', `the virtual node's install name, or ${ADDON}`]],
  flags: {
    rename: flag('--rename <name>', 'new name (in place)', rename),
    tags: flag('--tag <k=v>', 'set an ECI tag, repeatable (in place; other tags stay)', (raw) => parseTags(read.list(raw)), { repeatable: true }),
    customResources: flag('--custom-resources <list>', 'e.g. example.com/gpu=100 (in place)', read.optional(parseCustomResources)),
    clusterDns: flag('--cluster-dns <ip>', 'cluster DNS address for the pods (in place)', read.optional(parseClusterDns)),
    clusterDomain: flag('--cluster-domain <domain>', 'cluster domain (in place)', read.optional(parseClusterDomain)),
    vswitches: vswitchFlag('new vSwitch id(s), comma-separated or repeated (replacement)'),
    securityGroup: securityGroupFlag('new security group (replacement)'),
    taints: flag('--taint <key=value:Effect>', 'the node\'s extra taints, repeatable; replaces the current ones (replacement)', (raw) => read.optionalList(raw)?.map(parseTaint), { repeatable: true }),
    bootstrap: flag('--bootstrap', 'switch to a TLS-bootstrap kubeconfig (replacement)', (raw) => (raw === undefined ? undefined : raw === true)),
    noBootstrap: flag('--no-bootstrap', 'switch to a ServiceAccount kubeconfig (replacement)', () => undefined),
    to: flag('--to <version>', `${ADDON} only: the add-on version to upgrade to (default: the newest offered)`, read.optional((v) => {
      if (!VERSION_RE.test(v)) throw usageError('InvalidVersion', `invalid --to "${v}": expected an add-on version such as v2.14.0`);
      return v;
    })),
    recreate: flag('--recreate', 'replace the node even if nothing else changes (e.g. its credentials were lost)', read.bool),
    server: flag('--server <url>', 'API server address for the replacement\'s kubeconfig', read.optional(parseServer)),
    waitTimeoutMs: durationFlag('--wait-timeout <duration>', 'how long to wait for the replacement to be Ready', '10m'),
    ...drainFlags(FORCE_REMOVE_HELP),
  },
  mutates: true,
  contract: {
    cloud: { always: ['eci:DescribeVirtualNodes', 'eci:UpdateVirtualNode', 'vpc:DescribeVSwitches', 'ecs:DescribeSecurityGroups', 'ecs:DescribeSecurityGroupAttribute', 'eci:DescribeRegions'], when: { '--recreate': ['eci:CreateVirtualNode',
      'eci:DeleteVirtualNode', 'eci:DescribeContainerGroups', 'eci:DeleteContainerGroup', 'ram:GetRole', 'ram:CreateServiceLinkedRole'], 'ack-virtual-node': ['cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:ListAddons',
      'cs:DescribeAddon', 'cs:UpgradeK8sComponents', 'cs:UpgradeClusterAddons', 'cs:DescribeTaskInfo'] } },
    kubernetes: VNODE_ACCESS,
    risk: { always: 'change', when: { '--vswitch': 'delete-or-bill', '--security-group': 'delete-or-bill', '--taint': 'delete-or-bill', '--bootstrap': 'delete-or-bill', '--recreate': 'delete-or-bill' } },
    waits: 'a replacement Ready, the old node drained',
    converges: true,
  },
  async run(ctx, o, args) {
    if (args[0] === ADDON) {
      const vnodeOnly = Object.entries({ '--rename': o.rename, '--custom-resources': o.customResources, '--cluster-dns': o.clusterDns, '--cluster-domain': o.clusterDomain,
        '--vswitch': o.vswitches, '--security-group': o.securityGroup, '--taint': o.taints, '--bootstrap': o.bootstrap, '--server': o.server })
        .filter(([, v]) => v !== undefined).map(([k]) => k).concat(o.tags.length ? ['--tag'] : [], o.recreate ? ['--recreate'] : []);
      if (vnodeOnly.length > 0) {
        throw usageError('ConflictingFlags', `${vnodeOnly.join(', ')} ${vnodeOnly.length === 1 ? 'does' : 'do'} not apply to the ${ADDON} add-on`,
          `\`vnode update ${ADDON} [--to <version>]\` upgrades it; \`vnode config set\` changes its ECI settings`);
      }
      const { upgradeAddon } = await import('../steps/addon/upgrade.js');
      const r = await upgradeAddon(ctx, { to: o.to, timeoutMs: o.waitTimeoutMs });
      ctx.out.result(r, () => renderUpgrade(r));
      return;
    }
    if (o.to !== undefined) throw usageError('ConflictingFlags', `--to applies to the ${ADDON} add-on only, not to virtual node ${args[0]}`);
    const opts = {
      name: args[0]!, rename: o.rename, tags: o.tags, customResources: o.customResources, clusterDns: o.clusterDns, clusterDomain: o.clusterDomain,
      vswitches: o.vswitches, securityGroup: o.securityGroup, taints: o.taints, bootstrap: o.bootstrap, recreate: o.recreate, server: o.server,
      drain: drainOptions(o), force: o.force, waitTimeoutMs: o.waitTimeoutMs,
    };
    const given = [opts.rename, opts.customResources, opts.clusterDns, opts.clusterDomain, opts.vswitches, opts.securityGroup, opts.taints, opts.bootstrap].some((x) => x !== undefined);
    if (!given && opts.tags.length === 0 && !opts.recreate) {
      throw usageError('NothingToChange', 'nothing to change', 'pass what to change, e.g. --tag team=ml, --cluster-dns 10.96.0.10, --vswitch vsw-a,vsw-b or --recreate');
    }
    const { updateVirtualNode } = await import('../steps/virtual-node/update.js');
    const r = await updateVirtualNode(ctx, opts);
    ctx.out.result(r, () => render(r));
  },
});
