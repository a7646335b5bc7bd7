import { deniedAction } from '../../cloud/errors.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { ADDON_SECRET, keyMayCallEci, writeAddonSecret } from './addon-secret.js';

/**
 * The AccessKey secret of key `id`: piped stdin wins; else ALIBABA_CLOUD_ACCESS_KEY_SECRET (when it belongs to this key);
 * else a hidden prompt on a terminal. Never a flag: it would stay in the shell history.
 */
export async function readSecretInput(ctx: Context, id: string): Promise<string> {
  const fromEnv = ctx.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET || undefined;
  const envId = ctx.env.ALIBABA_CLOUD_ACCESS_KEY_ID || undefined;
  if (fromEnv) ctx.redactor.add(fromEnv);
  const piped = await ctx.readStdin();
  let secret: string;
  if (piped) {
    if (fromEnv) ctx.out.info('Reading the AccessKey secret from standard input (ALIBABA_CLOUD_ACCESS_KEY_SECRET is set too and is ignored).');
    secret = piped;
  } else if (fromEnv) {
    const empty = piped === '' ? 'standard input was empty, and ' : '';
    if (envId && envId !== id) {
      throw usageError('SecretOfOtherKey', `${empty}ALIBABA_CLOUD_ACCESS_KEY_SECRET belongs to ALIBABA_CLOUD_ACCESS_KEY_ID ${envId}, not to --access-key-id ${id}`,
        'pipe the secret of the key on standard input');
    }
    if (empty) ctx.out.info('Standard input was empty: using ALIBABA_CLOUD_ACCESS_KEY_SECRET.');
    secret = fromEnv;
  } else if (piped === '') {
    throw usageError('EmptyStdin', 'standard input was empty: no AccessKey secret was piped', 'pipe the secret of the key (e.g. from a secret manager), or run on a terminal to be asked for it');
  } else {
    secret = piped === undefined ? await ctx.readSecret('AccessKey secret') : '';
  }
  if (!secret) throw usageError('SecretMissing', 'no AccessKey secret given', 'pipe it on stdin (e.g. from a secret manager) or set ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  ctx.redactor.add(secret);
  const source = piped ? 'standard input' : fromEnv ? 'ALIBABA_CLOUD_ACCESS_KEY_SECRET' : 'the prompt';
  if (!/^[A-Za-z0-9+/=]{16,128}$/.test(secret)) throw usageError('InvalidSecret', `the AccessKey secret read from ${source} is not a valid AccessKey secret (16-128 letters and digits)`);
  return secret;
}

export interface SecretResult {
  namespace: string;
  name: string;
  accessKeyId: string;
  verified: boolean;
  action: string;
  dryRun: boolean;
}

export async function createAddonSecret(ctx: Context, key: { id: string; secret: string }, verify: boolean): Promise<SecretResult> {
  const cluster = await ctx.cluster();
  let verified = false;
  if (verify) {
    const cloud = await ctx.cloudWith({ id: key.id, secret: key.secret });
    await ctx.status.step(`Checking AccessKey ${key.id} against Alibaba Cloud`, async () => {
      try {
        const may = await keyMayCallEci(cloud);
        if (!may.ok) {
          ctx.out.warn(`AccessKey ${key.id} authenticates, but may not call ${may.denied}: the addon needs ECI permissions (see vnode ram grant)`);
          return;
        }
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (code === 'InvalidAccessKeyId.NotFound' || code === 'SignatureDoesNotMatch' || code === 'InvalidAccessKeyId') {
          throw operationError(code, `AccessKey ${key.id} does not work: ${(e as Error).message.split(': ').slice(1).join(': ')}`, { hint: 'check the ID and the secret, or create a new key with `vnode ram grant`' });
        }
        if (deniedAction(e) !== undefined) {
          ctx.out.warn(`AccessKey ${key.id} authenticates, but may not call eci:DescribeContainerGroups: the addon needs ECI permissions (see vnode ram grant)`);
          return;
        }
        throw e;
      }
    });
    verified = true;
  }
  if (ctx.flags.dryRun) return { ...ADDON_SECRET, accessKeyId: key.id, verified, action: 'would write', dryRun: true };
  const action = await writeAddonSecret(cluster, key, {});
  return { ...ADDON_SECRET, accessKeyId: key.id, verified, action, dryRun: false };
}
