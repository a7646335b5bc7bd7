import type { ClusterPort, KubeObject } from '../../cluster/port.js';

export interface ClusterDnsChoice {
  clusterDns: string | undefined;
  clusterDomain: string;
  /** Where each value came from, for the user. */
  source: string;
}

export const DEFAULT_DOMAIN = 'cluster.local';

/** The domain CoreDNS serves for the cluster: its `kubernetes <domain> ...` plugin line. */
export function corefileDomain(corefile: string): string | undefined {
  const m = /^\s*kubernetes\s+([a-z0-9.-]+)/m.exec(corefile);
  return m?.[1]?.replace(/\.$/, '');
}

/**
 * What pods on a virtual node should use for DNS, as kubelet's --cluster-dns/--cluster-domain would be set: the
 * ClusterIP of the kube-dns Service (kubeadm and CoreDNS keep that name and label) and the domain CoreDNS serves.
 */
export async function detectClusterDns(cluster: ClusterPort): Promise<ClusterDnsChoice> {
  const [services, corefile] = await Promise.all([
    cluster.list<KubeObject & { spec?: { clusterIP?: string } }>('v1', 'Service', { namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' }),
    cluster.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' }),
  ]);
  const svc = services.find((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None');
  const domain = corefile?.data?.Corefile ? corefileDomain(corefile.data.Corefile) : undefined;
  return {
    clusterDns: svc?.spec?.clusterIP,
    clusterDomain: domain ?? DEFAULT_DOMAIN,
    source: `${svc ? `Service kube-system/${svc.metadata.name}` : 'no kube-dns Service'}; domain ${domain ? 'from ConfigMap kube-system/coredns' : 'the default'}`,
  };
}
