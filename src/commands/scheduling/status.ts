import type { Command } from 'commander';
import type { SchedulingStatus } from '../../steps/scheduling/scheduling.js';
import type { CommandModule } from '../registry.js';
import { table } from '../status.js';
import { READ, SCHEDULING_READ } from '../contract.js';
import { limitTable } from './limit/list.js';

type Limits = Awaited<ReturnType<typeof import('../../steps/limits/manage.js').limitReport>>;

function render(s: SchedulingStatus & { engine: string; burstLimits: Limits }): string {
  const lines = [
    `Engine:       ${s.engine}`,
    `Webhook:      ${s.enabled ? 'enabled' : 'not enabled'}`,
    ...(s.enabled ? [`Mode:         labelled pods go to ${s.mode === 'vnode' ? 'VNode' : s.mode === 'controller' ? 'controller' : 'unknown'} virtual nodes`, `Endpoint:     ${s.endpoint}`] : []),
    ...(s.replicas ? [`Replicas:     ${s.replicas.ready}/${s.replicas.desired} ready`] : []),
    ...(s.certificateExpires ? [`Certificate:  valid until ${s.certificateExpires}`] : []),
    '',
    s.namespaces.length === 0 ? 'No namespace is labelled.' : table([['NAMESPACE', 'LABEL', 'LABELLED BY'], ...s.namespaces.map((n) => [n.name, n.label, n.labelledBy])]),
    '',
    limitTable(s.burstLimits, 'BURST LIMIT') ?? 'No burst limit.',
  ];
  return lines.join('\n');
}

const command: CommandModule = {
  contract: {
    cloud: { always: [] },
    kubernetes: [...SCHEDULING_READ, { group: '', resources: ['pods', 'events'], verbs: READ }],
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd.description('Show whether label-based scheduling is enabled, where labelled pods go, and which namespaces are labelled.');
  },
  async run(ctx) {
    const { schedulingStatus } = await import('../../steps/scheduling/scheduling.js');
    const { engineOf } = await import('../../steps/scheduling/selectors.js');
    const { limitReport } = await import('../../steps/limits/manage.js');
    const [base, addon, burstLimits] = await Promise.all([schedulingStatus(ctx), engineOf(ctx), ctx.cluster().then(limitReport)]);
    const engine = [
      ...(addon.addon ? [`the ack-virtual-node add-on's vk-webhook (eci-profile, ${addon.selectors === null ? 'selectors unreadable' : `${addon.selectors} selector(s)`}; \`vnode scheduling list\`)`] : []),
      ...(base.enabled ? [`vnode's scheduling server (label shortcuts${base.selectors === null ? '' : ` and ${base.selectors} Selector(s)`}; \`vnode scheduling list\`)`] : []),
    ].join(' and ') || 'none: no pod is sent to virtual nodes by label';
    const s = { ...base, engine, burstLimits };
    for (const w of s.warnings) ctx.out.warn(w);
    ctx.out.result(s, () => render(s));
  },
};

export default command;
