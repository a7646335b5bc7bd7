import type { ClusterPort } from './port.js';

/**
 * Everything vnode, its sandbox and its tests do differently by Kubernetes version, in one table.
 * Where the server's discovery can answer, it wins over the version number (a server may disable an API).
 */

export interface KubeVersion {
  major: number;
  minor: number;
}

export interface VersionProfile {
  /** PodDisruptionBudget: policy/v1 from 1.21; policy/v1beta1 before (removed in 1.25). */
  pdb: 'policy/v1' | 'policy/v1beta1';
  /** The Eviction body the pods/eviction subresource takes: policy/v1 from 1.22; policy/v1beta1 before. */
  eviction: 'policy/v1' | 'policy/v1beta1';
  /** CertificateSigningRequest as vnode-approver and the virtual node use it: certificates.k8s.io/v1 from 1.19. */
  csr: 'certificates.k8s.io/v1' | undefined;
  /** Each ServiceAccount gets an auto-created token Secret (sa.secrets): before 1.24 only. Nothing may rely on it. */
  autoTokenSecrets: boolean;
  /**
   * Unused auto-generated legacy token Secrets are invalidated, then deleted (LegacyServiceAccountTokenCleanUp, on
   * by default from 1.30). It leaves Secrets created explicitly, such as vnode's <name>-token.
   */
  legacyTokenCleanup: boolean;
  /** kube-apiserver --insecure-port (removed in 1.24; 0 turns it off before). */
  apiserverInsecurePortFlag: boolean;
  /** kube-controller-manager's and kube-scheduler's --port (removed in 1.24; 0 turns it off before). */
  componentPortFlag: boolean;
}

const at = (v: KubeVersion, minor: number): boolean => v.major > 1 || (v.major === 1 && v.minor >= minor);

/** Virtual nodes need 1.16 or newer; vnode is tested up to 1.36 (a newer server gets a warning, not a refusal). */
export const SUPPORTED_MIN_MINOR = 16;
export const TESTED_MAX_MINOR = 36;

/** ECI's pages on connecting a VNode: "Supported Kubernetes versions: 1.16 to 1.30". */
export const DOCUMENTED_MAX_MINOR = 30;

/** Within the range Alibaba documents for VNodes (1.16-1.30). */
export function documentedByAlibaba(v: KubeVersion): boolean {
  return at(v, SUPPORTED_MIN_MINOR) && !at(v, DOCUMENTED_MAX_MINOR + 1);
}

/** What to say of a server beyond Alibaba's documented range but within vnode's tested one. */
export function beyondDocumented(gitVersion: string): string {
  return `Kubernetes ${gitVersion}: Alibaba documents VNode support for 1.${SUPPORTED_MIN_MINOR}-1.${DOCUMENTED_MAX_MINOR}; vnode's own suite passes through 1.${TESTED_MAX_MINOR}`;
}

export function supportRange(v: KubeVersion): 'too old' | 'tested' | 'newer than tested' {
  if (!at(v, SUPPORTED_MIN_MINOR)) return 'too old';
  return at(v, TESTED_MAX_MINOR + 1) ? 'newer than tested' : 'tested';
}

/** The profile of a server of version `v`; `groupVersions` (discovery) refines what the server actually serves. */
export function versionProfile(v: KubeVersion, groupVersions?: string[]): VersionProfile {
  const serves = (gv: string, fallback: boolean): boolean => (groupVersions ? groupVersions.includes(gv) : fallback);
  const policyV1 = serves('policy/v1', at(v, 21));
  return {
    pdb: policyV1 ? 'policy/v1' : 'policy/v1beta1',
    // 1.21 serves policy/v1 for PodDisruptionBudgets but evictions only as v1beta1
    eviction: policyV1 && at(v, 22) ? 'policy/v1' : 'policy/v1beta1',
    csr: serves('certificates.k8s.io/v1', at(v, 19)) ? 'certificates.k8s.io/v1' : undefined,
    autoTokenSecrets: !at(v, 24),
    legacyTokenCleanup: at(v, 30),
    apiserverInsecurePortFlag: !at(v, 24),
    componentPortFlag: !at(v, 24),
  };
}

/** "Kubernetes v1.36.3" (what `kube-apiserver --version` prints) or a gitVersion such as "v1.20.5+really1.20.2". */
export function parseKubeVersion(text: string): KubeVersion & { gitVersion: string } {
  const m = /v?(\d+)\.(\d+)\.(\d+)\S*/.exec(text);
  if (!m) throw new Error(`no Kubernetes version in "${text.trim().slice(0, 80)}"`);
  return { major: Number(m[1]), minor: Number(m[2]), gitVersion: m[0].startsWith('v') ? m[0] : `v${m[0]}` };
}

/** The profile of the cluster vnode is talking to (its version and discovery, both cached by the port). */
export async function profileOf(cluster: Pick<ClusterPort, 'version' | 'groupVersions'>): Promise<VersionProfile> {
  const [v, gvs] = await Promise.all([cluster.version(), cluster.groupVersions()]);
  return versionProfile(v, gvs);
}
