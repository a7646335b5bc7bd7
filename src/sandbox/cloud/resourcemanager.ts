import { ApiError, missing } from './errors.js';
import { str, type Service } from './service.js';
import { accountOf, ECI_VNODE_ROLE, iso, randomId } from './state.js';

/** Service-linked roles the emulator knows, by service name (only ECI's VNode role matters to vnode). */
const LINKED_ROLES: Record<string, { name: string; description: string }> = {
  [ECI_VNODE_ROLE.serviceName]: { name: ECI_VNODE_ROLE.name, description: 'ECI virtual node service-linked role' },
};

/** Resource Management, as far as service-linked roles go (RPC, 2020-03-31). */
export const resourceManagerService: Service = {
  code: 'resourcemanager',
  host: 'resourcemanager.aliyuncs.com',
  version: '2020-03-31',
  deniedCode: 'NoPermission',
  // documented: creating a service-linked role is authorized as the RAM action ram:CreateServiceLinkedRole
  authActions: { CreateServiceLinkedRole: 'ram:CreateServiceLinkedRole' },
  // documented: policies scope it by the service it is for (AliyunECIFullAccess: ram:ServiceName)
  conditionKeys: { CreateServiceLinkedRole: (p): Record<string, string> => (p.get('ServiceName') ? { 'ram:ServiceName': p.get('ServiceName')! } : {}) },
  handlers: {
    CreateServiceLinkedRole(ctx) {
      const service = str(ctx, 'ServiceName');
      if (!service) throw missing('ServiceName');
      const known = LINKED_ROLES[service];
      // ASSUMPTION: the codes of an unknown service name and of a role that exists already
      if (!known) throw new ApiError(400, 'InvalidParameter.ServiceName', `The service ${service} has no service-linked role.`);
      const account = accountOf(ctx.state);
      if (account.roles.some((r) => r.name === known.name)) throw new ApiError(409, 'EntityAlreadyExists.Role', `The role ${known.name} already exists.`);
      const role = { name: known.name, id: randomId('3', 18, '0123456789'), createDate: iso(ctx.now), description: known.description, serviceName: service };
      account.roles.push(role);
      return { Role: { RoleName: role.name, RoleId: role.id, Arn: `acs:ram::${ctx.state.data.accountId}:role/${role.name.toLowerCase()}`, CreateDate: role.createDate, Description: role.description, IsServiceLinkedRole: true } };
    },
  },
};
