import { revoke, validatePolicyName, validateUserName, type RevokeResult } from '../../steps/ram/ram.js';
import { usageError } from '../../errors.js';
import { defineCommand, flag, read } from '../define.js';
import { LOCK_ACCESS, READ, WRITE } from '../contract.js';

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
  if (r.policyDeleted) lines.push(`RAM policy vnode-ack-virtual-node deleted (nothing else had it attached).`);
  if (r.policyKeptBecause) lines.push(`RAM policy vnode-ack-virtual-node kept: ${r.policyKeptBecause}.`);
  if (lines.length === r.keptKeys.length) lines.unshift(`Nothing to revoke for RAM user ${r.user}: already revoked.`);
  return lines.join('\n');
}

export default defineCommand({
  description: 'Detach the policies vnode attached to the addon\'s RAM user, delete the AccessKeys vnode created for it (recorded in kube-system/alibaba-addon-secret; '
    + 'never another key), and delete that Secret. Revoking what is already gone succeeds.',
  flags: {
    user: flag('--user <name>', 'RAM user (default: the one recorded in the Secret, else the derived name)', read.optional(validateUserName)),
    policies: flag('--policy <name>', 'detach this policy instead of the recorded ones, repeatable', (raw) => read.optionalList(raw)?.map(validatePolicyName), { repeatable: true }),
    deleteUser: flag('--delete-user', 'also delete the RAM user when vnode created it and nothing else hangs on it', read.bool),
    keepKey: flag('--keep-key', 'detach the policies only; keep the AccessKeys and the Secret (the in-cluster controller keeps signing and is denied)', read.bool),
    force: flag('--force', 'delete the key even while the in-cluster controller uses it', read.bool),
  },
  mutates: true,
  contract: {
    cloud: { always: ['ram:GetUser', 'ram:ListPoliciesForUser', 'ram:DetachPolicyFromUser', 'ram:ListAccessKeys', 'ram:DeleteAccessKey',
      'ram:GetPolicy'], when: { '--delete-user': ['ram:DeleteUser', 'ram:ListEntitiesForPolicy', 'ram:ListPolicyVersions', 'ram:DeletePolicyVersion', 'ram:DeletePolicy'] } },
    kubernetes: [LOCK_ACCESS, { group: '', resources: ['secrets', 'configmaps', 'namespaces'], verbs: WRITE }, { group: 'apps', resources: ['deployments'], verbs: READ }],
    risk: 'delete-or-bill',
    converges: true,
  },
  async run(ctx, o) {
    if (o.keepKey && o.deleteUser) throw usageError('ConflictingFlags', '--keep-key and --delete-user contradict each other (a user with a key is not deleted)');
    const r = await revoke(ctx, o);
    ctx.out.result(r, () => render(r));
  },
});
