import eciSdk from '@alicloud/eci20180808';
import openapiClient from '@alicloud/openapi-client';
import { CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, type V1EnvVar, type V1Pod } from '@kubernetes/client-node';
import { cloudError } from '../cloud/errors.js';
import { poolConnections } from '../cluster/kube.js';
import { pause as sleep } from '../util/sleep.js';
import type { CloudState } from './cloud/state.js';
import { allocateIp } from './cloud/state.js';
import { INSTANCE_ANNOTATION, messageOf, podEvent, registerNode, renewLease, serveNode, serviceAccountKubeConfig, watchPods, type PodProvider } from './kubelet.js';

type EciClient = InstanceType<typeof eciSdk.default>;

/** The pods of the in-cluster controller, as vnode's StatefulSet labels them. */
export const CONTROLLER_SELECTOR = 'app=virtual-node-eci';
const SOURCE = 'virtual-node-eci';

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
 * Plays each replica of the virtual-node-eci StatefulSet: no pod runs here, so for each of its pods the sandbox
 * does what that pod would, with exactly what the pod has: its env (the AccessKey from alibaba-addon-secret,
 * resolved as a kubelet resolves secretKeyRef) for signed ECI calls, and its ServiceAccount's token for the cluster.
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
    const uid = pod.metadata!.uid!;
    const abort = new AbortController();
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

  /** The kubelet's part: env from values and secretKeyRefs; a missing Secret is retried, as CreateContainerConfigError is. */
  private async resolveEnv(pod: V1Pod, signal: AbortSignal): Promise<Record<string, string>> {
    const core = this.admin.makeApiClient(CoreV1Api);
    const ns = pod.metadata!.namespace!;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const env: Record<string, string> = {};
        for (const e of (pod.spec?.containers?.[0]?.env ?? []) as V1EnvVar[]) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) { env[e.name] = e.value ?? ''; continue; }
          let secret;
          try { secret = await core.readNamespacedSecret({ name: ref.name!, namespace: ns }); } catch (err) {
            if ((err as { code?: number }).code === 404) throw new Error(`secret "${ref.name}" not found`);
            throw err;
          }
          const v = secret.data?.[ref.key];
          if (v === undefined) throw new Error(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
          env[e.name] = Buffer.from(v, 'base64').toString('utf8');
        }
        return env;
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
    const name = pod.metadata!.name!;
    const env = await this.resolveEnv(pod, signal);
    if (signal.aborted) return;
    const kc = await this.podKubeconfig(pod);
    const core = kc.makeApiClient(CoreV1Api);
    const serverVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
    const region = env.ECI_REGION ?? '';
    const vSwitches = (env.ECI_VSWITCH ?? '').split(',').filter(Boolean);
    const home = this.opts.state.data.vswitches.find((v) => v.id === vSwitches[0]);
    const zone = home?.zoneId ?? '';
    const ip = allocateIp(this.opts.state, vSwitches[0] ?? '');
    const taintKey = env.VKUBELET_TAINT_KEY || 'virtual-kubelet.io/provider';
    for (;;) {
      try {
        await registerNode(core, {
          name, internalIp: ip, machineId: pod.metadata!.uid!, serverVersion,
          labels: {
            type: 'virtual-kubelet', 'kubernetes.io/role': 'agent', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/os': 'linux',
            'kubernetes.io/hostname': name, 'alpha.service-controller.kubernetes.io/exclude-balancer': 'true',
            ...(region ? { 'topology.kubernetes.io/region': region } : {}), ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}),
          },
          taints: [{ key: taintKey, value: env.VKUBELET_TAINT_VALUE || 'alibabacloud', effect: env.VKUBELET_TAINT_EFFECT || 'NoSchedule' }],
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
    const client: EciClient = new eciSdk.default(new openapiClient.Config({
      accessKeyId: env.ECI_ACCESS_KEY ?? '', accessKeySecret: env.ECI_SECRET_KEY ?? '', endpoint: this.opts.endpoint, protocol: 'http', regionId: region,
      readTimeout: 15_000, connectTimeout: 15_000, userAgent: 'virtual-node-eci (vnode sandbox)',
    }));
    await serveNode(kc, name, ip, this.provider(client, env, name), {
      node: (type, reason, message) => this.log(`${name}: ${type} ${reason}: ${message}`),
      pod: (p, reason, message) => { void podEvent(core, SOURCE, p, reason, message).catch((e: unknown) => this.log(`event for ${p.metadata?.name}: ${messageOf(e)}`)); },
    }, signal);
  }

  /** Container groups through the ECI API, signed with the addon's AccessKey: RAM decides what the controller may do. */
  private provider(client: EciClient, env: Record<string, string>, nodeName: string): PodProvider {
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
        const req = new eciSdk.CreateContainerGroupRequest({
          regionId: region, containerGroupName: `${ns}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 128).replace(/^-+|-+$/g, ''),
          securityGroupId: env.ECI_SECURITY_GROUP, vSwitchId: env.ECI_VSWITCH, resourceGroupId: env.ALIYUN_RESOURCEGROUP_ID || undefined,
          // one pod, one container group, whatever is retried
          clientToken: pod.metadata!.uid,
          container: (pod.spec?.containers ?? []).map((c) => new eciSdk.CreateContainerGroupRequestContainer({ name: c.name, image: c.image ?? '' })),
          tag: [['ClusterId', env.ALIYUN_CLUSTERID ?? ''], ['NodeName', nodeName], ['NameSpace', ns], ['PodName', name], ['UID', pod.metadata!.uid!]]
            .map(([key, value]) => new eciSdk.CreateContainerGroupRequestTag({ key, value })),
        });
        try {
          await client.createContainerGroup(req);
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
