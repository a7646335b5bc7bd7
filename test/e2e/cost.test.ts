import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startSandboxCloud } from '../../src/sandbox/cloud-sandbox.js';
import { PER_GIB_SECOND, PER_VCPU_SECOND } from '../../src/sandbox/cloud/pricing.js';
import type { CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { iso } from '../../src/sandbox/cloud/state.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, until, type RunResult } from '../helpers/run.js';
import { operatorPolicy, ramUserEnv } from '../helpers/ram-user.js';
import type { CostReport } from '../../src/steps/cost/cost.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const VSW = 'vsw-bp1sandboxzoneh00001';
const SG = 'sg-bp1sandboxkubelet0001';
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

/** What bursting costs, priced by the emulator's ECI as the SDK asks it. */
describe('vnode cost (real control plane, sandbox cloud, DescribeContainerGroupPrice)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let vnodeNode: string;
  const vk = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: emu.env() });
  const ok = async (args: string[]): Promise<RunResult> => {
    const r = await vk(args);
    assert.equal(r.code, 0, `vnode ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  /** ECI's own answer for a spec: what every figure must come from. */
  async function eciPrice(req: Record<string, unknown>): Promise<{ trade: number; spot?: number }> {
    const k = emu.state.operatorKey;
    const client = new eciSdk.default(new openapiClient.Config({ accessKeyId: k.id, accessKeySecret: k.secret, endpoint: emu.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    const r = await client.describeContainerGroupPrice(new eciSdk.DescribeContainerGroupPriceRequest({ regionId: 'cn-hangzhou', ...req }));
    return { trade: r.body!.priceInfo!.price!.tradePrice!, ...(r.body?.priceInfo?.spotPrices?.spotPrice?.[0] ? { spot: r.body.priceInfo.spotPrices.spotPrice[0].spotPrice! } : {}) };
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startSandboxCloud({ readyDelayMs: 200, releaseDelayMs: 500, adminKubeconfig: cp.kubeconfig });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    await ok(['ram', 'grant', '--yes']);
    await ok(['install', '--vswitch', VSW, '--security-group', SG, '--name', 'c1']);
    await ok(['install', '--mode', 'addon', '--vswitch', VSW, '--security-group', SG, '--yes']);
    vnodeNode = (await admin.list<KubeObject>('v1', 'Node', { labelSelector: 'k8s.aliyun.com/vnode=true' }))[0]!.metadata.name!;
    await admin.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'burst', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'burst' } }, template: { metadata: { labels: { app: 'burst' } }, spec: {
        nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }], automountServiceAccountToken: false,
        containers: [{ name: 'c', image: 'nginx' }],
      } } },
    } as KubeObject);
    // a spot pod of another spec on the add-on's node, in its own namespace
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    await until('team-a\'s ServiceAccount', () => admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'team-a', name: 'default' }));
    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'spot-job', namespace: 'team-a', labels: { app: 'spot' }, annotations: { 'k8s.aliyun.com/eci-use-specs': '4-8Gi', 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo' } },
      spec: { nodeName: 'virtual-kubelet-cn-hangzhou-h', automountServiceAccountToken: false, tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists' }], containers: [{ name: 'c', image: 'busybox' }] },
    } as KubeObject);
    // an economy pod on the VNode (documented annotation; ECI bills it at the economy price)
    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'eco-job', namespace: 'team-a', labels: { app: 'eco' }, annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi', 'k8s.aliyun.com/eci-compute-category': 'economy' } },
      spec: { nodeName: vnodeNode, automountServiceAccountToken: false, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }], containers: [{ name: 'c', image: 'busybox' }] },
    } as KubeObject);
    await until('four pods running on ECI', async () => {
      const pods = [...await admin.list<KubeObject & { status?: { phase?: string } }>('v1', 'Pod', { namespace: 'default', labelSelector: 'app=burst' }),
        ...await admin.list<KubeObject & { status?: { phase?: string } }>('v1', 'Pod', { namespace: 'team-a' })];
      return pods.length === 4 && pods.every((p) => p.status?.phase === 'Running' && p.metadata.annotations?.['k8s.aliyun.com/eci-instance-id']);
    });
    // an instance no pod accounts for, and one that ended 10 minutes ago after 20 minutes
    const base = { regionId: 'cn-hangzhou', zoneId: 'cn-hangzhou-h', vSwitchId: VSW, securityGroupId: SG, intranetIp: '192.168.0.99', cpu: 2, memory: 4 };
    emu.state.data.containerGroups.push(
      { ...base, id: 'eci-orphan0000000000001', name: 'lost', status: 'Running', tags: [{ Key: 'NodeName', Value: vnodeNode }], creationTime: iso(new Date(Date.now() - 600_000)) },
      { ...base, id: 'eci-releasing0000000001', name: 'going', status: 'Terminating', tags: [{ Key: 'NodeName', Value: vnodeNode }], creationTime: iso(new Date(Date.now() - 600_000)) },
      { ...base, id: 'eci-orphan0000000000002', name: 'lost-spot', status: 'Running', spotStrategy: 'SpotAsPriceGo', tags: [{ Key: 'NodeName', Value: vnodeNode }], creationTime: iso(new Date(Date.now() - 600_000)) },
      { ...base, id: 'eci-ended00000000000001', name: 'done', status: 'Succeeded', tags: [{ Key: 'NodeName', Value: vnodeNode }, { Key: 'NameSpace', Value: 'default' }, { Key: 'PodName', Value: 'job-1' }],
        creationTime: iso(new Date(Date.now() - 1_800_000)), succeededTime: iso(new Date(Date.now() - 600_000)) },
    );
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('prices every billed thing from ECI: VNodes, instances (spot at the spot price), groups, orphans apart, ended ones for what they ran', async () => {
    const before = emu.stats.get('DescribeContainerGroupPrice OK') ?? 0;
    const r = JSON.parse((await ok(['cost', '-o', 'json'])).stdout) as CostReport;
    const priceCalls = (emu.stats.get('DescribeContainerGroupPrice OK') ?? 0) - before;
    assert.equal(r.currency, 'CNY');
    assert.match(r.note, /list prices of pay-as-you-go ECI.*before discounts, savings plans or free quotas; the bill is the authority/);
    const vnode = await eciPrice({ cpu: 2, memory: 8 });
    assert.equal(r.vnodes.length, 1);
    close(r.vnodes[0]!.rate.perSecond, vnode.trade, 'the VNode, a resident 2 vCPU / 8 GiB instance');
    close(vnode.trade, 2 * PER_VCPU_SECOND + 8 * PER_GIB_SECOND, 'the emulator\'s own table');
    const onDemand = await eciPrice({ cpu: 2, memory: 4, zoneId: 'cn-hangzhou-h' });
    const spot = await eciPrice({ cpu: 4, memory: 8, zoneId: 'cn-hangzhou-h', spotStrategy: 'SpotAsPriceGo' });
    const burst = r.instances.filter((i) => i.workload === 'Deployment default/burst');
    assert.equal(burst.length, 2);
    for (const i of burst) { close(i.rate.perSecond, onDemand.trade, i.pod!); assert.equal(i.spot, false); assert.equal(i.node, vnodeNode); }
    const sj = r.instances.find((i) => i.pod === 'spot-job')!;
    assert.equal(sj.spot, true);
    assert.equal(sj.spec, '4 vCPU / 8 GiB, spot');
    // documented: SpotPrice is per hour (TradePrice per second)
    close(sj.rate.perSecond, spot.spot! / 3600, 'spot: the hourly spot price / 3600');
    close(sj.rate.perHour, spot.spot!, 'spot per hour: ECI\'s SpotPrice as it came');
    assert.ok(spot.spot! / 3600 < spot.trade, 'the spot price is below the list price, per second');
    // economy: the documented economy prices (vCPU 0.000027, memory 0.00000613 per second), asked with ComputeCategory
    const eco = r.instances.find((i) => i.pod === 'eco-job')!;
    assert.deepEqual([eco.economy, eco.spec], [true, '2 vCPU / 4 GiB, economy']);
    close(eco.rate.perSecond, 2 * 0.000027 + 4 * 0.00000613, 'economy at the economy price');
    assert.ok(eco.rate.perSecond < onDemand.trade);
    close(sj.rate.perHour, sj.rate.perSecond * 3600, 'per hour');
    close(sj.rate.per30Days, sj.rate.perDay * 30, 'per 30 days');
    assert.deepEqual(r.byNamespace.map((g) => `${g.key}:${g.instances}`).sort(), ['default:2', 'team-a:2']);
    close(r.byWorkload.find((g) => g.key === 'Deployment default/burst')!.rate.perSecond, 2 * onDemand.trade, 'the workload');
    assert.deepEqual(r.orphans.map((o) => o.id).sort(), ['eci-orphan0000000000001', 'eci-orphan0000000000002']);
    const spotH = await eciPrice({ cpu: 2, memory: 4, zoneId: 'cn-hangzhou-h', spotStrategy: 'SpotAsPriceGo' });
    close(r.orphans.find((o) => o.id.endsWith('2'))!.rate.perHour, spotH.spot!, 'a spot orphan at the hourly spot price');
    assert.deepEqual(r.incomplete, []);
    // ECI releasing an instance is no orphan: shown apart, not in the total
    assert.deepEqual(r.releasing.map((o) => o.id), ['eci-releasing0000000001']);
    assert.deepEqual(r.ended.map((e) => `${e.id} ${e.namespace}/${e.pod} ${e.ranSeconds}`), ['eci-ended00000000000001 default/job-1 1200']);
    close(r.ended[0]!.cost, onDemand.trade * 1200, 'what the ended one cost while it ran');
    close(r.total.perSecond, vnode.trade + 2 * onDemand.trade + spot.spot! / 3600 + eco.rate.perSecond + onDemand.trade + spotH.spot! / 3600, 'the total: VNode, instances and the orphans');
    // one price call per distinct spec: the VNode's, the on-demand pods' (and an orphan's and the ended one's), the two spot ones, the economy one
    assert.equal(priceCalls, 5);
    // status's rate and doctor's orphan rate are the same figures
    const st = JSON.parse((await ok(['status', '-o', 'json'])).stdout) as { rate: { perHour: number; complete: boolean } };
    close(st.rate.perHour, r.total.perHour, 'status agrees with cost');
    assert.equal(st.rate.complete, true);
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; message: string }[] };
    const orphanRate = Number(/\((\d+\.\d{4}) CNY per hour/.exec(doc.checks.find((c) => c.check === 'orphans' && c.target === 'c1')!.message)![1]);
    close(orphanRate, Number((onDemand.trade * 3600 + spotH.spot!).toFixed(4)), 'doctor prices the orphans as cost does');
    const text = (await ok(['cost'])).stdout;
    assert.match(text, /^Rate now: \d+\.\d\d CNY\/hour/);
    assert.match(text, /ORPHANS: 2 ECI instance\(s\) .* billed for nothing/);
    assert.match(text, /RELEASING: 1 ECI instance\(s\) of pods that are gone, which ECI is releasing now \(Terminating\); not in the rate\n.*\n.*eci-releasing0000000001/);
    assert.match(text, /priced at the current spot price ECI reports for their zone and type/);
  });

  it('--namespace and --selector narrow it; bad ones exit 2; status has the rate line and doctor warns on the orphan with its rate', async () => {
    const ns = JSON.parse((await ok(['cost', '--namespace', 'team-a', '-o', 'json'])).stdout) as CostReport;
    assert.deepEqual(ns.instances.map((i) => i.pod), ['eco-job', 'spot-job']);
    assert.deepEqual([ns.vnodes.length, ns.orphans.length], [0, 0]);
    const sel = JSON.parse((await ok(['cost', '--selector', 'app=burst', '-o', 'json'])).stdout) as CostReport;
    assert.equal(sel.instances.length, 2);
    const huge = `app=${'x'.repeat(100_000)}`;
    for (const [args, re] of [[['--namespace', 'Team_A'], /invalid --namespace "Team_A"/], [['--selector', 'app==x==y'], /invalid --selector "app==x==y": found '==', expected/],
      [['--selector', huge], /invalid --selector "app=x{50,}… \(100004 characters\)"/]] as const) {
      const r = await vk(['cost', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.ok(r.stderr.length < 1000, `the error is one short line, not the value (${r.stderr.length} characters)`);
    }
    // kubectl's whole grammar: set-based selectors too
    const set = JSON.parse((await ok(['cost', '--selector', 'app in (burst, web)', '-o', 'json'])).stdout) as CostReport;
    assert.equal(set.instances.length, 2);
    const notIn = JSON.parse((await ok(['cost', '--selector', '!nope,app notin (burst)', '-o', 'json'])).stdout) as CostReport;
    assert.deepEqual(notIn.instances.map((i) => i.pod).sort(), ['eco-job', 'spot-job']);
    const nope = await ok(['cost', '--namespace', 'nope']);
    assert.match(nope.stderr, /namespace "nope" does not exist in this cluster/);
    const st = await ok(['status']);
    assert.match(st.stdout, /Rate now: \d+\.\d\d CNY\/hour at ECI list prices, 2 orphan instance\(s\) included/);
    const doc = JSON.parse((await vk(['doctor', '-o', 'json'])).stdout) as { checks: { check: string; target: string; status: string; message: string }[] };
    const orphan = doc.checks.find((c) => c.check === 'orphans' && c.target === 'c1')!;
    assert.equal(orphan.status, 'WARN');
    assert.match(orphan.message, /\(0\.\d{4} CNY per hour at list price\): eci-orphan000000000000[12]/);
  });

  it('a caller without eci:DescribeContainerGroups gets an empty list, not a denial: cost and status say incomplete, uninstall is refused with the VNode and its instances kept', async () => {
    const env = await ramUserEnv(emu, 'no-list', await operatorPolicy(['eci:DescribeContainerGroups']));
    const as = (args: string[]): Promise<RunResult> => runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...env } });
    const emptyBefore = emu.stats.get('DescribeContainerGroups empty') ?? 0;
    const c = await as(['cost', '-o', 'json']);
    assert.equal(c.code, 0, c.stderr);
    const r = JSON.parse(c.stdout) as CostReport;
    assert.ok((emu.stats.get('DescribeContainerGroups empty') ?? 0) > emptyBefore, 'the emulator answered an empty list');
    assert.equal(r.incomplete.length, 1);
    assert.match(r.incomplete[0]!, /ECI does not list the instance\(s\) of 4 running pod\(s\).*without eci:DescribeContainerGroups.*may lack it/);
    assert.match((await as(['cost'])).stdout, /INCOMPLETE: /);
    const st = JSON.parse((await as(['status', '-o', 'json'])).stdout) as { rate: { complete: boolean } };
    assert.equal(st.rate.complete, false);
    const running = emu.state.data.containerGroups.filter((g) => g.status === 'Running').map((g) => g.id).sort();
    const u = await as(['uninstall', 'c1', '--drain', '--yes']);
    assert.equal(u.code, 1, u.stderr);
    assert.match(u.stderr, /ECI does not list the instance\(s\) of 3 running pod\(s\) on .*eci:DescribeContainerGroups.*nothing was changed/);
    assert.equal(emu.state.data.virtualNodes.length, 1, 'the VNode is kept');
    assert.deepEqual(emu.state.data.containerGroups.filter((g) => g.status === 'Running').map((g) => g.id).sort(), running, 'its instances run on');
    const node = await admin.get<KubeObject & { spec?: { unschedulable?: boolean } }>({ apiVersion: 'v1', kind: 'Node', name: vnodeNode });
    assert.notEqual(node?.spec?.unschedulable, true, 'not even cordoned');
  });

  it('one Ctrl-C ends a read at once: cost and status exit 130 within a second while a DescribeContainerGroups is in flight', async () => {
    emu.faults.set('DescribeContainerGroups', parseFaults('latency=3s').get('*')!);
    try {
      for (const cmd of [['cost'], ['status']]) {
        const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../bin/vnode.js'), '--kubeconfig', cp.kubeconfig, ...cmd],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...emu.env(), HOME: cp.workDir } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        // started, connected, and waiting on the slow listing (3 s a page)
        await new Promise((r) => setTimeout(r, 1500));
        const sent = Date.now();
        child.kill('SIGINT');
        const code = await exited;
        const took = Date.now() - sent;
        assert.equal(code, 130, `vnode ${cmd.join(' ')}: ${stderr}`);
        assert.ok(took < 1000, `vnode ${cmd.join(' ')} took ${took} ms to stop`);
        assert.match(stderr, /interrupted/);
      }
    } finally {
      emu.faults.delete('DescribeContainerGroups');
    }
  });

  it('the emulator refuses what DescribeContainerGroupPrice refuses: a spec ECI does not offer, SpotWithPriceLimit without a limit', async () => {
    await assert.rejects(eciPrice({ cpu: 3, memory: 5 }), (e: { code?: string }) => e.code === 'InvalidParameter.CpuOrMemory');
    await assert.rejects(eciPrice({ cpu: 2, memory: 4, spotStrategy: 'SpotWithPriceLimit' }), (e: { code?: string }) => e.code === 'MissingParameter.SpotPriceLimit');
    await assert.rejects(eciPrice({ instanceType: 'ecs.nope.large' }), (e: { code?: string }) => e.code === 'InvalidParameter.InstanceType');
    const limited = await eciPrice({ cpu: 2, memory: 4, spotStrategy: 'SpotWithPriceLimit', spotPriceLimit: 0.1 });
    assert.ok(limited.spot !== undefined);
  });
});
