import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import type { CommandModule } from './registry.js';

/** Kept so that a script calling it learns what replaced it. */
const command: CommandModule = {
  contract: {
    cloud: { always: [] },
    kubernetes: [],
    risk: 'read',
    converges: true,
  },
  configure(cmd: Command) {
    cmd
      .description('Retired: the ack-virtual-node add-on runs one virtual node per zone of its vSwitches, so more nodes means vSwitches in more ' +
        'zones (`vnode config set vswitch=...`); VNodes scale with `vnode install --count N`.')
      .addOption(new Option('--replicas <n>', '(retired)'))
      .allowUnknownOption();
  },
  async run() {
    throw usageError('Retired', '`vnode scale` is retired: the ack-virtual-node add-on runs one virtual node per zone of the vSwitches in eci-profile',
      'for more add-on nodes add vSwitches of other zones: `vnode config set vswitch=vsw-a,vsw-b`; for more VNodes: `vnode install --count N`');
  },
};

export default command;
