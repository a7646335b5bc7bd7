import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { usageError } from '../errors.js';
import type { ClusterInfo, ClusterTarget } from './port.js';

interface Named<T> { name: string; [key: string]: unknown; cluster?: T; user?: T; context?: T }
type Entry = Record<string, unknown>;

export interface RawKubeconfig {
  clusters: Named<Entry>[];
  users: Named<Entry>[];
  contexts: Named<Entry>[];
  'current-context'?: string;
}

/** The one context vnode works with, self-contained: relative file paths made absolute. */
export interface ResolvedKubeconfig {
  files: string[];
  info: ClusterInfo;
  /** A kubeconfig holding only the selected context, for the Kubernetes client. */
  yaml: string;
  /** Names defined twice (the first one is used), as kubectl warns. */
  warnings: string[];
}

/** Fields that name files, resolved against the kubeconfig's directory (as kubectl does). */
const CLUSTER_PATHS = ['certificate-authority'];
const USER_PATHS = ['client-certificate', 'client-key', 'tokenFile'];

/** Which kubeconfig files apply, in kubectl's order: --kubeconfig, else $KUBECONFIG (merged), else ~/.kube/config. */
export function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { files: string[]; source: string } {
  if (explicit) return { files: [path.resolve(cwd, explicit)], source: '--kubeconfig' };
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (list.length > 0) return { files: list.map((f) => path.resolve(cwd, f)), source: 'KUBECONFIG' };
  return { files: [path.join(env.HOME || homedir(), '.kube', 'config')], source: 'default' };
}

function readConfig(file: string): RawKubeconfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw usageError('KubeconfigUnreadable', `cannot read kubeconfig ${file}: ${code}`, 'pass a readable file with --kubeconfig, or set KUBECONFIG');
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw usageError('KubeconfigInvalid', `kubeconfig ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw usageError('KubeconfigInvalid', `kubeconfig ${file} is not a kubeconfig (expected a mapping)`);
  const d = doc as Record<string, unknown>;
  const dir = path.dirname(file);
  const absolutize = (items: unknown, key: 'cluster' | 'user', fields: string[]): Named<Entry>[] =>
    (Array.isArray(items) ? items : []).filter((i): i is Named<Entry> => typeof i?.name === 'string').map((i) => {
      const body = { ...(i[key] as Entry | undefined) };
      for (const f of fields) {
        const v = body[f];
        if (typeof v === 'string' && v !== '' && !path.isAbsolute(v)) body[f] = path.resolve(dir, v);
      }
      return { ...i, [key]: body };
    });
  const out: RawKubeconfig = {
    clusters: absolutize(d.clusters, 'cluster', CLUSTER_PATHS),
    users: absolutize(d.users, 'user', USER_PATHS),
    contexts: (Array.isArray(d.contexts) ? d.contexts : []).filter((c): c is Named<Entry> => typeof c?.name === 'string'),
  };
  if (typeof d['current-context'] === 'string' && d['current-context'] !== '') out['current-context'] = d['current-context'];
  return out;
}

/** kubectl's merge: the first file that defines a name wins, and so does the first current-context. */
export function mergeConfigs(configs: RawKubeconfig[]): RawKubeconfig {
  const merged: RawKubeconfig = { clusters: [], users: [], contexts: [] };
  for (const c of configs) {
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const item of c[key]) {
        if (!merged[key].some((m) => m.name === item.name)) merged[key].push(item);
      }
    }
    if (!merged['current-context'] && c['current-context']) merged['current-context'] = c['current-context'];
  }
  return merged;
}

export function resolveKubeconfig(target: ClusterTarget, env: NodeJS.ProcessEnv, cwd: string): ResolvedKubeconfig {
  const { files, source } = kubeconfigFiles(target.kubeconfig, env, cwd);
  let present = files;
  if (source === 'KUBECONFIG') {
    // like kubectl, missing entries of KUBECONFIG are skipped
    present = files.filter((f) => { try { readFileSync(f); return true; } catch { return false; } });
    if (present.length === 0) {
      throw usageError('KubeconfigNotFound', `none of the files in KUBECONFIG exists: ${files.join(', ')}`, 'set KUBECONFIG to your cluster\'s kubeconfig or pass --kubeconfig');
    }
  } else if (source === 'default') {
    try { readFileSync(files[0]!); } catch {
      throw usageError('KubeconfigNotFound', `no kubeconfig found: ${files[0]} does not exist`, 'pass --kubeconfig <path> or set KUBECONFIG');
    }
  }
  const configs = present.map(readConfig);
  const warnings: string[] = [];
  const singular = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;
  for (const key of ['contexts', 'clusters', 'users'] as const) {
    const where = new Map<string, string[]>();
    configs.forEach((c, i) => { for (const item of c[key]) where.set(item.name, [...(where.get(item.name) ?? []), present[i]!]); });
    for (const [name, files] of where) {
      if (files.length > 1) warnings.push(`${singular[key]} "${name}" is defined ${files.length} times (${[...new Set(files)].join(', ')}): the first one is used`);
    }
  }
  const merged = mergeConfigs(configs);
  const where = present.join(', ');
  const names = merged.contexts.map((c) => c.name);
  const contextName = target.context ?? merged['current-context'];
  if (!contextName) {
    throw usageError('NoContext', `no current context in ${where}`, names.length ? `pass --context, one of: ${names.join(', ')}` : 'the kubeconfig defines no contexts');
  }
  const context = merged.contexts.find((c) => c.name === contextName);
  if (!context) {
    throw usageError('ContextNotFound', `context "${contextName}" not found in ${where}`, names.length ? `available contexts: ${names.join(', ')}` : 'the kubeconfig defines no contexts');
  }
  const ctxBody = (context.context ?? {}) as Entry;
  const clusterName = String(ctxBody.cluster ?? '');
  const cluster = merged.clusters.find((c) => c.name === clusterName);
  if (!cluster) throw usageError('ClusterNotFound', `context "${contextName}" names cluster "${clusterName}", which is not defined in ${where}`);
  const userName = ctxBody.user === undefined ? undefined : String(ctxBody.user);
  const user = userName === undefined ? undefined : merged.users.find((u) => u.name === userName);
  if (userName !== undefined && !user) throw usageError('UserNotFound', `context "${contextName}" names user "${userName}", which is not defined in ${where}`);
  const c = (cluster.cluster ?? {}) as Entry;
  if (typeof c.server !== 'string' || c.server === '') throw usageError('ServerMissing', `cluster "${clusterName}" in ${where} has no server address`);
  const info: ClusterInfo = {
    contextName,
    clusterName,
    server: c.server,
    caData: typeof c['certificate-authority-data'] === 'string' && c['certificate-authority-data'] !== '' ? c['certificate-authority-data'] : undefined,
    caFile: typeof c['certificate-authority'] === 'string' && c['certificate-authority'] !== '' ? c['certificate-authority'] : undefined,
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
  };
  const single = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: user ? [user] : [{ name: '', user: {} }],
    contexts: [{ name: contextName, context: { ...ctxBody, user: user ? user.name : '' } }],
    'current-context': contextName,
  };
  return { files: present, info, yaml: stringify(single), warnings };
}
