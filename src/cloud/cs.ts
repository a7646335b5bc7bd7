import csSdk from '@alicloud/cs20151215';
import openapiCore from '@alicloud/openapi-core';
import type { AddonInstance, AddonVersion, CreateRegistrationInput, CsPort, CsTask, RegisteredCluster } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

type CsClient = InstanceType<typeof csSdk.default>;

const PAGE_SIZE = 100;

interface ClusterFields {
  clusterId?: string; name?: string; clusterType?: string; state?: string; regionId?: string; vpcId?: string; vswitchIds?: string[];
  securityGroupId?: string; resourceGroupId?: string; created?: string; masterUrl?: string;
}

/** master_url is a JSON string naming the endpoints: api_server_endpoint (public) and intranet_api_server_endpoint. */
export function publicEndpointOf(masterUrl: string | undefined): boolean | undefined {
  if (!masterUrl) return undefined;
  try {
    const m = JSON.parse(masterUrl) as Record<string, unknown>;
    if (typeof m.api_server_endpoint === 'string' && m.api_server_endpoint !== '') return true;
    return typeof m.intranet_api_server_endpoint === 'string' && m.intranet_api_server_endpoint !== '' ? false : undefined;
  } catch {
    return undefined;
  }
}

function cluster(c: ClusterFields | undefined): RegisteredCluster {
  return {
    id: c?.clusterId ?? '', name: c?.name ?? '', type: c?.clusterType ?? '', state: c?.state ?? '', regionId: c?.regionId ?? '', vpcId: c?.vpcId ?? '',
    vSwitchIds: c?.vswitchIds ?? [], securityGroupId: c?.securityGroupId ?? '', resourceGroupId: c?.resourceGroupId ?? '', created: c?.created ?? '',
    publicEndpoint: publicEndpointOf(c?.masterUrl),
  };
}

/** The Container Service over @alicloud/cs20151215 (ROA, V3 signatures). */
export class SdkCs implements CsPort {
  private readonly client: CsClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new csSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'cs')));
  }

  private call<T>(action: string, fn: (c: CsClient) => Promise<T>, once = false): Promise<T> {
    return call(once ? { ...this.ctx, retry: { ...this.ctx.retry, attempts: 1 } } : this.ctx, 'cs', action, () => fn(this.client));
  }

  async findClusters(name: string): Promise<RegisteredCluster[]> {
    const out: RegisteredCluster[] = [];
    for (let page = 1; ; page++) {
      const r = await this.call('DescribeClustersForRegion', (c) => c.describeClustersForRegion(this.ctx.config.regionId,
        new csSdk.DescribeClustersForRegionRequest({ clusterType: 'ExternalKubernetes', name, pageNumber: page, pageSize: PAGE_SIZE })));
      const items = r.body?.clusters ?? [];
      // the name filter is fuzzy: only an exact match is this registration
      out.push(...items.map(cluster).filter((c) => c.name === name));
      const total = r.body?.pageInfo?.totalCount ?? 0;
      if (items.length < PAGE_SIZE || page * PAGE_SIZE >= total) return out;
    }
  }

  async describeCluster(id: string): Promise<RegisteredCluster | undefined> {
    try {
      const r = await this.call('DescribeClusterDetail', (c) => c.describeClusterDetail(id));
      return cluster(r.body);
    } catch (e) {
      if (hasCode(e, 'ErrorClusterNotFound')) return undefined;
      throw e;
    }
  }

  async createCluster(input: CreateRegistrationInput): Promise<{ clusterId: string; taskId: string }> {
    const r = await this.call('CreateCluster', (c) => c.createCluster(new csSdk.CreateClusterRequest({
      name: input.name, regionId: this.ctx.config.regionId, clusterType: 'ExternalKubernetes', vpcid: input.vpcId, vswitchIds: input.vSwitchIds,
      endpointPublicAccess: input.endpointPublicAccess,
      ...(input.securityGroupId ? { securityGroupId: input.securityGroupId } : {}),
      ...(input.resourceGroupId ? { resourceGroupId: input.resourceGroupId } : {}),
      tags: input.tags.map((t) => new csSdk.Tag({ key: t.key, value: t.value })),
    })), true);
    return { clusterId: r.body?.clusterId ?? '', taskId: r.body?.taskId ?? '' };
  }

  async deleteCluster(id: string): Promise<boolean> {
    try {
      await this.call('DeleteCluster', (c) => c.deleteCluster(id, new csSdk.DeleteClusterRequest({})));
      return true;
    } catch (e) {
      if (hasCode(e, 'ErrorClusterNotFound')) return false;
      throw e;
    }
  }

  async describeExternalAgent(id: string, privateAddress: boolean): Promise<string> {
    const r = await this.call('DescribeExternalAgent', (c) => c.describeExternalAgent(id, new csSdk.DescribeExternalAgentRequest({ privateIpAddress: String(privateAddress) })));
    return r.body?.config ?? '';
  }

  async describeAddon(clusterId: string, name: string): Promise<AddonVersion | undefined> {
    const r = await this.call('ListAddons', (c) => c.listAddons(new csSdk.ListAddonsRequest({ clusterId })));
    const a = (r.body?.addons ?? []).find((x) => x.name === name);
    return a ? { name, version: a.version ?? '' } : undefined;
  }

  async getAddonInstance(clusterId: string, name: string): Promise<AddonInstance | undefined> {
    try {
      const r = await this.call('GetClusterAddonInstance', (c) => c.getClusterAddonInstance(clusterId, name));
      return { name: r.body?.name ?? name, version: r.body?.version ?? '', state: r.body?.state ?? '', config: r.body?.config ?? '' };
    } catch (e) {
      // AddonNotFound, or any 404 (older API versions answer the path of a missing instance so)
      if (hasCode(e, 'AddonNotFound') || (e as { details?: { status?: number } }).details?.status === 404) return undefined;
      throw e;
    }
  }

  async installAddon(clusterId: string, addon: AddonVersion): Promise<string> {
    const r = await this.call('InstallClusterAddons', (c) => c.installClusterAddons(clusterId, new csSdk.InstallClusterAddonsRequest({
      body: [new csSdk.InstallClusterAddonsRequestBody({ name: addon.name, version: addon.version })],
    })));
    return r.body?.taskId ?? '';
  }

  async addonUpgrades(clusterId: string, name: string, installed: string): Promise<{ newest: string; newer: string[]; upgradable: boolean }> {
    const r = await this.call('ListAddons', (c) => c.listAddons(new csSdk.ListAddonsRequest({ clusterId })));
    const listed = (r.body?.addons ?? []).find((x) => x.name === name);
    const newest = listed?.version ?? '';
    // documented values are Install, Upgrade, Modify, Uninstall: compared without regard to case
    const upgradable = (listed?.supportedActions ?? []).some((a) => a.toLowerCase() === 'upgrade');
    try {
      const d = await this.call('DescribeAddon', (c) => c.describeAddon(name, new csSdk.DescribeAddonRequest({ clusterId, version: installed })));
      const newer = (d.body?.newerVersions ?? []).filter((v) => v.upgradable !== false && v.version).map((v) => v.version!);
      return { newest, newer, upgradable };
    } catch (e) {
      // the installed version may no longer be listed: the newest one is still newer
      if (!hasCode(e, 'InvalidParameter', 'AddonNotFound')) throw e;
      return { newest, newer: newest && newest !== installed ? [newest] : [], upgradable };
    }
  }

  async upgradeAddon(clusterId: string, name: string, from: string, to: string): Promise<string> {
    const r = await this.call('UpgradeClusterAddons', (c) => c.upgradeClusterAddons(clusterId, new csSdk.UpgradeClusterAddonsRequest({
      body: [new csSdk.UpgradeClusterAddonsRequestBody({ componentName: name, version: from, nextVersion: to })],
    })));
    return r.body?.taskId ?? '';
  }

  async uninstallAddon(clusterId: string, name: string): Promise<string> {
    const r = await this.call('UnInstallClusterAddons', (c) => c.unInstallClusterAddons(clusterId, new csSdk.UnInstallClusterAddonsRequest({
      addons: [new csSdk.UnInstallClusterAddonsRequestAddons({ name })],
    })));
    return r.body?.taskId ?? '';
  }

  async checkServiceRoles(names: string[]): Promise<{ name: string; granted: boolean; message: string }[]> {
    const r = await this.call('CheckServiceRole', (c) => c.checkServiceRole(new csSdk.CheckServiceRoleRequest({ roles: names.map((name) => new csSdk.CheckServiceRoleRequestRoles({ name })) })));
    const got = r.body?.roles ?? [];
    return names.map((name) => {
      const x = got.find((g) => g.name === name);
      return { name, granted: x?.granted === true, message: x?.message ?? '' };
    });
  }

  async openAckService(): Promise<void> {
    await this.call('OpenAckService', (c) => c.openAckService(new csSdk.OpenAckServiceRequest({ type: 'propayasgo' })), true);
  }

  async describeTask(id: string): Promise<CsTask> {
    const r = await this.call('DescribeTaskInfo', (c) => c.describeTaskInfo(id));
    const b = r.body;
    return {
      id: b?.taskId ?? id, type: b?.taskType ?? '', state: b?.state ?? '',
      ...(b?.error?.code || b?.error?.message ? { error: { code: b.error.code ?? '', message: b.error.message ?? '' } } : {}),
    };
  }
}
