import ramSdk from '@alicloud/ram20150501';
import openapiCore from '@alicloud/openapi-core';
import { isNetworkError } from './errors.js';
import { sleep } from './retry.js';
import type { AccessKeyInfo, NewAccessKey, RamPolicyRef, RamPort, RamUser } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

type RamClient = InstanceType<typeof ramSdk.default>;

export class SdkRam implements RamPort {
  private readonly client: RamClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new ramSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'ram')));
  }

  private call<T>(action: string, fn: (c: RamClient) => Promise<T>): Promise<T> {
    return call(this.ctx, 'ram', action, () => fn(this.client));
  }

  async getUser(name: string): Promise<RamUser | undefined> {
    try {
      const r = await this.call('GetUser', (c) => c.getUser(new ramSdk.GetUserRequest({ userName: name })));
      const u = r.body?.user;
      return { name: u?.userName ?? name, id: u?.userId ?? '', displayName: u?.displayName ?? '', comments: u?.comments ?? '' };
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.User')) return undefined;
      throw e;
    }
  }

  async ensureUser(name: string, displayName: string, comments: string): Promise<{ user: RamUser; created: boolean }> {
    try {
      const r = await this.call('CreateUser', (c) => c.createUser(new ramSdk.CreateUserRequest({ userName: name, displayName, comments })));
      const u = r.body?.user;
      return { user: { name, id: u?.userId ?? '', displayName: u?.displayName ?? displayName, comments: u?.comments ?? comments }, created: true };
    } catch (e) {
      if (!hasCode(e, 'EntityAlreadyExists.User')) throw e;
      const user = await this.getUser(name);
      if (!user) throw e;
      return { user, created: false };
    }
  }

  async deleteUser(name: string): Promise<boolean> {
    try {
      await this.call('DeleteUser', (c) => c.deleteUser(new ramSdk.DeleteUserRequest({ userName: name })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.User')) return false;
      throw e;
    }
  }

  async getPolicyDocument(name: string, type: 'System' | 'Custom'): Promise<string | undefined> {
    try {
      const r = await this.call('GetPolicy', (c) => c.getPolicy(new ramSdk.GetPolicyRequest({ policyName: name, policyType: type })));
      return r.body?.defaultPolicyVersion?.policyDocument ?? r.body?.policy?.policyDocument ?? '';
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Policy')) return undefined;
      throw e;
    }
  }

  async createPolicy(name: string, document: string, description: string): Promise<void> {
    try {
      await this.call('CreatePolicy', (c) => c.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: name, policyDocument: document, description })));
    } catch (e) {
      // created by a retried request whose answer was lost, or concurrently
      if (!hasCode(e, 'EntityAlreadyExists.Policy')) throw e;
    }
  }

  async listPolicyVersions(name: string): Promise<{ id: string; isDefault: boolean; createDate: string }[]> {
    const r = await this.call('ListPolicyVersions', (c) => c.listPolicyVersions(new ramSdk.ListPolicyVersionsRequest({ policyName: name, policyType: 'Custom' })));
    return (r.body?.policyVersions?.policyVersion ?? []).map((v) => ({ id: v.versionId ?? '', isDefault: v.isDefaultVersion === true, createDate: v.createDate ?? '' }))
      .sort((a, b) => a.createDate.localeCompare(b.createDate) || Number(a.id.slice(1)) - Number(b.id.slice(1)));
  }

  async createPolicyVersion(name: string, document: string): Promise<string> {
    const r = await this.call('CreatePolicyVersion', (c) => c.createPolicyVersion(new ramSdk.CreatePolicyVersionRequest({ policyName: name, policyDocument: document, setAsDefault: true })));
    return r.body?.policyVersion?.versionId ?? '';
  }

  async deletePolicyVersion(name: string, versionId: string): Promise<boolean> {
    try {
      await this.call('DeletePolicyVersion', (c) => c.deletePolicyVersion(new ramSdk.DeletePolicyVersionRequest({ policyName: name, versionId })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Policy.Version')) return false;
      throw e;
    }
  }

  async listPoliciesForUser(user: string): Promise<RamPolicyRef[]> {
    const r = await this.call('ListPoliciesForUser', (c) => c.listPoliciesForUser(new ramSdk.ListPoliciesForUserRequest({ userName: user })));
    return (r.body?.policies?.policy ?? []).map((p) => ({ name: p.policyName ?? '', type: p.policyType === 'System' ? 'System' : 'Custom' }));
  }

  async attachPolicyToUser(user: string, policy: RamPolicyRef): Promise<boolean> {
    try {
      await this.call('AttachPolicyToUser', (c) => c.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: user, policyName: policy.name, policyType: policy.type })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityAlreadyExists.User.Policy')) return false;
      throw e;
    }
  }

  async detachPolicyFromUser(user: string, policy: RamPolicyRef): Promise<boolean> {
    try {
      await this.call('DetachPolicyFromUser', (c) => c.detachPolicyFromUser(new ramSdk.DetachPolicyFromUserRequest({ userName: user, policyName: policy.name, policyType: policy.type })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.User.Policy', 'EntityNotExist.User')) return false;
      throw e;
    }
  }

  async listAccessKeys(user: string): Promise<AccessKeyInfo[]> {
    const r = await this.call('ListAccessKeys', (c) => c.listAccessKeys(new ramSdk.ListAccessKeysRequest({ userName: user })));
    return (r.body?.accessKeys?.accessKey ?? []).map((k) => ({ id: k.accessKeyId ?? '', status: k.status ?? '', createDate: k.createDate ?? '' }));
  }

  async createAccessKey(user: string): Promise<NewAccessKey> {
    // no ClientToken in RAM: one attempt at a time, and a lost answer is cleaned up before trying again
    const before = new Set((await this.listAccessKeys(user)).map((k) => k.id));
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await call({ ...this.ctx, retry: { ...this.ctx.retry, attempts: 1 } }, 'ram', 'CreateAccessKey',
          () => this.client.createAccessKey(new ramSdk.CreateAccessKeyRequest({ userName: user })));
        const k = r.body?.accessKey;
        if (!k?.accessKeyId || !k.accessKeySecret) throw new Error('CreateAccessKey returned no key');
        return { id: k.accessKeyId, secret: k.accessKeySecret };
      } catch (e) {
        const cause = (e as { cause?: unknown }).cause ?? e;
        const transient = isNetworkError(cause) || hasCode(e, 'InternalError', 'ServiceUnavailable') || String((e as { code?: string }).code ?? '').startsWith('Throttling');
        if (!transient || attempt >= 8) throw e;
        for (const k of await this.listAccessKeys(user)) {
          if (!before.has(k.id)) {
            this.ctx.log(`ram: deleting AccessKey ${k.id}, created by a request whose answer was lost`);
            await this.deleteAccessKey(user, k.id);
          }
        }
        await sleep(Math.min(4000, 200 * 2 ** attempt) * Math.random(), this.ctx.signal);
      }
    }
  }

  async deleteAccessKey(user: string, id: string): Promise<boolean> {
    try {
      await this.call('DeleteAccessKey', (c) => c.deleteAccessKey(new ramSdk.DeleteAccessKeyRequest({ userName: user, userAccessKeyId: id })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.User.AccessKey', 'EntityNotExist.User')) return false;
      throw e;
    }
  }

  async roleExists(name: string): Promise<boolean> {
    try {
      await this.call('GetRole', (c) => c.getRole(new ramSdk.GetRoleRequest({ roleName: name })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Role')) return false;
      throw e;
    }
  }

  async policyDescription(name: string): Promise<string | undefined> {
    try {
      const r = await this.call('GetPolicy', (c) => c.getPolicy(new ramSdk.GetPolicyRequest({ policyName: name, policyType: 'Custom' })));
      return r.body?.policy?.description ?? '';
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Policy')) return undefined;
      throw e;
    }
  }

  async listEntitiesForPolicy(name: string, type: 'System' | 'Custom'): Promise<{ users: string[]; groups: string[]; roles: string[] }> {
    const r = await this.call('ListEntitiesForPolicy', (c) => c.listEntitiesForPolicy(new ramSdk.ListEntitiesForPolicyRequest({ policyName: name, policyType: type })));
    return {
      users: (r.body?.users?.user ?? []).map((u) => u.userName ?? ''),
      groups: (r.body?.groups?.group ?? []).map((g) => g.groupName ?? ''),
      roles: (r.body?.roles?.role ?? []).map((x) => x.roleName ?? ''),
    };
  }

  async deletePolicy(name: string): Promise<boolean> {
    let versions: { id: string; isDefault: boolean }[];
    try {
      versions = await this.listPolicyVersions(name);
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Policy')) return false;
      throw e;
    }
    for (const v of versions.filter((x) => !x.isDefault)) await this.deletePolicyVersion(name, v.id);
    try {
      await this.call('DeletePolicy', (c) => c.deletePolicy(new ramSdk.DeletePolicyRequest({ policyName: name })));
      return true;
    } catch (e) {
      if (hasCode(e, 'EntityNotExist.Policy')) return false;
      throw e;
    }
  }
}
