import credentials from '@alicloud/credentials';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';
import type { AliyunProfile } from './config.js';

// a CommonJS module: its class is the `default` of module.exports
const Credential = credentials.default;
const Config = credentials.Config;
export type CredentialClient = InstanceType<typeof credentials.default>;

/**
 * The caller's credentials. An explicit --profile comes from ~/.aliyun/config.json; otherwise the default chain
 * of @alicloud/credentials, whose first link (the ALIBABA_CLOUD_* variables) is read from this run's environment.
 */
export function credentialFor(profile: AliyunProfile | undefined, explicitProfile: boolean, env: NodeJS.ProcessEnv): { credential: CredentialClient; source: string } {
  if (explicitProfile && profile) {
    const mode = profile.mode ?? 'AK';
    const key = { accessKeyId: profile.access_key_id ?? '', accessKeySecret: profile.access_key_secret ?? '' };
    const byMode: Record<string, () => InstanceType<typeof Config>> = {
      AK: () => new Config({ type: 'access_key', ...key }),
      StsToken: () => new Config({ type: 'sts', ...key, securityToken: profile.sts_token ?? '' }),
      RamRoleArn: () => new Config({ type: 'ram_role_arn', ...key, roleArn: profile.ram_role_arn ?? '', roleSessionName: profile.ram_session_name || 'vnode' }),
    };
    const config = Object.hasOwn(byMode, mode) ? byMode[mode] : undefined;
    if (config) return { credential: new Credential(config()), source: `profile ${profile.name}` };
    throw usageError('ProfileModeUnsupported', `profile "${profile.name}" uses mode ${mode}, which vnode cannot use directly`, 'use an AK, StsToken or RamRoleArn profile, or set ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET');
  }
  const id = env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const secret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (id && secret) {
    const token = env.ALIBABA_CLOUD_SECURITY_TOKEN;
    return {
      credential: new Credential(new Config(token ? { type: 'sts', accessKeyId: id, accessKeySecret: secret, securityToken: token } : { type: 'access_key', accessKeyId: id, accessKeySecret: secret })),
      source: 'environment',
    };
  }
  if (!chainHasSource(env)) {
    throw usageError('NoCredentials', 'no Alibaba Cloud credentials: none of the environment, an aliyun CLI profile, ~/.alibabacloud/credentials, OIDC or ECS instance metadata is configured',
      'set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pass --profile <name>');
  }
  return { credential: new Credential(), source: 'default credential chain' };
}

/** Whether any link of the default chain could yield credentials, so an empty chain fails fast with exit 2. */
function chainHasSource(env: NodeJS.ProcessEnv): boolean {
  const home = env.HOME || homedir();
  const set = (k: string): boolean => Boolean(env[k] || process.env[k]);
  if (set('ALIBABA_CLOUD_ACCESS_KEY_ID') && set('ALIBABA_CLOUD_ACCESS_KEY_SECRET')) return true;
  if (set('ALIBABA_CLOUD_ROLE_ARN') && set('ALIBABA_CLOUD_OIDC_PROVIDER_ARN') && set('ALIBABA_CLOUD_OIDC_TOKEN_FILE')) return true;
  if (existsSync(path.join(home, '.aliyun', 'config.json')) || existsSync(path.join(home, '.alibabacloud', 'credentials'))) return true;
  if (set('ALIBABA_CLOUD_CREDENTIALS_FILE') || set('ALIBABA_CLOUD_CREDENTIALS_URI') || set('ALIBABA_CLOUD_ECS_METADATA')) return true;
  const metadataDisabled = (env.ALIBABA_CLOUD_ECS_METADATA_DISABLED ?? process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED) === 'true';
  return !metadataDisabled;
}
