import ecsSdk from '@alicloud/ecs20140526';
import openapiCore from '@alicloud/openapi-core';
import type { EcsPort, PermissionInfo, SecurityGroupInfo } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

export class SdkEcs implements EcsPort {
  private readonly client: InstanceType<typeof ecsSdk.default>;

  constructor(private readonly ctx: SdkContext) {
    this.client = new ecsSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'ecs')));
  }

  async describeSecurityGroups(filter: { ids?: string[]; vpcId?: string }): Promise<SecurityGroupInfo[]> {
    const out: SecurityGroupInfo[] = [];
    for (let page = 1; ; page++) {
      const r = await call(this.ctx, 'ecs', 'DescribeSecurityGroups', () => this.client.describeSecurityGroups(new ecsSdk.DescribeSecurityGroupsRequest({
        regionId: this.ctx.config.regionId, securityGroupIds: filter.ids ? JSON.stringify(filter.ids) : undefined, vpcId: filter.vpcId, pageNumber: page, pageSize: 50,
      })));
      const items = r.body?.securityGroups?.securityGroup ?? [];
      for (const g of items) out.push({ id: g.securityGroupId ?? '', vpcId: g.vpcId ?? '', type: g.securityGroupType ?? '', name: g.securityGroupName ?? '' });
      if (out.length >= (r.body?.totalCount ?? 0) || items.length === 0) return out;
    }
  }

  async describeSecurityGroupPermissions(id: string): Promise<PermissionInfo[] | undefined> {
    try {
      const r = await call(this.ctx, 'ecs', 'DescribeSecurityGroupAttribute', () => this.client.describeSecurityGroupAttribute(new ecsSdk.DescribeSecurityGroupAttributeRequest({
        regionId: this.ctx.config.regionId, securityGroupId: id,
      })));
      return (r.body?.permissions?.permission ?? []).map((p) => ({
        protocol: p.ipProtocol ?? '', portRange: p.portRange ?? '', source: p.sourceCidrIp ?? '', direction: p.direction ?? '', policy: p.policy ?? '',
      }));
    } catch (e) {
      if (hasCode(e, 'InvalidSecurityGroupId.NotFound')) return undefined;
      throw e;
    }
  }
}
