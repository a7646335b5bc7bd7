import type { NodeTaint } from '../scheduling/daemonset-affinity.js';

export const VNODE_TAINT: NodeTaint = { key: 'k8s.aliyun.com/vnode', value: 'true', effect: 'NoSchedule' };

/** The labels every virtual node registers with (the ECI documentation's). */
export const VNODE_LABELS: Record<string, string> = {
  type: 'virtual-kubelet', 'k8s.aliyun.com/vnode': 'true', 'kubernetes.io/role': 'agent', 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'linux',
};
