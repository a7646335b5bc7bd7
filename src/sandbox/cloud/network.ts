import { ApiError, invalid, missing } from './errors.js';
import { str, type CallContext, type Service } from './service.js';

function region(ctx: CallContext): void {
  const r = str(ctx, 'RegionId');
  if (!r) throw missing('RegionId');
  if (r !== ctx.state.data.regionId) throw new ApiError(400, 'InvalidRegionId.NotFound', `The specified region ${r} does not exist.`);
}

function pageNumbers(ctx: CallContext): { number: number; size: number } {
  const number = Number(str(ctx, 'PageNumber') ?? 1);
  const size = Number(str(ctx, 'PageSize') ?? 10);
  if (!Number.isInteger(number) || number < 1) throw invalid('PageNumber', 'must be a positive integer');
  if (!Number.isInteger(size) || size < 1 || size > 50) throw invalid('PageSize', 'must be an integer from 1 to 50');
  return { number, size };
}

export const vpcService: Service = {
  code: 'vpc',
  host: 'vpc.aliyuncs.com',
  version: '2016-04-28',
  deniedCode: 'Forbidden.RAM',
  handlers: {
    DescribeVSwitches(ctx) {
      region(ctx);
      const { number, size } = pageNumbers(ctx);
      const all = ctx.state.data.vswitches.filter((v) => (!str(ctx, 'VSwitchId') || v.id === str(ctx, 'VSwitchId')) && (!str(ctx, 'VpcId') || v.vpcId === str(ctx, 'VpcId'))
        && (!str(ctx, 'ZoneId') || v.zoneId === str(ctx, 'ZoneId')));
      const items = all.slice((number - 1) * size, number * size).map((v) => ({
        VSwitchId: v.id, VpcId: v.vpcId, ZoneId: v.zoneId, CidrBlock: v.cidr, Status: v.status, VSwitchName: v.name, AvailableIpAddressCount: 4000,
      }));
      return { TotalCount: all.length, PageNumber: number, PageSize: size, VSwitches: { VSwitch: items } };
    },
  },
};

export const ecsService: Service = {
  code: 'ecs',
  host: 'ecs.aliyuncs.com',
  version: '2014-05-26',
  deniedCode: 'Forbidden.RAM',
  handlers: {
    DescribeSecurityGroups(ctx) {
      region(ctx);
      const { number, size } = pageNumbers(ctx);
      let ids: string[] | undefined;
      const raw = str(ctx, 'SecurityGroupIds');
      if (raw) {
        try { ids = JSON.parse(raw) as string[]; } catch { throw invalid('SecurityGroupIds', 'must be a JSON array'); }
        if (!Array.isArray(ids) || ids.length > 100) throw invalid('SecurityGroupIds', 'must be a JSON array of at most 100 ids');
      }
      const all = ctx.state.data.securityGroups.filter((g) => (!ids || ids.includes(g.id)) && (!str(ctx, 'SecurityGroupId') || g.id === str(ctx, 'SecurityGroupId'))
        && (!str(ctx, 'VpcId') || g.vpcId === str(ctx, 'VpcId')));
      const items = all.slice((number - 1) * size, number * size).map((g) => ({
        SecurityGroupId: g.id, VpcId: g.vpcId, SecurityGroupType: g.type, SecurityGroupName: g.name, Description: '', CreationTime: '2024-01-01T00:00:00Z',
      }));
      return { RegionId: ctx.state.data.regionId, TotalCount: all.length, PageNumber: number, PageSize: size, SecurityGroups: { SecurityGroup: items } };
    },
    DescribeSecurityGroupAttribute(ctx) {
      region(ctx);
      const id = str(ctx, 'SecurityGroupId');
      if (!id) throw missing('SecurityGroupId');
      const g = ctx.state.data.securityGroups.find((x) => x.id === id);
      if (!g) throw new ApiError(404, 'InvalidSecurityGroupId.NotFound', 'The specified SecurityGroupId does not exist.');
      const dir = str(ctx, 'Direction') ?? 'all';
      const perms = g.permissions.filter((p) => dir === 'all' || p.Direction === dir);
      return { RegionId: ctx.state.data.regionId, SecurityGroupId: g.id, VpcId: g.vpcId, SecurityGroupName: g.name, InnerAccessPolicy: 'Accept', Permissions: { Permission: perms } };
    },
  },
};
