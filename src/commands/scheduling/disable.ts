import { defineCommand, flag } from '../define.js';
import { parseNamespaces } from '../flags.js';
import type { DisableResult } from '../../steps/scheduling/scheduling.js';
import { SCHEDULING_ACCESS } from '../contract.js';

function render(r: DisableResult, partial: boolean): string {
  const pre = r.dryRun ? '(dry run) ' : '';
  const lines = r.objects.map((o) => `${pre}${o.object} ${o.action}`);
  for (const n of r.namespaces) {
    lines.push(n.action === 'labelled by someone else'
      ? `Namespace ${n.name} keeps alibabacloud.com/eci=true (vnode did not put it there; without the webhook it has no effect)`
      : `${pre}Namespace ${n.name} ${n.action}`);
  }
  if (!partial && r.objects.length === 0) lines.push('Label-based scheduling is not enabled; nothing to remove.');
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  return lines.join('\n');
}

export default defineCommand({
  description: 'Remove label-based scheduling: the webhook first (pods are then created as if unlabelled), its server, certificate and RBAC, '
    + 'the burst limits\' working state once the server has stopped (the limits themselves are kept), and the namespace labels vnode added. With --namespace, only take the label off those namespaces. Pods already on virtual nodes stay there.',
  flags: {
    namespaces: flag('--namespace <name>', 'only unlabel this namespace (repeatable, or comma-separated)', parseNamespaces, { repeatable: true }),
  },
  mutates: true,
  contract: {
    cloud: { always: [] },
    // the burst limits' working state (Lease vnode-burst-accountant among it) goes too
    kubernetes: [...SCHEDULING_ACCESS, { group: 'coordination.k8s.io', resources: ['leases'], verbs: ['delete'] }],
    risk: 'change',
    converges: true,
  },
  async run(ctx, o) {
    const { disableScheduling } = await import('../../steps/scheduling/scheduling.js');
    const r = await disableScheduling(ctx, o);
    ctx.out.result(r, () => render(r, o.namespaces.length > 0));
  },
});
