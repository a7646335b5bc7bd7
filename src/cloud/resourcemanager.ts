import rmSdk from '@alicloud/resourcemanager20200331';
import openapiCore from '@alicloud/openapi-core';
import type { ResourceManagerPort } from './port.js';
import { call, configFields, hasCode, type SdkContext } from './sdk.js';

type RmClient = InstanceType<typeof rmSdk.default>;

/** Resource Management over @alicloud/resourcemanager20200331 (RPC): service-linked roles only. */
export class SdkResourceManager implements ResourceManagerPort {
  private readonly client: RmClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new rmSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'resourcemanager')));
  }

  async createServiceLinkedRole(serviceName: string): Promise<'created' | 'exists'> {
    try {
      await call(this.ctx, 'resourcemanager', 'CreateServiceLinkedRole', () => this.client.createServiceLinkedRole(new rmSdk.CreateServiceLinkedRoleRequest({ serviceName })));
      return 'created';
    } catch (e) {
      if (hasCode(e, 'EntityAlreadyExists.Role')) return 'exists';
      throw e;
    }
  }
}
