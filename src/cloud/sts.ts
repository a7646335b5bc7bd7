import stsSdk from '@alicloud/sts20150401';
import openapiCore from '@alicloud/openapi-core';
import type { CallerIdentity, StsPort } from './port.js';
import { call, configFields, type SdkContext } from './sdk.js';

type StsClient = InstanceType<typeof stsSdk.default>;

/** The Security Token Service over @alicloud/sts20150401 (RPC): GetCallerIdentity only. */
export class SdkSts implements StsPort {
  private readonly client: StsClient;

  constructor(private readonly ctx: SdkContext) {
    this.client = new stsSdk.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, 'sts')));
  }

  async callerIdentity(): Promise<CallerIdentity> {
    const r = await call(this.ctx, 'sts', 'GetCallerIdentity', () => this.client.getCallerIdentity());
    const b = r.body;
    return { accountId: b?.accountId ?? '', userId: b?.userId ?? '', arn: b?.arn ?? '', principalId: b?.principalId ?? '', identityType: b?.identityType ?? '' };
  }
}
