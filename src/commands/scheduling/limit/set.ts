import { describeValues, parseValue, parseWindow, type LimitValues } from '../../../steps/limits/limits.js';
import { defineCommand, flag, read } from '../../define.js';
import { LIMIT_ACCESS } from '../../contract.js';

const value = (key: 'cpu' | 'memory' | 'pods' | 'maxHourly', name: string) => read.optional((s) => parseValue(key, s, name));

export default defineCommand({
  description: 'Create a burst limit, or change what is given of it: what this cluster sends to ECI (cluster-wide, or by one Selector), in vCPU, memory, '
    + 'pods and spend per hour at ECI list prices. A pod that would cross it is not sent: normal-node-prefer pods wait and burst in arrival order when '
    + 'room frees, fair pods run on normal nodes only, virtual-node-only pods are refused naming the limit (their controller retries). --window sets '
    + 'other limits on some days and hours. Stored as ConfigMap kube-system/vnode-limit-NAME; spend limits fetch ECI\'s prices into kube-system/vnode-eci-prices.',
  args: [['<name>', 'limit name']],
  flags: {
    selector: flag('--selector <selector>', 'only the pods this Selector sends (default: everything sent to ECI; "" makes it cluster-wide again)', read.text),
    cpu: flag('--cpu <n>', 'vCPU (as ECI bills each pod: its spec after rounding)', value('cpu', '--cpu')),
    memory: flag('--memory <quantity>', 'memory, e.g. 256Gi', value('memory', '--memory')),
    pods: flag('--pods <n>', 'pods', value('pods', '--pods')),
    maxHourly: flag('--max-hourly <amount>', 'spend per hour at list prices, in the account\'s currency', value('maxHourly', '--max-hourly')),
    windows: flag('--window <spec>', 'other limits in a time window: "DAYS HH:MM-HH:MM TIMEZONE cpu=N,memory=Q,pods=N,max-hourly=A" (repeatable; replaces the windows)',
      (raw) => (raw === undefined ? undefined : (raw as string[]).map(parseWindow)), { repeatable: true }),
  },
  mutates: true,
  contract: {
    cloud: { always: [], when: { '--max-hourly': ['eci:DescribeContainerGroupPrice'], '--window': ['eci:DescribeContainerGroupPrice'] } },
    kubernetes: LIMIT_ACCESS,
    risk: 'change',
    converges: true,
  },
  async run(ctx, o, args) {
    const { setLimit } = await import('../../../steps/limits/manage.js');
    const values: LimitValues = {};
    for (const k of ['cpu', 'memory', 'pods', 'maxHourly'] as const) if (o[k] !== undefined) values[k] = o[k];
    const r = await setLimit(ctx, { name: args[0]!, selector: o.selector, values, windows: o.windows });
    ctx.out.result(r, () => [
      `${r.dryRun ? '(dry run) ' : ''}Burst limit ${r.name} ${r.action} (${r.limit.selector ? `selector ${r.limit.selector}` : 'cluster-wide'}): ${describeValues(r.limit.values)}`,
      ...r.limit.windows.map((w) => `  window ${w.text}`),
      ...(r.prices ? [r.prices] : []),
      ...(r.charged ? [`${r.charged} pod(s) already on virtual nodes ${r.dryRun ? 'would be' : 'are'} counted against it.`] : []),
      ...(r.dryRun ? ['No changes were applied; run again without --dry-run to apply them.'] : ['The scheduling server holds pods to it from now on; `vnode scheduling limit list` shows its usage.']),
    ].join('\n'));
  },
});
