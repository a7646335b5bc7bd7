import { Option, type Command } from 'commander';
import { revoke, validatePolicyName, validateUserName, type RevokeResult } from '../../steps/ram/ram.js';
import { usageError } from '../../errors.js';
import { collect } from '../flags.js';
import type { CommandModule } from '../registry.js';

function render(r: RevokeResult): string {
  const pre = r.dryRun ? '(dry run) would have ' : '';
  const lines = [
    ...r.detached.map((p) => `${pre}RAM policy ${p} ${r.dryRun ? 'detached' : 'revoked from'} RAM user ${r.user}.`),
    ...r.deletedKeys.map((k) => `${pre}AccessKey ${k} deleted (vnode created it).`),
    ...r.keptKeys.map((k) => `AccessKey ${k.id} kept: ${k.reason}.`),
  ];
  if (r.secretDeleted) lines.push(`${pre}Secret kube-system/alibaba-addon-secret deleted.`);
  if (r.userDeleted) lines.push(`${pre}RAM user ${r.user} deleted.`);
  if (r.userKeptBecause) lines.push(`RAM user ${r.user} kept: ${r.userKeptBecause}.`);
  if (lines.length === r.keptKeys.length) lines.unshift(`Nothing to revoke for RAM user ${r.user}: already revoked.`);
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Detach the policies vnode attached to the addon\'s RAM user, delete the AccessKeys vnode created for it (recorded in kube-system/alibaba-addon-secret; never another key), ' +
        'and delete that Secret. Revoking what is already gone succeeds.')
      .addOption(new Option('--user <name>', 'RAM user (default: the one recorded in the Secret, else the derived name)'))
      .addOption(new Option('--policy <name>', 'detach this policy instead of the recorded ones, repeatable').argParser(collect))
      .addOption(new Option('--delete-user', 'also delete the RAM user when vnode created it and nothing else hangs on it'))
      .addOption(new Option('--keep-key', 'detach the policies only; keep the AccessKeys and the Secret (the in-cluster controller keeps signing and is denied)'))
      .addOption(new Option('--force', 'delete the key even while the in-cluster controller uses it'));
  },
  async run(ctx, _args, raw) {
    if (raw.keepKey && raw.deleteUser) throw usageError('ConflictingFlags', '--keep-key and --delete-user contradict each other (a user with a key is not deleted)');
    const r = await revoke(ctx, {
      user: raw.user === undefined ? undefined : validateUserName(String(raw.user)),
      policies: (raw.policy as string[] | undefined)?.map(validatePolicyName),
      deleteUser: Boolean(raw.deleteUser), keepKey: Boolean(raw.keepKey), force: Boolean(raw.force),
    });
    ctx.out.result(r, () => render(r));
  },
};

export default command;
