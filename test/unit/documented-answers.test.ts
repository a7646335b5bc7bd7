import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import csSdk from '@alicloud/cs20151215';
import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import openapiCore from '@alicloud/openapi-core';
import { missingRoleOf, NOT_ACTIVATED_CODES } from '../../src/assumptions.js';
import { EciClient, withFields } from '../../src/cloud/eci.js';
import { connectCloud } from '../../src/cloud/index.js';
import type { CloudPorts } from '../../src/cloud/port.js';
import { startCloudEmulator, type CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { DOCUMENTED, DOCUMENTED_ENUMS } from '../fixtures/documented-answers.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${what}: ${a} != ${b}`);

/**
 * vnode's cloud layer fed Alibaba's documented example answers through the official SDKs (a replay server on
 * 127.0.0.1 answers each action with its documented body), and the emulator held to the documented enums and units.
 */
describe('documented answers: vnode reads them as the page means them', () => {
  let server: Server;
  let cloud: CloudPorts;
  /** Which documented answer each action gets (a refusal: `<Action>!<Code>`). */
  const plan = new Map<string, string>();
  const seen: { action: string; query: Record<string, string> }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const action = String(req.headers['x-acs-action'] ?? url.searchParams.get('Action') ?? '');
      req.resume();
      req.on('end', () => {
        seen.push({ action, query: Object.fromEntries(url.searchParams) });
        const fixture = DOCUMENTED[plan.get(action) ?? action];
        const text = JSON.stringify(fixture?.body ?? { code: 'InvalidAction.NotFound', message: `no documented answer for ${action}` });
        res.writeHead(fixture ? fixture.status ?? 200 : 404, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    cloud = connectCloud({ profile: undefined, region: undefined }, {
      env: {
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tDocumentedAnswers', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'replay', ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou', ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
        VNODE_ENDPOINT_ECI: endpoint, VNODE_ENDPOINT_CS: endpoint, VNODE_ENDPOINT_PROTOCOL: 'http',
      },
      signal: new AbortController().signal, log: () => {},
    });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('DescribeContainerGroupPrice: TradePrice 0.00012252 per second; SpotPrice 0.056 per hour, so 0.056 / 3600 per second', async () => {
    const p = await cloud.eci.describePrice({ cpu: 2, memory: 4, instanceType: 'ecs.c5.large', zoneId: 'cn-hangzhou-i', spotStrategy: 'SpotAsPriceGo' });
    close(p.perSecond, 0.00012252, 'TradePrice per second');
    close(p.spotPerHour!, 0.056, 'SpotPrice per hour');
    close(p.spotPerSecond!, 0.056 / 3600, 'SpotPrice per second');
    assert.equal(p.currency, 'CNY');
    assert.equal(seen.at(-1)!.query.SpotStrategy, 'SpotAsPriceGo');
    assert.equal(seen.at(-1)!.query.ComputeCategory, undefined);
    // economy is asked for as ComputeCategory=economy (documented; not in the SDK's model), spot never with it
    await cloud.eci.describePrice({ cpu: 2, memory: 4, computeCategory: 'economy' });
    assert.equal(seen.at(-1)!.query.ComputeCategory, 'economy');
    assert.equal(seen.at(-1)!.query.Cpu, '2');
  });

  it('DescribeContainerGroups: the fields priced, ComputeCategory read beside the SDK\'s model', async () => {
    const [g] = await cloud.eci.describeContainerGroups({ ids: ['eci-uf6fonnghi50u374****'] });
    assert.deepEqual([g!.id, g!.status, g!.cpu, g!.memory, g!.spotStrategy, g!.computeCategory], ['eci-uf6fonnghi50u374****', 'Running', 2, 4, 'NoSpot', 'economy']);
  });

  it('ListAddons/DescribeAddon: capitalised supported_actions make the add-on upgradable; newer_versions are offered', async () => {
    const u = await cloud.cs.addonUpgrades('c78592bfe92244365b3c3ad47f1de****', 'ack-virtual-node', 'v2.13.1');
    assert.deepEqual(u, { newest: 'v2.14.0', newer: ['v2.14.0'], upgradable: true });
  });

  it('DescribeTaskInfo: a failed task is read as failed, with its error', async () => {
    const t = await cloud.cs.describeTask('T-5faa48fb31b6b8078d000006');
    assert.deepEqual([t.state, t.error?.code], ['failed', 'AddonTaskFailed']);
    assert.ok(DOCUMENTED_ENUMS.taskStates.includes(t.state));
  });

  it('refusals: EntityNotExist.Role (404, reads included) names the missing role; ErrorNotEnabled is ACK not activated; OpenAckService\'s own code comes through', async () => {
    plan.set('DescribeClustersForRegion', 'DescribeClustersForRegion!EntityNotExist.Role');
    const e = await cloud.cs.findClusters('x').catch((x: unknown) => x) as Error & { code?: string; details?: { status?: number } };
    assert.equal(e.code, 'EntityNotExist.Role');
    assert.equal(e.details?.status, 404);
    assert.equal(missingRoleOf(e.message), 'AliyunCSDefaultRole');
    plan.set('CreateCluster', 'CreateCluster!ErrorNotEnabled');
    const n = await cloud.cs.createCluster({ name: 'c', vpcId: 'vpc-1', vSwitchIds: [], tags: [], endpointPublicAccess: false }).catch((x: unknown) => x) as Error & { code?: string };
    assert.ok(NOT_ACTIVATED_CODES.includes(n.code!), String(n.code));
    plan.set('OpenAckService', 'OpenAckService!RISK.RISK_CONTROL_REJECTION');
    const r = await cloud.cs.openAckService().catch((x: unknown) => x) as Error & { code?: string };
    assert.equal(r.code, 'RISK.RISK_CONTROL_REJECTION');
    plan.clear();
  });
});

/** The emulator answers with the enums, units and status codes the SDK models and pages document. */
describe('documented answers: the emulator plays them', () => {
  let emu: CloudEmulator;
  let eci: InstanceType<typeof eciSdk.default>;
  let cs: InstanceType<typeof csSdk.default>;
  let failNext = false;

  before(async () => {
    emu = await startCloudEmulator({ csHooks: { agentConnected: () => true, installAddon: async () => { if (failNext) throw new Error('the manifest did not apply'); } } });
    const k = emu.state.operatorKey;
    eci = new eciSdk.default(new openapiClient.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    cs = new csSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
  });
  after(async () => { await emu?.stop(); });

  it('DescribeContainerGroupPrice: TradePrice per second at ECI\'s price list; SpotPrice and OriginPrice per hour (OriginPrice = TradePrice x 3600)', async () => {
    const r = (await eci.describeContainerGroupPrice(new eciSdk.DescribeContainerGroupPriceRequest({ regionId: 'cn-hangzhou', cpu: 2, memory: 4, zoneId: 'cn-hangzhou-h', spotStrategy: 'SpotAsPriceGo' }))).body!.priceInfo!;
    const { vcpu, gib } = DOCUMENTED_ENUMS.perSecond;
    close(r.price!.tradePrice!, 2 * vcpu + 4 * gib, 'TradePrice: the documented example\'s 0.00012252 per second');
    const spot = r.spotPrices!.spotPrice![0]!;
    assert.ok(Math.abs(spot.originPrice! - r.price!.tradePrice! * 3600) < 0.001, `OriginPrice ${spot.originPrice} is per hour`);
    assert.ok(spot.spotPrice! < spot.originPrice! && spot.spotPrice! > r.price!.tradePrice! * 60, `SpotPrice ${spot.spotPrice} is per hour`);
    // the documented example's ratio: an hourly spot price is far above any per-second price
    const doc = DOCUMENTED.DescribeContainerGroupPrice!.body as { PriceInfo: { SpotPrices: { SpotPrice: { SpotPrice: number }[] }; Price: { TradePrice: number } } };
    assert.ok(doc.PriceInfo.SpotPrices.SpotPrice[0]!.SpotPrice / doc.PriceInfo.Price.TradePrice > 100);
  });

  it('economy: priced at the documented economy vCPU price; refused with a spot strategy (FeatureBasedConstraintConflict)', async () => {
    const k = emu.state.operatorKey;
    // the SDK's own client with the documented field its model lacks (src/cloud/eci.ts)
    const withCategory = new EciClient(new openapiClient.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    const { body } = await withFields({ ComputeCategory: 'economy' }, () => withCategory.describeContainerGroupPrice(new eciSdk.DescribeContainerGroupPriceRequest({ regionId: 'cn-hangzhou', cpu: 2, memory: 4 })));
    const { economyVcpu, gib } = DOCUMENTED_ENUMS.perSecond;
    close((body!.PriceInfo as { Price: { TradePrice: number } }).Price.TradePrice, 2 * economyVcpu + 4 * gib, 'economy TradePrice');
    await assert.rejects(withFields({ ComputeCategory: 'economy' }, () => withCategory.describeContainerGroupPrice(new eciSdk.DescribeContainerGroupPriceRequest({ regionId: 'cn-hangzhou', cpu: 2, memory: 4, spotStrategy: 'SpotAsPriceGo' }))),
      (e: { code?: string }) => e.code === 'FeatureBasedConstraintConflict');
  });

  it('ListAddons: supported_actions within the documented values; DescribeTaskInfo: a failed task is `failed`; OpenAckService without type', async () => {
    const id = emu.state.data.accountId;
    assert.ok(id);
    const { body: created } = await cs.createCluster(new csSdk.CreateClusterRequest({ name: 'doc', regionId: 'cn-hangzhou', clusterType: 'ExternalKubernetes', vpcid: 'vpc-bp1sandbox0000000001', vswitchIds: ['vsw-bp1sandboxzoneh00001'] }));
    emu.state.data.clusters!.find((c) => c.id === created!.clusterId)!.state = 'running';
    const addons = (await cs.listAddons(new csSdk.ListAddonsRequest({ clusterId: created!.clusterId }))).body!.addons!;
    for (const a of addons) for (const s of a.supportedActions ?? []) assert.ok(DOCUMENTED_ENUMS.supportedActions.includes(s), `${a.name}: ${s}`);
    failNext = true;
    const { body: task } = await cs.installClusterAddons(created!.clusterId!, new csSdk.InstallClusterAddonsRequest({ body: [new csSdk.InstallClusterAddonsRequestBody({ name: 'ack-virtual-node', version: addons[0]!.version })] }));
    let state = 'running';
    for (let i = 0; i < 50 && state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = (await cs.describeTaskInfo(task!.taskId!)).body!.state!;
    }
    assert.equal(state, 'failed');
    assert.ok(DOCUMENTED_ENUMS.taskStates.includes(state));
    emu.state.data.account!.services.ack = false;
    const opened = await cs.openAckService(new csSdk.OpenAckServiceRequest({}));
    assert.ok(opened.body?.orderId && opened.body.requestId);
  });
});
