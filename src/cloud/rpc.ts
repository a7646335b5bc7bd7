import openapiCore from '@alicloud/openapi-core';
import dara from '@darabonba/typescript';
import type { Service } from './config.js';
import { call, configFields, type SdkContext } from './sdk.js';

/**
 * RPC calls through the official OpenAPI core (signing, credentials, errors) — the same path the generated VPC and
 * ECS SDKs take. vnode needs three read calls of those services, and their SDK packages cost ~0.5 s each to import.
 */
export class RpcClient {
  private readonly client: InstanceType<typeof openapiCore.default>;

  constructor(private readonly ctx: SdkContext, private readonly service: Service, private readonly version: string) {
    this.client = new openapiCore.default(new openapiCore.$OpenApiUtil.Config(configFields(ctx, service)));
  }

  async call<T>(action: string, query: Record<string, string | number | undefined>): Promise<T> {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = String(v);
    const params = new openapiCore.$OpenApiUtil.Params({
      action, version: this.version, protocol: this.ctx.config.protocol, pathname: '/', method: 'POST', authType: 'AK', style: 'RPC',
      reqBodyType: 'formData', bodyType: 'json',
    });
    const res = await call(this.ctx, this.service, action, () =>
      this.client.callApi(params, new openapiCore.$OpenApiUtil.OpenApiRequest({ query: q }), new dara.RuntimeOptions({})));
    return (res as { body: T }).body;
  }
}
