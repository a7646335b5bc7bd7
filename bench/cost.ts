import { connectCluster } from '../src/cluster/kube.js';
import type { KubeObject } from '../src/cluster/port.js';
import type { CloudEmulator } from '../src/sandbox/cloud/server.js';
import { iso, randomId } from '../src/sandbox/cloud/state.js';
import { median } from './scheduling.js';

type Run = (args: string[], env: NodeJS.ProcessEnv) => Promise<{ code: number; ms: number; stdout: string; stderr: string }>;

/**
 * `vnode cost` at scale, on the path users have: 3000 instances tied to 3000 pods (the documented annotation) of 30
 * workloads on a virtual node, on-demand, spot and economy among them, beside the VNode itself. The floor of ECI calls
 * is the documented page size (DescribeContainerGroups returns at most 20) per virtual node, one
 * DescribeContainerGroupPrice per distinct spec, and one DescribeVirtualNodes.
 */
export async function costBench(kubeconfig: string, env: NodeJS.ProcessEnv, runCli: Run, cloud: CloudEmulator): Promise<void> {
  const N = Number(process.env.BENCH_COST_INSTANCES ?? 3000);
  const WORKLOADS = 30;
  const r = await runCli(['install', '--vswitch', 'vsw-bp1sandboxzoneh00001', '--security-group', 'sg-bp1sandboxkubelet0001', '--name', 'cost'], env);
  if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`);
  const cluster = await connectCluster({ kubeconfig, context: undefined }, { env: {}, cwd: process.cwd() });
  // an add-on style virtual node no simulation serves: its pods stay as created, tied to the instances below
  const node = 'virtual-kubelet-cn-hangzhou-h';
  await cluster.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { type: 'virtual-kubelet' } } } as KubeObject);
  // 30 workloads: 10 on demand, 10 spot, 10 economy, of 5 vCPU/memory specs in two zones
  const cpuMem: [number, number][] = [[0.5, 1], [1, 2], [2, 4], [4, 8], [8, 16]];
  const kinds = ['on-demand', 'spot', 'economy'] as const;
  const workloads = Array.from({ length: WORKLOADS }, (_, w) => {
    const [cpu, memory] = cpuMem[w % cpuMem.length]!;
    return { name: `w${w}`, kind: kinds[Math.floor(w / 10) % 3]!, cpu, memory, zoneId: w % 2 ? 'cn-hangzhou-i' : 'cn-hangzhou-h' };
  });
  const owners = new Map<string, string>();
  for (const w of workloads) {
    const d = await cluster.create({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: 'default' },
      spec: { replicas: 0, selector: { matchLabels: { bench: w.name } }, template: { metadata: { labels: { bench: w.name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    } as KubeObject);
    owners.set(w.name, d.metadata.uid!);
  }
  const now = iso(new Date());
  const tolerations = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'virtual-kubelet.io/provider'].map((key) => ({ key, operator: 'Exists' }));
  const jobs = Array.from({ length: N }, (_, i) => i);
  for (let at = 0; at < jobs.length; at += 50) {
    await Promise.all(jobs.slice(at, at + 50).map(async (i) => {
      const w = workloads[i % WORKLOADS]!;
      const id = randomId('eci-', 20);
      await cluster.create({
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          name: `${w.name}-${i}`, namespace: 'default', labels: { bench: w.name }, annotations: { 'k8s.aliyun.com/eci-instance-id': id },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: w.name, uid: owners.get(w.name)!, controller: true }],
        },
        spec: { nodeName: node, tolerations, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx' }] },
      } as KubeObject);
      cloud.state.data.containerGroups.push({
        id, name: `default-${w.name}-${i}`, status: 'Running', regionId: 'cn-hangzhou', zoneId: w.zoneId, vSwitchId: 'vsw-bp1sandboxzoneh00001',
        securityGroupId: 'sg-bp1sandboxkubelet0001', tags: [{ Key: 'NodeName', Value: node }], creationTime: now, intranetIp: '192.168.0.1', cpu: w.cpu, memory: w.memory,
        ...(w.kind === 'spot' ? { spotStrategy: 'SpotAsPriceGo' } : {}), ...(w.kind === 'economy' ? { computeCategory: 'economy' } : {}),
      });
    }));
  }
  const specs = new Set([...workloads.map((w) => `${w.cpu}/${w.memory}/${w.zoneId}/${w.kind}`), 'vnode']).size;
  const count = (prefix: string): number => [...cloud.stats.entries()].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
  const times: number[] = [];
  let calls = 0;
  let pages = 0;
  let priceCalls = 0;
  let mix = '';
  for (let i = 0; i < 5; i++) {
    const [all, pg, pr] = [[...cloud.stats.values()].reduce((a, b) => a + b, 0), count('DescribeContainerGroups '), count('DescribeContainerGroupPrice ')];
    const c = await runCli(['cost', '-o', 'json'], env);
    if (c.code !== 0) throw new Error(`cost failed: ${c.stderr}`);
    times.push(c.ms);
    calls = [...cloud.stats.values()].reduce((a, b) => a + b, 0) - all;
    pages = count('DescribeContainerGroups ') - pg;
    priceCalls = count('DescribeContainerGroupPrice ') - pr;
    const report = JSON.parse(c.stdout) as { instances: { spot: boolean; economy: boolean; workload: string | null }[]; orphans: unknown[]; byWorkload: unknown[]; incomplete: string[] };
    if (report.instances.length !== N || report.orphans.length !== 0 || report.byWorkload.length !== WORKLOADS || report.incomplete.length) {
      throw new Error(`cost priced ${report.instances.length} of ${N} pods' instances in ${report.byWorkload.length} workloads (${report.orphans.length} orphans)`);
    }
    mix = `${report.instances.filter((x) => x.spot).length} spot, ${report.instances.filter((x) => x.economy).length} economy`;
  }
  // per virtual node: its pages (at least one); one price call per distinct spec (the VNode's included); one DescribeVirtualNodes
  const floor = Math.ceil(N / 20) + 1 + specs + 1;
  const ratio = calls / floor;
  console.log(`cost (${N} instances tied to ${N} pods of ${WORKLOADS} workloads, ${mix}, beside a VNode; 5 runs of \`vnode cost -o json\`)`);
  console.log(`  wall time      ${median(times).toFixed(0)} ms median (${Math.min(...times).toFixed(0)} to ${Math.max(...times).toFixed(0)})  (target < 3000 ms: ${median(times) < 3000 ? 'met' : 'NOT met'})`);
  console.log(`  ECI calls      ${calls} per run: ${pages} DescribeContainerGroups pages, ${priceCalls} DescribeContainerGroupPrice (one per distinct spec, the VNode's included), the rest DescribeVirtualNodes`);
  console.log(`  against floor  ${ratio.toFixed(3)}x the documented floor of ${floor} (${Math.ceil(N / 20)} + 1 pages of at most 20, ${specs} specs, 1 DescribeVirtualNodes)  (target <= 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'})`);
}
