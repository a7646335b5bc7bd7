import type { VSwitchInfo, VpcPort } from './port.js';
import { RpcClient } from './rpc.js';
import type { SdkContext } from './sdk.js';

interface DescribeVSwitchesBody {
  TotalCount?: number;
  VSwitches?: { VSwitch?: { VSwitchId?: string; VpcId?: string; ZoneId?: string; CidrBlock?: string; Status?: string; VSwitchName?: string }[] };
}

export class SdkVpc implements VpcPort {
  private readonly rpc: RpcClient;

  constructor(private readonly ctx: SdkContext) {
    this.rpc = new RpcClient(ctx, 'vpc', '2016-04-28');
  }

  async describeVSwitches(filter: { vSwitchId?: string; vpcId?: string }): Promise<VSwitchInfo[]> {
    const out: VSwitchInfo[] = [];
    for (let page = 1; ; page++) {
      const body = await this.rpc.call<DescribeVSwitchesBody>('DescribeVSwitches', {
        RegionId: this.ctx.config.regionId, VSwitchId: filter.vSwitchId, VpcId: filter.vpcId, PageNumber: page, PageSize: 50,
      });
      const items = body.VSwitches?.VSwitch ?? [];
      for (const v of items) out.push({ id: v.VSwitchId ?? '', vpcId: v.VpcId ?? '', zoneId: v.ZoneId ?? '', cidr: v.CidrBlock ?? '', status: v.Status ?? '', name: v.VSwitchName ?? '' });
      if (out.length >= (body.TotalCount ?? 0) || items.length === 0) return out;
    }
  }
}
