import { defineCommand } from '../../define.js';
import { LIMIT_ACCESS } from '../../contract.js';

export default defineCommand({
  description: 'Ask ECI the list price of every spec it documents (DescribeContainerGroupPrice; general, and economy up to 8 vCPU) and store them in '
    + 'ConfigMap kube-system/vnode-eci-prices, where the scheduling server reads them for spend limits (it holds no cloud credential). Specs the region '
    + 'refuses are left out. doctor warns when the table is older than 7 days.',
  flags: {},
  mutates: true,
  contract: { cloud: { always: ['eci:DescribeContainerGroupPrice'] }, kubernetes: LIMIT_ACCESS, risk: 'change', converges: true },
  async run(ctx) {
    const { refreshPrices } = await import('../../../steps/limits/manage.js');
    const t = await refreshPrices(ctx);
    ctx.out.result({ fetched: t.fetched, region: t.region, currency: t.currency, specs: Object.keys(t.perHour).length, dryRun: ctx.flags.dryRun },
      () => `${ctx.flags.dryRun ? '(dry run) would store' : 'Stored'} ${Object.keys(t.perHour).length} ECI prices (${t.region}, ${t.currency}) in kube-system/vnode-eci-prices.`);
  },
});
