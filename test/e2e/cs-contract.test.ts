import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import csSdk from '@alicloud/cs20151215';
import openapiCore from '@alicloud/openapi-core';
import { parseAllDocuments } from 'yaml';
import { connectCloud } from '../../src/cloud/index.js';
import type { CloudPorts } from '../../src/cloud/port.js';
import { INITIAL_MS } from '../../src/sandbox/cloud/cs.js';
import { startCloudEmulator, type CloudEmulator } from '../../src/sandbox/cloud/server.js';

type Wire = { action: string; method: string; path: string; query: Record<string, string>; body: unknown };

/** The wire names a Tea model declares (names() maps field -> wire key). */
function wireNames(model: { names(): Record<string, string> }): string[] {
  return Object.values(model.names());
}

describe('Container Service wire contract (official @alicloud/cs20151215 against the emulator)', () => {
  let emu: CloudEmulator;
  let cloud: CloudPorts;
  const wire: Wire[] = [];
  let connected = false;
  const last = (action: string): Wire => {
    const w = [...wire].reverse().find((x) => x.action === action);
    assert.ok(w, `no ${action} request was seen`);
    return w;
  };
  before(async () => {
    emu = await startCloudEmulator({
      onWire: (w) => wire.push(w),
      csHooks: { agentConnected: () => connected, installAddon: async () => undefined, uninstallAddon: async () => undefined },
    });
    cloud = connectCloud({ profile: undefined, region: undefined }, { env: { ...emu.env(), ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true', HOME: '/nonexistent' }, signal: new AbortController().signal, log: () => undefined });
  });
  after(async () => { await emu?.stop(); });

  it('registers, finds, connects, installs and removes an add-on, deletes: each request as the SDK models say', async () => {
    const { clusterId, taskId } = await cloud.cs.createCluster({
      name: 'contract-1', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: ['vsw-bp1sandboxzoneh00001'], securityGroupId: 'sg-bp1sandboxkubelet0001', tags: [{ key: 'k', value: 'v' }], endpointPublicAccess: true,
    });
    assert.match(clusterId, /^c[0-9a-f]{32}$/);
    assert.match(taskId, /^T-/);
    const create = last('CreateCluster');
    assert.equal(create.method, 'POST');
    assert.equal(create.path, '/clusters');
    assert.deepEqual(create.body, {
      name: 'contract-1', region_id: 'cn-hangzhou', cluster_type: 'ExternalKubernetes', vpcid: 'vpc-bp1sandbox0000000001',
      vswitch_ids: ['vsw-bp1sandboxzoneh00001'], security_group_id: 'sg-bp1sandboxkubelet0001', tags: [{ key: 'k', value: 'v' }], endpoint_public_access: true,
    });
    for (const k of Object.keys(create.body as object)) assert.ok(wireNames(csSdk.CreateClusterRequest).includes(k), `CreateCluster body key ${k}`);

    // a fuzzy name filter: contract-10 must not pass for contract-1
    await cloud.cs.createCluster({ name: 'contract-10', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [], tags: [], endpointPublicAccess: false });
    // the documented name rule: letters, digits, Chinese characters and hyphens, not starting with a hyphen
    for (const bad of ['BAD_Name', '-lead', 'x'.repeat(64)]) {
      await assert.rejects(cloud.cs.createCluster({ name: bad, vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [], tags: [], endpointPublicAccess: false }), (e: { details?: { code?: string; status?: number } }) =>
        e.details?.code === 'InvalidParameter' && e.details.status === 400, bad);
    }
    await cloud.cs.createCluster({ name: '集群-1', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [], tags: [], endpointPublicAccess: false });
    const found = await cloud.cs.findClusters('contract-1');
    assert.deepEqual(found.map((c) => c.id), [clusterId]);
    const list = last('DescribeClustersForRegion');
    assert.equal(list.method, 'GET');
    assert.equal(list.path, '/regions/cn-hangzhou/clusters');
    assert.deepEqual(list.query, { cluster_type: 'ExternalKubernetes', name: 'contract-1', page_number: '1', page_size: '100' });
    assert.equal(list.body, undefined);

    const detail = await cloud.cs.describeCluster(clusterId);
    assert.equal(detail?.state, 'initial');
    assert.deepEqual([last('DescribeClusterDetail').method, last('DescribeClusterDetail').path], ['GET', `/clusters/${clusterId}`]);
    assert.equal(await cloud.cs.describeCluster('c0000000000000000000000000000000'), undefined, 'ErrorClusterNotFound reads as absent');
    assert.equal(detail?.publicEndpoint, true, 'master_url names api_server_endpoint with endpoint_public_access');
    const privateOnly = (await cloud.cs.createCluster({ name: 'contract-vpc', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [], tags: [], endpointPublicAccess: false })).clusterId;
    assert.equal((await cloud.cs.describeCluster(privateOnly))?.publicEndpoint, false);
    // a public agent of a registration without a public endpoint: refused; the VPC one is fine
    await assert.rejects(cloud.cs.describeExternalAgent(privateOnly, false), (e: { details?: { code?: string; status?: number } }) => e.details?.code === 'ErrorClusterEndpointNotPublic' && e.details.status === 400);
    assert.ok(await cloud.cs.describeExternalAgent(privateOnly, true));
    // a retired API answers as an unknown one
    emu.retired.add('DescribeExternalAgent');
    await assert.rejects(cloud.cs.describeExternalAgent(clusterId, true), (e: { details?: { code?: string; status?: number } }) => e.details?.code === 'InvalidAction.NotFound' && e.details.status === 404);
    emu.retired.clear();
    await cloud.cs.deleteCluster(privateOnly);

    const manifest = await cloud.cs.describeExternalAgent(clusterId, true);
    const agent = last('DescribeExternalAgent');
    assert.deepEqual([agent.method, agent.path, agent.query], ['GET', `/k8s/${clusterId}/external/agent/deployment`, { PrivateIpAddress: 'true' }]);
    const kinds = parseAllDocuments(manifest).map((d) => (d.toJS() as { kind: string }).kind);
    assert.ok(kinds.includes('Deployment') && kinds.includes('ServiceAccount'), kinds.join(','));

    // not running yet: install is refused with the service's error shape
    await assert.rejects(cloud.cs.installAddon(clusterId, { name: 'ack-virtual-node', version: 'v2.14.0' }), (e: { details?: { code?: string; status?: number } }) =>
      e.details?.code === 'ErrorClusterState' && e.details.status === 400);
    await new Promise((r) => setTimeout(r, INITIAL_MS));
    connected = true;
    assert.equal((await cloud.cs.describeCluster(clusterId))?.state, 'running');

    const version = await cloud.cs.describeAddon(clusterId, 'ack-virtual-node');
    assert.ok(version?.version);
    assert.deepEqual([last('ListAddons').method, last('ListAddons').path, last('ListAddons').query], ['GET', '/addons', { cluster_id: clusterId }]);
    assert.equal(await cloud.cs.getAddonInstance(clusterId, 'ack-virtual-node'), undefined, 'AddonNotFound reads as not installed');
    assert.deepEqual([last('GetClusterAddonInstance').method, last('GetClusterAddonInstance').path], ['GET', `/clusters/${clusterId}/addon_instances/ack-virtual-node`]);

    const install = await cloud.cs.installAddon(clusterId, version);
    const iw = last('InstallClusterAddons');
    assert.deepEqual([iw.method, iw.path], ['POST', `/clusters/${clusterId}/components/install`]);
    assert.deepEqual(iw.body, [{ name: 'ack-virtual-node', version: version.version }], 'a top-level JSON array');
    for (const k of Object.keys((iw.body as object[])[0]!)) assert.ok(wireNames(csSdk.InstallClusterAddonsRequestBody).includes(k));
    let task = await cloud.cs.describeTask(install);
    assert.deepEqual([last('DescribeTaskInfo').method, last('DescribeTaskInfo').path], ['GET', `/tasks/${install}`]);
    for (let i = 0; task.state === 'running' && i < 50; i++) { await new Promise((r) => setTimeout(r, 100)); task = await cloud.cs.describeTask(install); }
    assert.equal(task.state, 'success');
    assert.equal((await cloud.cs.getAddonInstance(clusterId, 'ack-virtual-node'))?.state, 'active');
    await assert.rejects(cloud.cs.installAddon(clusterId, version), (e: { details?: { code?: string } }) => e.details?.code === 'AddonAlreadyExist');

    const un = await cloud.cs.uninstallAddon(clusterId, 'ack-virtual-node');
    const uw = last('UnInstallClusterAddons');
    assert.deepEqual([uw.method, uw.path, uw.body], ['POST', `/clusters/${clusterId}/components/uninstall`, [{ name: 'ack-virtual-node' }]]);
    // deleting while the task runs (here it has little to do), then gone
    assert.ok(['deleting', undefined].includes((await cloud.cs.getAddonInstance(clusterId, 'ack-virtual-node'))?.state));
    for (let i = 0; (await cloud.cs.describeTask(un)).state === 'running' && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await cloud.cs.getAddonInstance(clusterId, 'ack-virtual-node'), undefined);

    assert.equal(await cloud.cs.deleteCluster(clusterId), true);
    const dw = last('DeleteCluster');
    assert.deepEqual([dw.method, dw.path], ['DELETE', `/clusters/${clusterId}`]);
    assert.equal((await cloud.cs.describeCluster(clusterId))?.state, 'deleting');
  });

  it('errors come as {code, message, requestId}; a bad signature is refused; a wrong route is not an API', async () => {
    const { id, secret } = emu.state.operatorKey;
    const client = (s: string) => new csSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: id, accessKeySecret: s, endpoint: emu.endpoint, protocol: 'HTTP', regionId: 'cn-hangzhou' }));
    const err = await client(secret).describeClusterDetail('cnope').then(() => undefined, (e: unknown) => e as { code?: string; statusCode?: number; data?: Record<string, unknown> });
    assert.equal(err?.code, 'ErrorClusterNotFound');
    assert.equal(err?.statusCode, 404);
    assert.deepEqual(Object.keys(err?.data ?? {}).sort(), ['code', 'message', 'requestId']);
    const bad = await client('x'.repeat(30)).describeClusterDetail('cnope').then(() => undefined, (e: unknown) => e as { code?: string });
    assert.equal(bad?.code, 'SignatureDoesNotMatch');
  });
});
