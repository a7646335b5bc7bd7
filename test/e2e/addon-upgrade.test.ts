import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { ADDON_CATALOG } from '../../src/sandbox/cloud/cs.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';
import { operatorPolicy, ramUserEnv } from '../helpers/ram-user.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const ADDON = 'ack-virtual-node';
const CONTROLLER = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'ack-virtual-node-controller' };
const PROFILE = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'eci-profile' };

interface Pod extends KubeObject { spec: { nodeName?: string }; status: { phase?: string } }

/** The add-on over time: its version seen, and upgraded the documented way with every running pod kept. */
describe('ack-virtual-node upgrades (UpgradeClusterAddons; real control plane, the sandbox plays ACK One and the add-on manager)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let onRequest: (action: string, code: string) => void = () => {};
  /** The operator: a RAM user holding exactly `vnode ram operator-policy` (the account's key only sets things up). */
  let operator: Record<string, string> = {};
  const vk = (args: string[], signal?: AbortSignal): Promise<RunResult> =>
    runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...operator }, ...(signal ? { signal } : {}) });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const offer = (...versions: string[]): void => { emu.state.data.addonVersions = { [ADDON]: versions }; };
  const instance = () => (emu.state.data.addons ?? []).find((a) => a.name === ADDON);
  const upgrades = (): number => [...emu.stats.entries()].filter(([k]) => k.startsWith('UpgradeClusterAddons ')).reduce((n, [, v]) => n + v, 0);
  const burstPods = async (): Promise<Pod[]> => (await admin.list<Pod>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=burst' })).filter((p) => !p.metadata.deletionTimestamp);
  /** What must not change across an upgrade: the pods, their instances, eci-profile and the controller's env. */
  async function kept(): Promise<string> {
    const pods = (await burstPods()).map((p) => `${p.metadata.uid}:${p.metadata.annotations?.['k8s.aliyun.com/eci-instance-id']}:${p.status.phase}`).sort();
    const running = emu.state.data.containerGroups.filter((c) => c.status === 'Running').map((c) => c.id).sort();
    const profile = (await admin.get<KubeObject & { data?: Record<string, string> }>(PROFILE))?.data;
    const env = (await admin.get<KubeObject & { spec: { template: { spec: { containers: { env?: unknown }[] } } } }>(CONTROLLER))?.spec.template.spec.containers[0]?.env;
    return JSON.stringify({ pods, running, profile, env });
  }
  const image = async (): Promise<string | undefined> =>
    (await admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>(CONTROLLER))?.spec.template.spec.containers[0]?.image;

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig, onRequest: (a, c) => onRequest(a, c) });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    offer('v2.13.1');
    await ok(['ram', 'grant', '--yes']);
    await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes']);
    assert.equal(instance()?.version, 'v2.13.1');
    // a setting of the user's on the controller, and ECI pods running
    await admin.patch(CONTROLLER, { spec: { template: { spec: { containers: [{ name: 'ack-virtual-node-controller', env: [{ name: 'ECI_KUBE_PROXY', value: 'false' }] }] } } } }, 'strategic');
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'burst', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'burst' } }, template: { metadata: { labels: { app: 'burst' } }, spec: {
        nodeSelector: { type: 'virtual-kubelet' }, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }],
        automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx' }],
      } } },
    } as KubeObject);
    await until('two ECI pods running', async () => (await burstPods()).filter((p) => p.status.phase === 'Running' && p.metadata.annotations?.['k8s.aliyun.com/eci-instance-id']).length === 2);
    operator = await ramUserEnv(emu, 'operator', await operatorPolicy());
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('status, cluster status and doctor show the installed version and the newest offered; doctor warns with the command', async () => {
    let st = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as { addon: { installed: string; newest: string; newer: string[] } };
    assert.deepEqual([st.addon.installed, st.addon.newest, st.addon.newer], ['v2.13.1', 'v2.13.1', []]);
    offer('v2.13.1', 'v2.14.0');
    st = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as typeof st;
    assert.deepEqual([st.addon.installed, st.addon.newest, st.addon.newer], ['v2.13.1', 'v2.14.0', ['v2.14.0']]);
    assert.match((await ok(['status'])).stdout, /Add-on ack-virtual-node v2\.13\.1 \(active\); newer offered: v2\.14\.0 — `vnode update ack-virtual-node` upgrades it/);
    const cs = JSON.parse((await ok(['cluster', 'status', '-o', 'json'])).stdout) as { addon: { installed: string; newest: string } };
    assert.deepEqual([cs.addon.installed, cs.addon.newest], ['v2.13.1', 'v2.14.0']);
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; status: string; message: string; hint?: string }[] };
    const a = doc.checks.find((c) => c.check === 'addon')!;
    assert.equal(a.status, 'WARN');
    assert.match(a.message, /v2\.13\.1: active, older than the newest offered \(v2\.14\.0\)/);
    assert.match(a.hint ?? '', /vnode update ack-virtual-node/);
  });

  it('bad versions exit 2 naming what is offered, with nothing called; --dry-run prints the body and changes nothing', async () => {
    const before = upgrades();
    const cases: [string[], RegExp][] = [
      [['--to', 'v2.12.0'], /--to v2\.12\.0 is older than the installed ack-virtual-node v2\.13\.1.*\n.*newer versions offered: v2\.14\.0/],
      [['--to', 'v9.9.9'], /--to v9\.9\.9: ack-virtual-node v9\.9\.9 is not offered .* as an upgrade from v2\.13\.1\n.*offered: v2\.14\.0/],
      [['--to', 'latest!'], /invalid --to "latest!": expected an add-on version such as v2\.14\.0/],
      [['--vswitch', VSW], /--vswitch does not apply to the ack-virtual-node add-on/],
    ];
    for (const [flags, re] of cases) {
      const r = await vk(['update', ADDON, ...flags, '--yes']);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const dry = await ok(['update', ADDON, '--dry-run']);
    assert.match(dry.stdout, /would call UpgradeClusterAddons on c[0-9a-f]+: \[\{"component_name":"ack-virtual-node","version":"v2\.13\.1","next_version":"v2\.14\.0"\}\]/);
    assert.equal(upgrades(), before, 'no UpgradeClusterAddons was called');
    assert.equal(instance()?.version, 'v2.13.1');
  });

  it('interrupted after each step, a re-run converges; each upgrade keeps every pod, its instance, eci-profile and the controller\'s env', async () => {
    const before = await kept();
    let version = 13;
    for (let k = 1; ; k++) {
      version++;
      const next = `v2.${version}.0`;
      offer(...Array.from({ length: version - 12 }, (_, i) => `v2.${13 + i}.${i === 0 ? 1 : 0}`));
      const ctl = new AbortController();
      let answered = 0;
      onRequest = () => { if (++answered === k) ctl.abort(); };
      let r: RunResult;
      try { r = await vk(['update', ADDON, '--yes'], ctl.signal); } finally { onRequest = () => {}; }
      const reached = ctl.signal.aborted;
      if (reached && r.code !== 0) {
        assert.equal(r.code, 130, r.stderr);
        assert.match(r.stderr, /run the same command again/);
        const again = await ok(['update', ADDON, '--yes']);
        assert.match(again.stdout, new RegExp(`(upgraded from v2\\.\\d+\\.\\d to ${next.replace(/\./g, '\\.')}|at ${next.replace(/\./g, '\\.')} already)`));
      } else {
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(instance()?.version, next, `after an interrupt at request ${k}`);
      assert.equal(instance()?.state, 'active');
      assert.equal(await image(), `registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/virtual-nodes-eci:${next}-aliyun`, 'the controller runs the new version');
      assert.equal(await kept(), before, `after the upgrade to ${next}: a pod, an instance or a setting changed`);
      if (!reached) break;
    }
    assert.ok(version >= 17, `interrupted at ${version - 14} points`);
    // done: nothing newer; a re-run changes nothing and calls no upgrade
    const calls = upgrades();
    assert.match((await ok(['update', ADDON, '--yes'])).stdout, /ack-virtual-node is at v2\.\d+\.0 already; nothing changed/);
    assert.equal(upgrades(), calls);
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; status: string; message: string }[] };
    assert.equal(doc.checks.find((c) => c.check === 'addon')?.status, 'PASS');
    const st = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as { addon: { installed: string; newer: string[] } };
    assert.deepEqual([st.addon.installed, st.addon.newer], [instance()!.version, []]);
    const nodes = await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'type=virtual-kubelet' });
    assert.ok(nodes.length > 0 && nodes.every((n) => ((n.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')));
    // every call was the operator's, none denied: the operator policy covers the add-on's upgrade and reads
    assert.deepEqual([...emu.stats.keys()].filter((k) => / (ErrorCheckAcl|Forbidden\.RAM|NoPermission)$/.test(k)), []);
    // the catalog answers supported_actions as documented (capitalised): vnode read Upgrade from it
    assert.deepEqual(ADDON_CATALOG.find((a) => a.name === ADDON)!.supported_actions, ['Install', 'Upgrade', 'Modify', 'Uninstall']);
  });

  it('an upgrade that overwrites the add-on\'s settings (policy: overwrite): both put back; interrupted between the upgrade and the put-back, the re-run puts them back from what was recorded before the call', async () => {
    emu.state.data.addonUpgradeOverwrites = true;
    // a setting of the user's in eci-profile too (the controller's env has one since before)
    await admin.patch(PROFILE, { data: { enablePrivateZone: 'true' } }, 'merge');
    const before = await kept();
    const at = instance()!.version;
    const minor = Number(/^v2\.(\d+)\./.exec(at)![1]);
    const next = (n: number): string => `v2.${n}.0`;
    offer(at, next(minor + 1));
    const r = JSON.parse((await ok(['update', ADDON, '--yes', '-o', 'json'])).stdout) as { action: string; restored: string[] };
    assert.equal(r.action, 'upgraded');
    assert.deepEqual(r.restored, ['ConfigMap kube-system/eci-profile', 'the env of Deployment kube-system/ack-virtual-node-controller']);
    assert.equal(await kept(), before, 'the settings are as they were');
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-addon-upgrade' }), undefined, 'the record goes once put back');

    // interrupted once the upgrade's task is seen done, before the put-back
    offer(at, next(minor + 1), next(minor + 2));
    const ctl = new AbortController();
    onRequest = (action, code) => { if (action === 'GetClusterAddonInstance' && code === 'OK' && instance()?.version === next(minor + 2) && instance()?.state === 'active') ctl.abort(); };
    let cut: RunResult;
    try { cut = await vk(['update', ADDON, '--yes'], ctl.signal); } finally { onRequest = () => {}; }
    assert.equal(cut.code, 130, cut.stderr);
    assert.equal(instance()?.version, next(minor + 2));
    assert.notEqual(await kept(), before, 'the upgrade overwrote the settings and nothing put them back yet');
    const record = await admin.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-addon-upgrade' });
    assert.equal(record?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
    const again = await ok(['update', ADDON, '--yes']);
    assert.match(again.stdout, new RegExp(`at ${next(minor + 2).replace(/\./g, '\\.')} already; an earlier upgrade's changes were put back as they were: ConfigMap kube-system/eci-profile, the env of Deployment`));
    assert.equal(await kept(), before, 'put back by the re-run');
    assert.equal(await admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-addon-upgrade' }), undefined);
    delete emu.state.data.addonUpgradeOverwrites;
  });
});
