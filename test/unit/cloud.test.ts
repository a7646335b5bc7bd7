import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveCloudConfig } from '../../src/cloud/config.js';
import { cloudError, isRetryable } from '../../src/cloud/errors.js';
import { withRetry } from '../../src/cloud/retry.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import { isAllowed, parsePolicyDocument } from '../../src/sandbox/cloud/policies.js';
import { seedState } from '../../src/sandbox/cloud/state.js';

function home(profiles: unknown): string {
  const h = mkdtempSync(path.join(tmpdir(), 'vnode-home-'));
  mkdirSync(path.join(h, '.aliyun'));
  writeFileSync(path.join(h, '.aliyun', 'config.json'), JSON.stringify(profiles));
  return h;
}

describe('cloud configuration', () => {
  const h = home({ current: 'prod', profiles: [{ name: 'prod', mode: 'AK', region_id: 'cn-beijing' }, { name: 'dev', mode: 'AK', region_id: 'cn-shanghai' }] });

  it('region: --region, then ALIBABA_CLOUD_REGION_ID, then the profile', () => {
    assert.equal(resolveCloudConfig({ profile: undefined, region: 'cn-hangzhou' }, { HOME: h, ALIBABA_CLOUD_REGION_ID: 'cn-shenzhen' }).regionId, 'cn-hangzhou');
    assert.equal(resolveCloudConfig({ profile: undefined, region: undefined }, { HOME: h, ALIBABA_CLOUD_REGION_ID: 'cn-shenzhen' }).regionId, 'cn-shenzhen');
    assert.equal(resolveCloudConfig({ profile: undefined, region: undefined }, { HOME: h }).regionId, 'cn-beijing');
    assert.equal(resolveCloudConfig({ profile: 'dev', region: undefined }, { HOME: h }).regionId, 'cn-shanghai');
    assert.equal(resolveCloudConfig({ profile: undefined, region: undefined }, { HOME: h, ALIBABA_CLOUD_PROFILE: 'dev' }).regionId, 'cn-shanghai');
  });

  it('says what to set when there is no region or no such profile', () => {
    assert.throws(() => resolveCloudConfig({ profile: undefined, region: undefined }, { HOME: '/nonexistent' }), /no region: pass --region, set ALIBABA_CLOUD_REGION_ID/);
    assert.throws(() => resolveCloudConfig({ profile: 'nope', region: undefined }, { HOME: h }), (e: Error & { hint?: string }) => /profile "nope" not found/.test(e.message) && /prod, dev/.test(e.hint ?? ''));
    assert.throws(() => resolveCloudConfig({ profile: undefined, region: 'Hangzhou' }, { HOME: h }), /invalid region "Hangzhou"/);
  });

  it('real endpoints by default; VNODE_ENDPOINT_* and the protocol override them', () => {
    const real = resolveCloudConfig({ profile: undefined, region: 'cn-hangzhou' }, {});
    assert.deepEqual(real.endpoints, {
      eci: 'eci.cn-hangzhou.aliyuncs.com', ram: 'ram.aliyuncs.com', vpc: 'vpc.cn-hangzhou.aliyuncs.com', ecs: 'ecs.cn-hangzhou.aliyuncs.com', cs: undefined,
      resourcemanager: 'resourcemanager.aliyuncs.com', sts: undefined,
    });
    assert.equal(real.protocol, 'HTTPS');
    const local = resolveCloudConfig({ profile: undefined, region: 'cn-hangzhou' }, { VNODE_ENDPOINT_ECI: '127.0.0.1:9000', VNODE_ENDPOINT_PROTOCOL: 'http' });
    assert.equal(local.endpoints.eci, '127.0.0.1:9000');
    assert.equal(local.protocol, 'HTTP');
    assert.throws(() => resolveCloudConfig({ profile: undefined, region: 'cn-hangzhou' }, { VNODE_ENDPOINT_RAM: 'http://x' }), /expected host\[:port\] without a scheme/);
  });
});

describe('the Container Service endpoint comes from its SDK\'s rules', () => {
  it('no endpoint of vnode\'s own: the SDK maps cn-hangzhou to its regional host and its pop regions to the central one', async () => {
    const { SdkCs } = await import('../../src/cloud/cs.js');
    const endpointOf = (region: string): string => {
      const config = resolveCloudConfig({ profile: undefined, region }, {});
      const port = new SdkCs({ config, credential: undefined as never, signal: new AbortController().signal, log: () => {} });
      return (port as unknown as { client: { _endpoint: string } }).client._endpoint;
    };
    assert.equal(endpointOf('cn-hangzhou'), 'cs.cn-hangzhou.aliyuncs.com');
    assert.equal(endpointOf('cn-beijing-finance-pop'), 'cs.aliyuncs.com');
  });
});

describe('retry policy', () => {
  const noSleep = { attempts: 5, baseMs: 100, capMs: 1000, sleep: async () => {}, random: () => 1 };

  it('retries throttling, 5xx and network errors; not client errors', () => {
    assert.equal(isRetryable({ code: 'Throttling.User', statusCode: 400 }), true);
    assert.equal(isRetryable({ code: 'ServiceUnavailable', statusCode: 503 }), true);
    assert.equal(isRetryable({ code: 'ECONNRESET', message: 'socket hang up' }), true);
    assert.equal(isRetryable({ code: 'EntityNotExist.User', statusCode: 404 }), false);
    assert.equal(isRetryable({ code: 'SignatureDoesNotMatch', statusCode: 400 }), false);
  });

  it('backs off exponentially, honours Retry-After as a floor, gives up after the attempts', async () => {
    const delays: number[] = [];
    let n = 0;
    const r = await withRetry(async () => { if (++n < 4) throw { code: 'Throttling.User', statusCode: 400, retryAfter: n === 3 ? 750 : undefined }; return 'ok'; },
      { ...noSleep, onRetry: (_a, d) => delays.push(d) });
    assert.equal(r, 'ok');
    assert.deepEqual(delays, [100, 200, 750]);
    let calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw { code: 'InternalError', statusCode: 500 }; }, noSleep), (e: { code: string }) => e.code === 'InternalError');
    assert.equal(calls, 5);
  });

  it('an attempt that fails after the run ended (or was interrupted) is the last: no retry, no "retrying" line', async () => {
    const run = new AbortController();
    const retried: number[] = [];
    let calls = 0;
    await assert.rejects(withRetry(async () => { calls++; run.abort(); throw { code: 'ServiceUnavailable', statusCode: 503 }; },
      { ...noSleep, signal: run.signal, onRetry: (a) => retried.push(a) }), (e: { code: string }) => e.code === 'ServiceUnavailable');
    assert.equal(calls, 1);
    assert.deepEqual(retried, []);
  });

  it('a network failure message gets its separator back and loses the signed query', () => {
    const e = cloudError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1POST http://127.0.0.1:1/?AccessKeyId=LTAI5tX&Signature=abc failed.' }, 'eci:DescribeVirtualNodes');
    assert.equal(e.message, 'eci:DescribeVirtualNodes: cannot reach the Alibaba Cloud endpoint: connect ECONNREFUSED 127.0.0.1:1 (POST http://127.0.0.1:1/)');
  });

  it('typed errors name the denied action and the policy that grants it, and never the secret', () => {
    const e = cloudError({ code: 'Forbidden.RAM', statusCode: 403, data: { RequestId: 'R1', AccessDeniedDetail: { AuthAction: 'eci:CreateVirtualNode' } } }, 'eci:CreateVirtualNode');
    assert.match(e.message, /permission denied for eci:CreateVirtualNode \(Forbidden\.RAM, RequestId R1\)/);
    assert.match(e.hint ?? '', /AliyunECIFullAccess/);
    assert.equal(e.details?.requestId, 'R1');
  });
});

describe('emulator pieces', () => {
  it('parses fault specs and rejects bad ones', () => {
    const f = parseFaults('*:throttle=0.1,500=0.05,reset=0.05;CreateAccessKey:latency=2s');
    assert.equal(f.get('*')?.throttle, 0.1);
    assert.equal(f.get('CreateAccessKey')?.latencyMs, 2000);
    assert.throws(() => parseFaults('throttle=2'), /expected a number from 0 to 1/);
    assert.throws(() => parseFaults('boom=0.1'), /invalid --faults entry "boom=0.1"/);
  });

  it('evaluates RAM policies: wildcards allow, an explicit Deny wins, nothing attached denies', () => {
    const s = seedState();
    s.users.push({ name: 'u', id: '1', displayName: 'u', comments: '', createDate: '' });
    assert.equal(isAllowed(s, 'u', 'eci:CreateVirtualNode'), false);
    s.attachments.push({ user: 'u', policyName: 'AliyunECIFullAccess', policyType: 'System', attachDate: '' });
    assert.equal(isAllowed(s, 'u', 'eci:CreateVirtualNode'), true);
    s.policies.push({ name: 'no-delete', description: '', createDate: '', document: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Deny', Action: 'eci:Delete*', Resource: '*' }] }) });
    s.attachments.push({ user: 'u', policyName: 'no-delete', policyType: 'Custom', attachDate: '' });
    assert.equal(isAllowed(s, 'u', 'eci:DeleteVirtualNode'), false);
    assert.equal(typeof parsePolicyDocument('{"Version":"2"}'), 'string');
  });
});
