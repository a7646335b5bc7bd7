import type { Service } from './service.js';

/**
 * The Security Token Service, as far as GetCallerIdentity goes (RPC, 2015-04-01): who the signing key belongs to.
 * Documented: any identity may call it, no policy needed; the account's own key answers IdentityType Account and the
 * root ARN, a RAM user's answers RAMUser and its user ARN.
 */
export const stsService: Service = {
  code: 'sts',
  host: 'sts.aliyuncs.com',
  version: '2015-04-01',
  deniedCode: 'NoPermission',
  open: ['GetCallerIdentity'],
  handlers: {
    GetCallerIdentity(ctx) {
      const account = ctx.state.data.accountId;
      const user = ctx.caller.user === null ? undefined : ctx.state.data.users.find((u) => u.name === ctx.caller.user);
      if (!user) return { AccountId: account, UserId: account, PrincipalId: account, IdentityType: 'Account', Arn: `acs:ram::${account}:root` };
      return { AccountId: account, UserId: user.id, PrincipalId: user.id, IdentityType: 'RAMUser', Arn: `acs:ram::${account}:user/${user.name}` };
    },
  },
};
