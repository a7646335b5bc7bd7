import vpcSdk from '@alicloud/vpc20160428';
import openapiCore from '@alicloud/openapi-core';
import type { VSwitchInfo, VpcPort } from './port.js';
import { call, configFields, type SdkContext } from './sdk.js';

export class SdkVpc implements VpcPort {
  private readonly client: InstanceType<typeof vpcSdk.default>;

  constructor(private readonly ctx: SdkContext) {
    this.client = new vpcSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'vpc')));
  }

  async describeVSwitches(filter: { vSwitchId?: string; vpcId?: string }): Promise<VSwitchInfo[]> {
    const out: VSwitchInfo[] = [];
    for (let page = 1; ; page++) {
      const r = await call(this.ctx, 'vpc', 'DescribeVSwitches', () => this.client.describeVSwitches(new vpcSdk.DescribeVSwitchesRequest({
        regionId: this.ctx.config.regionId, vSwitchId: filter.vSwitchId, vpcId: filter.vpcId, pageNumber: page, pageSize: 50,
      })));
      const items = r.body?.vSwitches?.vSwitch ?? [];
      for (const v of items) out.push({ id: v.vSwitchId ?? '', vpcId: v.vpcId ?? '', zoneId: v.zoneId ?? '', cidr: v.cidrBlock ?? '', status: v.status ?? '', name: v.vSwitchName ?? '' });
      if (out.length >= (r.body?.totalCount ?? 0) || items.length === 0) return out;
    }
  }
}
