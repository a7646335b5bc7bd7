import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { allActions, NOT_IN_POLICIES } from '../../src/commands/contract.js';
import { contracts } from '../../src/commands/ram/operator-policy.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { serviceAccountKubeConfig } from '../../src/sandbox/kubelet.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { ramUserEnv } from '../helpers/ram-user.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';

/**
 * Each command's contract held: run as a RAM user holding exactly `vnode ram operator-policy --for <that command>`, it
 * works and calls nothing it did not declare (the emulator's log); without one declared action it fails naming it.
 */
describe('every command under exactly the policy it declares (real control plane, sandbox cloud, RAM users)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let all: Awaited<ReturnType<typeof contracts>>;
  let n = 0;
  const vk = (args: string[], env: Record<string, string> = {}, stdin?: string): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env }, ...(stdin !== undefined ? { stdin } : {}) });

  /** A RAM user with the policy `--for command` prints, less `without`; an empty policy: a user with none. */
  async function userFor(command: string, without?: string): Promise<Record<string, string>> {
    const printed = await vk(['ram', 'operator-policy', '--for', command, '-o', 'json']);
    assert.equal(printed.code, 0, printed.stderr);
    const doc = JSON.parse(printed.stdout) as { Version: string; Statement: { Action: string | string[] }[] };
    const statements = doc.Statement.map((s) => ({ ...s, Action: (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a) => a !== without) })).filter((s) => s.Action.length > 0);
    const user = `contract-${++n}`;
    if (statements.length === 0) {
      // no action at all: a user with no policy
      const env = await ramUserEnv(emu, user, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'eci:DescribeNothing', Resource: '*' }] }));
      return env;
    }
    return ramUserEnv(emu, user, JSON.stringify({ ...doc, Statement: statements }));
  }

  /** Runs a command as a user holding exactly its declared policy: exit 0, and every call of that user declared and allowed. */
  async function holds(command: string, args: string[], stdin?: string): Promise<{ env: Record<string, string>; called: string[]; r: RunResult }> {
    const env = await userFor(command);
    const from = emu.calls.length;
    const r = await vk(args, env, stdin);
    assert.equal(r.code, 0, `vnode ${args.join(' ')} under --for ${command}:\n${r.stdout}\n${r.stderr}`);
    const user = emu.state.data.accessKeys.find((k) => k.id === env.ALIBABA_CLOUD_ACCESS_KEY_ID)!.user;
    const mine = emu.calls.slice(from).filter((c) => c.user === user);
    const declared = allActions(all.get(command)!);
    assert.deepEqual([...new Set(mine.filter((c) => !declared.includes(c.action)).map((c) => c.action))], [], `vnode ${args.join(' ')} called actions ${command} does not declare`);
    assert.deepEqual([...new Set(mine.filter((c) => !c.allowed).map((c) => c.action))], [], `vnode ${args.join(' ')} was denied (or answered empty) for declared actions`);
    return { env, called: [...new Set(mine.map((c) => c.action))], r };
  }

  /** Without one action the run used (a read every run makes, so a re-run makes it too): it fails naming it. */
  async function failsWithout(command: string, args: string[], action: string): Promise<void> {
    const env = await userFor(command, action);
    const r = await vk(args, env);
    assert.notEqual(r.code, 0, `vnode ${args.join(' ')} without ${action} should fail`);
    // named in the error, or (doctor) in the check it could not make
    assert.match(r.stderr + r.stdout, new RegExp(action.replace(/[.:]/g, '\\$&')), `vnode ${args.join(' ')} without ${action}`);
  }

  /**
   * A kubeconfig of a ServiceAccount `<prefix>-<command>` bound to the ClusterRole `--for command --kubernetes` prints,
   * less the resource `drop` when given.
   */
  async function boundTo(command: string, prefix: string, drop?: string): Promise<string> {
    const printed = await vk(['ram', 'operator-policy', '--for', command, '--kubernetes', '-o', 'json']);
    assert.equal(printed.code, 0, printed.stderr);
    const role = JSON.parse(printed.stdout) as KubeObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const sa = `${prefix}-${command.replace(/\s+/g, '-')}${drop ? '-short' : ''}`;
    role.metadata.name = sa;
    if (drop) role.rules = role.rules.map((r) => ({ ...r, resources: r.resources.filter((x) => x !== drop) })).filter((r) => r.resources.length > 0);
    await admin.create(role);
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'default' } } as KubeObject);
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }] } as KubeObject);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const file = path.join(cp.workDir, `${sa}.kubeconfig`);
    writeFileSync(file, (await serviceAccountKubeConfig(kc, 'default', sa, { seconds: 3600 })).exportConfig());
    return file;
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    all = await contracts();
    emu.state.data.addonVersions = { 'ack-virtual-node': ['v2.13.1'] };
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('the cloud commands, each under exactly its own policy; one declared action removed, each fails naming it', async () => {
    await holds('ram grant', ['ram', 'grant', '--yes']);
    await failsWithout('ram grant', ['ram', 'grant', '--yes'], 'ram:GetUser');

    await holds('install', ['install', '--vswitch', VSW, '--security-group', SG, '--name', 'cv']);
    await failsWithout('install', ['install', '--vswitch', VSW, '--security-group', SG, '--name', 'cv'], 'vpc:DescribeVSwitches');
    await holds('install', ['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes']);

    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-cv', namespace: 'default' },
      spec: { nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }], automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx' }] },
    } as KubeObject);
    await until('the pod on the VNode', async () => (await admin.get<KubeObject & { status?: { phase?: string } }>({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'on-cv' }))?.status?.phase === 'Running');

    const cases: [string, string[], string, string[]?][] = [
      ['status', ['status'], 'eci:DescribeVirtualNodes'],
      ['cost', ['cost'], 'eci:DescribeContainerGroupPrice'],
      ['doctor', ['doctor'], 'eci:DescribeRegions'],
      ['cluster status', ['cluster', 'status'], 'cs:DescribeClusterDetail'],
      // a re-run with other settings, so it calls UpdateVirtualNode again
      ['update', ['update', 'cv', '--tag', 'team=a', '--yes'], 'eci:UpdateVirtualNode', ['update', 'cv', '--tag', 'team=b', '--yes']],
      ['config set', ['config', 'set', 'vswitch=vsw-bp1sandboxzonei00001'], 'vpc:DescribeVSwitches', ['config', 'set', `vswitch=${VSW}`]],
    ];
    for (const [command, args, without, again] of cases) {
      const { r } = await holds(command, args);
      assert.doesNotMatch(r.stderr, /permission denied/);
      await failsWithout(command, again ?? args, without);
    }
    // Kubernetes-only commands call nothing of the cloud: run as a user with no cloud right at all
    for (const [command, args] of [
      ['config get', ['config', 'get']], ['scheduling add', ['scheduling', 'add', 'web', '--pod-selector', 'app=web']], ['scheduling list', ['scheduling', 'list']],
      ['scheduling remove', ['scheduling', 'remove', 'web']],
    ] as const) {
      const { called } = await holds(command, [...args]);
      assert.deepEqual(called, [], `vnode ${command} declares no cloud action`);
    }
    // a replacement: the --recreate actions it declares
    await holds('update', ['update', 'cv', '--recreate', '--force', '--yes']);
    emu.state.data.addonVersions = { 'ack-virtual-node': ['v2.13.1', 'v2.14.0'] };
    await holds('update', ['update', 'ack-virtual-node', '--yes']);
    // drain reads only DescribeContainerGroups, which a caller without it gets as an empty list (no denial to name):
    // removal.ts refuses a VNode whose running pods name instances ECI does not list (cost.test.ts holds that)
    await holds('drain', ['drain', 'cv', '--force']);
    await failsWithout('uninstall', ['uninstall', 'cv', '--drain', '--yes'], 'eci:DeleteVirtualNode');
    await holds('uninstall', ['uninstall', 'cv', '--drain', '--yes']);
    await holds('uninstall', ['uninstall', 'ack-virtual-node', '--drain', '--deregister', '--yes']);
    await failsWithout('cluster register', ['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--yes'], 'cs:CreateCluster');
    await holds('cluster register', ['cluster', 'register', '--vswitch', VSW, '--security-group', SG, '--yes']);
    await failsWithout('cluster deregister', ['cluster', 'deregister'], 'cs:DescribeClusterDetail');
    await holds('cluster deregister', ['cluster', 'deregister']);
    await failsWithout('ram revoke', ['ram', 'revoke', '--delete-user'], 'ram:GetUser');
    await holds('ram revoke', ['ram', 'revoke', '--delete-user']);
    const team = await ramUserEnv(emu, 'team-key', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'eci:*', Resource: '*' }] }));
    // its checks of the key run as that key; the operator asks only who it is (GetCallerIdentity, which needs no policy)
    const sc = await holds('secret create', ['secret', 'create', '--access-key-id', team.ALIBABA_CLOUD_ACCESS_KEY_ID!, '--yes'], `${team.ALIBABA_CLOUD_ACCESS_KEY_SECRET}\n`);
    assert.deepEqual(sc.called, ['sts:GetCallerIdentity']);
  });

  it('the Kubernetes side: status, cost and cluster status run under exactly the ClusterRole --kubernetes prints; a rule taken away, they are forbidden', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const asRole = (command: string, drop?: string): Promise<string> => boundTo(command, 'op', drop);
    // the cloud side as the account: this test holds the Kubernetes side
    for (const [command, args] of [['status', ['status']], ['cost', ['cost']], ['cluster status', ['cluster', 'status']]] as const) {
      const file = await asRole(command);
      const r = await runVnode(['--kubeconfig', file, ...args], { cwd: cp.workDir, env: emu.env() });
      assert.equal(r.code, 0, `vnode ${args.join(' ')} under its ClusterRole:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /forbidden/i);
    }
    // a mutating command: install and uninstall of a VNode under exactly the access install declares (its --mode addon adds more)
    const schema = JSON.parse((await vk(['schema', 'install', '-o', 'json'])).stdout) as { kubernetes: { group: string; resources: string[]; verbs: string[] }[] };
    const name = 'op-install';
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name },
      rules: schema.kubernetes.map((r) => ({ apiGroups: [r.group], resources: r.resources, verbs: r.verbs })) } as KubeObject);
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } } as KubeObject);
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }] } as KubeObject);
    const opFile = path.join(cp.workDir, `${name}.kubeconfig`);
    writeFileSync(opFile, (await serviceAccountKubeConfig(kc, 'default', name, { seconds: 3600 })).exportConfig());
    for (const args of [['install', '--vswitch', VSW, '--security-group', SG, '--name', 'k8s-op'], ['install', '--vswitch', VSW, '--security-group', SG, '--name', 'k8s-op-b', '--bootstrap'],
      ['uninstall', 'k8s-op', 'k8s-op-b', '--drain', '--yes']]) {
      const r = await runVnode(['--kubeconfig', opFile, ...args], { cwd: cp.workDir, env: emu.env() });
      assert.equal(r.code, 0, `vnode ${args.join(' ')} under install's declared access:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /forbidden/i);
    }

    const short = await asRole('cost', 'pods');
    const denied = await runVnode(['--kubeconfig', short, 'cost'], { cwd: cp.workDir, env: emu.env() });
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /pods is forbidden/);
  });

  it('label-based scheduling and update: enable, serve, add, list, status, remove, disable and update, each as a ServiceAccount bound to exactly what it declares', async () => {
    /** A kubeconfig of a ServiceAccount bound to the ClusterRole `--for command --kubernetes` prints, with every flag's access. */
    const files = new Map<string, string>();
    const bound = async (command: string, drop?: string): Promise<string> => {
      if (!drop && files.has(command)) return files.get(command)!;
      const file = await boundTo(command, 'sched', drop);
      if (!drop) files.set(command, file);
      return file;
    };
    const as = async (command: string, args: string[], signal?: AbortSignal): Promise<RunResult> => {
      const r = await runVnode(['--kubeconfig', await bound(command), ...args], { cwd: cp.workDir, env: emu.env(), ...(signal ? { signal } : {}) });
      if (!signal) {
        assert.equal(r.code, 0, `vnode ${args.join(' ')} under the access ${command} declares:\n${r.stdout}\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /forbidden/i);
      }
      return r;
    };
    assert.equal((await vk(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'sched'])).code, 0);
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'burst' } } as KubeObject);
    const port = 18000 + Math.floor(Math.random() * 2000);
    const cloudFrom = emu.calls.length;
    await as('scheduling enable', ['scheduling', 'enable', '--mode', 'vnode', '--namespace', 'burst', '--webhook-url', `https://127.0.0.1:${port}`]);
    const tls = await admin.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'vnode-scheduling-tls' });
    const dir = path.join(cp.workDir, 'sched-tls');
    mkdirSync(dir, { recursive: true });
    for (const f of ['tls.crt', 'tls.key']) writeFileSync(path.join(dir, f), Buffer.from(tls!.data[f]!, 'base64'));
    const stop = new AbortController();
    const serving = as('scheduling serve', ['scheduling', 'serve', '--tls-dir', dir, '--port', String(port), '--listen', '127.0.0.1', '--mode', 'vnode'], stop.signal);
    try {
      await as('scheduling add', ['scheduling', 'add', 'web', '--pod-selector', 'app=web', '--policy', 'virtual-node-only']);
      const pod = (name: string, labels: Record<string, string>, namespace = 'default'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx' }] } } as KubeObject);
      // the server (under its own declared access) admits them: the Selector's pod and a pod of the labelled namespace go to the VNode
      for (const [p, ns] of [[pod('web-1', { app: 'web' }), 'default'], [pod('in-burst', {}, 'burst'), 'burst']] as const) {
        const made = await until(`${p.metadata.name} admitted by the server`, async () => {
          await admin.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name! }).catch(() => undefined);
          await admin.create(p);
          const o = await admin.get<KubeObject & { spec: { tolerations?: { key?: string }[] } }>({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name! });
          return (o?.spec.tolerations ?? []).some((t) => t.key === 'k8s.aliyun.com/vnode') && o;
        }, 30_000);
        assert.ok(made);
      }
      assert.match((await as('scheduling list', ['scheduling', 'list'])).stdout, /web/);
      assert.match((await as('scheduling status', ['scheduling', 'status'])).stdout, /Webhook:\s+enabled/);
      await as('scheduling remove', ['scheduling', 'remove', 'web']);
    } finally {
      stop.abort();
      await serving;
    }
    await as('scheduling disable', ['scheduling', 'disable']);
    assert.deepEqual(emu.calls.slice(cloudFrom).map((c) => c.action), [], 'label-based scheduling declares no cloud action and calls none');
    // a rule taken away: enable is forbidden what it declared
    const short = await runVnode(['--kubeconfig', await bound('scheduling enable', 'customresourcedefinitions'), 'scheduling', 'enable', '--mode', 'vnode', '--webhook-url', `https://127.0.0.1:${port}`],
      { cwd: cp.workDir, env: emu.env() });
    assert.equal(short.code, 1, short.stderr);
    assert.match(short.stderr, /customresourcedefinitions.* is forbidden/);
    assert.equal(await admin.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'vnode-scheduling' }), undefined);
    await as('update', ['update', 'sched', '--tag', 'team=k8s', '--yes']);
    await as('update', ['update', 'sched', '--recreate', '--force', '--yes']);
    await as('doctor', ['doctor', '--fix']);
    await as('uninstall', ['uninstall', 'sched', '--drain', '--yes']);
  });

  it('the commands that declare no cloud action call none', async () => {
    const none = [...all].filter(([, c]) => allActions(c).filter((a) => !NOT_IN_POLICIES.includes(a)).length === 0).map(([k]) => k);
    assert.ok(none.includes('kubeconfig') && none.includes('scheduling list'), none.join(', '));
    for (const [command, args] of [
      ['kubeconfig', ['kubeconfig', '--name', 'contract-kc', '--file', 'kc-out']], ['schema', ['schema', 'install']],
      ['ram operator-policy', ['ram', 'operator-policy']], ['completion', ['completion', 'bash']], ['scheduling status', ['scheduling', 'status']],
    ] as const) {
      const from = emu.calls.length;
      const r = await vk([...args]);
      assert.equal(r.code, 0, `vnode ${args.join(' ')}: ${r.stderr}`);
      assert.deepEqual(emu.calls.slice(from).map((c) => c.action), [], `vnode ${command} declares no cloud action`);
    }
  });
});
