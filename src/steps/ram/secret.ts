import { deniedAction } from '../../cloud/errors.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { ADDON_SECRET, keyMayCallEci, readAddonSecret, writeAddonSecret } from './addon-secret.js';

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

const GRANT_HINT = '`vnode ram grant` creates a RAM user with only what the add-on needs, and writes its key to the Secret';

/**
 * The cluster holds a key of its own: never the account's (it may do anything in the account) nor the caller's own
 * (the add-on would act as the operator). Whose a key is, STS GetCallerIdentity tells (documented; any key may ask).
 * Without verification only the key's ID is compared with the caller's.
 */
async function refuseOperatorKey(ctx: Context, key: { id: string; secret: string }, verify: boolean): Promise<void> {
  if (ctx.env.ALIBABA_CLOUD_ACCESS_KEY_ID && ctx.env.ALIBABA_CLOUD_ACCESS_KEY_ID === key.id) {
    throw usageError('OperatorKey', `--access-key-id ${key.id} is the key vnode itself runs with (ALIBABA_CLOUD_ACCESS_KEY_ID): the add-on would act as you`, GRANT_HINT);
  }
  if (!verify) return;
  const theirs = await ctx.status.step(`Checking whose AccessKey ${key.id} is (GetCallerIdentity)`, async () => {
    const asKey = await ctx.cloudWith({ id: key.id, secret: key.secret });
    const who = await asKey.sts.callerIdentity().catch((e: unknown) => {
      const code = (e as { code?: string }).code ?? '';
      if (code === 'InvalidAccessKeyId.NotFound' || code === 'SignatureDoesNotMatch' || code === 'InvalidAccessKeyId') {
        throw operationError(code, `AccessKey ${key.id} does not work: ${(e as Error).message.split(': ').slice(1).join(': ')}`, { hint: 'check the ID and the secret, or create a new key with `vnode ram grant`' });
      }
      throw e;
    });
    return who;
  }, (w) => w.arn);
  if (theirs.identityType === 'Account') {
    throw usageError('AccountKey', `AccessKey ${key.id} is the Alibaba Cloud account's own key (${theirs.arn}): it may do anything in the account, and the cluster would hold it`, GRANT_HINT);
  }
  // without usable credentials of its own, vnode runs as nobody the key could belong to
  const mine = await ctx.cloud().then((c) => c.sts.callerIdentity()).catch((e: unknown) => {
    if (['NoCredentials', 'SignatureDoesNotMatch', 'InvalidAccessKeyId.NotFound', 'InvalidAccessKeyId'].includes((e as { code?: string }).code ?? '')) {
      ctx.out.debug(`the caller's identity is unknown (${(e as Error).message}): not compared`);
      return undefined;
    }
    throw e;
  });
  if (mine && theirs.arn === mine.arn) {
    throw usageError('OperatorKey', `AccessKey ${key.id} belongs to you, the identity vnode runs as (${mine.arn}): the add-on would act as you`, GRANT_HINT);
  }
}

export async function createAddonSecret(ctx: Context, key: { id: string; secret: string }, verify: boolean): Promise<SecretResult> {
  const cluster = await ctx.cluster();
  await refuseOperatorKey(ctx, key, verify);
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
  // a key in the Secret is another's choice (ram grant's least-privilege key): replaced only when confirmed
  const held = (await readAddonSecret(cluster))?.accessKeyId;
  if (held && held !== key.id && !(await ctx.prompt.confirm(`Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name} holds AccessKey ${held}: replace it with ${key.id}?`))) {
    throw usageError('Declined', 'nothing was changed', 'pass --yes to replace the key without asking');
  }
  const action = await writeAddonSecret(cluster, key, {});
  return { ...ADDON_SECRET, accessKeyId: key.id, verified, action, dryRun: false };
}
