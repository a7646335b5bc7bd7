import { ApiError, missing } from './errors.js';
import { parsePolicyDocument, SYSTEM_POLICIES } from './policies.js';
import { str, type CallContext, type Service } from './service.js';
import { accountOf, iso, newAccessKey, randomId, type PolicyRec, type PolicyVersionRec, type UserRec } from './state.js';

const MAX_KEYS_PER_USER = 2;
/** RAM's limits on policies attached to one user, by type. */
export const MAX_POLICIES_PER_USER = { System: 20, Custom: 10 } as const;
export const MAX_POLICY_DOCUMENT = 6144;
export const MAX_POLICY_VERSIONS = 5;

function versionsOf(p: PolicyRec): PolicyVersionRec[] {
  p.versions ??= [{ id: 'v1', document: p.document, createDate: p.createDate, isDefault: true }];
  return p.versions;
}

function customPolicy(ctx: CallContext): PolicyRec {
  const name = str(ctx, 'PolicyName');
  if (!name) throw missing('PolicyName');
  const p = ctx.state.data.policies.find((x) => x.name === name);
  if (!p) throw new ApiError(404, 'EntityNotExist.Policy', 'The policy does not exist.');
  return p;
}

function userName(ctx: CallContext): string {
  const n = str(ctx, 'UserName');
  if (!n) throw missing('UserName');
  if (n.length > 64) throw new ApiError(400, 'InvalidParameter.UserName.Length', 'The parameter "UserName" beyond the length limit.');
  if (!/^[A-Za-z0-9._-]+$/.test(n)) throw new ApiError(400, 'InvalidParameter.UserName.InvalidChars', 'The parameter "UserName" contains invalid chars.');
  return n;
}

function existingUser(ctx: CallContext, name: string): UserRec {
  const u = ctx.state.data.users.find((x) => x.name === name);
  if (!u) throw new ApiError(404, 'EntityNotExist.User', `The user does not exist.`);
  return u;
}

function userView(u: UserRec): Record<string, unknown> {
  return { UserName: u.name, UserId: u.id, DisplayName: u.displayName, Comments: u.comments, CreateDate: u.createDate, UpdateDate: u.createDate };
}

function policyType(ctx: CallContext): 'System' | 'Custom' {
  const t = str(ctx, 'PolicyType');
  if (!t) throw missing('PolicyType');
  if (t !== 'System' && t !== 'Custom') throw new ApiError(400, 'InvalidParameter.PolicyType', 'The parameter "PolicyType" is invalid.');
  return t;
}

function policyExists(ctx: CallContext, type: 'System' | 'Custom', name: string): boolean {
  return type === 'System' ? name in SYSTEM_POLICIES : ctx.state.data.policies.some((p) => p.name === name);
}

export const ramService: Service = {
  code: 'ram',
  host: 'ram.aliyuncs.com',
  version: '2015-05-01',
  deniedCode: 'NoPermission',
  handlers: {
    CreateUser(ctx) {
      const name = userName(ctx);
      if (ctx.state.data.users.some((u) => u.name === name)) throw new ApiError(409, 'EntityAlreadyExists.User', 'The user does already exist.');
      const display = str(ctx, 'DisplayName') ?? name;
      if (display.length > 128) throw new ApiError(400, 'InvalidParameter.DisplayName.Length', 'The parameter "DisplayName" beyond the length limit.');
      const comments = str(ctx, 'Comments') ?? '';
      if (comments.length > 128) throw new ApiError(400, 'InvalidParameter.Comments.Length', 'The parameter "Comments" beyond the length limit.');
      const u: UserRec = { name, id: randomId('2', 15, '0123456789'), displayName: display, comments, createDate: iso(ctx.now) };
      ctx.state.data.users.push(u);
      return { User: userView(u) };
    },
    GetUser(ctx) {
      return { User: userView(existingUser(ctx, userName(ctx))) };
    },
    DeleteUser(ctx) {
      const u = existingUser(ctx, userName(ctx));
      if (ctx.state.data.accessKeys.some((k) => k.user === u.name)) throw new ApiError(409, 'DeleteConflict.User.AccessKey', 'The user has access keys, please delete them first.');
      if (ctx.state.data.attachments.some((a) => a.user === u.name)) throw new ApiError(409, 'DeleteConflict.User.Policy', 'The user has policies attached, please detach them first.');
      ctx.state.data.users = ctx.state.data.users.filter((x) => x !== u);
      return {};
    },
    CreatePolicy(ctx) {
      const name = str(ctx, 'PolicyName');
      if (!name) throw missing('PolicyName');
      if (name.length > 128) throw new ApiError(400, 'InvalidParameter.PolicyName.Length', 'The parameter "PolicyName" beyond the length limit.');
      if (!/^[A-Za-z0-9-]+$/.test(name)) throw new ApiError(400, 'InvalidParameter.PolicyName.InvalidChars', 'The parameter "PolicyName" contains invalid chars.');
      const doc = str(ctx, 'PolicyDocument');
      if (!doc) throw missing('PolicyDocument');
      if (doc.length > MAX_POLICY_DOCUMENT) throw new ApiError(400, 'InvalidParameter.PolicyDocument.Length', `The parameter PolicyDocument exceeds the length limit of ${MAX_POLICY_DOCUMENT}.`);
      const parsed = parsePolicyDocument(doc);
      if (typeof parsed === 'string') throw new ApiError(400, 'MalformedPolicyDocument', parsed);
      if (policyExists(ctx, 'Custom', name) || name in SYSTEM_POLICIES) throw new ApiError(409, 'EntityAlreadyExists.Policy', 'The policy does already exist.');
      const p = { name, document: doc, description: str(ctx, 'Description') ?? '', createDate: iso(ctx.now) };
      ctx.state.data.policies.push(p);
      return { Policy: { PolicyName: name, PolicyType: 'Custom', DefaultVersion: 'v1', Description: p.description, CreateDate: p.createDate } };
    },
    GetPolicy(ctx) {
      const name = str(ctx, 'PolicyName');
      if (!name) throw missing('PolicyName');
      const type = policyType(ctx);
      if (!policyExists(ctx, type, name)) throw new ApiError(404, 'EntityNotExist.Policy', 'The policy does not exist.');
      const attachments = ctx.state.data.attachments.filter((a) => a.policyName === name && a.policyType === type).length;
      if (type === 'System') {
        const sys = SYSTEM_POLICIES[name]!;
        const document = JSON.stringify({ Version: '1', Statement: sys.statements });
        return {
          Policy: { PolicyName: name, PolicyType: type, Description: sys.description, DefaultVersion: 'v1', CreateDate: '2015-01-01T00:00:00Z', UpdateDate: '2015-01-01T00:00:00Z', AttachmentCount: attachments, PolicyDocument: document },
          DefaultPolicyVersion: { VersionId: 'v1', IsDefaultVersion: true, PolicyDocument: document, CreateDate: '2015-01-01T00:00:00Z' },
        };
      }
      const p = ctx.state.data.policies.find((x) => x.name === name)!;
      const def = versionsOf(p).find((v) => v.isDefault)!;
      return {
        Policy: { PolicyName: name, PolicyType: type, Description: p.description, DefaultVersion: def.id, CreateDate: p.createDate, UpdateDate: def.createDate, AttachmentCount: attachments, PolicyDocument: p.document },
        DefaultPolicyVersion: { VersionId: def.id, IsDefaultVersion: true, PolicyDocument: p.document, CreateDate: def.createDate },
      };
    },
    ListPolicyVersions(ctx) {
      const p = customPolicy(ctx);
      return { PolicyVersions: { PolicyVersion: versionsOf(p).map((v) => ({ VersionId: v.id, IsDefaultVersion: v.isDefault, CreateDate: v.createDate, PolicyDocument: v.document })) } };
    },
    CreatePolicyVersion(ctx) {
      const p = customPolicy(ctx);
      const doc = str(ctx, 'PolicyDocument');
      if (!doc) throw missing('PolicyDocument');
      if (doc.length > MAX_POLICY_DOCUMENT) throw new ApiError(400, 'InvalidParameter.PolicyDocument.Length', `The parameter PolicyDocument exceeds the length limit of ${MAX_POLICY_DOCUMENT}.`);
      const parsed = parsePolicyDocument(doc);
      if (typeof parsed === 'string') throw new ApiError(400, 'MalformedPolicyDocument', parsed);
      const versions = versionsOf(p);
      if (versions.length >= MAX_POLICY_VERSIONS) throw new ApiError(409, 'LimitExceeded.Policy.Version', `The count of versions of the policy exceeds the limit of ${MAX_POLICY_VERSIONS}.`);
      const asDefault = str(ctx, 'SetAsDefault') === 'true';
      const id = `v${Math.max(...versions.map((v) => Number(v.id.slice(1)))) + 1}`;
      const v = { id, document: doc, createDate: iso(ctx.now), isDefault: asDefault };
      if (asDefault) { for (const x of versions) x.isDefault = false; p.document = doc; }
      p.versions = [...versions, v];
      return { PolicyVersion: { VersionId: id, IsDefaultVersion: asDefault, CreateDate: v.createDate, PolicyDocument: doc } };
    },
    DeletePolicyVersion(ctx) {
      const p = customPolicy(ctx);
      const id = str(ctx, 'VersionId');
      if (!id) throw missing('VersionId');
      const versions = versionsOf(p);
      const v = versions.find((x) => x.id === id);
      if (!v) throw new ApiError(404, 'EntityNotExist.Policy.Version', 'The policy version does not exist.');
      if (v.isDefault) throw new ApiError(409, 'DeleteConflict.Policy.Version.Default', 'The default version of a policy cannot be deleted.');
      p.versions = versions.filter((x) => x !== v);
      return {};
    },
    ListEntitiesForPolicy(ctx) {
      const type = policyType(ctx);
      const name = str(ctx, 'PolicyName');
      if (!name) throw missing('PolicyName');
      if (!policyExists(ctx, type, name)) throw new ApiError(404, 'EntityNotExist.Policy', 'The policy does not exist.');
      const users = ctx.state.data.attachments.filter((a) => a.policyName === name && a.policyType === type)
        .map((a) => ({ UserName: a.user, UserId: ctx.state.data.users.find((u) => u.name === a.user)?.id ?? '', AttachDate: a.attachDate }));
      // the emulator's account has no groups, and attaches no custom policy to a role
      return { Users: { User: users }, Groups: { Group: [] }, Roles: { Role: [] } };
    },
    DeletePolicy(ctx) {
      const p = customPolicy(ctx);
      if (ctx.state.data.attachments.some((a) => a.policyName === p.name && a.policyType === 'Custom')) {
        throw new ApiError(409, 'DeleteConflict.Policy.User', 'The policy has been attached to some users, please detach it first.');
      }
      if (versionsOf(p).some((v) => !v.isDefault)) throw new ApiError(409, 'DeleteConflict.Policy.Version', 'The policy has non-default versions, please delete them first.');
      ctx.state.data.policies = ctx.state.data.policies.filter((x) => x !== p);
      return {};
    },
    AttachPolicyToUser(ctx) {
      const type = policyType(ctx);
      const name = str(ctx, 'PolicyName');
      if (!name) throw missing('PolicyName');
      const user = existingUser(ctx, userName(ctx));
      if (!policyExists(ctx, type, name)) throw new ApiError(404, 'EntityNotExist.Policy', 'The policy does not exist.');
      const mine = ctx.state.data.attachments.filter((a) => a.user === user.name);
      if (mine.some((a) => a.policyName === name && a.policyType === type)) throw new ApiError(409, 'EntityAlreadyExists.User.Policy', 'The policy has already been attached to the user.');
      if (mine.filter((a) => a.policyType === type).length >= MAX_POLICIES_PER_USER[type]) throw new ApiError(409, 'LimitExceeded.User.Policy', 'The count of policies attached to the user exceeds the limit.');
      ctx.state.data.attachments.push({ user: user.name, policyName: name, policyType: type, attachDate: iso(ctx.now) });
      return {};
    },
    DetachPolicyFromUser(ctx) {
      const type = policyType(ctx);
      const name = str(ctx, 'PolicyName');
      if (!name) throw missing('PolicyName');
      const user = existingUser(ctx, userName(ctx));
      const i = ctx.state.data.attachments.findIndex((a) => a.user === user.name && a.policyName === name && a.policyType === type);
      if (i < 0) throw new ApiError(404, 'EntityNotExist.User.Policy', 'The policy is not attached to the user.');
      ctx.state.data.attachments.splice(i, 1);
      return {};
    },
    ListPoliciesForUser(ctx) {
      const user = existingUser(ctx, userName(ctx));
      const policies = ctx.state.data.attachments.filter((a) => a.user === user.name).map((a) => ({
        PolicyName: a.policyName, PolicyType: a.policyType, DefaultVersion: 'v1', AttachDate: a.attachDate,
        Description: a.policyType === 'System' ? SYSTEM_POLICIES[a.policyName]?.description ?? '' : ctx.state.data.policies.find((p) => p.name === a.policyName)?.description ?? '',
      }));
      return { Policies: { Policy: policies } };
    },
    GetRole(ctx) {
      const name = str(ctx, 'RoleName');
      if (!name) throw missing('RoleName');
      const r = accountOf(ctx.state).roles.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!r) throw new ApiError(404, 'EntityNotExist.Role', `The role does not exist: ${name}.`);
      return { Role: { RoleName: r.name, RoleId: r.id, Arn: `acs:ram::${ctx.state.data.accountId}:role/${r.name.toLowerCase()}`, Description: r.description,
        CreateDate: r.createDate, UpdateDate: r.createDate, IsServiceLinkedRole: r.serviceName !== undefined } };
    },
    CreateAccessKey(ctx) {
      const user = existingUser(ctx, userName(ctx));
      if (ctx.state.data.accessKeys.filter((k) => k.user === user.name).length >= MAX_KEYS_PER_USER) {
        throw new ApiError(409, 'LimitExceeded.User.AccessKey', 'The count of access keys for the user exceeds the limit.');
      }
      const k = newAccessKey(user.name, ctx.now);
      ctx.state.data.accessKeys.push(k);
      return { AccessKey: { AccessKeyId: k.id, AccessKeySecret: k.secret, Status: k.status, CreateDate: k.createDate } };
    },
    ListAccessKeys(ctx) {
      const user = existingUser(ctx, userName(ctx));
      return { AccessKeys: { AccessKey: ctx.state.data.accessKeys.filter((k) => k.user === user.name).map((k) => ({ AccessKeyId: k.id, Status: k.status, CreateDate: k.createDate })) } };
    },
    DeleteAccessKey(ctx) {
      const id = str(ctx, 'UserAccessKeyId');
      if (!id) throw missing('UserAccessKeyId');
      const name = str(ctx, 'UserName');
      if (name) existingUser(ctx, name);
      const i = ctx.state.data.accessKeys.findIndex((k) => k.id === id && k.user !== null && (!name || k.user === name));
      if (i < 0) throw new ApiError(404, 'EntityNotExist.User.AccessKey', 'The access key does not exist.');
      ctx.state.data.accessKeys.splice(i, 1);
      return {};
    },
  },
};
