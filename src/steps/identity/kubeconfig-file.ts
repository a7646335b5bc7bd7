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
