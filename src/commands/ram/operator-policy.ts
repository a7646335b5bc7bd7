import type { Command } from 'commander';
import { actionsOf, operatorPolicyDocument } from '../../steps/ram/ram.js';
import type { CommandModule } from '../registry.js';

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Print the least-privilege RAM policy for the person (or CI role) running vnode for virtual nodes: create, describe, update and ' +
      'delete VNodes, find and delete leftover container groups, read vSwitches and security groups, create ECI\'s service-linked role ' +
      '(the first VNode of an account), and for the add-on register this cluster with ACK One, install and remove ack-virtual-node and follow ' +
      'their tasks (cs: actions). `vnode ram grant` itself needs RAM rights on top (AliyunRAMFullAccess or a narrower custom policy). ' +
      'onectl asks for AliyunCSFullAccess, AliyunRamFullAccess and AliyunVPCReadOnlyAccess; this lists only the calls vnode makes.');
  },
  async run(ctx) {
    const doc = operatorPolicyDocument();
    ctx.out.result(JSON.parse(doc), () => doc);
    ctx.out.info(`${actionsOf(doc).length} actions. Create it with: aliyun ram CreatePolicy --PolicyName vnode-operator --PolicyDocument "$(vnode ram operator-policy)"`);
  },
};

export default command;
