import { APPLIED_ANNOTATION, managed, withAppliedHash } from '../../cluster/ensure.js';
import type { KubeObject } from '../../cluster/port.js';
import { ADDON_SECRET } from '../ram/addon-secret.js';

export const NAMESPACE = 'kube-system';
export const CONTROLLER = 'virtual-node-eci';
export const ROLE = 'vnode:virtual-node-eci';
export const ECI_PROFILE = 'eci-profile';
export const MODE_LABEL = 'vnode.dev/mode';
export { APPLIED_ANNOTATION };
export const TAINT = { key: 'virtual-kubelet.io/provider', value: 'alibabacloud', effect: 'NoSchedule' };
/** The labels every controller-mode node registers with (the documents'). */
export const NODE_LABELS: Record<string, string> = { type: 'virtual-kubelet', 'kubernetes.io/role': 'agent', 'beta.kubernetes.io/os': 'linux' };
export const POD_LABELS = { app: CONTROLLER };
export const MAX_REPLICAS = 100;
export const IMAGE_TAG = 'v2.0.0.122-bdb884460-aliyun';

export function defaultImage(region: string): string {
  // the ack-virtual-node release notes' image; registry-vpc is reachable only inside Alibaba Cloud's network, and a
  // self-managed cluster may be elsewhere
  return `registry.${region}.aliyuncs.com/acs/virtual-nodes-eci:${IMAGE_TAG}`;
}

/** What the controller is told, all of it in its env (and, for ECI pods, in eci-profile). */
export interface ControllerSettings {
  region: string;
  vswitches: string[];
  securityGroup: string;
  kubeProxy: boolean;
  clusterId: string;
  resourceGroup: string | undefined;
  image: string;
  replicas: number;
}

export const RBAC = 'rbac.authorization.k8s.io/v1';

export function nodeName(ordinal: number): string {
  return `${CONTROLLER}-${ordinal}`;
}

export function ordinalOf(name: string): number | undefined {
  const m = new RegExp(`^${CONTROLLER}-(\\d+)$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

const labels = { [MODE_LABEL]: 'controller' };

export function serviceAccount(): KubeObject {
  return managed({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER, namespace: NAMESPACE } }, labels);
}

/** What a virtual kubelet needs, and no more (the early manifest's cluster-admin is what this replaces). */
export function clusterRole(): KubeObject {
  return managed({
    apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: ROLE },
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['update', 'patch'] },
      { apiGroups: [''], resources: ['pods/binding'], verbs: ['create'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'update', 'patch'] },
      { apiGroups: [''], resources: ['configmaps', 'secrets', 'services'], verbs: ['get', 'list', 'watch'] },
    ],
  }, labels);
}

export function clusterRoleBinding(): KubeObject {
  return managed({
    apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: ROLE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE },
    subjects: [{ kind: 'ServiceAccount', name: CONTROLLER, namespace: NAMESPACE }],
  }, labels);
}

export function eciProfile(s: ControllerSettings, vpcId: string): KubeObject {
  return managed({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ECI_PROFILE, namespace: NAMESPACE },
    data: {
      vpcId, securityGroupId: s.securityGroup, vSwitchIds: s.vswitches.join(','), enableClusterIp: 'true',
      enableHybridMode: 'false', enablePrivateZone: 'false', selectors: '[]', kubeProxy: String(s.kubeProxy),
    },
  }, labels);
}

function env(s: ControllerSettings): Record<string, unknown>[] {
  const plain: [string, string][] = [
    ['ECI_REGION', s.region], ['ECI_VSWITCH', s.vswitches.join(',')], ['ECI_SECURITY_GROUP', s.securityGroup],
    ['ECI_KUBE_PROXY', String(s.kubeProxy)], ['ALIYUN_CLUSTERID', s.clusterId], ['ALIYUN_RESOURCEGROUP_ID', s.resourceGroup ?? ''],
    ['VKUBELET_TAINT_KEY', TAINT.key], ['VKUBELET_TAINT_VALUE', TAINT.value], ['VKUBELET_TAINT_EFFECT', TAINT.effect], ['KUBELET_PORT', '10250'],
  ];
  return [
    ...plain.map(([name, value]) => ({ name, value })),
    // never literal: the pod reads the AccessKey from the Secret
    { name: 'ECI_ACCESS_KEY', valueFrom: { secretKeyRef: { name: ADDON_SECRET.name, key: 'access-key-id' } } },
    { name: 'ECI_SECRET_KEY', valueFrom: { secretKeyRef: { name: ADDON_SECRET.name, key: 'access-key-secret' } } },
  ];
}

export function statefulSet(s: ControllerSettings): KubeObject {
  const spec = {
    replicas: s.replicas,
    serviceName: CONTROLLER,
    // each replica is its own node: one that cannot start must not hold back the others
    podManagementPolicy: 'Parallel',
    // vnode restarts replicas itself after a change (see restartStale), so a change never half-rolls
    updateStrategy: { type: 'OnDelete' },
    selector: { matchLabels: POD_LABELS },
    template: {
      metadata: { labels: { ...POD_LABELS, 'app.kubernetes.io/managed-by': 'vnode' } },
      spec: {
        serviceAccountName: CONTROLLER,
        // the controller runs on a real node, never on a virtual node it serves
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] }] } } },
        containers: [{
          name: CONTROLLER, image: s.image, env: env(s),
          ports: [{ name: 'kubelet', containerPort: 10250 }, { name: 'metrics', containerPort: 10255 }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '2Gi' } },
        }],
      },
    },
  };
  return withAppliedHash(managed({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: CONTROLLER, namespace: NAMESPACE }, spec }, labels));
}

/** The settings a live StatefulSet carries (vnode's own, or one it wrote). */
export function settingsOf(sts: KubeObject): ControllerSettings {
  const spec = sts.spec as { replicas?: number; template?: { spec?: { containers?: { image?: string; env?: { name: string; value?: string }[] }[] } } };
  const c = spec.template?.spec?.containers?.[0];
  const e = new Map((c?.env ?? []).map((x) => [x.name, x.value ?? '']));
  return {
    region: e.get('ECI_REGION') ?? '', vswitches: (e.get('ECI_VSWITCH') ?? '').split(',').filter(Boolean), securityGroup: e.get('ECI_SECURITY_GROUP') ?? '',
    kubeProxy: e.get('ECI_KUBE_PROXY') !== 'false', clusterId: e.get('ALIYUN_CLUSTERID') ?? '', resourceGroup: e.get('ALIYUN_RESOURCEGROUP_ID') || undefined,
    image: c?.image ?? '', replicas: spec.replicas ?? 0,
  };
}
