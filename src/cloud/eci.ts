import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import type { ContainerGroupInfo, CreateVirtualNodeInput, EciPort, PriceSpec, SpecPrice, Tag, VirtualNodeInfo, VirtualNodeUpdate } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

type EciClient = InstanceType<typeof eciSdk.default>;

const PAGE = 20;

export class SdkEci implements EciPort {
  private readonly client: EciClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new eciSdk.default(new openapiClient.Config(configFields(ctx, 'eci')));
  }

  private get region(): string {
    return this.ctx.config.regionId;
  }

  async describeRegions(): Promise<string[]> {
    const r = await call(this.ctx, 'eci', 'DescribeRegions', () => this.client.describeRegions(new eciSdk.DescribeRegionsRequest({})));
    return (r.body?.regions ?? []).map((x) => x.regionId ?? '').filter(Boolean);
  }

  async createVirtualNode(input: CreateVirtualNodeInput): Promise<string> {
    const req = new eciSdk.CreateVirtualNodeRequest({
      regionId: this.region,
      virtualNodeName: input.name,
      vSwitchId: input.vSwitchIds.join(','),
      securityGroupId: input.securityGroupId,
      kubeConfig: input.kubeConfig,
      tlsBootstrapEnabled: input.tlsBootstrapEnabled,
      zoneId: input.zoneId,
      resourceGroupId: input.resourceGroupId,
      customResources: input.customResources,
      clusterDNS: input.clusterDns,
      clusterDomain: input.clusterDomain,
      clientToken: input.clientToken,
      tag: input.tags.map((t) => new eciSdk.CreateVirtualNodeRequestTag({ key: t.key, value: t.value })),
      taint: input.taints.map((t) => new eciSdk.CreateVirtualNodeRequestTaint({ key: t.key, value: t.value, effect: t.effect })),
    });
    const r = await call(this.ctx, 'eci', 'CreateVirtualNode', () => this.client.createVirtualNode(req));
    return r.body?.virtualNodeId ?? '';
  }

  async describeVirtualNodes(filter: { ids?: string[]; name?: string; tags?: Tag[]; includeCleaned?: boolean }): Promise<VirtualNodeInfo[]> {
    const out: VirtualNodeInfo[] = [];
    const idBatches = filter.ids ? chunk(filter.ids, PAGE) : [undefined];
    for (const ids of idBatches) {
      let next: string | undefined;
      do {
        const req = new eciSdk.DescribeVirtualNodesRequest({
          regionId: this.region, limit: PAGE, nextToken: next, virtualNodeName: filter.name,
          virtualNodeIds: ids ? JSON.stringify(ids) : undefined,
          tag: filter.tags?.map((t) => new eciSdk.DescribeVirtualNodesRequestTag({ key: t.key, value: t.value })),
        });
        const r = await call(this.ctx, 'eci', 'DescribeVirtualNodes', () => this.client.describeVirtualNodes(req));
        for (const v of r.body?.virtualNodes ?? []) {
          // a deleted virtual node is listed as Cleaned for a while: it is gone, whatever tags it still shows
          if (v.status === 'Cleaned' && !filter.includeCleaned) continue;
          out.push({
            id: v.virtualNodeId ?? '', name: v.virtualNodeName ?? '', status: v.status ?? '', vpcId: v.vpcId ?? '',
            vSwitchIds: (v.virtualNodeVSwitchId ?? '').split(',').filter(Boolean), securityGroupId: v.virtualNodeSecurityGroupId ?? '',
            intranetIp: v.intranetIp ?? '', creationTime: v.creationTime ?? '',
            tags: (v.tags ?? []).map((t) => ({ key: t.key ?? '', value: t.value ?? '' })),
            events: (v.events ?? []).map((e) => ({
              count: e.count ?? 1, firstTimestamp: e.firstTimestamp ?? '', lastTimestamp: e.lastTimestamp ?? '', message: e.message ?? '',
              name: e.name ?? '', reason: e.reason ?? '', type: e.type ?? '',
            })),
          });
        }
        next = r.body?.nextToken || undefined;
      } while (next);
    }
    return out;
  }

  async deleteVirtualNode(id: string, clientToken: string): Promise<boolean> {
    try {
      await call(this.ctx, 'eci', 'DeleteVirtualNode', () => this.client.deleteVirtualNode(new eciSdk.DeleteVirtualNodeRequest({ regionId: this.region, virtualNodeId: id, clientToken })));
      return true;
    } catch (e) {
      if (hasCode(e, 'InvalidVirtualNodeId.NotFound')) return false;
      throw e;
    }
  }

  async updateVirtualNode(id: string, change: VirtualNodeUpdate, clientToken: string): Promise<void> {
    const req = new eciSdk.UpdateVirtualNodeRequest({
      regionId: this.region, virtualNodeId: id, clientToken, virtualNodeName: change.name, customResources: change.customResources,
      clusterDNS: change.clusterDns, clusterDomain: change.clusterDomain,
      tag: change.tags?.map((t) => new eciSdk.UpdateVirtualNodeRequestTag({ key: t.key, value: t.value })),
    });
    await call(this.ctx, 'eci', 'UpdateVirtualNode', () => this.client.updateVirtualNode(req));
  }

  async describeContainerGroups(filter: { tags?: Tag[]; ids?: string[] }): Promise<ContainerGroupInfo[]> {
    const out: ContainerGroupInfo[] = [];
    for (const ids of filter.ids ? chunk(filter.ids, PAGE) : [undefined]) {
      let next: string | undefined;
      do {
        const req = new eciSdk.DescribeContainerGroupsRequest({
          regionId: this.region, limit: PAGE, nextToken: next, containerGroupIds: ids ? JSON.stringify(ids) : undefined,
          tag: filter.tags?.map((t) => new eciSdk.DescribeContainerGroupsRequestTag({ key: t.key, value: t.value })),
        });
        const r = await call(this.ctx, 'eci', 'DescribeContainerGroups', () => this.client.describeContainerGroups(req));
        for (const c of r.body?.containerGroups ?? []) {
          out.push({
            id: c.containerGroupId ?? '', name: c.containerGroupName ?? '', status: c.status ?? '', creationTime: c.creationTime ?? '', tags: (c.tags ?? []).map((t) => ({ key: t.key ?? '', value: t.value ?? '' })),
            ...(c.zoneId ? { zoneId: c.zoneId } : {}), ...(c.cpu !== undefined ? { cpu: c.cpu } : {}), ...(c.memory !== undefined ? { memory: c.memory } : {}),
            ...(c.instanceType ? { instanceType: c.instanceType } : {}), ...(c.spotStrategy ? { spotStrategy: c.spotStrategy } : {}),
            ...(c.ephemeralStorage ? { ephemeralStorage: c.ephemeralStorage } : {}), ...(c.succeededTime || c.failedTime ? { endTime: c.succeededTime || c.failedTime } : {}),
          });
        }
        next = r.body?.nextToken || undefined;
      } while (next);
    }
    return out;
  }

  async describePrice(spec: PriceSpec): Promise<SpecPrice> {
    const r = await call(this.ctx, 'eci', 'DescribeContainerGroupPrice', () => this.client.describeContainerGroupPrice(new eciSdk.DescribeContainerGroupPriceRequest({
      regionId: this.region, ...(spec.instanceType ? { instanceType: spec.instanceType } : { cpu: spec.cpu, memory: spec.memory }),
      ...(spec.zoneId ? { zoneId: spec.zoneId } : {}), ...(spec.ephemeralStorage ? { ephemeralStorage: spec.ephemeralStorage } : {}),
      // the current spot price: asked as SpotAsPriceGo (a price limit only caps what is paid, it is not the price)
      ...(spec.spotStrategy && spec.spotStrategy !== 'NoSpot' ? { spotStrategy: 'SpotAsPriceGo' } : {}),
    })));
    const info = r.body?.priceInfo;
    const spot = (info?.spotPrices?.spotPrice ?? []).find((p) => !spec.zoneId || p.zoneId === spec.zoneId);
    return {
      perSecond: info?.price?.tradePrice ?? info?.price?.originalPrice ?? 0, currency: info?.price?.currency ?? 'CNY',
      ...(spot?.spotPrice !== undefined ? { spotPerSecond: spot.spotPrice } : {}),
    };
  }

  async deleteContainerGroup(id: string, clientToken: string): Promise<boolean> {
    try {
      await call(this.ctx, 'eci', 'DeleteContainerGroup', () => this.client.deleteContainerGroup(new eciSdk.DeleteContainerGroupRequest({ regionId: this.region, containerGroupId: id, clientToken })));
      return true;
    } catch (e) {
      if (hasCode(e, 'InvalidContainerGroupId.NotFound')) return false;
      throw e;
    }
  }
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out.length ? out : [[]];
}
