import type { Command } from 'commander';
import { age, collectStatus, findOne, type VirtualNodeStatus } from '../steps/status/status.js';
import type { CommandModule } from './registry.js';
import { describeAddonVersion } from '../steps/addon/versions.js';
import { READ } from './contract.js';

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd()).join('\n');
}

function render(rows: VirtualNodeStatus[]): string {
  if (rows.length === 0) return 'No virtual nodes installed for this cluster.';
  return table([
    ['NAME', 'MODE', 'VNODE ID', 'ECI STATUS', 'NODE', 'PODS', 'VSWITCH', 'SECURITY GROUP', 'AGE', 'LAST WARNING'],
    ...rows.map((r) => [r.name, r.mode, r.virtualNodeId ?? '-', r.eciStatus, r.nodeReady, r.pods === null ? '-' : String(r.pods), r.vSwitches.join(',') || '-',
      r.securityGroup ?? '-', age(r.createdAt), r.lastWarning ? r.lastWarning.slice(0, 80) : '-']),
  ]);
}

function renderOne(r: VirtualNodeStatus): string {
  const lines = [
    `Name:            ${r.name}`, `Mode:            ${r.mode}`, `VirtualNodeId:   ${r.virtualNodeId ?? '-'}`, `Node:            ${r.nodeName ?? '(not registered)'}`,
    `ECI status:      ${r.eciStatus}`, `Node Ready:      ${r.nodeReady}`, `Pods:            ${r.pods ?? '-'}`, `Zone:            ${r.zone ?? '-'}`,
    `vSwitches:       ${r.vSwitches.join(', ') || '-'}`, `Security group:  ${r.securityGroup ?? '-'}`, `Age:             ${age(r.createdAt)}`,
    'Conditions:',
    ...(r.conditions?.length ? r.conditions.map((c) => `  ${c.type.padEnd(16)} ${c.status.padEnd(7)} ${c.reason ?? ''}`) : ['  (none)']),
    'Events:',
    ...(r.events?.length ? r.events.map((e) => `  ${e.type.padEnd(8)} ${e.reason.padEnd(22)} x${e.count}  ${e.message}`) : ['  (none)']),
  ];
  return lines.join('\n');
}

const command: CommandModule = {
  contract: {
    cloud: { always: ['eci:DescribeVirtualNodes', 'eci:DescribeContainerGroups', 'eci:DescribeContainerGroupPrice', 'cs:DescribeClusterDetail', 'cs:GetClusterAddonInstance', 'cs:ListAddons', 'cs:DescribeAddon'] },
    kubernetes: [{ group: '', resources: ['nodes', 'pods'], verbs: READ }, { group: '', resources: ['configmaps', 'namespaces'], verbs: READ }, { group: 'apps', resources: ['deployments', 'replicasets'], verbs: READ }],
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd
      .description('Show this cluster\'s virtual nodes: ECI\'s view joined with the Node objects. With a name (install name, node name or ' +
        'VirtualNodeId): its events and conditions too.')
      .argument('[name]', 'one virtual node');
  },
  async run(ctx, args) {
    const { nodes, region, addon } = await collectStatus(ctx, args.length > 0);
    if (args[0]) {
      const one = findOne(nodes, args[0]);
      ctx.out.result(one, () => renderOne(one));
      return;
    }
    // what they bill now, priced by ECI: a figure that cannot be had is said, not fatal
    const { costReport } = await import('../steps/cost/cost.js');
    const cost = nodes.length ? await costReport(ctx, { namespace: undefined, selector: undefined }).catch((e: unknown) => ({ error: (e as Error).message })) : undefined;
    const rate = cost && 'total' in cost ? { perHour: cost.total.perHour, currency: cost.currency, orphans: cost.orphans.length, complete: cost.incomplete.length === 0, incomplete: cost.incomplete } : null;
    const rateLine = !cost ? [] : 'total' in cost
      ? [`Rate now: ${cost.total.perHour.toFixed(2)} ${cost.currency}/hour at ECI list prices${cost.orphans.length ? `, ${cost.orphans.length} orphan instance(s) included` : ''} (\`vnode cost\` for the detail)`,
        ...cost.incomplete.map((w) => `INCOMPLETE: ${w}`)]
      : [`Rate now: not available (${cost.error})`];
    const { limitReport } = await import('../steps/limits/manage.js');
    const { limitTable } = await import('./scheduling/limit/list.js');
    const burstLimits = await limitReport(await ctx.cluster());
    const limits = limitTable(burstLimits, 'BURST LIMIT');
    ctx.out.result({ region, virtualNodes: nodes, addon, rate, burstLimits }, () => [render(nodes), ...(addon ? [describeAddonVersion(addon)] : []), ...rateLine, ...(limits ? ['', limits] : [])].join('\n'));
  },
};

export default command;
