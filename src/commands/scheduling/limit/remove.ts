import { defineCommand } from '../../define.js';
import { LIMIT_ACCESS } from '../../contract.js';

export default defineCommand({
  description: 'Remove a burst limit. Pods it held are sent as their policy says (waiting normal-node-prefer pods burst now). One that is already gone is success.',
  args: [['<name>', 'limit name']],
  flags: {},
  mutates: true,
  contract: { cloud: { always: [] }, kubernetes: LIMIT_ACCESS, risk: 'change', converges: true },
  async run(ctx, _o, args) {
    const { removeLimit } = await import('../../../steps/limits/manage.js');
    const r = await removeLimit(ctx, args[0]!);
    ctx.out.result(r, () => (r.action === 'not found' ? `Burst limit ${r.name} not found — nothing to remove.` : `${r.dryRun ? '(dry run) ' : ''}Burst limit ${r.name} ${r.action}.`));
  },
});
