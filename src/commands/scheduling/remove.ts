import { defineCommand } from '../define.js';
import { deleteSelector } from '../../steps/scheduling/selectors.js';
import { renderChange } from './add.js';
import { SELECTOR_ACCESS } from '../contract.js';

export default defineCommand({
  description: 'Remove a selector vnode added (a Selector, or an entry of the ack-virtual-node add-on\'s eci-profile). One that is already gone is success.',
  args: [['<name>', 'selector name']],
  flags: {},
  mutates: true,
  contract: {
    cloud: { always: [] },
    kubernetes: SELECTOR_ACCESS,
    risk: 'change',
    converges: true,
  },
  async run(ctx, _o, args) {
    const r = await deleteSelector(ctx, args[0]!);
    ctx.out.result(r, () => renderChange(r));
  },
});
