import { stringify } from 'yaml';
import { ensureObject, type EnsureAction } from '../../cluster/ensure.js';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type AccessCheck, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import { profileOf } from '../../cluster/versions.js';
import type { Context } from '../../context.js';
import { operationError, throwIfAborted, usageError } from '../../errors.js';
import {
  BOOTSTRAP_TOKEN_TYPE, NAMESPACE, VNODES_GROUP, bootstrapTokenSecret, identityObjects, isReusable, newBootstrapToken,
  serviceAccountTokenSecret, tokenFromSecret, type BootstrapToken, type IdentityMode,
} from './identity.js';
import { caDataOf, fileState, renderVnodeKubeconfig, serverWarnings, writeCredentialFile, VNODE_USER } from './kubeconfig-file.js';

export interface KubeconfigOptions {
  /** Where to write it; undefined: only return the content (install passes it to CreateVirtualNode). */
  file: string | undefined;
  name: string;
  mode: IdentityMode;
  ttlMs: number;
  server: string | undefined;
  extraPrivilege: boolean;
  force: boolean;
  approverImage: string;
  /** How long to wait for the ServiceAccount token controller. */
  tokenTimeoutMs?: number;
  /** Extra labels on this identity's own objects (install marks its credentials with the virtual node's name). */
  labels?: Record<string, string>;
}

export interface ObjectSummary {
  kind: string;
  name: string;
  namespace?: string;
  action: EnsureAction | 'would create' | 'would update' | 'exists';
}

export interface KubeconfigResult {
  file: string | null;
  fileMode: string;
  fileAction: 'written' | 'unchanged' | 'would write';
  mode: IdentityMode;
  server: string;
  identity: string;
  user: string;
  expiresAt: string | null;
  token: { action: 'created' | 'reused' | 'would create'; id?: string };
  objects: ObjectSummary[];
  warnings: string[];
  dryRun: boolean;
}

/** Bootstrap mode relies on certificates.k8s.io/v1 (vnode-approver watches it): Kubernetes 1.19+ (see versions.ts). */
const BOOTSTRAP_MIN_MINOR = 19;

function summary(obj: KubeObject, action: ObjectSummary['action']): ObjectSummary {
  const s: ObjectSummary = { kind: obj.kind, name: obj.metadata.name ?? '', action };
  if (obj.metadata.namespace) s.namespace = obj.metadata.namespace;
  return s;
}

function accessNeeded(mode: IdentityMode): AccessCheck[] {
  const rbac = 'rbac.authorization.k8s.io';
  const checks: AccessCheck[] = [
    { verb: 'create', resource: 'clusterroles', group: rbac },
    { verb: 'patch', resource: 'clusterroles', group: rbac },
    { verb: 'create', resource: 'clusterrolebindings', group: rbac },
    { verb: 'patch', resource: 'clusterrolebindings', group: rbac },
    { verb: 'create', resource: 'secrets', namespace: NAMESPACE },
    { verb: 'get', resource: 'secrets', namespace: NAMESPACE },
  ];
  if (mode === 'serviceaccount') checks.push({ verb: 'create', resource: 'serviceaccounts', namespace: NAMESPACE });
  else {
    checks.push({ verb: 'list', resource: 'secrets', namespace: NAMESPACE });
    checks.push({ verb: 'create', resource: 'serviceaccounts', namespace: NAMESPACE });
    checks.push({ verb: 'create', resource: 'configmaps', namespace: NAMESPACE });
    checks.push({ verb: 'create', resource: 'deployments', group: 'apps', namespace: NAMESPACE });
  }
  return checks;
}

/** All missing permissions at once, before anything is created. */
async function checkAccess(cluster: ClusterPort, mode: IdentityMode): Promise<void> {
  const checks = accessNeeded(mode);
  const results = await Promise.all(checks.map((c) => cluster.canI(c)));
  const missing = checks.filter((_, i) => !results[i]).map((c) => `${c.verb} ${c.group ? c.resource + '.' + c.group : c.resource}${c.namespace ? ' in ' + c.namespace : ''}`);
  if (missing.length > 0) {
    throw operationError('Forbidden', `the current identity (context "${cluster.info.contextName}") may not: ${missing.join(', ')}`, {
      hint: 'run vnode kubeconfig with a cluster-admin context',
    });
  }
}

interface ExistingToken { token: string; id?: string; expiresAt?: Date | undefined }

async function findServiceAccountToken(cluster: ClusterPort, name: string): Promise<ExistingToken | undefined> {
  const s = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: `${name}-token` });
  const data = s?.data as Record<string, string> | undefined;
  if (!data?.token) return undefined;
  return { token: Buffer.from(data.token, 'base64').toString('utf8') };
}

async function findBootstrapToken(cluster: ClusterPort, name: string, ttlMs: number, now: Date): Promise<BootstrapToken | undefined> {
  const secrets = await cluster.list<KubeObject>('v1', 'Secret', {
    namespace: NAMESPACE,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${INSTANCE_LABEL}=${name}`,
    fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}`,
  });
  const usable = secrets.map(tokenFromSecret).filter((t): t is BootstrapToken => t !== undefined && isReusable(t, ttlMs, now));
  // the one that lives longest
  usable.sort((a, b) => (b.expiresAt?.getTime() ?? Infinity) - (a.expiresAt?.getTime() ?? Infinity));
  return usable[0];
}

/**
 * `vnode kubeconfig`: the identity of a virtual node (RBAC, ServiceAccount or bootstrap token, vnode-approver)
 * and the kubeconfig file that carries it. Every check runs before the first change.
 */
export async function provisionKubeconfig(ctx: Context, opts: KubeconfigOptions): Promise<KubeconfigResult> {
  return (await provisionIdentity(ctx, opts)).result;
}

/** The identity and its kubeconfig text (a credential: never print it). */
export async function provisionIdentity(ctx: Context, opts: KubeconfigOptions): Promise<{ result: KubeconfigResult; content: string | undefined }> {
  const { out, status, flags } = ctx;
  const cluster = await ctx.cluster();
  const info = cluster.info;
  if (info.insecureSkipTlsVerify) {
    throw usageError('InsecureCluster', `cluster "${info.clusterName}" uses insecure-skip-tls-verify: a virtual node given this kubeconfig would trust any server`,
      'add certificate-authority-data (or certificate-authority) to the cluster entry and remove insecure-skip-tls-verify');
  }
  const caData = caDataOf(info);
  const server = opts.server ?? info.server;
  const warnings = serverWarnings(server);
  if (!caData) warnings.push(`cluster "${info.clusterName}" has no certificate authority in the kubeconfig: the virtual node will verify ${server} against public CAs only`);

  const { version, profile } = await status.step('Checking the cluster', async () => {
    const v = await cluster.version();
    const p = await profileOf(cluster);
    if (opts.mode === 'bootstrap' && p.csr === undefined) {
      throw usageError('BootstrapUnsupported',
        `--bootstrap needs Kubernetes 1.${BOOTSTRAP_MIN_MINOR} or newer (vnode-approver uses certificates.k8s.io/v1); this server is ${v.gitVersion}`,
        'run without --bootstrap to use a ServiceAccount token instead');
    }
    await checkAccess(cluster, opts.mode);
    return { version: v, profile: p };
  }, (r) => r.version.gitVersion);
  out.debug(`server version ${version.gitVersion}`);
  if (opts.mode === 'serviceaccount' && profile.legacyTokenCleanup) {
    warnings.push(`Kubernetes ${version.gitVersion} removes unused auto-generated ServiceAccount token Secrets; vnode's ${NAMESPACE}/${opts.name}-token is created explicitly, `
      + 'which that cleanup leaves alone, but it is a token that never expires: prefer --bootstrap (rotating certificates) where you can');
  }

  const now = new Date();
  let existing: ExistingToken | undefined;
  if (opts.mode === 'serviceaccount') existing = await findServiceAccountToken(cluster, opts.name);
  else {
    const t = await findBootstrapToken(cluster, opts.name, opts.ttlMs, now);
    if (t) existing = { token: `${t.id}.${t.secret}`, id: t.id, expiresAt: t.expiresAt };
  }
  if (existing) ctx.redactor.add(existing.token);

  const predicted = existing ? renderVnodeKubeconfig(info, server, caData, existing.token) : undefined;
  const state = opts.file === undefined ? 'missing' : fileState(opts.file, predicted);
  if (state === 'different' && !opts.force) {
    throw usageError('FileExists', `${opts.file} already exists with other content`, 'pass --force to overwrite it, or --file to write elsewhere');
  }

  const identity = opts.mode === 'serviceaccount' ? `system:serviceaccount:${NAMESPACE}:${opts.name}` : `system:vnode:<node name> (group ${VNODES_GROUP})`;
  const labels = opts.labels ?? {};
  const objects = identityObjects({ name: opts.name, mode: opts.mode, extraPrivilege: opts.extraPrivilege, approverImage: opts.approverImage, labels });
  const base = { file: opts.file ?? null, fileMode: '0600', mode: opts.mode, server, identity, user: VNODE_USER, warnings, dryRun: flags.dryRun };
  for (const w of warnings) out.warn(w);

  if (flags.dryRun) {
    const tokenObj = opts.mode === 'serviceaccount'
      ? serviceAccountTokenSecret(opts.name, labels)
      : bootstrapTokenSecret(opts.name, { id: '<generated>', secret: '<generated>', expiresAt: opts.ttlMs > 0 ? new Date(now.getTime() + opts.ttlMs) : undefined }, labels);
    const planned: ObjectSummary[] = [];
    for (const o of objects) {
      const live = await cluster.get({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
      planned.push(summary(o, live ? 'exists' : 'would create'));
    }
    if (!existing || opts.mode === 'serviceaccount') planned.push(summary(tokenObj, existing ? 'exists' : 'would create'));
    const docs = [...objects, ...(existing && opts.mode === 'bootstrap' ? [] : [tokenObj])];
    if (!out.structured) out.print(docs.map((d) => stringify(d)).join('---\n'));
    return { content: predicted, result: {
      ...base, fileAction: state === 'same' ? 'unchanged' : 'would write',
      expiresAt: existing?.expiresAt?.toISOString() ?? (opts.mode === 'bootstrap' && opts.ttlMs > 0 ? new Date(now.getTime() + opts.ttlMs).toISOString() : null),
      token: existing ? { action: 'reused', ...(existing.id ? { id: existing.id } : {}) } : { action: 'would create' },
      objects: planned,
    } };
  }

  const results: ObjectSummary[] = [];
  await status.step(`Ensuring RBAC${opts.mode === 'bootstrap' ? ', vnode-approver' : ''} and the ${opts.mode === 'bootstrap' ? 'bootstrap groups' : 'ServiceAccount'}`, async () => {
    for (const o of objects) {
      throwIfAborted(ctx.signal);
      const r = await ensureObject(cluster, o);
      out.debug(`${o.kind} ${o.metadata.name} ${r.action}`);
      results.push(summary(o, r.action));
    }
  }, () => {
    const changed = results.filter((r) => r.action !== 'unchanged').length;
    return changed === 0 ? 'all up to date' : `${changed} created or updated`;
  });

  let token: string;
  let tokenInfo: KubeconfigResult['token'];
  let expiresAt: Date | undefined;
  if (opts.mode === 'serviceaccount') {
    const secretObj = serviceAccountTokenSecret(opts.name, labels);
    const r = await ensureObject(cluster, secretObj);
    results.push(summary(secretObj, r.action));
    const filled = existing ?? await status.step('Waiting for the ServiceAccount token', async () => {
      const s = await cluster.waitFor<KubeObject>(
        { apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: secretObj.metadata.name! },
        (o) => Boolean((o?.data as Record<string, string> | undefined)?.token),
        { timeoutMs: opts.tokenTimeoutMs ?? 120_000, signal: ctx.signal },
      ).catch((e: unknown) => {
        if ((e as { code?: string }).code === 'Timeout') {
          throw operationError('TokenTimeout', `the token controller did not fill Secret ${NAMESPACE}/${secretObj.metadata.name}`, {
            hint: 'check that kube-controller-manager runs with --service-account-private-key-file', cause: e,
          });
        }
        throw e;
      });
      return { token: Buffer.from((s!.data as Record<string, string>).token!, 'base64').toString('utf8') };
    });
    token = filled.token;
    tokenInfo = { action: existing ? 'reused' : 'created' };
  } else if (existing) {
    token = existing.token;
    expiresAt = existing.expiresAt;
    tokenInfo = { action: 'reused', id: existing.id! };
  } else {
    const t = newBootstrapToken(opts.ttlMs, now);
    ctx.redactor.add(t.secret);
    ctx.redactor.add(`${t.id}.${t.secret}`);
    const secretObj = bootstrapTokenSecret(opts.name, t, labels);
    await status.step('Creating the bootstrap token', () => cluster.create(secretObj));
    results.push(summary(secretObj, 'created'));
    token = `${t.id}.${t.secret}`;
    expiresAt = t.expiresAt;
    tokenInfo = { action: 'created', id: t.id };
  }
  ctx.redactor.add(token);

  const content = renderVnodeKubeconfig(info, server, caData, token);
  const finalState = opts.file === undefined ? 'same' : fileState(opts.file, content);
  if (finalState !== 'same' && opts.file !== undefined) writeCredentialFile(opts.file, content);
  return { content, result: {
    ...base, fileAction: finalState === 'same' ? 'unchanged' : 'written',
    expiresAt: expiresAt?.toISOString() ?? null, token: tokenInfo, objects: results,
  } };
}
