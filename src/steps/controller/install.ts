import { stringify } from 'yaml';
import { clusterUid } from '../../cluster/cluster-id.js';
import { ensureObject } from '../../cluster/ensure.js';
import { MANAGED_BY, MANAGED_BY_LABEL, describeRef, refOf, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { usageError } from '../../errors.js';
import { ADDON_SECRET, readAddonSecret } from '../ram/addon-secret.js';
import { confirmDaemonSetPatches, keepDaemonSetsOff, type AffinityChange } from '../scheduling/daemonset-affinity.js';
import { asInput, checkNetwork, checkVersion } from '../virtual-node/preflight.js';
import { ensureStatefulSet, PROFILE_REF, readController, restartStale, waitNodesReady } from './controller.js';
import {
  clusterRole, clusterRoleBinding, CONTROLLER, defaultImage, eciProfile, NAMESPACE, NODE_LABELS, nodeName, serviceAccount, statefulSet, TAINT,
  type ControllerSettings,
} from './manifest.js';

export interface ControllerInstallOptions {
  vswitches: string[];
  securityGroup: string;
  /** undefined: as installed, else 1. */
  replicas: number | undefined;
  kubeProxy: boolean;
  image: string | undefined;
  resourceGroup: string | undefined;
  daemonsetAffinity: boolean;
  timeoutMs: number;
  wait: boolean;
}

export interface ControllerInstallResult {
  mode: 'controller';
  region: string;
  statefulSet: string;
  replicas: number;
  nodes: { name: string; ready: boolean }[];
  objects: { object: string; action: string }[];
  daemonSets: AffinityChange[];
  warnings: string[];
  dryRun: boolean;
}

const SHOWN: (keyof ControllerSettings)[] = ['vswitches', 'securityGroup', 'kubeProxy', 'resourceGroup', 'image', 'replicas'];
const FLAG: Record<string, string> = { vswitches: '--vswitch', securityGroup: '--security-group', kubeProxy: '--no-kube-proxy', resourceGroup: '--resource-group', image: '--image', replicas: '--replicas' };

/**
 * `vnode install --mode controller`: the in-cluster virtual-node controller (StatefulSet virtual-node-eci), one
 * virtual node per replica, creating ECI instances with the AccessKey in alibaba-addon-secret.
 */
export async function installController(ctx: Context, opts: ControllerInstallOptions): Promise<ControllerInstallResult> {
  const { status, out, flags } = ctx;
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud().catch(asInput);
  const pre = await status.step('Preflight checks', async () => {
    const warnings = await checkVersion(cluster);
    const net = await checkNetwork(cloud, opts).catch(asInput);
    const secret = await readAddonSecret(cluster);
    const existing = await readController(cluster);
    const profile = await cluster.get<KubeObject>(PROFILE_REF);
    return { ...net, warnings: [...warnings, ...net.warnings], secret, existing, profile, clusterId: await clusterUid(cluster) };
  }, (p) => `VPC ${p.vpcId}, zones ${p.zones.join(', ')}`);
  if (!pre.secret?.accessKeyId) {
    throw usageError('AddonSecretMissing', `Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name} ${pre.secret ? 'holds no AccessKey' : 'is missing'}: the controller creates ECI instances with the AccessKey it holds`,
      'run `vnode ram grant` (creates a least-privilege RAM user and key), or `vnode secret create` with an existing key');
  }
  if (pre.profile && pre.profile.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
    throw usageError('NotManaged', `ConfigMap ${NAMESPACE}/eci-profile exists but vnode did not create it (another virtual-node addon?)`, 'vnode changes only what it created; remove that addon first');
  }
  const settings: ControllerSettings = {
    region: cloud.regionId, vswitches: opts.vswitches, securityGroup: opts.securityGroup, kubeProxy: opts.kubeProxy, clusterId: pre.clusterId,
    resourceGroup: opts.resourceGroup, image: opts.image ?? pre.existing?.settings.image ?? defaultImage(cloud.regionId),
    replicas: opts.replicas ?? pre.existing?.settings.replicas ?? 1,
  };
  if (pre.existing) {
    // an install is changed by `config set` and `scale`, which say what they change; install only converges
    const was = pre.existing.settings;
    const diff = SHOWN.filter((k) => JSON.stringify(was[k]) !== JSON.stringify(settings[k]));
    if (diff.length > 0) {
      throw usageError('AlreadyInstalled', `the controller is already installed with other settings: ${diff.map((k) => `${FLAG[k]} ${String(was[k] ?? '(none)')} (given: ${String(settings[k] ?? '(none)')})`).join('; ')}`,
        'change it with `vnode config set` or `vnode scale --replicas N`, or re-run install with its current flags');
    }
  }
  for (const w of pre.warnings) out.warn(w);

  const objects: KubeObject[] = [serviceAccount(), clusterRole(), clusterRoleBinding(), eciProfile(settings, pre.vpcId), statefulSet(settings)];
  const nodeTaints = [TAINT];
  if (opts.daemonsetAffinity) await confirmDaemonSetPatches(ctx, await keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, true));
  if (flags.dryRun) {
    if (!out.structured) out.print(objects.map((o) => stringify(o).trimEnd()).join('\n---\n'));
    return {
      mode: 'controller', region: cloud.regionId, statefulSet: `${NAMESPACE}/${CONTROLLER}`, replicas: settings.replicas, nodes: [],
      objects: await Promise.all(objects.map(async (o) => ({ object: describeRef(refOf(o)), action: (await cluster.get(refOf(o))) ? 'exists' : 'would create' }))),
      daemonSets: opts.daemonsetAffinity ? await keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, true) : [], warnings: pre.warnings, dryRun: true,
    };
  }

  const applied: { object: string; action: string }[] = [];
  for (const o of objects) {
    const action = await status.step(`Applying ${describeRef(refOf(o))}`,
      async () => (o.kind === 'StatefulSet' ? ensureStatefulSet(cluster, o) : (await ensureObject(cluster, o)).action), (a) => a);
    applied.push({ object: describeRef(refOf(o)), action });
  }
  // replicas started with another key (a re-grant) pick up the current one
  await restartStale(ctx, cluster);

  let daemonSets: AffinityChange[] = [];
  if (opts.daemonsetAffinity) {
    daemonSets = await status.step('Keeping DaemonSets off virtual nodes', () => keepDaemonSetsOff(cluster, NODE_LABELS, nodeTaints, false),
      (c) => `${c.filter((x) => x.action === 'patched').length} patched`);
  }
  const ordinals = Array.from({ length: settings.replicas }, (_, i) => i);
  if (opts.wait) await waitNodesReady(ctx, cluster, ordinals, opts.timeoutMs);
  return {
    mode: 'controller', region: cloud.regionId, statefulSet: `${NAMESPACE}/${CONTROLLER}`, replicas: settings.replicas,
    nodes: ordinals.map((i) => ({ name: nodeName(i), ready: opts.wait })), objects: applied, daemonSets, warnings: pre.warnings, dryRun: false,
  };
}
