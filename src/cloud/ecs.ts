import type { EcsPort, PermissionInfo, SecurityGroupInfo } from './port.js';
import { RpcClient } from './rpc.js';
import { hasCode, type SdkContext } from './sdk.js';

interface DescribeSecurityGroupsBody {
  TotalCount?: number;
  SecurityGroups?: { SecurityGroup?: { SecurityGroupId?: string; VpcId?: string; SecurityGroupType?: string; SecurityGroupName?: string }[] };
}
interface DescribeSecurityGroupAttributeBody {
  Permissions?: { Permission?: { IpProtocol?: string; PortRange?: string; SourceCidrIp?: string; Direction?: string; Policy?: string }[] };
}

export class SdkEcs implements EcsPort {
  private readonly rpc: RpcClient;

  constructor(private readonly ctx: SdkContext) {
    this.rpc = new RpcClient(ctx, 'ecs', '2014-05-26');
  }

  async describeSecurityGroups(filter: { ids?: string[]; vpcId?: string }): Promise<SecurityGroupInfo[]> {
    const out: SecurityGroupInfo[] = [];
    for (let page = 1; ; page++) {
      const body = await this.rpc.call<DescribeSecurityGroupsBody>('DescribeSecurityGroups', {
        RegionId: this.ctx.config.regionId, SecurityGroupIds: filter.ids ? JSON.stringify(filter.ids) : undefined, VpcId: filter.vpcId, PageNumber: page, PageSize: 50,
      });
      const items = body.SecurityGroups?.SecurityGroup ?? [];
      for (const g of items) out.push({ id: g.SecurityGroupId ?? '', vpcId: g.VpcId ?? '', type: g.SecurityGroupType ?? '', name: g.SecurityGroupName ?? '' });
      if (out.length >= (body.TotalCount ?? 0) || items.length === 0) return out;
    }
  }

  async describeSecurityGroupPermissions(id: string): Promise<PermissionInfo[] | undefined> {
    try {
      const body = await this.rpc.call<DescribeSecurityGroupAttributeBody>('DescribeSecurityGroupAttribute', { RegionId: this.ctx.config.regionId, SecurityGroupId: id });
      return (body.Permissions?.Permission ?? []).map((p) => ({
        protocol: p.IpProtocol ?? '', portRange: p.PortRange ?? '', source: p.SourceCidrIp ?? '', direction: p.Direction ?? '', policy: p.Policy ?? '',
      }));
    } catch (e) {
      if (hasCode(e, 'InvalidSecurityGroupId.NotFound')) return undefined;
      throw e;
    }
  }
}
