import { usageError } from '../../errors.js';
import { DEFAULT_POLICY, grant, validatePolicyName, validateUserName, type GrantResult } from '../../steps/ram/ram.js';
import { defineCommand, flag, read } from '../define.js';
import { LOCK_ACCESS, WRITE } from '../contract.js';

function render(r: GrantResult): string {
  const lines: string[] = [];
  const pre = r.dryRun ? '(dry run) ' : '';
  if (r.userAction !== 'exists') lines.push(`${pre}RAM user ${r.user} ${r.userAction === 'created' ? 'created' : 'would be created'}.`);
  for (const p of r.policies) {
    if (p.created === false) lines.push(`${pre}RAM policy ${p.name} would be created.`);
    if (p.action === 'would attach') lines.push(`${pre}RAM policy ${p.name} would be granted to RAM user ${r.user}.`);
    else lines.push(`RAM policy ${p.name} ${p.action === 'attached' ? 'granted to' : 'already granted to'} RAM user ${r.user}${p.action === 'attached' ? ' successfully' : ''}.`);
  }
  if (r.policyUpdate) lines.push(`RAM policy ${DEFAULT_POLICY} updated: version ${r.policyUpdate.version} is the default${r.policyUpdate.deletedVersion ? ` (version ${r.policyUpdate.deletedVersion} deleted: RAM keeps 5)` : ''}.`);
  else if (r.policyDrift && r.dryRun) lines.push(`${pre}RAM policy ${DEFAULT_POLICY} differs from vnode's document; --update-policy would make vnode's the default version.`);
  for (const k of r.deletedKeys) lines.push(`AccessKey ${k} deleted.`);
  const where = r.secret ? `Secret ${r.secret.namespace}/${r.secret.name}` : '';
  switch (r.accessKey.action) {
    case 'created': lines.push(`AccessKey ${r.accessKey.id} created and stored in ${where}.`); break;
    case 'rotated': lines.push(`AccessKey rotated: ${r.accessKey.id} stored in ${where}.`); break;
    case 'kept': lines.push(`AccessKey ${r.accessKey.id} in ${where} is live; kept.`); break;
    case 'would create': lines.push(`${pre}an AccessKey would be created and stored in ${where}.`); break;
    case 'would rotate': lines.push(`${pre}the AccessKey in ${where} would be rotated.`); break;
    case 'none': lines.push('No AccessKey handled (--no-secret).'); break;
  }
  if (r.restarted?.length) lines.push(`Restarted ${r.restarted.join(', ')} so the in-cluster controller uses the new key.`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  return lines.join('\n');
}

export default defineCommand({
  description: 'Create the RAM user of the ECI virtual node addon (if missing), grant it permissions, and store an AccessKey of it in '
    + 'kube-system/alibaba-addon-secret. Re-running converges: one user, one key, each policy attached once.',
  flags: {
    user: flag('--user <name>', 'RAM user name (default: vnode-addon-<8 hex of the kube-system namespace UID>)', read.optional(validateUserName)),
    policies: flag('--policy <name>', `policy to attach, repeatable (default: the custom least-privilege ${DEFAULT_POLICY})`,
      (raw) => [...new Set((read.optionalList(raw) ?? [DEFAULT_POLICY]).map(validatePolicyName))], { repeatable: true }),
    rotateKey: flag('--rotate-key', 'create a new AccessKey, update the Secret, then delete the old key', read.bool),
    secret: flag('--no-secret', 'grant permissions only; no AccessKey, no Secret', read.unlessNegated),
    updatePolicy: flag('--update-policy', `when ${DEFAULT_POLICY} differs from vnode's document, make vnode's its new default version (RAM keeps 5; the oldest non-default goes)`, read.bool),
  },
  mutates: (o) => o.secret || o.user === undefined,
  contract: {
    cloud: { always: ['eci:DescribeRegions', 'eci:DescribeVirtualNodes', 'ram:GetUser', 'ram:CreateUser', 'ram:GetPolicy', 'ram:CreatePolicy', 'ram:ListPolicyVersions', 'ram:ListPoliciesForUser', 'ram:AttachPolicyToUser',
      'ram:ListAccessKeys', 'ram:CreateAccessKey', 'ram:DeleteAccessKey'], when: { '--update-policy': ['ram:CreatePolicyVersion', 'ram:DeletePolicyVersion'] } },
    kubernetes: [LOCK_ACCESS, { group: '', resources: ['secrets', 'configmaps', 'namespaces'], verbs: WRITE }, { group: 'apps', resources: ['deployments'], verbs: ['get', 'patch'] }],
    risk: 'change',
    converges: true,
  },
  async run(ctx, o) {
    if (o.rotateKey && !o.secret) {
      throw usageError('ConflictingFlags', '--rotate-key and --no-secret contradict each other: a rotated key must go into the Secret', 'rotate with `vnode ram grant --rotate-key`; use --no-secret only to grant permissions');
    }
    const r = await grant(ctx, { user: o.user, policies: o.policies, rotateKey: o.rotateKey, noSecret: !o.secret, updatePolicy: o.updatePolicy });
    ctx.out.result(r, () => render(r));
  },
});
