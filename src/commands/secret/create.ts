import { usageError } from '../../errors.js';
import { createAddonSecret, readSecretInput } from '../../steps/ram/secret.js';
import { defineCommand, flag, read } from '../define.js';
import { LOCK_ACCESS, WRITE } from '../contract.js';

function accessKeyId(raw: unknown): string {
  const id = String(raw);
  if (!/^[A-Za-z0-9]{12,64}$/.test(id)) throw usageError('InvalidAccessKeyId', `invalid --access-key-id "${id}": expected 12-64 letters and digits, such as LTAI5t...`);
  return id;
}

export default defineCommand({
  description: 'Write kube-system/alibaba-addon-secret from an existing AccessKey. The AccessKey secret is read from stdin '
    + '(else ALIBABA_CLOUD_ACCESS_KEY_SECRET, else a hidden prompt), never from the command line. The key is checked with a harmless signed call first.',
  flags: {
    id: flag('--access-key-id <id>', 'the AccessKey ID', accessKeyId, { mandatory: true }),
    verify: flag('--no-verify', 'do not check the key against Alibaba Cloud', read.unlessNegated),
  },
  mutates: true,
  contract: {
    // the key's own checks (DescribeContainerGroups, a DeleteContainerGroup probe) run as the key being stored, not the caller
    cloud: { always: ['sts:GetCallerIdentity'] },
    kubernetes: [LOCK_ACCESS, { group: '', resources: ['secrets', 'namespaces'], verbs: WRITE }],
    risk: 'change',
    converges: true,
  },

  async run(ctx, o) {
    const secret = await readSecretInput(ctx, o.id);
    const r = await createAddonSecret(ctx, { id: o.id, secret }, o.verify);
    ctx.out.result(r, () => `${r.dryRun ? '(dry run) would write' : r.action === 'unchanged' ? 'Unchanged:' : 'Wrote'} Secret ${r.namespace}/${r.name} with AccessKey ${r.accessKeyId}${r.verified ? ' (verified)' : ''}.`);
  },
});
