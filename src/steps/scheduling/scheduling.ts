import { APPLIED_ANNOTATION, ensureHashed, ensureObject } from '../../cluster/ensure.js';
import { MANAGED_BY, MANAGED_BY_LABEL, describeRef, refOf, type ClusterPort, type KubeObject, type ObjectRef } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { packageFile } from '../../util/package-files.js';
import { pause } from '../../util/sleep.js';
import { CONTROLLER_REF } from '../ground/virtual-nodes.js';
import { ACCOUNTANT, LEDGER, LIMIT_LABEL, LIMITS_NAMESPACE, USAGE } from '../limits/limits.js';
import { certFacts, generateWebhookCerts, RENEW_BEFORE_MS } from './certs.js';
import { LEGACY_NAMESPACE_LABEL, NAMESPACE_LABEL, SHORT_NAMESPACE_LABEL, TARGETS, type SchedulingMode } from './mutation.js';
import { SELECTOR_API, SELECTOR_KIND, type SelectorObject } from './policy.js';
import {
  ADMISSION, clusterRole, clusterRoleBinding, CODE_REF, codeConfigMap, codeDigest, COMPONENT_LABELS, CRD_REF, DEPLOYMENT_REF, deployment, describeConfiguration, LABELLED_ANNOTATION,
  MWC_REF, SECRET_REF, selectorCrd, service, SERVICE_REF, serviceAccount, servingHosts, tlsSecret, webhookConfiguration, type Endpoint,
} from './webhook.js';

export interface EnableOptions {
  namespaces: string[];
  mode: SchedulingMode | undefined;
  image: string;
  replicas: number;
  endpoint: Endpoint;
  wait: boolean;
  timeoutMs: number;
}

export interface NamespaceChange { name: string; action: 'labelled' | 'already labelled' | 'would label' | 'unlabelled' | 'would unlabel' | 'not labelled' | 'labelled by someone else' }

export interface EnableResult {
  mode: SchedulingMode;
  endpoint: string;
  certificateExpires: string;
  objects: { object: string; action: string }[];
  namespaces: NamespaceChange[];
  dryRun: boolean;
}

export function describeEndpoint(e: Endpoint): string {
  return e.kind === 'url' ? e.url : `Service ${DEPLOYMENT_REF.namespace}/${DEPLOYMENT_REF.name}`;
}

async function requireAdmissionV1(cluster: ClusterPort): Promise<void> {
  if (!(await cluster.groupVersions()).includes(ADMISSION)) {
    const v = await cluster.version();
    throw usageError('UnsupportedVersion', `Kubernetes ${v.gitVersion} does not serve ${ADMISSION} (MutatingWebhookConfiguration)`, 'label-based scheduling needs Kubernetes 1.16 or newer');
  }
}

async function requireNamespaces(cluster: ClusterPort, names: string[]): Promise<KubeObject[]> {
  const found = await Promise.all(names.map((name) => cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name })));
  const missing = names.filter((_, i) => !found[i]);
  if (missing.length > 0) throw usageError('NamespaceNotFound', `namespace${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`, 'create it first, or list them with `kubectl get namespaces`');
  return found as KubeObject[];
}

/** The mode whose virtual nodes labelled pods go to: the one installed, or --mode when both (or neither) are. */
async function resolveMode(cluster: ClusterPort, given: SchedulingMode | undefined): Promise<SchedulingMode> {
  if (given) return given;
  const [controller, vnodes] = await Promise.all([cluster.get(CONTROLLER_REF), cluster.list<KubeObject>('v1', 'Node', { labelSelector: TARGETS.vnode.nodeLabelSelector })]);
  if (controller && vnodes.length > 0) throw usageError('ModeAmbiguous', 'both a VNode and the in-cluster controller are installed', 'choose where labelled pods go with --mode vnode or --mode controller');
  if (controller) return 'controller';
  if (vnodes.length > 0) return 'vnode';
  throw usageError('NotInstalled', 'no virtual node is installed in this cluster', 'run `vnode install` first, or pass --mode vnode|controller to prepare scheduling for a later install');
}

async function checkOwned(cluster: ClusterPort, ref: ObjectRef): Promise<KubeObject | undefined> {
  const live = await cluster.get<KubeObject>(ref);
  if (live && live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
    throw usageError('NotManaged', `${describeRef(ref)} exists but vnode did not create it`, 'vnode changes only what it created; remove it first');
  }
  return live;
}

/** The Secret's certificate, unless it does not name these hosts or is close to expiry (then a new CA and certificate). */
/**
 * The Secret's certificate, unless it does not name these hosts or is close to expiry (then a new CA and certificate).
 * A renewal keeps the previous CA in the bundle: servers still presenting the old certificate (a Secret volume
 * updates within a minute or so) stay trusted meanwhile.
 */
async function certificates(cluster: ClusterPort, endpoint: Endpoint): Promise<{ caPem: string; previousCaPem: string | undefined; certPem: string; keyPem: string; notAfter: Date; renewed: boolean }> {
  const hosts = servingHosts(endpoint);
  const live = await cluster.get<KubeObject & { data?: Record<string, string> }>(SECRET_REF);
  const read = (k: string): string => Buffer.from(live?.data?.[k] ?? '', 'base64').toString('utf8');
  if (live?.data?.['tls.crt'] && live.data['tls.key'] && live.data['ca.crt']) {
    try {
      const facts = await certFacts(read('tls.crt'));
      if (hosts.every((h) => facts.hosts.includes(h)) && facts.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS) {
        return { caPem: read('ca.crt'), previousCaPem: live.data['previous-ca.crt'] ? read('previous-ca.crt') : undefined, certPem: read('tls.crt'), keyPem: read('tls.key'), notAfter: facts.notAfter, renewed: false };
      }
    } catch { /* unreadable: replaced below */ }
  }
  return { ...(await generateWebhookCerts(hosts)), previousCaPem: live?.data?.['ca.crt'] ? read('ca.crt') : undefined, renewed: true };
}

async function labelNamespaces(cluster: ClusterPort, namespaces: KubeObject[], dryRun: boolean): Promise<NamespaceChange[]> {
  const out: NamespaceChange[] = [];
  for (const ns of namespaces) {
    const name = ns.metadata.name!;
    const labels = ns.metadata.labels ?? {};
    if (labels[NAMESPACE_LABEL.key] === NAMESPACE_LABEL.value) { out.push({ name, action: 'already labelled' }); continue; }
    if (dryRun) { out.push({ name, action: 'would label' }); continue; }
    await cluster.patch({ apiVersion: 'v1', kind: 'Namespace', name },
      { metadata: { labels: { [NAMESPACE_LABEL.key]: NAMESPACE_LABEL.value }, annotations: { [LABELLED_ANNOTATION]: 'true' } } }, 'merge');
    out.push({ name, action: 'labelled' });
  }
  return out;
}

/** vnode's bundled server (the build's dist/webhook.cjs.gz), which the ConfigMap carries into the cluster. */
function serverCode(): Buffer {
  try { return packageFile('dist/webhook.cjs.gz'); } catch {
    throw operationError('ServerCodeMissing', "vnode's scheduling server code is missing (dist/webhook.cjs.gz)", { hint: 'this installation of vnode is incomplete; in a checkout, run `npm run build`' });
  }
}

interface CrdVersion { name: string; served: boolean; storage: boolean; schema?: unknown }

/**
 * The Selector CRD: vnode's own, or one that Alibaba's eci-profile put there. Its manifest serves v1beta1 only: that
 * one is upgraded in place to serve v1 too (same schema, storage unchanged, so no stored Selector is touched).
 */
async function selectorDefinition(cluster: ClusterPort): Promise<{ own?: KubeObject; addV1?: { versions: CrdVersion[]; resourceVersion: string } }> {
  const live = await cluster.get<KubeObject & { spec?: { versions?: CrdVersion[] } }>(CRD_REF);
  if (!live || live.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) return { own: selectorCrd() };
  const versions = live.spec?.versions ?? [];
  const v1 = versions.find((v) => v.name === 'v1');
  if (v1?.served) return {};
  const stored = versions.find((v) => v.storage) ?? versions[0];
  if (!stored || v1) {
    throw usageError('SelectorVersion', `CustomResourceDefinition ${CRD_REF.name} exists (not vnode's) and ${v1 ? 'has version v1 but does not serve it' : 'has no version'}`,
      'set served: true on its v1 (Alibaba\'s eci-profile defines v1 alongside v1beta1), or delete it so vnode installs its own');
  }
  return { addV1: { resourceVersion: live.metadata.resourceVersion ?? '', versions: [...versions, { name: 'v1', served: true, storage: false, ...(stored.schema ? { schema: stored.schema } : {}) }] } };
}

/** Until the API server serves the Selector API at v1 (a moment after its CRD changed). */
async function waitSelectorApi(ctx: Context, cluster: ClusterPort): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try { await cluster.list(SELECTOR_API, SELECTOR_KIND); return; } catch (e) {
      if (Date.now() > deadline || ctx.signal.aborted) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** `vnode scheduling enable`: the webhook that sends labelled pods to this cluster's virtual nodes, and the namespace labels. */
export async function enableScheduling(ctx: Context, opts: EnableOptions): Promise<EnableResult> {
  const cluster = await ctx.cluster();
  const pre = await ctx.status.step('Preflight checks', async () => {
    await requireAdmissionV1(cluster);
    const namespaces = await requireNamespaces(cluster, opts.namespaces);
    const mode = await resolveMode(cluster, opts.mode);
    for (const ref of [MWC_REF, SECRET_REF, DEPLOYMENT_REF, SERVICE_REF, CODE_REF]) await checkOwned(cluster, ref);
    // Selectors already there (a re-run, or eci-profile's): each gets its webhook entry
    const selectors = (await cluster.groupVersions()).includes(SELECTOR_API) ? await cluster.list<SelectorObject>(SELECTOR_API, SELECTOR_KIND) : [];
    return { namespaces, mode, crd: await selectorDefinition(cluster), selectors };
  }, (p) => `labelled pods go to ${p.mode === 'vnode' ? 'VNode' : 'controller'} virtual nodes`);
  const certs = await certificates(cluster, opts.endpoint);
  const inCluster = opts.endpoint.kind === 'service';
  const code = inCluster ? serverCode() : undefined;
  const caBundle = [certs.caPem, certs.previousCaPem].filter(Boolean).map((p) => `${p!.trim()}\n`).join('');
  const withSelectors = (list: SelectorObject[]): KubeObject => webhookConfiguration(opts.endpoint, pre.mode, caBundle, list);
  const objects: KubeObject[] = [
    ...(pre.crd.own ? [pre.crd.own] : []),
    serviceAccount(), clusterRole(), clusterRoleBinding(), tlsSecret(certs.certPem, certs.keyPem, certs.caPem, certs.previousCaPem),
    ...(code ? [codeConfigMap(code), deployment(opts.image, opts.replicas, pre.mode, codeDigest(code)), service()] : []),
    withSelectors(pre.selectors),
  ];
  // a webhook outside the cluster replaces the in-cluster one
  const obsolete = inCluster ? [] : (await Promise.all([DEPLOYMENT_REF, SERVICE_REF, CODE_REF].map((r) => cluster.get<KubeObject>(r)))).filter((o): o is KubeObject => Boolean(o));
  const base = { mode: pre.mode, endpoint: describeEndpoint(opts.endpoint), certificateExpires: certs.notAfter.toISOString() };
  if (ctx.flags.dryRun) {
    return {
      ...base, dryRun: true, namespaces: await labelNamespaces(cluster, pre.namespaces, true),
      objects: [
        ...(pre.crd.addV1 ? [{ object: describeRef(CRD_REF), action: 'would serve v1 too (eci-profile\'s definition, v1beta1 kept as storage)' }] : []),
        ...await Promise.all(objects.map(async (o) => ({ object: describeRef(refOf(o)), action: (await cluster.get(refOf(o))) ? 'exists' : 'would create' }))),
        ...obsolete.map((o) => ({ object: describeRef(refOf(o)), action: 'would delete' })),
      ],
    };
  }
  const applied: { object: string; action: string }[] = [];
  if (pre.crd.addV1) {
    const { versions, resourceVersion } = pre.crd.addV1;
    await ctx.status.step(`Adding version v1 to ${describeRef(CRD_REF)} (eci-profile's, served as v1beta1 only)`, async () => {
      await cluster.patch(CRD_REF, { metadata: { resourceVersion }, spec: { versions } }, 'merge');
      await waitSelectorApi(ctx, cluster);
    });
    applied.push({ object: describeRef(CRD_REF), action: 'serves v1 too (eci-profile\'s definition; v1beta1 kept as storage)' });
    // its Selectors are readable as v1 now: each gets its webhook entry at once
    objects[objects.length - 1] = withSelectors(await cluster.list<SelectorObject>(SELECTOR_API, SELECTOR_KIND));
  }
  for (const o of objects) {
    if (o.kind === 'MutatingWebhookConfiguration' && inCluster && opts.wait) {
      await ctx.status.step(`Waiting for Deployment ${DEPLOYMENT_REF.namespace}/${DEPLOYMENT_REF.name} to be available`, () => waitAvailable(ctx, cluster, opts.timeoutMs));
    }
    const action = await ctx.status.step(`Applying ${describeRef(refOf(o))}`, async () => (o.metadata.annotations?.[APPLIED_ANNOTATION] ? ensureHashed(cluster, o) : (await ensureObject(cluster, o)).action), (a) => a);
    if (o.kind === 'CustomResourceDefinition' && action !== 'unchanged') await ctx.status.step('Waiting for the Selector API to be served', () => waitServed(ctx, cluster));
    applied.push({ object: describeRef(refOf(o)), action });
  }
  for (const o of obsolete) {
    await cluster.delete(refOf(o));
    applied.push({ object: describeRef(refOf(o)), action: 'deleted' });
  }
  const namespaces = await labelNamespaces(cluster, pre.namespaces, false);
  return { ...base, objects: applied, namespaces, dryRun: false };
}

/** A new CRD is served once the API server has established it (a second or so). */
async function waitServed(ctx: Context, cluster: ClusterPort): Promise<void> {
  await cluster.waitFor<KubeObject>(CRD_REF, (o) => ((o?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [])
    .some((c) => c.type === 'Established' && c.status === 'True'), { timeoutMs: 30_000, signal: ctx.signal });
}

/** Reasons a pod of the server will not become ready by waiting: the image, or a container that keeps failing. */
const HOPELESS = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError'];

interface PodState { metadata: KubeObject['metadata']; status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[] } }

/** One line per pod: why it is not ready, from its container states or its scheduling condition. */
export function podTrouble(pods: PodState[]): { hopeless: boolean; lines: string[] } {
  let hopeless = false;
  const lines = pods.map((p) => {
    const waiting = (p.status?.containerStatuses ?? []).map((c) => ({ c: c.name, w: c.state?.waiting })).find((x) => x.w?.reason);
    if (waiting) {
      if (HOPELESS.includes(waiting.w!.reason!)) hopeless = true;
      return `pod ${p.metadata.name}: container ${waiting.c} ${waiting.w!.reason}${waiting.w!.message ? ` (${waiting.w!.message})` : ''}`;
    }
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (sched) return `pod ${p.metadata.name}: ${p.status?.phase ?? 'Pending'}, ${sched.reason ?? 'not scheduled'}${sched.message ? `: ${sched.message}` : ''}`;
    return `pod ${p.metadata.name}: ${p.status?.phase ?? 'Pending'}`;
  });
  return { hopeless, lines };
}

/** The in-cluster server is Available (during a rollout the old replicas serve), or why not (one line per pod). */
export async function serverTrouble(cluster: ClusterPort): Promise<string[] | undefined> {
  if (available(await cluster.get<KubeObject>(DEPLOYMENT_REF))) return undefined;
  return podTrouble(await serverPods(cluster)).lines;
}

/** The pods of the Deployment's current template (its newest ReplicaSet): an older one's pods are on their way out. */
async function serverPods(cluster: ClusterPort): Promise<PodState[]> {
  const selector = Object.entries(COMPONENT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
  const [pods, sets] = await Promise.all([
    cluster.list<PodState & KubeObject>('v1', 'Pod', { namespace: DEPLOYMENT_REF.namespace, labelSelector: selector }),
    cluster.list<KubeObject>('apps/v1', 'ReplicaSet', { namespace: DEPLOYMENT_REF.namespace, labelSelector: selector }),
  ]);
  const revision = (o: KubeObject): number => Number(o.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  const newest = sets.filter((r) => (r.metadata.ownerReferences as { name: string }[] | undefined)?.some((o) => o.name === DEPLOYMENT_REF.name))
    .sort((a, b) => revision(b) - revision(a))[0];
  const hash = newest?.metadata.labels?.['pod-template-hash'];
  return pods.filter((p) => !p.metadata.deletionTimestamp && (!hash || p.metadata.labels?.['pod-template-hash'] === hash));
}

/** Until the Deployment is Available; an image that cannot be pulled or a crash loop fails at once, naming the pod's reason. */
async function waitAvailable(ctx: Context, cluster: ClusterPort, timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  const started = Date.now();
  for (;;) {
    if (rolledOut(await cluster.get<KubeObject>(DEPLOYMENT_REF))) return;
    const t = podTrouble(await serverPods(cluster));
    const where = `Deployment ${DEPLOYMENT_REF.namespace}/${DEPLOYMENT_REF.name}`;
    const hint = 'labelled pods are not sent to virtual nodes until it runs; check the image (--image for a mirror) and `kubectl -n kube-system describe pod -l app.kubernetes.io/name=vnode-scheduling`';
    if (t.hopeless) throw operationError('WebhookNotAvailable', `${where} cannot become available: ${t.lines.join('; ')}`, { hint });
    if (Date.now() >= deadline) {
      throw operationError('WebhookNotAvailable', `${where} is not available after ${Math.round((Date.now() - started) / 1000)}s: ${t.lines.join('; ') || 'no pod was created'}`, { hint });
    }
    await pause(Math.min(1000, Math.max(0, deadline - Date.now())), ctx.signal);
  }
}

function available(d: KubeObject | undefined): boolean {
  const conds = (d?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Available' && c.status === 'True');
}

/** As `kubectl rollout status` decides: the current template's replicas are all updated and available. */
function rolledOut(d: KubeObject | undefined): boolean {
  if (!d) return false;
  const st = (d.status ?? {}) as { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
  const want = Number((d.spec as { replicas?: number } | undefined)?.replicas ?? 1);
  return (st.observedGeneration ?? 0) >= Number(d.metadata.generation ?? 0) && (st.updatedReplicas ?? 0) >= want && (st.replicas ?? 0) <= want && (st.availableReplicas ?? 0) >= want;
}

export interface DisableResult {
  objects: { object: string; action: string }[];
  namespaces: NamespaceChange[];
  dryRun: boolean;
}

const ALL_NAMESPACE_LABELS = [NAMESPACE_LABEL, LEGACY_NAMESPACE_LABEL, SHORT_NAMESPACE_LABEL];

/** Namespaces that ask for virtual nodes, by any of the documented labels. */
async function labelledNamespaces(cluster: ClusterPort): Promise<KubeObject[]> {
  const lists = await Promise.all(ALL_NAMESPACE_LABELS.map((l) => cluster.list<KubeObject>('v1', 'Namespace', { labelSelector: `${l.key}=${l.value}` })));
  const seen = new Set<string>();
  return lists.flat().filter((n) => !seen.has(n.metadata.name!) && seen.add(n.metadata.name!));
}

async function unlabel(cluster: ClusterPort, ns: KubeObject, dryRun: boolean, onlyOurs: boolean): Promise<NamespaceChange> {
  const name = ns.metadata.name!;
  const ours = ns.metadata.annotations?.[LABELLED_ANNOTATION] === 'true';
  if (ns.metadata.labels?.[NAMESPACE_LABEL.key] !== NAMESPACE_LABEL.value) return { name, action: 'not labelled' };
  if (onlyOurs && !ours) return { name, action: 'labelled by someone else' };
  if (dryRun) return { name, action: 'would unlabel' };
  await cluster.patch({ apiVersion: 'v1', kind: 'Namespace', name }, { metadata: { labels: { [NAMESPACE_LABEL.key]: null }, annotations: { [LABELLED_ANNOTATION]: null } } }, 'merge');
  return { name, action: 'unlabelled' };
}

/**
 * `vnode scheduling disable`: with namespaces, takes the label off them; without, removes the webhook first (so no pod
 * is sent anywhere meanwhile), then everything else, and the labels vnode put on namespaces.
 */
export async function disableScheduling(ctx: Context, opts: { namespaces: string[] }): Promise<DisableResult> {
  const cluster = await ctx.cluster();
  const dryRun = ctx.flags.dryRun;
  if (opts.namespaces.length > 0) {
    const nss = await requireNamespaces(cluster, opts.namespaces);
    const namespaces: NamespaceChange[] = [];
    for (const ns of nss) namespaces.push(await unlabel(cluster, ns, dryRun, false));
    return { objects: [], namespaces, dryRun };
  }
  const refs: ObjectRef[] = [MWC_REF, DEPLOYMENT_REF, SERVICE_REF, CODE_REF, SECRET_REF, refOf(clusterRoleBinding()), refOf(clusterRole()), refOf(serviceAccount())];
  const objects: { object: string; action: string }[] = [];
  for (const ref of refs) {
    const live = await checkOwned(cluster, ref);
    if (!live) continue;
    if (!dryRun) await ctx.status.step(`Deleting ${describeRef(ref)}`, () => cluster.delete(ref));
    objects.push({ object: describeRef(ref), action: dryRun ? 'would delete' : 'deleted' });
  }
  // the CRD goes with the last Selector: deleting it would delete users' Selectors
  const crd = await cluster.get<KubeObject>(CRD_REF);
  if (crd?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
    const selectors = await cluster.list(SELECTOR_API, SELECTOR_KIND).catch(() => []);
    if (selectors.length > 0) objects.push({ object: describeRef(CRD_REF), action: `kept (${selectors.length} Selector${selectors.length > 1 ? 's' : ''}; remove them with \`vnode scheduling remove\`, then disable again)` });
    else {
      // as kubectl delete does, until it is gone (its finalizer removes the stored objects): an enable right after must not meet it terminating
      if (!dryRun) {
        await ctx.status.step(`Deleting ${describeRef(CRD_REF)}`, async () => {
          await cluster.delete(CRD_REF);
          await cluster.waitFor(CRD_REF, (o) => !o, { timeoutMs: 60_000, signal: ctx.signal });
        });
      }
      objects.push({ object: describeRef(CRD_REF), action: dryRun ? 'would delete' : 'deleted' });
    }
  }
  objects.push(...await removeLimitState(ctx, cluster, dryRun));
  const namespaces: NamespaceChange[] = [];
  for (const ns of await labelledNamespaces(cluster)) namespaces.push(await unlabel(cluster, ns, dryRun, true));
  return { objects, namespaces, dryRun };
}

/** What the servers keep while burst limits exist: who counts, the ledger and the published count. */
export const LIMIT_STATE_REFS: ObjectRef[] = [
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: LIMITS_NAMESPACE, name: ACCOUNTANT },
  { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: LEDGER },
  { apiVersion: 'v1', kind: 'ConfigMap', namespace: LIMITS_NAMESPACE, name: USAGE },
];
const SERVER_STOP_MS = 60_000;

/**
 * The burst limits' working state goes once no server pod is left to write it again (one stopping could recreate it);
 * the limits and the price table are the user's settings: kept, and said so.
 */
async function removeLimitState(ctx: Context, cluster: ClusterPort, dryRun: boolean): Promise<{ object: string; action: string }[]> {
  const out: { object: string; action: string }[] = [];
  const live = (await Promise.all(LIMIT_STATE_REFS.map((ref) => cluster.get<KubeObject>(ref))))
    .flatMap((o, i) => (o?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? [LIMIT_STATE_REFS[i]!] : []));
  if (live.length > 0) {
    const selector = Object.entries(COMPONENT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
    const stopped = dryRun || await ctx.status.step('Waiting for the scheduling server\'s pods to stop', async () => {
      const until = Date.now() + SERVER_STOP_MS;
      while ((await cluster.list('v1', 'Pod', { namespace: DEPLOYMENT_REF.namespace, labelSelector: selector })).length > 0) {
        if (Date.now() >= until) return false;
        await pause(500, ctx.signal);
      }
      return true;
    });
    for (const ref of live) {
      if (!stopped) { out.push({ object: describeRef(ref), action: 'kept (the scheduling server\'s pods are still stopping; run disable again)' }); continue; }
      if (!dryRun) await cluster.delete(ref);
      out.push({ object: describeRef(ref), action: dryRun ? 'would delete' : 'deleted' });
    }
  }
  const limits = await cluster.list('v1', 'ConfigMap', { namespace: LIMITS_NAMESPACE, labelSelector: LIMIT_LABEL });
  if (limits.length > 0) {
    out.push({ object: `${limits.length} burst limit${limits.length > 1 ? 's' : ''} (${limits.map((l) => l.metadata.labels?.[LIMIT_LABEL]).join(', ')})`,
      action: 'kept (they apply again on `vnode scheduling enable`; remove them with `vnode scheduling limit remove NAME`)' });
  }
  return out;
}

export interface SchedulingStatus {
  enabled: boolean;
  mode: SchedulingMode | null;
  endpoint: string | null;
  replicas: { ready: number; desired: number } | null;
  certificateExpires: string | null;
  namespaces: { name: string; label: string; labelledBy: 'vnode' | 'user' }[];
  /** Selector objects (eci.aliyun.com/v1), null when that API is not served. */
  selectors: number | null;
  warnings: string[];
}

export async function schedulingStatus(ctx: Context): Promise<SchedulingStatus> {
  const cluster = await ctx.cluster();
  const [mwc, deploy, secret, nss, selectors] = await Promise.all([
    cluster.get<KubeObject>(MWC_REF), cluster.get<KubeObject>(DEPLOYMENT_REF), cluster.get<KubeObject & { data?: Record<string, string> }>(SECRET_REF), labelledNamespaces(cluster),
    cluster.groupVersions().then((v) => (v.includes(SELECTOR_API) ? cluster.list(SELECTOR_API, SELECTOR_KIND).then((l) => l.length) : null)),
  ]);
  const warnings: string[] = [];
  const conf = mwc ? describeConfiguration(mwc) : undefined;
  let certificateExpires: string | null = null;
  if (secret?.data?.['tls.crt']) {
    const facts = await certFacts(Buffer.from(secret.data['tls.crt'], 'base64').toString('utf8')).catch(() => undefined);
    certificateExpires = facts?.notAfter.toISOString() ?? null;
    if (facts && facts.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) warnings.push(`the webhook's certificate expires ${facts.notAfter.toISOString()}; run \`vnode scheduling enable\` again to renew it`);
  }
  const st = deploy?.status as { readyReplicas?: number } | undefined;
  const replicas = conf?.endpoint.kind === 'service' && deploy ? { ready: st?.readyReplicas ?? 0, desired: Number((deploy.spec as { replicas?: number }).replicas ?? 1) } : null;
  if (replicas && replicas.ready === 0) warnings.push(`no replica of Deployment ${DEPLOYMENT_REF.namespace}/${DEPLOYMENT_REF.name} is ready: labelled pods are created without a virtual node (failurePolicy Ignore)`);
  if (!mwc && nss.length > 0) warnings.push('namespaces are labelled but the webhook is not enabled: their pods go to ordinary nodes; run `vnode scheduling enable`');
  return {
    enabled: Boolean(mwc), mode: conf?.mode ?? null, endpoint: conf ? describeEndpoint(conf.endpoint) : null, replicas, certificateExpires,
    namespaces: nss.map((n) => ({
      name: n.metadata.name!,
      label: ((l) => `${l.key}=${l.value}`)(ALL_NAMESPACE_LABELS.find((l) => n.metadata.labels?.[l.key] === l.value) ?? NAMESPACE_LABEL),
      labelledBy: n.metadata.annotations?.[LABELLED_ANNOTATION] === 'true' ? 'vnode' as const : 'user' as const,
    })),
    selectors,
    warnings,
  };
}
