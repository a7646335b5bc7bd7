import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import eciSdk from '@alicloud/eci20180808';
import ramSdk from '@alicloud/ram20150501';
import openapiClient from '@alicloud/openapi-client';
import openapiCore from '@alicloud/openapi-core';
import { connectCloud } from '../../src/cloud/index.js';
import { RETRY_AFTER_MS, startCloudEmulator, type CloudEmulator } from '../../src/sandbox/cloud/server.js';

const signal = new AbortController().signal;

/** A loopback proxy that can rewrite or replay what the SDK sends. */
async function proxy(target: number, rewrite: (url: string) => string, replay: { last?: { url: string; headers: Record<string, unknown> } }): Promise<Server & { port: number }> {
  const srv = createServer((req, res) => {
    const url = rewrite(req.url ?? '/');
    replay.last = { url, headers: { ...req.headers } };
    const up = request({ host: '127.0.0.1', port: target, method: req.method, path: url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return Object.assign(srv, { port: (srv.address() as AddressInfo).port });
}

function ramClient(endpoint: string, id: string, secret: string, extra: Record<string, unknown> = {}) {
  return new ramSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: id, accessKeySecret: secret, endpoint, protocol: 'HTTP', readTimeout: 5000, connectTimeout: 5000, ...extra }));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'OK'; } catch (e) { return String((e as { code?: string }).code); }
}

describe('cloud emulator contract (official SDKs over HTTP)', () => {
  let emu: CloudEmulator;
  let id: string;
  let secret: string;
  before(async () => {
    emu = await startCloudEmulator();
    ({ id, secret } = emu.state.operatorKey);
  });
  after(async () => { await emu?.stop(); });

  it('a correctly signed V3 call passes, in both SDK generations', async () => {
    const r = await ramClient(emu.endpoint, id, secret).createUser(new ramSdk.CreateUserRequest({ userName: 'contract-user', displayName: 'c' }));
    assert.equal(r.body?.user?.userName, 'contract-user');
    const eci = new eciSdk.default(new openapiClient.Config({ accessKeyId: id, accessKeySecret: secret, endpoint: emu.endpoint, protocol: 'HTTP' }));
    const d = await eci.describeVirtualNodes(new eciSdk.DescribeVirtualNodesRequest({ regionId: 'cn-hangzhou' }));
    assert.equal(d.body?.totalCount, 0);
  });

  it('RPC v1 (HMAC-SHA1) signatures are verified too', async () => {
    const seen: { last?: { url: string; headers: Record<string, unknown> } } = {};
    const p = await proxy(emu.port, (u) => u, seen);
    try {
      const r = await ramClient(`127.0.0.1:${p.port}`, id, secret, { signatureAlgorithm: 'v2' }).getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }));
      assert.equal(r.body?.user?.userName, 'contract-user');
      assert.equal(seen.last?.headers.authorization, undefined);
      assert.match(seen.last?.url ?? '', /SignatureMethod=HMAC-SHA1/);
    } finally { p.close(); }
    assert.equal(await codeOf(ramClient(emu.endpoint, id, 'wrong-secret', { signatureAlgorithm: 'v2' }).getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }))), 'SignatureDoesNotMatch');
  });

  it('the real codes and limits: unknown vSwitch/security group 404, VPC mismatch, policy length, custom policies per user', async () => {
    const eci = new eciSdk.default(new openapiClient.Config({ accessKeyId: id, accessKeySecret: secret, endpoint: emu.endpoint, protocol: 'HTTP' }));
    const create = (vsw: string, sg: string): Promise<unknown> => eci.createVirtualNode(new eciSdk.CreateVirtualNodeRequest({ regionId: 'cn-hangzhou', vSwitchId: vsw, securityGroupId: sg }));
    const statusOf = async (p: Promise<unknown>): Promise<string> => { try { await p; return 'ok'; } catch (e) { return `${(e as { statusCode?: number; data?: { statusCode?: number } }).data?.statusCode} ${(e as { code: string }).code}`; } };
    assert.equal(await statusOf(create('vsw-bp1nosuch0000000000', 'sg-bp1sandboxkubelet0001')), '404 InvalidVSwitchId.NotFound');
    assert.equal(await statusOf(create('vsw-bp1sandboxzoneh00001', 'sg-bp1nosuch00000000000')), '404 InvalidSecurityGroupId.NotFound');
    assert.equal(await statusOf(create('vsw-bp1sandboxzoneh00001', 'sg-bp1othervpc0000000001')), '400 InvalidParameter.Mismatch');

    const ram = ramClient(emu.endpoint, id, secret);
    const doc = (pad: number): string => JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['eci:DescribeContainerGroups'], Resource: '*', Condition: { StringEquals: { 'acs:SourceIp': 'x'.repeat(pad) } } }] });
    const base = doc(0).length;
    assert.equal(await codeOf(ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: 'too-long', policyDocument: doc(6145 - base) }))), 'InvalidParameter.PolicyDocument.Length');
    await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: 'just-fits', policyDocument: doc(6144 - base) }));
    await ram.createUser(new ramSdk.CreateUserRequest({ userName: 'limits-user' }));
    for (let i = 0; i < 10; i++) {
      await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: `custom-${i}`, policyDocument: doc(0) }));
      await ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: 'limits-user', policyName: `custom-${i}`, policyType: 'Custom' }));
    }
    assert.equal(await codeOf(ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: 'limits-user', policyName: 'just-fits', policyType: 'Custom' }))), 'LimitExceeded.User.Policy');
    // the system-policy limit is separate
    await ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: 'limits-user', policyName: 'AliyunECIReadOnlyAccess', policyType: 'System' }));
  });

  it('deleting what is already gone: vnode takes both answers ECI might give (NotFound, or success)', async () => {
    for (const goneDeletes of ['not-found', 'success'] as const) {
      const e2 = await startCloudEmulator({ goneDeletes });
      try {
        const cloud = connectCloud({ profile: undefined, region: undefined }, { env: e2.env(), signal, log: () => {} });
        const vnd = await cloud.eci.createVirtualNode({
          name: 'gone', vSwitchIds: ['vsw-bp1sandboxzoneh00001'], securityGroupId: 'sg-bp1sandboxkubelet0001', kubeConfig: '', tlsBootstrapEnabled: false, tags: [], taints: [], clientToken: 'gone-1',
        });
        assert.equal(await cloud.eci.deleteVirtualNode(vnd, 'del-1'), true);
        // a second request (another token, as after a lost answer and a new run): both answers mean "gone"
        assert.equal(typeof await cloud.eci.deleteVirtualNode(vnd, 'del-2'), 'boolean', goneDeletes);
        assert.equal(typeof await cloud.eci.deleteContainerGroup('eci-gone00000000000001', 'del-3'), 'boolean', goneDeletes);
        assert.deepEqual(await cloud.eci.describeVirtualNodes({ ids: [vnd] }), [], 'listed as Cleaned, which is gone');
      } finally {
        await e2.stop();
      }
    }
  });

  it('a wrong secret, an unknown key and a changed query fail with the real codes', async () => {
    assert.equal(await codeOf(ramClient(emu.endpoint, id, 'not-the-secret').getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }))), 'SignatureDoesNotMatch');
    assert.equal(await codeOf(ramClient(emu.endpoint, 'LTAI5tNoSuchKey000000000', secret).getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }))), 'InvalidAccessKeyId.NotFound');
    const p = await proxy(emu.port, (u) => u.replace('UserName=contract-user', 'UserName=someone-else'), {});
    try {
      assert.equal(await codeOf(ramClient(`127.0.0.1:${p.port}`, id, secret).getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }))), 'SignatureDoesNotMatch');
    } finally { p.close(); }
  });

  it('a date 16 minutes off is expired; a reused nonce is refused', async () => {
    const skewed = await startCloudEmulator({ now: () => Date.now() + 16 * 60_000 });
    const k = skewed.state.operatorKey;
    try {
      assert.equal(await codeOf(ramClient(skewed.endpoint, k.id, k.secret).listPoliciesForUser(new ramSdk.ListPoliciesForUserRequest({ userName: 'x' }))), 'InvalidTimeStamp.Expired');
    } finally { await skewed.stop(); }

    const seen: { last?: { url: string; headers: Record<string, unknown> } } = {};
    const p = await proxy(emu.port, (u) => u, seen);
    try {
      await ramClient(`127.0.0.1:${p.port}`, id, secret).getUser(new ramSdk.GetUserRequest({ userName: 'contract-user' }));
      const replayed = await new Promise<{ status: number; body: { Code: string } }>((resolve) => {
        const req = request({ host: '127.0.0.1', port: emu.port, method: 'POST', path: seen.last!.url, headers: seen.last!.headers as Record<string, string> }, (r) => {
          let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(b) as { Code: string } }));
        });
        req.end();
      });
      assert.equal(replayed.status, 400);
      assert.equal(replayed.body.Code, 'SignatureNonceUsed');
    } finally { p.close(); }
  });

  it('error bodies parse in both SDKs: code, status, RequestId', async () => {
    try {
      await ramClient(emu.endpoint, id, secret).getUser(new ramSdk.GetUserRequest({ userName: 'nobody' }));
      assert.fail('expected an error');
    } catch (e) {
      const err = e as { code: string; statusCode: number; requestId?: string; data?: { RequestId?: string; Recommend?: string } };
      assert.equal(err.code, 'EntityNotExist.User');
      assert.equal(err.statusCode, 404);
      assert.match(err.data?.RequestId ?? err.requestId ?? '', /^[0-9A-F-]{36}$/);
      assert.match(err.data?.Recommend ?? '', /^https:\/\//);
    }
    const eci = new eciSdk.default(new openapiClient.Config({ accessKeyId: id, accessKeySecret: secret, endpoint: emu.endpoint, protocol: 'HTTP' }));
    try {
      await eci.describeVirtualNodes(new eciSdk.DescribeVirtualNodesRequest({ regionId: 'cn-hangzhou', limit: 50 }));
      assert.fail('expected an error');
    } catch (e) {
      const err = e as { code: string; statusCode: number; data?: { RequestId?: string } };
      assert.equal(err.code, 'InvalidParameter.Limit');
      assert.equal(err.statusCode, 400);
      assert.ok(err.data?.RequestId);
    }
  });

  it('the cloud port maps errors to typed errors and retries throttling with the same ClientToken', async () => {
    // rates where 8 failed attempts in a row (the retry budget) are rarer than 1 in 10^4 per call: the test must not flake
    const flaky = await startCloudEmulator({ faults: new Map([['*', { throttle: 0.25, http500: 0.02, http503: 0.02, reset: 0.02, lost: 0, latencyMs: 0 }]]) });
    try {
      const logs: string[] = [];
      const cloud = connectCloud({ profile: undefined, region: undefined }, { env: flaky.env(), signal, log: (m) => logs.push(m) });
      const tokens = new Set<string>();
      // at least 5 calls, and more until a retry has happened (randomness must not decide the test)
      for (let i = 0; i < 5 || (!logs.some((l) => /\(Throttling[^)]*\); retrying in \d+ ms/.test(l)) && i < 50); i++) {
        const vnd = await cloud.eci.createVirtualNode({
          name: 'contract-vn', vSwitchIds: ['vsw-bp1sandboxzoneh00001'], securityGroupId: 'sg-bp1sandboxkubelet0001', kubeConfig: '', tlsBootstrapEnabled: false,
          tags: [], taints: [], clientToken: 'contract-token-1',
        });
        tokens.add(vnd);
      }
      assert.equal(tokens.size, 1, 'same ClientToken, same VirtualNodeId');
      assert.equal(flaky.state.data.virtualNodes.length, 1);
      assert.ok(logs.some((l) => /retrying in \d+ ms/.test(l)), 'some calls were retried');
      // the ECI client (openapi-client 0.4) loses the header from its error; vnode still waits what the server asked
      const throttled = logs.map((l) => /\(Throttling[^)]*\); retrying in (\d+) ms/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]));
      assert.ok(throttled.length > 0, 'a throttled call was retried');
      assert.ok(throttled.every((ms) => ms >= RETRY_AFTER_MS), `x-acs-retry-after (${RETRY_AFTER_MS} ms) is the floor: ${throttled.join(', ')}`);
      await assert.rejects(cloud.eci.createVirtualNode({
        name: 'other-name', vSwitchIds: ['vsw-bp1sandboxzoneh00001'], securityGroupId: 'sg-bp1sandboxkubelet0001', kubeConfig: '', tlsBootstrapEnabled: false,
        tags: [], taints: [], clientToken: 'contract-token-1',
      }), /IdempotentParameterMismatch/);
      await assert.rejects(cloud.eci.createVirtualNode({
        name: 'x', vSwitchIds: ['vsw-bp1sandboxzoneh00001', 'vsw-bp1othervpczoneh0001'], securityGroupId: 'sg-bp1sandboxkubelet0001', kubeConfig: '', tlsBootstrapEnabled: false,
        tags: [], taints: [], clientToken: 'contract-token-2',
      }), /InvalidParameter\.VSwitchId.*one VPC/);
    } finally { await flaky.stop(); }
  });

  it('ClientTokens are remembered for the idempotency window, then forgotten; a lost answer is recovered with the same token', async () => {
    const emu2 = await startCloudEmulator({ idempotencyWindowMs: 3600_000 });
    // the records age (the clock itself must stay true: signatures are checked against it)
    const age = (ms: number): void => { for (const r of emu2.state.data.idempotency) r.at! -= ms; };
    try {
      const cloud = connectCloud({ profile: undefined, region: undefined }, { env: emu2.env(), signal, log: () => {} });
      const input = { name: 'window-vn', vSwitchIds: ['vsw-bp1sandboxzoneh00001'], securityGroupId: 'sg-bp1sandboxkubelet0001', kubeConfig: '', tlsBootstrapEnabled: false, tags: [], taints: [], clientToken: 'window-token' };
      const first = await cloud.eci.createVirtualNode(input);
      age(3598_000);
      assert.equal(await cloud.eci.createVirtualNode(input), first, 'within the window: the same answer');
      age(3000);
      const later = await cloud.eci.createVirtualNode(input);
      assert.notEqual(later, first, 'after the window: a new request');
      assert.equal(emu2.state.data.virtualNodes.length, 2);
      // the answer is lost after the node was created: the retry (same token) gets the same id, no second node
      emu2.faults.set('CreateVirtualNode', { throttle: 0, http500: 0, http503: 0, reset: 0, lost: 1, latencyMs: 0 });
      const lostOnce = new Promise<void>((resolve) => {
        const poll = setInterval(() => { if (emu2.stats.get('CreateVirtualNode lost')) { emu2.faults.clear(); clearInterval(poll); resolve(); } }, 1);
      });
      const id = await cloud.eci.createVirtualNode({ ...input, clientToken: 'lost-token' });
      await lostOnce;
      assert.equal(emu2.state.data.virtualNodes.length, 3);
      assert.equal(emu2.state.data.virtualNodes.at(-1)!.id, id);
    } finally { await emu2.stop(); }
  });

  it('a network failure reads cleanly (no run-together "1POST") and names no signed query', async () => {
    const cloud = connectCloud({ profile: undefined, region: undefined }, {
      env: { ...emu.env(), VNODE_ENDPOINT_ECI: '127.0.0.1:1' }, signal, log: () => {},
    });
    const err = await cloud.eci.describeVirtualNodes({}).then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err);
    assert.match(err.message, /connect ECONNREFUSED 127\.0\.0\.1:1 \((GET|POST) http:\/\/127\.0\.0\.1:1\/\)/);
    assert.doesNotMatch(err.message, /Signature|AccessKeyId/);
  });

  it('once the run is over, a call whose attempt is still in flight fails without another "retrying" line', async () => {
    const slow = await startCloudEmulator({ faults: new Map([['DescribeVirtualNodes', { throttle: 0, http500: 0, http503: 1, reset: 0, lost: 0, latencyMs: 400 }]]) });
    try {
      const run = new AbortController();
      const logs: string[] = [];
      const cloud = connectCloud({ profile: undefined, region: undefined }, { env: slow.env(), signal: run.signal, log: (m) => logs.push(m) });
      const pending = cloud.eci.describeVirtualNodes({}).then(() => 'ok', (e: { code?: string }) => e.code);
      setTimeout(() => run.abort(), 100);
      assert.equal(await pending, 'ServiceUnavailable', 'the last failure is the answer');
      assert.deepEqual(logs.filter((l) => /retrying in/.test(l)), []);
      assert.equal(slow.stats.get('DescribeVirtualNodes ServiceUnavailable'), 1, 'no further attempt');
    } finally { await slow.stop(); }
  });
});
