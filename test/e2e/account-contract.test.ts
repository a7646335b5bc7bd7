import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import csSdk from '@alicloud/cs20151215';
import openapiCore from '@alicloud/openapi-core';
import { deniedAction } from '../../src/cloud/errors.js';
import { connectCloud } from '../../src/cloud/index.js';
import type { CloudPorts } from '../../src/cloud/port.js';
import { startCloudEmulator, type CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { ACK_SERVICE_ROLES, ECI_VNODE_ROLE } from '../../src/sandbox/cloud/state.js';

const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const code = (c: string) => (e: unknown): boolean => (e as { code?: string }).code === c;

/** What a new account refuses, as the official SDKs see it over HTTP (vnode's ports and the raw CS SDK). */
describe('the emulator as a new account (official SDKs against it)', () => {
  let emu: CloudEmulator;
  let cloud: CloudPorts;
  before(async () => {
    emu = await startCloudEmulator({ account: 'new', csHooks: { agentConnected: () => true } });
    cloud = connectCloud({ profile: undefined, region: undefined }, { env: emu.env(), signal: new AbortController().signal, log: () => {} });
  });
  after(async () => { await emu?.stop(); });

  it('ECI and ACK refuse as not activated (CreateCluster: ErrorNotEnabled); OpenAckService is refused on a zero balance, then activates ACK once; before its default role exists every call is 404 EntityNotExist.Role', async () => {
    await assert.rejects(cloud.eci.describeVirtualNodes({}), code('ServiceNotEnabled'));
    await assert.rejects(cloud.cs.findClusters('x'), code('ServiceNotEnabled'));
    await assert.rejects(cloud.cs.createCluster({ name: 'c0', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [VSW], tags: [], endpointPublicAccess: true }), code('ErrorNotEnabled'));
    assert.deepEqual((await cloud.cs.checkServiceRoles(ACK_SERVICE_ROLES)).map((r) => `${r.name} ${r.granted} ${r.message}`),
      ACK_SERVICE_ROLES.map((r) => `${r} false The role does not exist: ${r}`));
    emu.state.data.account!.zeroBalance = true;
    await assert.rejects(cloud.cs.openAckService(), code('RISK.RISK_CONTROL_REJECTION'));
    delete emu.state.data.account!.zeroBalance;
    // documented: type is optional
    const k = emu.state.operatorKey;
    const raw = new csSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    const opened = await raw.openAckService(new csSdk.OpenAckServiceRequest({}));
    assert.ok(opened.body?.orderId);
    await assert.rejects(cloud.cs.openAckService(), code('ORDER.OPEND'));
    // reads too, with the documented status and message
    const e = await cloud.cs.findClusters('x').catch((x: unknown) => x) as Error & { code?: string; details?: { status?: number } };
    assert.equal(e.code, 'EntityNotExist.Role');
    assert.equal(e.details?.status, 404);
    assert.match(e.message, /The role not exists: acs:ram::\d+:role\/aliyuncsdefaultrole\./);
  });

  it('CreateCluster without ACK\'s roles names the first missing one; InstallClusterAddons without a version is refused', async () => {
    await assert.rejects(cloud.cs.createCluster({ name: 'c1', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [VSW], tags: [], endpointPublicAccess: true }),
      (e: Error & { code?: string }) => e.code === 'EntityNotExist.Role' && /role\/aliyuncsdefaultrole/.test(e.message));
    emu.state.data.account!.roles.push(...ACK_SERVICE_ROLES.map((name) => ({ name, id: '3', createDate: '', description: '' })));
    const { clusterId } = await cloud.cs.createCluster({ name: 'c1', vpcId: 'vpc-bp1sandbox0000000001', vSwitchIds: [VSW], tags: [], endpointPublicAccess: true });
    emu.state.data.clusters!.find((c) => c.id === clusterId)!.state = 'running';
    const k = emu.state.operatorKey;
    const cs = new csSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    await assert.rejects(cs.installClusterAddons(clusterId, new csSdk.InstallClusterAddonsRequest({ body: [new csSdk.InstallClusterAddonsRequestBody({ name: 'ack-virtual-node' })] })),
      (e: Error & { code?: string }) => e.code === 'InvalidParameter' && /version of ack-virtual-node is required/.test(e.message));
  });

  it('the first CreateVirtualNode creates the service-linked role; a caller without ram:CreateServiceLinkedRole is denied, also as HTTP 400', async () => {
    emu.state.data.account!.services.eci = true;
    assert.equal(await cloud.ram.roleExists(ECI_VNODE_ROLE.name), false);
    assert.equal(await cloud.rm.createServiceLinkedRole(ECI_VNODE_ROLE.serviceName), 'created');
    assert.equal(await cloud.ram.roleExists(ECI_VNODE_ROLE.name), true);
    assert.equal(await cloud.rm.createServiceLinkedRole(ECI_VNODE_ROLE.serviceName), 'exists');
    emu.state.data.account!.roles = emu.state.data.account!.roles.filter((r) => r.name !== ECI_VNODE_ROLE.name);
    // a RAM user with every ECI action (a custom policy) but not ram:CreateServiceLinkedRole
    await cloud.ram.ensureUser('eci-only', 'x', 'y');
    await cloud.ram.createPolicy('eci-only', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'eci:*', Resource: '*' }] }), 'test');
    await cloud.ram.attachPolicyToUser('eci-only', { name: 'eci-only', type: 'Custom' });
    const key = await cloud.ram.createAccessKey('eci-only');
    emu.state.data.deniedStatus = 400;
    const user = connectCloud({ profile: undefined, region: undefined, accessKey: key }, { env: emu.env(), signal: new AbortController().signal, log: () => {} });
    const denied = await user.eci.createVirtualNode({ name: 'slr-first', vSwitchIds: [VSW], securityGroupId: SG, kubeConfig: '', tlsBootstrapEnabled: false, tags: [], taints: [], clientToken: 't1' }).catch((e: unknown) => e);
    assert.equal(deniedAction(denied), 'ram:CreateServiceLinkedRole', String(denied));
    assert.equal((denied as { details?: { status?: number } }).details?.status, 400);
    await assert.rejects(user.rm.createServiceLinkedRole(ECI_VNODE_ROLE.serviceName), (e: unknown) => deniedAction(e) === 'ram:CreateServiceLinkedRole');
    delete emu.state.data.deniedStatus;
    // the system policy AliyunECIFullAccess as documented: ram:CreateServiceLinkedRole for ECI's service names only
    await cloud.ram.ensureUser('eci-full', 'x', 'y');
    await cloud.ram.attachPolicyToUser('eci-full', { name: 'AliyunECIFullAccess', type: 'System' });
    const full = connectCloud({ profile: undefined, region: undefined, accessKey: await cloud.ram.createAccessKey('eci-full') }, { env: emu.env(), signal: new AbortController().signal, log: () => {} });
    await assert.rejects(full.rm.createServiceLinkedRole('cs.aliyuncs.com'), (e: unknown) => deniedAction(e) === 'ram:CreateServiceLinkedRole', 'another service\'s role: the condition does not hold');
    assert.equal(await full.rm.createServiceLinkedRole(ECI_VNODE_ROLE.serviceName), 'created');
    assert.ok(await full.vpc.describeVSwitches({ vSwitchId: VSW }).then(() => true), 'its documented VPC read');
    emu.state.data.account!.roles = emu.state.data.account!.roles.filter((r) => r.name !== ECI_VNODE_ROLE.name);
  });

  it('DeleteVirtualNode is refused while an instance of the node exists, and goes once it has ended', async () => {
    const id = await cloud.eci.createVirtualNode({ name: 'del', vSwitchIds: [VSW], securityGroupId: SG, kubeConfig: '', tlsBootstrapEnabled: false, tags: [], taints: [], clientToken: 't2' });
    emu.state.data.containerGroups.push({
      id: 'eci-onnode000000000001', name: 'p', status: 'Running', regionId: 'cn-hangzhou', zoneId: 'cn-hangzhou-h', vSwitchId: VSW, securityGroupId: SG,
      tags: [], creationTime: '', intranetIp: '192.168.0.9', cpu: 2, memory: 4, virtualNodeId: id,
    });
    await assert.rejects(cloud.eci.deleteVirtualNode(id, 'd1'), (e: Error & { code?: string }) => e.code === 'IncorrectStatus' && /eci-onnode000000000001/.test(e.message));
    emu.state.data.containerGroups[emu.state.data.containerGroups.length - 1]!.status = 'Succeeded';
    assert.equal(await cloud.eci.deleteVirtualNode(id, 'd1'), true);
  });
});
