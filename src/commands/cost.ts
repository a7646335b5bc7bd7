import { usageError } from '../errors.js';
import type { CostReport, Rate } from '../steps/cost/cost.js';
import { defineCommand, flag, read } from './define.js';
import { table } from './status.js';
import { READ } from './contract.js';

/** kubectl's selector grammar is the API server's to judge (set-based too: `env in (prod,stage)`, `!canary`); vnode only refuses what cannot be one. */
const SELECTOR_CHARS = /^[A-Za-z0-9._/\-=!,()\s]+$/;
const SELECTOR_EXAMPLES = 'app=web, tier!=cache, env in (prod,stage), !canary';
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function money(n: number, currency: string): string {
  return `${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)} ${currency}`;
}

function rateCells(r: Rate, c: string): string[] {
  return [money(r.perHour, c), money(r.perDay, c), money(r.per30Days, c)];
}

export function renderCost(r: CostReport): string {
  const c = r.currency;
  const lines: string[] = [];
  lines.push(`Rate now: ${money(r.total.perHour, c)}/hour (${money(r.total.perDay, c)}/day, ${money(r.total.per30Days, c)}/30 days)${r.incomplete.length ? ', INCOMPLETE' : ''}.`);
  for (const w of r.incomplete) lines.push(`INCOMPLETE: ${w}. Grant eci:DescribeContainerGroups to the caller for the whole figure.`);
  if (r.orphans.length) {
    const rate = r.orphans.reduce((s, o) => s + o.rate.perHour, 0);
    lines.push('', `ORPHANS: ${r.orphans.length} ECI instance(s) on these virtual nodes that no pod accounts for, billed for nothing: ${money(rate, c)}/hour`,
      table([['INSTANCE', 'STATUS', 'NODE', 'SPEC', 'SINCE', 'PER HOUR'], ...r.orphans.map((o) => [o.id, o.status, o.node, o.spec, o.runningSince, money(o.rate.perHour, c)])]),
      'They are found by the NodeName tag, which ECI does not document, not by a pod: check them in the ECI console.');
  }
  if (r.releasing.length) {
    lines.push('', `RELEASING: ${r.releasing.length} ECI instance(s) of pods that are gone, which ECI is releasing now (Terminating); not in the rate`,
      table([['INSTANCE', 'STATUS', 'NODE', 'SPEC', 'SINCE'], ...r.releasing.map((o) => [o.id, o.status, o.node, o.spec, o.runningSince])]));
  }
  if (r.vnodes.length) {
    lines.push('', 'VNODES (each billed as a resident instance)', table([['NAME', 'VNODE ID', 'SPEC', 'PER HOUR', 'PER DAY', 'PER 30 DAYS'], ...r.vnodes.map((v) => [v.name, v.virtualNodeId, v.spec, ...rateCells(v.rate, c)])]));
  }
  if (r.instances.length) {
    lines.push('', 'INSTANCES', table([['POD', 'WORKLOAD', 'NODE', 'SPEC', 'SINCE', 'PER HOUR'],
      ...r.instances.map((i) => [`${i.namespace}/${i.pod}`, i.workload ?? '-', i.node, i.spec, i.runningSince, money(i.rate.perHour, c)])]));
    lines.push('', 'BY NAMESPACE', table([['NAMESPACE', 'INSTANCES', 'PER HOUR', 'PER DAY', 'PER 30 DAYS'], ...r.byNamespace.map((g) => [g.key, String(g.instances), ...rateCells(g.rate, c)])]));
    lines.push('', 'BY WORKLOAD', table([['WORKLOAD', 'INSTANCES', 'PER HOUR', 'PER DAY', 'PER 30 DAYS'], ...r.byWorkload.map((g) => [g.key, String(g.instances), ...rateCells(g.rate, c)])]));
  } else {
    lines.push('', 'No ECI instance runs for a pod of these virtual nodes.');
  }
  if (r.ended.length) {
    lines.push('', `ENDED within the hour ECI keeps them: ${money(r.endedCost, c)} while they ran`,
      table([['INSTANCE', 'STATUS', 'POD', 'SPEC', 'RAN', 'COST'], ...r.ended.map((e) => [e.id, e.status, `${e.namespace ?? '-'}/${e.pod ?? '-'}`, e.spec, `${e.ranSeconds}s`, money(e.cost, c)])]));
  }
  lines.push('', `Figures: ${r.note}. Spot instances are priced at the current spot price ECI reports for their zone and type (per hour, turned into per second); `
    + 'economy instances at the economy price.');
  return lines.join('\n');
}

export default defineCommand({
  description: 'What this cluster\'s virtual nodes bill right now, priced by ECI itself (DescribeContainerGroupPrice, one call per distinct spec): '
    + 'each instance of a pod on either kind of virtual node (pod, namespace, workload, node, spec, spot, running since), each VNode (a resident '
    + '2 vCPU / 8 GiB instance), grouped by namespace and workload, per hour, day and 30 days; instances no pod accounts for (orphans) apart; and what '
    + 'instances that ended within the hour ECI keeps them cost while they ran. List prices before discounts: the bill is the authority.',
  flags: {
    namespace: flag('--namespace <name>', 'only the pods of this namespace', read.optional((v) => {
      if (!NAMESPACE.test(v)) throw usageError('InvalidNamespace', `invalid --namespace "${v}": a namespace name is lowercase letters, digits and '-'`);
      return v;
    })),
    selector: flag('--selector <selector>', 'only the pods with these labels (a label selector, as kubectl -l takes it)', read.optional((v) => {
      if (!SELECTOR_CHARS.test(v) || v.length > 4096) throw usageError('InvalidSelector', `invalid --selector "${v}": expected a label selector such as ${SELECTOR_EXAMPLES}`);
      return v;
    })),
  },
  mutates: false,
  contract: {
    cloud: { always: ['eci:DescribeVirtualNodes', 'eci:DescribeContainerGroups', 'eci:DescribeContainerGroupPrice'] },
    kubernetes: [{ group: '', resources: ['nodes', 'pods'], verbs: READ }, { group: '', resources: ['namespaces', 'configmaps'], verbs: READ }, { group: 'apps', resources: ['replicasets'], verbs: READ }],
    risk: 'read',
    converges: true,
  },
  async run(ctx, o) {
    const cluster = await ctx.cluster();
    // the API server parses the selector as it parses kubectl's: asked first, on a short list, so a bad one changes nothing and calls nothing
    if (o.selector) {
      await cluster.list('v1', 'Namespace', { labelSelector: o.selector }).catch((e: unknown) => {
        if ((e as { code?: string }).code === 'BadRequest') {
          throw usageError('InvalidSelector', `invalid --selector "${o.selector}": ${(e as Error).message.replace(/^[^:]*: /, '')}`, `a label selector as kubectl -l takes it, e.g. ${SELECTOR_EXAMPLES}`);
        }
        throw e;
      });
    }
    if (o.namespace && !(await cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: o.namespace }))) {
      ctx.out.warn(`namespace "${o.namespace}" does not exist in this cluster: no pod of it runs on a virtual node`);
    }
    const { costReport } = await import('../steps/cost/cost.js');
    const { limitReport } = await import('../steps/limits/manage.js');
    const { limitTable } = await import('./scheduling/limit/list.js');
    const [r, burstLimits] = await Promise.all([costReport(ctx, o), limitReport(cluster)]);
    const limits = limitTable(burstLimits, 'BURST LIMIT');
    ctx.out.result({ ...r, burstLimits }, () => [renderCost(r), ...(limits ? ['', 'Burst limits (what vnode sends to ECI, with its usage now; `vnode scheduling limit list`):', limits] : [])].join('\n'));
  },
});
