import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ramSdk from '@alicloud/ram20150501';
import openapiCore from '@alicloud/openapi-core';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { ACK_SERVICE_ROLES, ECI_VNODE_ROLE, readyAccount } from '../../src/sandbox/cloud/state.js';
import { specVersion, startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

/**
 * A first account, as Alibaba plays it: nothing activated, no service role. Each command that needs a missing piece
 * exits 1 before any change, naming the remedy; made ready one piece at a time, the same command converges.
 */
describe('a new Alibaba Cloud account: each missing piece found before any change, then the mission on the account made ready', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  const calls: string[] = [];
  const vk = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });
  const ok = async (args: string[], env: Record<string, string> = {}): Promise<RunResult> => {
    const r = await vk(args, env);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  /** Everything a command could have changed: the cloud's resources and the cluster's objects. */
  async function snapshot(): Promise<string> {
    const d = emu.state.data;
    const k8s = await Promise.all([
      admin.list('v1', 'ConfigMap', { namespace: 'kube-system' }), admin.list('apps/v1', 'Deployment', { namespace: 'kube-system' }),
      admin.list('v1', 'Secret', { namespace: 'kube-system' }), admin.list('v1', 'ServiceAccount', { namespace: 'kube-system' }),
      admin.list('apps/v1', 'DaemonSet'), admin.list('v1', 'Node'), admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'),
    ]);
    return JSON.stringify({
      k8s: k8s.flat().map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}/${specVersion(o)}`).sort(),
      users: d.users, keys: d.accessKeys.map((k) => k.id), policies: d.policies, attachments: d.attachments, vnodes: d.virtualNodes,
      cgs: d.containerGroups, clusters: d.clusters ?? [], addons: d.addons ?? [], roles: d.account?.roles.map((r) => r.name),
    });
  }
  const refused = async (args: string[], what: RegExp, remedy: RegExp, env: Record<string, string> = {}): Promise<RunResult> => {
    const before = await snapshot();
    const r = await vk(args, env);
    assert.equal(r.code, 1, `vnode ${args.join(' ')} should exit 1\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, what);
    assert.match(r.stderr, remedy);
    assert.match(r.stderr, /nothing was changed/);
    assert.equal(await snapshot(), before, `vnode ${args.join(' ')} changed something`);
    return r;
  };
  const account = () => emu.state.data.account!;

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 1000, adminKubeconfig: cp.kubeconfig, account: 'new', onRequest: (a, c) => calls.push(`${a} ${c}`) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await admin.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { k8s: 'kube-proxy' } }, template: { metadata: { labels: { k8s: 'kube-proxy' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'p', image: 'kube-proxy:v1.20.2' }] } } },
    });
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('the sandbox is a new account: ECI and ACK refuse as not activated, no service role exists', async () => {
    assert.deepEqual(account().services, { eci: false, ack: false });
    assert.deepEqual(account().roles, []);
    const r = await vk(['doctor', '-o', 'json']);
    assert.equal(r.code, 1);
    const checks = (JSON.parse(r.stdout) as { checks: { check: string; target: string; status: string; message: string; hint?: string }[] }).checks;
    const eci = checks.find((c) => c.check === 'account' && c.target === 'eci')!;
    assert.equal(eci.status, 'FAIL');
    assert.match(eci.message, /Elastic Container Instance is not activated/);
    assert.match(eci.hint ?? '', /eci\.console\.aliyun\.com/);
    assert.ok(calls.includes('DescribeRegions ServiceNotEnabled'), 'ECI answered ServiceNotEnabled');
  });

  it('ECI not activated: ram grant and install exit 1 before any change, naming the ECI console; once activated, ram grant converges', async () => {
    await refused(['ram', 'grant', '--yes'], /Elastic Container Instance is not activated/, /eci\.console\.aliyun\.com/);
    await refused(['install', '--vswitch', VSW, '--security-group', SG, '--yes'], /Elastic Container Instance is not activated/, /activate it once in the ECI console/);
    // the add-on route names everything missing at once, the Secret included (exit 1: a missing prerequisite, not a usage error)
    const addon = await refused(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'],
      /Elastic Container Instance is not activated.*Container Service \(ACK\) is not activated.*ACK's service roles are not authorized.*alibaba-addon-secret is missing/,
      /eci\.console.*--activate-ack.*Cloud Resource Access Authorization.*vnode ram grant/);
    assert.doesNotMatch(addon.stderr, /Activating the Container Service/);
    assert.match(addon.stderr, /✗ Checking the account/);
    account().services.eci = true;
    await ok(['ram', 'grant', '--yes']);
    assert.equal(emu.state.data.users.length, 1);
  });

  it('ACK not activated, its roles missing: both named at once, whatever code ACK answers; --activate-ack orders nothing while another piece is missing; EntityNotExist.Role (404) is the missing role', async () => {
    await refused(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'],
      /Container Service \(ACK\) is not activated for this account \(ServiceNotEnabled\); ACK's service roles are not authorized: AliyunCSDefaultRole, AliyunCSManagedKubernetesRole/,
      /--activate-ack \(OpenAckService.*Cloud Resource Access Authorization/);
    account().ackNotActivatedCode = 'ErrorNotEnabled';
    await refused(['cluster', 'register', '--vswitch', VSW, '--security-group', SG], /ACK\) is not activated for this account \(ErrorNotEnabled\)/, /cs\.console\.aliyun\.com/);
    delete account().ackNotActivatedCode;
    const opened = calls.filter((c) => c.startsWith('OpenAckService')).length;
    const held = await refused(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--activate-ack', '--yes'], /not ready; nothing was changed: .*roles are not authorized/, /Cloud Resource Access Authorization/);
    assert.doesNotMatch(held.stderr, /Activating the Container Service/);
    assert.equal(calls.filter((c) => c.startsWith('OpenAckService')).length, opened, 'no OpenAckService while the roles are missing');
    assert.equal(account().services.ack, false);
    // activated but without its default role: every call answers 404 EntityNotExist.Role, read as the role it names
    account().services.ack = true;
    await refused(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--yes'], /ACK's service roles are not authorized: AliyunCSDefaultRole.*\(EntityNotExist\.Role\)/, /RAM console, Roles: AliyunCSDefaultRole/);
    assert.ok(calls.includes('DescribeClustersForRegion EntityNotExist.Role'));
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; status: string; message: string }[] };
    assert.ok(doc.checks.every((c) => c.check !== 'account' || c.target !== 'ack-roles' || (c.status === 'FAIL' && /AliyunCSDefaultRole/.test(c.message))), JSON.stringify(doc.checks));
    account().services.ack = false;
  });

  it('the roles authorized (in the state, as the console would): OpenAckService refused by risk control is shown with its code; '
    + 'a RAM user without AdministratorAccess is denied it; --activate-ack then activates ACK and install --mode addon converges', async () => {
    const ready = readyAccount();
    account().roles.push(...ready.roles.filter((r) => ACK_SERVICE_ROLES.includes(r.name)));
    account().zeroBalance = true;
    await refused(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--activate-ack', '--yes'], /OpenAckService refused: RISK\.RISK_CONTROL_REJECTION: /, /resolve what OpenAckService answered/);
    assert.equal(account().services.ack, false);
    delete account().zeroBalance;
    const d = emu.state.data;
    const before = await snapshot();
    const r = await vk(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--activate-ack', '--yes'], await ramUserKey('no-admin', ['cs:*', 'eci:*', 'vpc:*', 'ecs:*', 'ram:GetRole']));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /permission denied for cs:OpenAckService/);
    assert.equal(d.account!.services.ack, false);
    assert.equal(JSON.stringify(JSON.parse(await snapshot()).clusters), JSON.stringify(JSON.parse(before).clusters));

    const done = await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes', '--activate-ack']);
    assert.match(done.stderr, /Activating the Container Service/);
    assert.equal(d.account!.services.ack, true, 'OpenAckService activated ACK');
    assert.ok(calls.includes('OpenAckService OK'));
    assert.equal((emu.state.data.addons ?? []).find((a) => a.name === 'ack-virtual-node')?.state, 'active');
    await until('the add-on node', () => admin.get({ apiVersion: 'v1', kind: 'Node', name: 'virtual-kubelet-cn-hangzhou-h' }));
  });

  it('the VNode service-linked role: an operator without ram:CreateServiceLinkedRole is stopped before any change (also when denials come as HTTP 400); with it, install converges', async () => {
    const printed = await ok(['ram', 'operator-policy']);
    const actions = (JSON.parse(printed.stdout) as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => s.Action);
    emu.state.data.deniedStatus = 400;
    const short = await ramUserKey('operator-no-slr', actions.filter((a) => a !== 'ram:CreateServiceLinkedRole'));
    await refused(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'first', '--yes'], /creates the service-linked role AliyunServiceRoleForECIVnode.*ram:CreateServiceLinkedRole denied/,
      /grant ram:CreateServiceLinkedRole.*CreateServiceLinkedRole --ServiceName vnode\.eci\.aliyuncs\.com/, short);
    assert.ok(!account().roles.some((r) => r.name === ECI_VNODE_ROLE.name));
    delete emu.state.data.deniedStatus;
    const full = await ramUserKey('operator-full', actions);
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'first', '--yes'], full);
    assert.ok(account().roles.some((r) => r.name === ECI_VNODE_ROLE.name), 'the role was created');
    assert.equal(emu.state.data.virtualNodes.length, 1);
    // the account is ready now: doctor's account checks pass
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; status: string }[] };
    assert.deepEqual(doc.checks.filter((c) => c.check === 'account').map((c) => `${c.target} ${c.status}`), ['eci PASS', 'ack PASS', 'ack-roles PASS', 'eci-vnode-role PASS']);
  });

  it('the mission on the account made ready: pods burst onto both kinds of virtual node, and both are removed leaving nothing billed', async () => {
    const pod = (name: string, node: string, toleration: { key: string; value?: string }): KubeObject => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { mission: 'burst' } },
      spec: { nodeName: node, automountServiceAccountToken: false, tolerations: [{ ...toleration, operator: toleration.value ? 'Equal' : 'Exists', effect: 'NoSchedule' }], containers: [{ name: 'c', image: 'nginx' }] },
    } as KubeObject);
    const vnodeNode = (await admin.list<KubeObject>('v1', 'Node')).find((n) => n.metadata.labels?.['type'] === 'virtual-kubelet' && !n.metadata.name!.startsWith('virtual-kubelet-'))!;
    await admin.create(pod('on-vnode', vnodeNode.metadata.name!, { key: 'k8s.aliyun.com/vnode', value: 'true' }));
    await admin.create(pod('on-addon', 'virtual-kubelet-cn-hangzhou-h', { key: 'virtual-kubelet.io/provider' }));
    await until('both pods running on ECI', async () => {
      const pods = await admin.list<KubeObject & { status?: { phase?: string } }>('v1', 'Pod', { namespace: 'default', labelSelector: 'mission=burst' });
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running');
    });
    // without --deregister the registration stays, and the output says so, what it bills, and what removes it
    const all = await ok(['uninstall', '--all', '--drain', '--force']);
    const reg = (emu.state.data.clusters ?? []).find((c) => c.state !== 'deleting')!;
    assert.match(all.stdout, new RegExp(`The ACK One registration ${reg.id} \\(${reg.name}\\) stays: its public API server endpoint, an SLB with an EIP, is billed while it exists; \`vnode cluster deregister\` removes it`));
    const json = JSON.parse((await ok(['uninstall', '--all', '--drain', '--force', '-o', 'json'])).stdout) as { controller?: { registrationKept?: { clusterId: string } } };
    assert.equal(json.controller?.registrationKept?.clusterId, reg.id, 'a re-run says it too');
    await ok(['uninstall', 'ack-virtual-node', '--drain', '--force', '--deregister']);
    const live = emu.state.data.containerGroups.filter((c) => !['Succeeded', 'Failed', 'Expired'].includes(c.status) && c.releaseAt === undefined);
    assert.deepEqual(live.map((c) => c.id), [], 'nothing billed is left');
    assert.deepEqual(emu.state.data.virtualNodes, []);
    assert.deepEqual((emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting'), []);
    assert.ok(!calls.includes('DeleteVirtualNode IncorrectStatus'), 'DeleteVirtualNode was never called with an instance on the node');
  });

  /** A RAM user holding only these actions, and its key as vnode's environment. */
  async function ramUserKey(user: string, actions: string[]): Promise<Record<string, string>> {
    const k = emu.state.operatorKey;
    const ram = new ramSdk.default(new openapiCore.$OpenApiUtil.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    await ram.createUser(new ramSdk.CreateUserRequest({ userName: user }));
    await ram.createPolicy(new ramSdk.CreatePolicyRequest({ policyName: user, policyDocument: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }) }));
    await ram.attachPolicyToUser(new ramSdk.AttachPolicyToUserRequest({ userName: user, policyName: user, policyType: 'Custom' }));
    const key = (await ram.createAccessKey(new ramSdk.CreateAccessKeyRequest({ userName: user }))).body!.accessKey!;
    return { ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId!, ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret! };
  }
});
