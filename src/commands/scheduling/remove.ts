import type { Command } from 'commander';
import { deleteSelector } from '../../steps/scheduling/selectors.js';
import type { CommandModule } from '../registry.js';
import { renderChange } from './add.js';

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Remove a selector vnode added (a Selector, or an entry of the ack-virtual-node add-on\'s eci-profile). One that is already gone is success.')
      .argument('<name>', 'selector name');
  },
  async run(ctx, args) {
    const r = await deleteSelector(ctx, args[0]!);
    ctx.out.result(r, () => renderChange(r));
  },
};

export default command;
