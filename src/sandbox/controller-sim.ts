import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import { CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, type V1Pod } from '@kubernetes/client-node';
import { cloudError } from '../cloud/errors.js';
import { poolConnections } from '../cluster/kube.js';
import { childController, pause as sleep } from '../util/sleep.js';
import { podSpec } from './cloud/pricing.js';
import { EciClient, withFields } from '../cloud/eci.js';
import type { CloudState } from './cloud/state.js';
import { allocateIp } from './cloud/state.js';
import { containerEnv, INSTANCE_ANNOTATION, messageOf, podEvent, registerNode, renewLease, serveNode, serviceAccountKubeConfig, watchPods, type PodProvider } from './kubelet.js';


/** The pods of the add-on's controller Deployment, as the sandbox's add-on manager labels them. */
export const CONTROLLER_SELECTOR = 'app=ack-virtual-node-controller';
const SOURCE = 'ack-virtual-node';
const PROFILE_POLL_MS = 500;

type Profile = Record<string, string>;

export interface ControllerSimOptions {
  adminKubeconfig: string;
  /** host:port of the cloud emulator: the replicas' ECI endpoint. */
  endpoint: string;
  /** Only to place a node in its vSwitch's zone, as the controller learns from DescribeVSwitches. */
  state: CloudState;
  log?: (m: string) => void;
}

interface Replica { abort: AbortController; done: Promise<void> }

/**
 * Plays the add-on's controller (ack-virtual-node-controller): no pod runs here, so for each of its pods the sandbox
 * does what that pod would, with exactly what the pod has: its env (the AccessKey from alibaba-addon-secret,
 * resolved as a kubelet resolves secretKeyRef) for signed ECI calls, and its ServiceAccount's token for the cluster.
 * As documented, it runs one node per zone of eci-profile's vSwitchIds, named virtual-kubelet-<zone>, and reads
 * eci-profile live: a change applies to the next ECI pod, without a restart.
 */
export class ControllerSimulator {
  private readonly replicas = new Map<string, Replica>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly admin = new KubeConfig();

  constructor(private readonly opts: ControllerSimOptions) {
    this.admin.loadFromFile(opts.adminKubeconfig);
    poolConnections(this.admin);
  }

  start(): void {
    this.loop ??= this.watchPods(this.abort.signal).catch((e: unknown) => this.log(`controller watch ended: ${messageOf(e)}`));
  }

  async stopAll(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.replicas.keys()].map((uid) => this.stopReplica(uid)));
    await this.loop;
  }

  private log(m: string): void {
    this.opts.log?.(`controller-sim: ${m}`);
  }

  private async watchPods(signal: AbortSignal): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    const onPod = (type: string, pod: V1Pod): void => {
      const uid = pod.metadata?.uid ?? '';
      if (type === 'DELETED' || pod.metadata?.deletionTimestamp) void this.stopReplica(uid);
      else if (!this.replicas.has(uid)) this.startReplica(pod);
    };
    while (!signal.aborted) {
      let rv: string | undefined;
      try {
        const list = await core.listPodForAllNamespaces({ labelSelector: CONTROLLER_SELECTOR });
        const live = new Set(list.items.map((p) => p.metadata?.uid ?? ''));
        for (const uid of this.replicas.keys()) if (!live.has(uid)) void this.stopReplica(uid);
        for (const p of list.items) onPod('ADDED', p);
        rv = list.metadata?.resourceVersion;
      } catch {
        await sleep(1000, signal);
        continue;
      }
      await watchPods(this.admin, { labelSelector: CONTROLLER_SELECTOR, resourceVersion: rv }, onPod, signal);
    }
  }

  private startReplica(pod: V1Pod): void {
    // a list or event that lands after stopAll starts nothing: that replica would outlive the sandbox
    if (this.abort.signal.aborted) return;
    const uid = pod.metadata!.uid!;
    const abort = childController(this.abort.signal);
    const done = this.runReplica(pod, abort.signal).catch((e: unknown) => {
      if (!abort.signal.aborted) this.log(`${pod.metadata?.name} stopped: ${messageOf(e)}`);
    });
    this.replicas.set(uid, { abort, done });
  }

  private async stopReplica(uid: string): Promise<void> {
    const r = this.replicas.get(uid);
    if (!r) return;
    this.replicas.delete(uid);
    r.abort.abort();
    await r.done;
  }

  /** The kubelet's part: the container's env; a missing Secret is retried, as CreateContainerConfigError is. */
  private async resolveEnv(pod: V1Pod, signal: AbortSignal): Promise<Record<string, string>> {
    const core = this.admin.makeApiClient(CoreV1Api);
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        return await containerEnv(core, pod, pod.spec!.containers[0]!);
      } catch (e) {
        if (attempt === 1 || attempt % 10 === 0) await podEvent(core, 'kubelet', pod, 'CreateContainerConfigError', `Error: ${messageOf(e)}`).catch(() => undefined);
        await sleep(2000, signal);
      }
    }
    return {};
  }

  /** What the pod's projected ServiceAccount token would be: a TokenRequest bound to the pod. */
  private podKubeconfig(pod: V1Pod): Promise<KubeConfig> {
    return serviceAccountKubeConfig(this.admin, pod.metadata!.namespace!, pod.spec?.serviceAccountName || 'default', { seconds: 3600, boundPod: pod });
  }

  private async runReplica(pod: V1Pod, signal: AbortSignal): Promise<void> {
    const env = await this.resolveEnv(pod, signal);
    if (signal.aborted) return;
    const kc = await this.podKubeconfig(pod);
    const core = kc.makeApiClient(CoreV1Api);
    const serverVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
    const region = env.ECI_REGION ?? '';
    const client = new EciClient(new openapiClient.Config({
      accessKeyId: env.ECI_ACCESS_KEY ?? '', accessKeySecret: env.ECI_SECRET_KEY ?? '', endpoint: this.opts.endpoint, protocol: 'http', regionId: region,
      readTimeout: 15_000, connectTimeout: 15_000, userAgent: 'ack-virtual-node (vnode sandbox)',
    }));
    // eci-profile, as the controller's ServiceAccount reads it
    const profile: { current: Profile } = { current: {} };
    const nodes = new Map<string, { abort: AbortController; done: Promise<void> }>();
    const reconcile = async (): Promise<void> => {
      try {
        profile.current = (await core.readNamespacedConfigMap({ name: 'eci-profile', namespace: 'kube-system' })).data ?? {};
      } catch (e) {
        if ((e as { code?: number }).code !== 404) this.log(`reading eci-profile: ${messageOf(e)}`);
        profile.current = {};
      }
      const zones = new Set(this.vSwitchesOf(profile.current).map((v) => v.zoneId));
      for (const zone of zones) {
        if (nodes.has(zone) || signal.aborted) continue;
        const abort = childController(signal);
        const done = this.runNode(kc, core, serverVersion, region, zone, env, client, profile, abort.signal)
          .catch((e: unknown) => { if (!abort.signal.aborted) this.log(`virtual-kubelet-${zone} stopped: ${messageOf(e)}`); });
        nodes.set(zone, { abort, done });
      }
      // a zone no longer in vSwitchIds keeps its node (its pods still run there); new pods there fail for want of a vSwitch
    };
    while (!signal.aborted) {
      await reconcile();
      await sleep(PROFILE_POLL_MS, signal);
    }
    await Promise.all([...nodes.values()].map((n) => n.done));
  }

  /** vSwitches of eci-profile, with their zones (as the controller learns from DescribeVSwitches). */
  private vSwitchesOf(p: Profile): { id: string; zoneId: string }[] {
    const ids = (p.vSwitchIds ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    return ids.map((id) => this.opts.state.data.vswitches.find((v) => v.id === id)).filter((v) => v !== undefined).map((v) => ({ id: v.id, zoneId: v.zoneId }));
  }

  private async runNode(kc: KubeConfig, core: CoreV1Api, serverVersion: string, region: string, zone: string, env: Record<string, string>, client: EciClient,
    profile: { current: Profile }, signal: AbortSignal): Promise<void> {
    const name = `virtual-kubelet-${zone}`;
    const home = this.vSwitchesOf(profile.current).find((v) => v.zoneId === zone);
    const ip = allocateIp(this.opts.state, home?.id ?? '');
    for (;;) {
      try {
        await registerNode(core, {
          name, internalIp: ip, machineId: `${env.ALIYUN_CLUSTERID ?? ''}-${zone}`, serverVersion,
          labels: {
            type: 'virtual-kubelet', 'kubernetes.io/role': 'agent', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/os': 'linux',
            'kubernetes.io/hostname': name, 'alpha.service-controller.kubernetes.io/exclude-balancer': 'true', 'service.beta.kubernetes.io/exclude-node': 'true',
            ...(region ? { 'topology.kubernetes.io/region': region } : {}), 'topology.kubernetes.io/zone': zone,
          },
          taints: [{ key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' }],
        });
        await renewLease(kc.makeApiClient(CoordinationV1Api), name);
        break;
      } catch (e) {
        this.log(`${name}: registration failed: ${messageOf(e)}`);
        await sleep(2000, signal);
        if (signal.aborted) return;
      }
    }
    this.log(`${name} Ready`);
    await serveNode(kc, name, ip, this.provider(client, env, name, zone, profile), {
      node: (type, reason, message) => this.log(`${name}: ${type} ${reason}: ${message}`),
      pod: (p, reason, message) => { void podEvent(core, SOURCE, p, reason, message).catch((e: unknown) => this.log(`event for ${p.metadata?.name}: ${messageOf(e)}`)); },
    }, signal);
  }

  /** Container groups through the ECI API, signed with the addon's AccessKey: RAM decides what the controller may do. */
  private provider(client: EciClient, env: Record<string, string>, nodeName: string, zone: string, profile: { current: Profile }): PodProvider {
    const region = env.ECI_REGION ?? '';
    const describe = async (pod: V1Pod): Promise<{ id: string; ip: string } | undefined> => {
      const r = await client.describeContainerGroups(new eciSdk.DescribeContainerGroupsRequest({
        regionId: region, tag: [new eciSdk.DescribeContainerGroupsRequestTag({ key: 'UID', value: pod.metadata!.uid! })],
      })).catch((e: unknown) => { throw cloudError(e, 'eci:DescribeContainerGroups'); });
      const cg = r.body?.containerGroups?.[0];
      return cg ? { id: cg.containerGroupId ?? '', ip: cg.intranetIp ?? '' } : undefined;
    };
    return {
      create: async (pod) => {
        const ns = pod.metadata!.namespace!;
        const name = pod.metadata!.name!;
        // read at creation: a changed eci-profile applies to the next pod
        const p = profile.current;
        const vSwitchId = this.vSwitchesOf(p).find((v) => v.zoneId === zone)?.id;
        if (!vSwitchId) throw new Error(`eci-profile names no vSwitch in zone ${zone}`);
        const spec = podSpec(pod as Parameters<typeof podSpec>[0]);
        const req = new eciSdk.CreateContainerGroupRequest({
          regionId: region, containerGroupName: `${ns}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 128).replace(/^-+|-+$/g, ''),
          securityGroupId: p.securityGroupId, vSwitchId, resourceGroupId: p.resourceGroupId || undefined,
          // the spec the pod asks for (documented annotations), as the controller passes it on
          ...{ cpu: spec.cpu, memory: spec.memory, instanceType: spec.instanceType, spotStrategy: spec.spotStrategy },
          // one pod, one container group, whatever is retried
          clientToken: pod.metadata!.uid,
          container: (pod.spec?.containers ?? []).map((c) => new eciSdk.CreateContainerGroupRequestContainer({ name: c.name, image: c.image ?? '' })),
          tag: [['ClusterId', env.ALIYUN_CLUSTERID ?? ''], ['NodeName', nodeName], ['NameSpace', ns], ['PodName', name], ['UID', pod.metadata!.uid!]]
            .map(([key, value]) => new eciSdk.CreateContainerGroupRequestTag({ key, value })),
        });
        try {
          // ComputeCategory.N is documented but not in the SDK's model: sent through the SDK's callApi
          await withFields(spec.computeCategory ? { 'ComputeCategory.1': spec.computeCategory } : {}, () => client.createContainerGroup(req));
        } catch (e) {
          throw cloudError(e, 'eci:CreateContainerGroup');
        }
        const cg = await describe(pod);
        if (!cg) throw new Error('the container group is not listed yet');
        return cg;
      },
      delete: async (pod) => {
        const id = pod.metadata?.annotations?.[INSTANCE_ANNOTATION] ?? (await describe(pod))?.id;
        if (!id) return;
        try {
          await client.deleteContainerGroup(new eciSdk.DeleteContainerGroupRequest({ regionId: region, containerGroupId: id }));
        } catch (e) {
          if ((e as { code?: string }).code === 'InvalidContainerGroupId.NotFound') return;
          throw cloudError(e, 'eci:DeleteContainerGroup');
        }
      },
    };
  }
}
