import { Option, type Command } from 'commander';
import { usageError } from '../../errors.js';
import { createAddonSecret, readSecretInput } from '../../steps/ram/secret.js';
import type { CommandModule } from '../registry.js';

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Write kube-system/alibaba-addon-secret from an existing AccessKey. The AccessKey secret is read from stdin ' +
        '(else ALIBABA_CLOUD_ACCESS_KEY_SECRET, else a hidden prompt), never from the command line. The key is checked with a harmless signed call first.')
      .addOption(new Option('--access-key-id <id>', 'the AccessKey ID').makeOptionMandatory())
      .addOption(new Option('--no-verify', 'do not check the key against Alibaba Cloud'));
  },
  async run(ctx, _args, raw) {
    const id = String(raw.accessKeyId);
    if (!/^[A-Za-z0-9]{12,64}$/.test(id)) throw usageError('InvalidAccessKeyId', `invalid --access-key-id "${id}": expected 12-64 letters and digits, such as LTAI5t...`);
    const secret = await readSecretInput(ctx, id);
    const r = await createAddonSecret(ctx, { id, secret }, raw.verify !== false);
    ctx.out.result(r, () => `${r.dryRun ? '(dry run) would write' : r.action === 'unchanged' ? 'Unchanged:' : 'Wrote'} Secret ${r.namespace}/${r.name} with AccessKey ${r.accessKeyId}${r.verified ? ' (verified)' : ''}.`);
  },
};

export default command;
