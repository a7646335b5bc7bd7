import { AsyncLocalStorage } from 'node:async_hooks';
import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import type { ContainerGroupInfo, CreateVirtualNodeInput, EciPort, PriceSpec, SpecPrice, Tag, VirtualNodeInfo, VirtualNodeUpdate } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

type CallApi = InstanceType<typeof eciSdk.default>['callApi'];
interface Extra { query?: Record<string, string>; body?: Record<string, unknown> }
const extra = new AsyncLocalStorage<Extra>();

/**
 * The ECI SDK's models lag its API pages: DescribeContainerGroupPrice's ComputeCategory, CreateContainerGroup's
 * ComputeCategory.N and the ComputeCategory DescribeContainerGroups answers are documented but not modelled in
 * @alicloud/eci20180808 2.0.3. They go through the SDK's own callApi (signed, sent and parsed by the SDK): fields
 * added to the query, the raw answer kept beside the model.
 */
export class EciClient extends eciSdk.default {
  override async callApi(...args: Parameters<CallApi>): ReturnType<CallApi> {
    const store = extra.getStore();
    if (store?.query) args[1].query = { ...(args[1].query ?? {}), ...store.query };
    const r = await super.callApi(...args);
    if (store) store.body = (r as { body?: Record<string, unknown> }).body;
    return r;
  }
}

/** Runs one SDK call with fields its model lacks; returns its result and the raw answer body. */
export async function withFields<T>(query: Record<string, string>, fn: () => Promise<T>): Promise<{ result: T; body: Record<string, unknown> | undefined }> {
  const store: Extra = { query };
  const result = await extra.run(store, fn);
  return { result, body: store.body };
}

/** ComputeCategory as DescribeContainerGroups answers it: a string, or a list (ASSUMPTION: its shape is not shown). */
export function categoryOf(raw: unknown): string | undefined {
  const v = Array.isArray(raw) ? raw[0] : raw;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const PAGE = 20;
/** SpotPrice and OriginPrice are per hour (documented example: SpotPrice 0.056 next to TradePrice 0.00012252 per second). */
export const SECONDS_PER_HOUR = 3600;

export class SdkEci implements EciPort {
  private readonly client: EciClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new EciClient(new openapiClient.Config(configFields(ctx, 'eci')));
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
        const { result: r, body } = await call(this.ctx, 'eci', 'DescribeContainerGroups', () => withFields({}, () => this.client.describeContainerGroups(req)));
        const rawGroups = (body?.ContainerGroups ?? []) as Record<string, unknown>[];
        for (const c of r.body?.containerGroups ?? []) {
          const category = categoryOf(rawGroups.find((x) => x.ContainerGroupId === c.containerGroupId)?.ComputeCategory);
          out.push({
            ...(category ? { computeCategory: category } : {}),
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
    const spot = spec.spotStrategy !== undefined && spec.spotStrategy !== 'NoSpot';
    const req = new eciSdk.DescribeContainerGroupPriceRequest({
      regionId: this.region, ...(spec.instanceType ? { instanceType: spec.instanceType } : { cpu: spec.cpu, memory: spec.memory }),
      ...(spec.zoneId ? { zoneId: spec.zoneId } : {}), ...(spec.ephemeralStorage ? { ephemeralStorage: spec.ephemeralStorage } : {}),
      // the current spot price: asked as SpotAsPriceGo (a price limit only caps what is paid, it is not the price)
      ...(spot ? { spotStrategy: 'SpotAsPriceGo' } : {}),
    });
    // economy is priced only when asked for (documented: ComputeCategory=economy), and only for a vCPU/memory spec
    const economy = spec.computeCategory === 'economy' && !spec.instanceType && !spot;
    const { result: r } = await call(this.ctx, 'eci', 'DescribeContainerGroupPrice', () => withFields(economy ? { ComputeCategory: 'economy' } : {},
      () => this.client.describeContainerGroupPrice(req)));
    return priceOf(r.body, spec.zoneId);
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

/**
 * A DescribeContainerGroupPrice answer as vnode reads it: TradePrice (per second) is the list price; a spot price is
 * per hour on the page and turned into per second here (3600x too high otherwise).
 */
export function priceOf(body: InstanceType<typeof eciSdk.DescribeContainerGroupPriceResponseBody> | undefined, zoneId?: string): SpecPrice {
  const info = body?.priceInfo;
  const spot = (info?.spotPrices?.spotPrice ?? []).find((p) => !zoneId || p.zoneId === zoneId);
  return {
    perSecond: info?.price?.tradePrice ?? info?.price?.originalPrice ?? 0, currency: info?.price?.currency ?? 'CNY',
    ...(spot?.spotPrice !== undefined ? { spotPerHour: spot.spotPrice, spotPerSecond: spot.spotPrice / SECONDS_PER_HOUR } : {}),
  };
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out.length ? out : [[]];
}
