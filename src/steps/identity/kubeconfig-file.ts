import { chmodSync, closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import type { ClusterInfo } from '../../cluster/port.js';
import { usageError } from '../../errors.js';
import { NAMESPACE } from './identity.js';

export const VNODE_USER = 'vnode';

/** The kubeconfig a virtual node uses: one cluster (CA inlined), one context in kube-system, user vnode. */
export function renderVnodeKubeconfig(info: ClusterInfo, server: string, caData: string | undefined, token: string): string {
  const cluster: Record<string, string> = { server };
  if (caData) cluster['certificate-authority-data'] = caData;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: info.clusterName, cluster }],
    contexts: [{ name: info.contextName, context: { cluster: info.clusterName, namespace: NAMESPACE, user: VNODE_USER } }],
    'current-context': info.contextName,
    users: [{ name: VNODE_USER, user: { token } }],
  });
}

/** The CA as base64 data: inlined from the file when the admin kubeconfig points at one. */
export function caDataOf(info: ClusterInfo): string | undefined {
  if (info.caData) return info.caData;
  if (!info.caFile) return undefined;
  try {
    return readFileSync(info.caFile).toString('base64');
  } catch (e) {
    throw usageError('CaUnreadable', `cannot read certificate-authority ${info.caFile} of cluster "${info.clusterName}": ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      'fix the path in the kubeconfig or use certificate-authority-data');
  }
}

export function parseServer(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw usageError('InvalidServer', `invalid --server "${value}": expected an https URL such as https://10.0.0.10:6443`);
  }
  if (u.protocol !== 'https:' || !u.hostname || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw usageError('InvalidServer', `invalid --server "${value}": expected an https URL such as https://10.0.0.10:6443`);
  }
  return `https://${u.host}`;
}

function isLoopbackOrLinkLocal(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.') || h.startsWith('169.254.') || h === '0.0.0.0';
  if (isIP(h) === 6) return h === '::1' || h === '::' || /^fe[89ab]/.test(h);
  return false;
}

/** Why a virtual node in the cloud may fail to reach this server address. */
export function serverWarnings(server: string): string[] {
  let host: string;
  try { host = new URL(server).hostname; } catch { return [`server ${server} is not a valid URL`]; }
  if (isLoopbackOrLinkLocal(host)) {
    return [`server ${server} is a loopback/link-local address: a virtual node in the cloud cannot reach it; pass --server with an address reachable from the VPC`];
  }
  if (isIP(host.replace(/^\[|\]$/g, '')) === 0) {
    return [`server ${server} is a DNS name: it must resolve inside the VPC of the virtual node, or pass --server with an IP address`];
  }
  return [];
}

export type FileState = 'missing' | 'same' | 'different';

export function fileState(file: string, content: string | undefined): FileState {
  if (!existsSync(file)) return 'missing';
  if (content === undefined) return 'different';
  try {
    return readFileSync(file, 'utf8') === content ? 'same' : 'different';
  } catch {
    return 'different';
  }
}

/** Writes a credential file: a 0600 temporary file in the same directory, then renamed over the target. */
export function writeCredentialFile(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

export interface SentKubeconfig {
  /** What goes to ECI: one context, its cluster and user, every file inlined. */
  yaml: string;
  server: string;
  context: string;
  cluster: string;
  user: string;
  /** Contexts and users of the file that were not sent. */
  left: { contexts: number; users: number };
  hasCredential: boolean;
}

const INLINE: [string, string][] = [['certificate-authority', 'certificate-authority-data'], ['client-certificate', 'client-certificate-data'], ['client-key', 'client-key-data']];

/**
 * A --kubeconfig-file cut down to the context a virtual node needs (`context`, else the file's current one):
 * nothing else in the file — other clusters, other users' credentials — leaves the machine.
 */
export async function kubeconfigToSend(file: string, context: string | undefined, cwd: string): Promise<SentKubeconfig> {
  const { resolveKubeconfig } = await import('../../cluster/kubeconfig.js');
  const { parse } = await import('yaml');
  let raw: { contexts?: { name: string }[]; users?: unknown[] };
  try {
    raw = (parse(readFileSync(path.resolve(cwd, file), 'utf8')) ?? {}) as typeof raw;
  } catch (e) {
    throw usageError('KubeconfigFileUnreadable', `cannot read --kubeconfig-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]}`);
  }
  const resolved = resolveKubeconfig({ kubeconfig: file, context }, {}, cwd);
  const one = parse(resolved.yaml) as { clusters: { name: string; cluster: Record<string, unknown> }[]; users: { name: string; user: Record<string, unknown> }[]; contexts: { name: string; context: { user: string } }[] };
  const inline = (entry: Record<string, unknown>, pairs: [string, string][]): void => {
    for (const [fileKey, dataKey] of pairs) {
      const f = entry[fileKey];
      if (typeof f !== 'string' || f === '') continue;
      try { entry[dataKey] = readFileSync(f).toString('base64'); } catch (e) {
        throw usageError('KubeconfigFileUnreadable', `--kubeconfig-file ${file}: cannot read ${fileKey} ${f}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
      delete entry[fileKey];
    }
  };
  const cluster = one.clusters[0]!;
  inline(cluster.cluster, INLINE.slice(0, 1));
  const user = one.users[0]!;
  inline(user.user, INLINE.slice(1));
  if (typeof user.user.tokenFile === 'string') {
    user.user.token = readFileSync(user.user.tokenFile, 'utf8').trim();
    delete user.user.tokenFile;
  }
  const hasCredential = Boolean(user.user.token || (user.user['client-certificate-data'] && user.user['client-key-data']));
  return {
    yaml: stringify(one), server: resolved.info.server, context: resolved.info.contextName, cluster: resolved.info.clusterName, user: user.name,
    left: { contexts: (raw.contexts?.length ?? 1) - 1, users: Math.max(0, (raw.users?.length ?? 1) - 1) }, hasCredential,
  };
}

/** Can this kubeconfig's user do anything to anything? Asked of the cluster as that user; undefined when it cannot be asked. */
export async function isClusterAdmin(yaml: string): Promise<boolean | undefined> {
  const [{ KubeConfig }, { KubeCluster }] = await Promise.all([import('@kubernetes/client-node'), import('../../cluster/kube.js')]);
  const kc = new KubeConfig();
  try {
    kc.loadFromString(yaml);
    const c = kc.getCurrentCluster()!;
    const cluster = new KubeCluster(kc, { contextName: kc.getCurrentContext(), clusterName: c.name, server: c.server, caData: c.caData, caFile: c.caFile, insecureSkipTlsVerify: c.skipTLSVerify });
    return await cluster.canI({ verb: '*', resource: '*', group: '*' });
  } catch {
    return undefined;
  }
}
