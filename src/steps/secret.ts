import type { Context } from '../context.js';
import { operationError, usageError } from '../errors.js';
import { ADDON_SECRET, writeAddonSecret } from './addon-secret.js';

/** The AccessKey secret: ALIBABA_CLOUD_ACCESS_KEY_SECRET, else stdin (a hidden prompt on a terminal). */
export async function readSecretInput(ctx: Context): Promise<string> {
  const fromEnv = ctx.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (fromEnv) { ctx.redactor.add(fromEnv); return fromEnv; }
  const secret = await ctx.readSecret('AccessKey secret');
  if (!secret) throw usageError('SecretMissing', 'no AccessKey secret given', 'pipe it on stdin (e.g. from a secret manager) or set ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  if (!/^[A-Za-z0-9+/=]{16,128}$/.test(secret)) throw usageError('InvalidSecret', 'the AccessKey secret read from stdin is not a valid AccessKey secret (16-128 letters and digits)');
  ctx.redactor.add(secret);
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
        await cloud.eci.describeContainerGroups({ ids: ['eci-vnode-key-check'] });
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (code === 'InvalidAccessKeyId.NotFound' || code === 'SignatureDoesNotMatch' || code === 'InvalidAccessKeyId') {
          throw operationError(code, `AccessKey ${key.id} does not work: ${(e as Error).message.split(': ').slice(1).join(': ')}`, { hint: 'check the ID and the secret, or create a new key with `vnode ram grant`' });
        }
        if (code === 'Forbidden.RAM' || code === 'NoPermission') {
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
