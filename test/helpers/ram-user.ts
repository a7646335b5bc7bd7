import ramSdk from '@alicloud/ram20150501';
import openapiCore from '@alicloud/openapi-core';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { runVnode } from './run.js';

/** A RAM user of the sandbox account holding exactly this policy document, and its key as vnode's environment. */
export async function ramUserEnv(emu: CloudEmulator, user: string, document: string): Promise<Record<string, string>> {
  const k = emu.state.operatorKey;
  const ram = new ramSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
  await ram.createUser(new ramSdk.CreateUserRequest({ userName: user }));
  await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: user, policyDocument: document }));
  await ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: user, policyName: user, policyType: 'Custom' }));
  const key = (await ram.createAccessKey(new ramSdk.CreateAccessKeyRequest({ userName: user }))).body!.accessKey!;
  return { ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId!, ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret! };
}

/** The document `vnode ram operator-policy` prints, without the actions named. */
export async function operatorPolicy(without: string[] = []): Promise<string> {
  const r = await runVnode(['ram', 'operator-policy'], { cwd: process.cwd(), env: {} });
  if (r.code !== 0) throw new Error(`vnode ram operator-policy: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { Version: string; Statement: { Action: string | string[] }[] };
  if (without.length === 0) return r.stdout;
  const statements = doc.Statement.map((s) => ({ ...s, Action: (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a) => !without.includes(a)) })).filter((s) => s.Action.length > 0);
  return JSON.stringify({ ...doc, Statement: statements });
}
