import { round, type LimitValues, type Resource, type Usage } from '../../../steps/limits/limits.js';
import type { LimitReport } from '../../../steps/limits/manage.js';
import { defineCommand } from '../../define.js';
import { table } from '../../status.js';
import { LIMIT_READ } from '../../contract.js';

/** `used/limit` of one resource, `-` when the limit does not cap it. */
export function cell(r: Resource, used: Usage, v: LimitValues): string {
  return v[r] === undefined ? '-' : `${round(used[r])}/${round(v[r]!)}`;
}

/** The limits as a table (`list`, and the sections of status, cost and scheduling status), or undefined when there is none. */
export function limitTable(r: LimitReport, title = 'NAME'): string | undefined {
  if (r.limits.length === 0) return undefined;
  return table([
    [title, 'SCOPE', 'CPU', 'MEMORY (GiB)', 'PODS', `SPEND (${r.currency}/h)`, 'WINDOW'],
    ...r.limits.map((l) => [l.name, l.selector ? `selector ${l.selector}` : 'cluster', cell('cpu', l.used, l.inForce), cell('memory', l.used, l.inForce), cell('pods', l.used, l.inForce),
      cell('maxHourly', l.used, l.inForce), l.window ?? (l.windows.length ? 'none in force' : '-')]),
  ]);
}

export default defineCommand({
  description: 'List the burst limits, each with its usage now (the pods sent to ECI within it, and those admitted towards it a moment ago) against '
    + 'the limit in force (a window\'s, when one holds).',
  flags: {},
  mutates: false,
  contract: { cloud: { always: [] }, kubernetes: LIMIT_READ, risk: 'read', converges: true },
  async run(ctx) {
    const { limitReport } = await import('../../../steps/limits/manage.js');
    const r = await limitReport(await ctx.cluster());
    ctx.out.result(r, () => limitTable(r) ?? 'No burst limit: what is sent to ECI is not capped (vnode scheduling limit set NAME --cpu N ...).');
  },
});
