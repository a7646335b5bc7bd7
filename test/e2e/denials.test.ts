import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { specVersion, startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

/** An operator one permission short: found before the first change wherever it can be asked; after it, the failure says what was done. */
describe('permission denials of an operator one action short (real control plane, sandbox cloud)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let operatorActions: string[];
  const vk = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });
  const ok = async (args: string[], env: Record<string, string> = {}): Promise<RunResult> => {
    const r = await vk(args, env);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  async function snapshot(): Promise<string> {
    const d = emu.state.data;
    const k8s = await Promise.all([
      admin.list('v1', 'ConfigMap', { namespace: 'kube-system' }), admin.list('apps/v1', 'Deployment', { namespace: 'kube-system' }),
      admin.list('v1', 'Secret', { namespace: 'kube-system' }), admin.list('v1', 'ServiceAccount', { namespace: 'kube-system' }),
      admin.list('v1', 'Node'), admin.list('v1', 'Pod', { namespace: 'default' }), admin.list('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'),
    ]);
    return JSON.stringify({
      k8s: k8s.flat().map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}/${specVersion(o)}`).sort(),
      vnodes: d.virtualNodes.map((v) => v.id), clusters: (d.clusters ?? []).map((c) => `${c.id}:${c.state}`), addons: (d.addons ?? []).map((a) => `${a.name}:${a.state}`),
    });
  }
  let n = 0;
  /** A RAM user holding the operator policy less `missing`, as vnode's environment. */
  async function short(missing: string): Promise<Record<string, string>> {
    const { ram } = connectCloud({ profile: undefined, region: undefined }, { env: emu.env(), signal: new AbortController().signal, log: () => {} });
    const user = `short-${++n}`;
    await ram.ensureUser(user, user, 'test');
    await ram.createPolicy(user, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: operatorActions.filter((a) => a !== missing), Resource: '*' }] }), 'test');
    await ram.attachPolicyToUser(user, { name: user, type: 'Custom' });
    const k = await ram.createAccessKey(user);
    return { ALIBABA_CLOUD_ACCESS_KEY_ID: k.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: k.secret };
  }
  const refusedBeforeChange = async (args: string[], missing: string): Promise<void> => {
    const env = await short(missing);
    const before = await snapshot();
    const r = await vk(args, env);
    assert.equal(r.code, 1, `${args.join(' ')} without ${missing}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`the caller may not ${missing.replace('.', '\\.')}, which this command needs after its first change; nothing was changed`));
    assert.match(r.stderr, /vnode ram operator-policy/);
    assert.equal(await snapshot(), before, `${args.join(' ')} changed something before the denial`);
  };

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    operatorActions = (JSON.parse((await ok(['ram', 'operator-policy'])).stdout) as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => s.Action);
    await ok(['ram', 'grant', '--yes']);
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('CreateVirtualNode, DeleteVirtualNode, InstallClusterAddons and DeleteCluster are each asked before the first change', async () => {
    await refusedBeforeChange(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'den'], 'eci:CreateVirtualNode');
    await refusedBeforeChange(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'], 'cs:InstallClusterAddons');
    await refusedBeforeChange(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'], 'cs:CreateCluster');
    // the reads after the first change too, one at a time
    for (const missing of ['cs:DescribeClusterDetail', 'cs:DescribeExternalAgent', 'cs:DescribeTaskInfo', 'cs:GetClusterAddonInstance']) {
      await refusedBeforeChange(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes'], missing);
    }
    for (const missing of ['cs:CreateCluster', 'cs:DescribeClusterDetail', 'cs:DescribeExternalAgent']) {
      await refusedBeforeChange(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--yes'], missing);
    }
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'den']);
    await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes']);
    await refusedBeforeChange(['uninstall', 'den', '--drain'], 'eci:DeleteVirtualNode');
    await refusedBeforeChange(['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--yes'], 'cs:DeleteCluster');
    await refusedBeforeChange(['uninstall', 'ack-virtual-node', '--drain', '--yes'], 'cs:UnInstallClusterAddons');
    await ok(['uninstall', 'den', '--drain']);
    await ok(['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--yes']);
  });

  it('a denial after the first change (--skip-permission-check: the real calls decide) says what was done and where it stopped; a re-run once granted finishes', async () => {
    const env = await short('cs:DescribeExternalAgent');
    const r = await vk(['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--skip-permission-check'], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /permission denied for cs:DescribeExternalAgent.*; it stopped at "Fetching the agent manifest \(DescribeExternalAgent\)", after: .*Registering this cluster with ACK One as vnode-\w+/);
    assert.match(r.stderr, /grant cs:DescribeExternalAgent to the caller .* then run the same command again: it finds what is done and finishes the rest/);
    assert.equal((emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting').length, 1, 'the registration was created before the denial');
    const again = await ok(['cluster', 'register']);
    assert.match(again.stdout, /running/);
    assert.equal((emu.state.data.clusters ?? []).filter((c) => c.state !== 'deleting').length, 1, 'the re-run adopted it');
    await ok(['cluster', 'deregister']);
    assert.deepEqual((await admin.list<KubeObject>('v1', 'ConfigMap', { namespace: 'kube-system', labelSelector: 'app.kubernetes.io/managed-by=vnode' })).map((c) => c.metadata.name).filter((x) => x === 'vnode-registration'), []);
  });
});
