import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ramSdk from '@alicloud/ram20150501';
import openapiCore from '@alicloud/openapi-core';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { DEFAULT_POLICY, policyDocument } from '../../src/steps/ram/ram.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

describe('RAM policies: --update-policy versions, and the operator\'s least-privilege policy (SDKs against the emulator)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let ram: InstanceType<typeof ramSdk.default>;
  const vk = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });
  const doc = (actions: string[]): string => JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, adminKubeconfig: cp.kubeconfig });
    const k = emu.state.operatorKey;
    ram = new ramSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('a drifted policy is only warned about; --update-policy makes vnode\'s document the default version, deleting the oldest non-default at 5', async () => {
    await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: DEFAULT_POLICY, policyDocument: doc(['eci:DescribeContainerGroups']) }));
    for (let i = 0; i < 4; i++) {
      await ram.createPolicyVersion(new ramSdk.CreatePolicyVersionRequest({ policyName: DEFAULT_POLICY, policyDocument: doc(['eci:DescribeContainerGroups', `eci:Describe${i}`]), setAsDefault: i === 3 }));
    }
    const warned = await vk(['ram', 'grant', '--user', 'policy-user', '--no-secret', '--yes']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /differs from the document vnode would create; it is left as it is \(--update-policy/);

    const r = await vk(['ram', 'grant', '--user', 'policy-user', '--no-secret', '--update-policy', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /RAM policy vnode-ack-virtual-node updated: version v6 is the default \(version v1 deleted: RAM keeps 5\)/);
    const versions = (await ram.listPolicyVersions(new ramSdk.ListPolicyVersionsRequest({ policyName: DEFAULT_POLICY, policyType: 'Custom' }))).body?.policyVersions?.policyVersion ?? [];
    assert.deepEqual(versions.map((v) => `${v.versionId}${v.isDefaultVersion ? '*' : ''}`), ['v2', 'v3', 'v4', 'v5', 'v6*']);
    const got = await ram.getPolicy(new ramSdk.GetPolicyRequest({ policyName: DEFAULT_POLICY, policyType: 'Custom' }));
    assert.deepEqual(JSON.parse(got.body?.defaultPolicyVersion?.policyDocument ?? '{}'), JSON.parse(policyDocument()));

    const again = await vk(['ram', 'grant', '--user', 'policy-user', '--no-secret', '--update-policy', '--yes']);
    assert.doesNotMatch(again.stdout + again.stderr, /updated|differs/, 'no drift left: nothing to update');
  });

  it('an operator holding only the operator policy can install; one action short, install names it and the policy command', async () => {
    const printed = await vk(['ram', 'operator-policy']);
    assert.equal(printed.code, 0);
    const operatorDoc = printed.stdout;
    const actions = (JSON.parse(operatorDoc) as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => s.Action);
    const key = async (user: string, document: string): Promise<Record<string, string>> => {
      await ram.createUser(new ramSdk.CreateUserRequest({ userName: user }));
      await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: user, policyDocument: document }));
      await ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: user, policyName: user, policyType: 'Custom' }));
      const k = (await ram.createAccessKey(new ramSdk.CreateAccessKeyRequest({ userName: user }))).body!.accessKey!;
      return { ALIBABA_CLOUD_ACCESS_KEY_ID: k.accessKeyId!, ALIBABA_CLOUD_ACCESS_KEY_SECRET: k.accessKeySecret! };
    };
    const short = await key('operator-short', doc(actions.filter((a) => a !== 'vpc:DescribeVSwitches')));
    const denied = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'op'], short);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /permission denied for vpc:DescribeVSwitches/);
    assert.match(denied.stderr, /vnode ram operator-policy/);
    assert.equal(emu.state.data.virtualNodes.length, 0);

    const full = await key('operator-full', operatorDoc);
    const ok = await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'op'], full);
    assert.equal(ok.code, 0, ok.stderr);
    const st = await vk(['status', '-o', 'json'], full);
    assert.equal(st.code, 0, st.stderr);
    const gone = await vk(['uninstall', 'op', '--drain'], full);
    assert.equal(gone.code, 0, gone.stderr);
  });
});
