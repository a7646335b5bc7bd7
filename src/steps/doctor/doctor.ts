import { accountFindings, type AccountNeed } from '../ground/account.js';
import { addonVersionInfo } from '../addon/versions.js';
import type { CloudPorts, ContainerGroupInfo } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import { beyondDocumented, documentedByAlibaba, SUPPORTED_MIN_MINOR, supportRange, TESTED_MAX_MINOR } from '../../cluster/versions.js';
import type { Context } from '../../context.js';
import { errorText, VnodeError } from '../../errors.js';
import { CONTROLLER_REF, PROFILE_REF } from '../addon/addon.js';
import { ADDON, CONTROLLER_DEPLOYMENT, NAMESPACE as ADDON_NS, NODE_LABELS, TAINT } from '../addon/constants.js';
import { readRegistration, STATE_MEANING } from '../addon/registration.js';
import { BOOTSTRAP_TOKEN_TYPE, NAMESPACE as IDENTITY_NS, tokenFromSecret } from '../identity/identity.js';
import { serverWarnings } from '../identity/kubeconfig-file.js';
import { ADDON_SECRET, attachedByVnode, keyMayCallEci, readAddonSecret } from '../ram/addon-secret.js';
import { confirmDaemonSetPatches, keepDaemonSetsOff } from '../ground/daemonset-affinity.js';
import { certFacts, RENEW_BEFORE_MS } from '../scheduling/certs.js';
import { serverTrouble } from '../scheduling/scheduling.js';
import { DEPLOYMENT_REF, describeConfiguration, entryProblem, MWC_REF, SECRET_REF } from '../scheduling/webhook.js';
import { SELECTOR_API, SELECTOR_KIND, type SelectorObject } from '../scheduling/policy.js';
import { TAG_CLUSTER, TAG_IDENTITY, VNODE_LABELS, VNODE_TAINT } from '../virtual-node/install.js';
import { opensKubeletPorts } from '../ground/preflight.js';
import { listInstallRecords } from '../virtual-node/install-record.js';
import { findStrays } from '../drain/strays.js';
import { UNLISTED_CAUSE } from '../drain/unlisted.js';
import { INSTANCE_ANNOTATION, TAG_CLUSTER_ID, TAG_NODE_NAME, TERMINAL_STATUSES } from '../../assumptions.js';
import { collectStatus, findOne, type VirtualNodeStatus } from '../status/status.js';
import { perSecondOf, priceKey, priceSpecOf } from '../cost/cost.js';

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL';

export interface CheckResult {
  check: string;
  /** The virtual node (or object) checked; empty for cluster-wide checks. */
  target: string;
  status: CheckStatus;
  message: string;
  hint?: string;
}

/** One virtual node is recommended for up to this many ECI pods. */
export const PODS_PER_NODE = 3000;
/** A bootstrap token closer to expiry than this is reported. */
export const TOKEN_WARN_MS = 7 * 86_400_000;

const pass = (check: string, target: string, message: string): CheckResult => ({ check, target, status: 'PASS', message });
const warn = (check: string, target: string, message: string, hint?: string): CheckResult => ({ check, target, status: 'WARN', message, ...(hint ? { hint } : {}) });
const fail = (check: string, target: string, message: string, hint?: string): CheckResult => ({ check, target, status: 'FAIL', message, ...(hint ? { hint } : {}) });

export function checkVersionRange(v: { gitVersion: string; major: number; minor: number }): CheckResult {
  const range = supportRange(v);
  const span = `1.${SUPPORTED_MIN_MINOR}-1.${TESTED_MAX_MINOR}`;
  if (range === 'too old') return fail('api-version', '', `Kubernetes ${v.gitVersion} is older than virtual nodes support (${span})`, 'upgrade the cluster');
  if (range === 'newer than tested') return warn('api-version', '', `Kubernetes ${v.gitVersion} is newer than vnode is tested with (${span})`);
  if (!documentedByAlibaba(v)) return warn('api-version', '', beyondDocumented(v.gitVersion), 'a warning, not a refusal: check ECI\'s VNode pages for newer versions');
  return pass('api-version', '', `Kubernetes ${v.gitVersion} (supported ${span})`);
}

export function checkCapacity(node: string, pods: number, limit = PODS_PER_NODE): CheckResult {
  if (pods > limit) {
    return warn('capacity', node, `${pods} pods on one virtual node (recommended at most ${limit})`, 'add virtual nodes: `vnode install --count N`, or for the add-on vSwitches of more zones (`vnode config set vswitch=...`)');
  }
  return pass('capacity', node, `${pods} pod(s) (recommended at most ${limit} per virtual node)`);
}

function nodeHealth(r: VirtualNodeStatus): CheckResult {
  const where = r.mode === 'vnode' ? `ECI ${r.eciStatus}, ` : '';
  const warning = r.lastWarning ? `; last warning: ${r.lastWarning}` : '';
  if (r.mode === 'vnode' && r.eciStatus !== 'Ready') {
    return fail('node-ready', r.name, `${where}node ${r.nodeReady}${warning}`, r.eciStatus === 'gone from ECI' ? 'the VNode is gone from ECI: `vnode uninstall ' + r.name + '` removes the Node' : '`vnode status ' + r.name + '` shows its events');
  }
  if (r.nodeReady !== 'Ready') return fail('node-ready', r.name, `${where}node ${r.nodeReady}${warning}`, `\`vnode status ${r.name}\` shows its conditions and events`);
  return pass('node-ready', r.name, `${where}node Ready${warning}`);
}

async function checkDaemonSets(ctx: Context, cluster: ClusterPort, modes: Set<string>, fix: boolean): Promise<CheckResult> {
  const labels = modes.has('vnode') ? VNODE_LABELS : NODE_LABELS;
  const taints = [...(modes.has('vnode') ? [VNODE_TAINT] : []), ...(modes.has('addon') ? [TAINT] : [])];
  const planned = await keepDaemonSetsOff(cluster, labels, taints, true);
  const open = planned.filter((c) => c.action === 'would patch');
  if (open.length === 0) return pass('daemonset-exclusion', '', 'no DaemonSet can place pods on virtual nodes');
  const names = open.map((c) => `${c.namespace}/${c.name}`).join(', ');
  if (fix && !ctx.flags.dryRun) {
    await confirmDaemonSetPatches(ctx, planned);
    await keepDaemonSetsOff(cluster, labels, taints, false);
    return pass('daemonset-exclusion', '', `re-applied the exclusion to ${names} (their pods restart)`);
  }
  return fail('daemonset-exclusion', '', `DaemonSet(s) ${names} would place pods on virtual nodes (kubeadm upgrade re-applies kube-proxy without the exclusion)`,
    'run `vnode doctor --fix` to re-apply it');
}

async function checkIdentity(cluster: ClusterPort, r: VirtualNodeStatus, identity: string | undefined): Promise<CheckResult> {
  if (r.mode === 'addon') {
    const dep = await cluster.get(CONTROLLER_REF);
    return dep ? pass('identity', r.name, `served by Deployment ${ADDON_NS}/${CONTROLLER_DEPLOYMENT}`)
      : fail('identity', r.name, `Deployment ${ADDON_NS}/${CONTROLLER_DEPLOYMENT} is missing: nothing serves this node`, 're-run `vnode install --mode addon`');
  }
  if (!identity || identity === 'external') return pass('identity', r.name, 'kubeconfig given with --kubeconfig-file (not managed by vnode)');
  const [mode, name] = identity.split(':') as [string, string];
  const sel = { namespace: IDENTITY_NS, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${INSTANCE_LABEL}=${name}` };
  if (mode === 'sa') {
    const secrets = await cluster.list<KubeObject>('v1', 'Secret', { ...sel, fieldSelector: 'type=kubernetes.io/service-account-token' });
    const token = secrets.find((s) => (s.data as Record<string, string> | undefined)?.token);
    return token ? pass('identity', r.name, `ServiceAccount token Secret ${IDENTITY_NS}/${token.metadata.name}`)
      : fail('identity', r.name, `the ServiceAccount token of identity ${name} is gone: the virtual node can no longer authenticate`, `replace the node: \`vnode update ${r.name} --recreate\``);
  }
  const tokens = (await cluster.list<KubeObject>('v1', 'Secret', { ...sel, fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` })).map(tokenFromSecret).filter((t) => t !== undefined);
  const newest = tokens.sort((a, b) => (b.expiresAt?.getTime() ?? Infinity) - (a.expiresAt?.getTime() ?? Infinity))[0];
  const left = newest?.expiresAt ? newest.expiresAt.getTime() - Date.now() : Infinity;
  // a Ready node has bootstrapped and rotates its client certificate itself; the token matters only to bootstrap again
  if (r.nodeReady === 'Ready') {
    return pass('identity', r.name, `bootstrapped (client certificate); bootstrap token ${newest && left > 0 ? `${newest.id} until ${newest.expiresAt?.toISOString() ?? 'no expiry'}` : 'expired or gone, needed only to bootstrap again'}`);
  }
  if (!newest || left <= 0) return fail('identity', r.name, `the bootstrap token of identity ${name} is ${newest ? 'expired' : 'gone'} and the node is not Ready`, `mint one: \`vnode kubeconfig --bootstrap --name ${name}\``);
  if (left < TOKEN_WARN_MS) return warn('identity', r.name, `the bootstrap token of identity ${name} expires ${newest.expiresAt!.toISOString()}`, `renew it: \`vnode kubeconfig --bootstrap --name ${name}\``);
  return pass('identity', r.name, `bootstrap token ${newest.id}${newest.expiresAt ? ` valid until ${newest.expiresAt.toISOString()}` : ' (no expiry)'}`);
}

async function checkAddonKey(ctx: Context, cluster: ClusterPort, cloud: CloudPorts): Promise<CheckResult[]> {
  const secret = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', ...ADDON_SECRET });
  const info = await readAddonSecret(cluster);
  const data = (secret?.data ?? {}) as Record<string, string>;
  const id = info?.accessKeyId;
  const keySecret = data['access-key-secret'] ? Buffer.from(data['access-key-secret'], 'base64').toString('utf8') : undefined;
  ctx.redactor.add(keySecret);
  const target = `${ADDON_SECRET.namespace}/${ADDON_SECRET.name}`;
  if (!id || !keySecret) return [fail('addon-key', target, secret ? 'the Secret holds no AccessKey' : 'the Secret is missing: the controller cannot create ECI instances', 'run `vnode ram grant`')];
  const out: CheckResult[] = [];
  try {
    const asAddon = await ctx.cloudWith({ id, secret: keySecret });
    const may = await keyMayCallEci(asAddon);
    out.push(may.ok ? pass('addon-key', target, `AccessKey ${id} is valid and may call ECI`)
      : fail('addon-key', target, `AccessKey ${id} cannot call ECI: ${may.denied} denied`, 'attach the ECI policy: `vnode ram grant`'));
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    out.push(fail('addon-key', target, `AccessKey ${id} cannot call ECI: ${errorText(e)}`,
      /AccessKey|Signature/i.test(code) ? 'the key was deleted or disabled: `vnode ram grant --rotate-key`' : 'attach the ECI policy: `vnode ram grant`'));
  }
  const recorded = info.ramUser ? await attachedByVnode(cluster, info.ramUser, info) : [];
  if (info.ramUser && recorded.length > 0) {
    try {
      const attached = new Set((await cloud.ram.listPoliciesForUser(info.ramUser)).map((p) => `${p.type}:${p.name}`));
      const missing = recorded.filter((p) => !attached.has(p));
      out.push(missing.length === 0
        ? pass('ram-policy', info.ramUser, `attached: ${recorded.join(', ')}`)
        : fail('ram-policy', info.ramUser, `no longer attached to RAM user ${info.ramUser}: ${missing.join(', ')}`, 'run `vnode ram grant` to attach them again'));
    } catch (e) {
      out.push(warn('ram-policy', info.ramUser, `cannot list the policies of RAM user ${info.ramUser}: ${errorText(e)}`));
    }
  }
  return out;
}

async function checkSecurityGroup(cloud: CloudPorts, sg: string, nodes: string[]): Promise<CheckResult> {
  const perms = await cloud.ecs.describeSecurityGroupPermissions(sg);
  if (!perms) return warn('security-group', sg, `cannot read the rules of security group ${sg}`);
  if (!opensKubeletPorts(perms)) {
    return warn('security-group', sg, `no inbound rule for TCP 10250 and 10255 (used by ${nodes.join(', ')}): kubectl logs/exec and metrics of their pods fail`,
      `aliyun ecs AuthorizeSecurityGroup --SecurityGroupId ${sg} --IpProtocol tcp --PortRange 10250/10255 --SourceCidrIp <API server address>/32`);
  }
  return pass('security-group', sg, 'inbound TCP 10250 and 10255 allowed');
}

function checkServer(server: string, allReady: boolean, names: string[]): CheckResult {
  const problems = serverWarnings(server).filter((w) => w.includes('loopback'));
  if (problems.length === 0) return pass('server-address', server, `${names.join(', ')} dial${names.length === 1 ? 's' : ''} it: reachable from a VPC (not loopback or link-local)`);
  // Ready nodes prove something forwards it (a tunnel, or the sandbox)
  return (allReady ? warn : fail)('server-address', server, problems[0]!, 'install with --server https://<address reachable from the VPC>:6443');
}

async function checkPods(cluster: ClusterPort, cloud: CloudPorts, r: VirtualNodeStatus, clusterId: string): Promise<CheckResult[]> {
  if (!r.nodeName) return [];
  // candidates by the NodeName tag (an assumption); each pod names its own instance (documented annotation)
  const tags = r.mode === 'vnode' ? [{ key: TAG_NODE_NAME, value: r.nodeName }] : [{ key: TAG_NODE_NAME, value: r.nodeName }, { key: TAG_CLUSTER_ID, value: clusterId }];
  const [groups, pods] = await Promise.all([
    cloud.eci.describeContainerGroups({ tags }),
    cluster.list<KubeObject>('v1', 'Pod', { fieldSelector: `spec.nodeName=${r.nodeName}` }),
  ]);
  const claimed = new Map(pods.map((p) => [p.metadata.annotations?.[INSTANCE_ANNOTATION], p]));
  const tag = (g: ContainerGroupInfo, k: string): string | undefined => g.tags.find((t) => t.key === k)?.value;
  const unclaimed = groups.filter((g) => !claimed.has(g.id) && !TERMINAL_STATUSES.includes(g.status) && g.status !== 'Terminating');
  const live = pods.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
  const ids = live.map((p) => p.metadata.annotations?.[INSTANCE_ANNOTATION]).filter((x): x is string => Boolean(x));
  const known = new Set([...groups.map((g) => g.id), ...(await cloud.eci.describeContainerGroups({ ids: ids.filter((id) => !groups.some((g) => g.id === id)) }).catch(() => [])).map((g) => g.id)]);
  const missing = live.filter((p) => !known.has(p.metadata.annotations?.[INSTANCE_ANNOTATION] ?? ''));
  const out: CheckResult[] = [];
  // what they bill, priced by ECI (one call per distinct spec); unpriced when the price cannot be asked
  const rates = new Map<string, Promise<{ perHour: number; currency: string } | undefined>>();
  const perHour = async (g: ContainerGroupInfo): Promise<{ perHour: number; currency: string } | undefined> => {
    const spec = priceSpecOf(g);
    const key = priceKey(spec);
    if (!rates.has(key)) rates.set(key, cloud.eci.describePrice(spec).then((p) => ({ perHour: perSecondOf(spec, p) * 3600, currency: p.currency }), () => undefined));
    return rates.get(key)!;
  };
  const orphanRates = await Promise.all(unclaimed.map(perHour));
  const orphanRate = orphanRates.every((x) => x !== undefined) && orphanRates.length > 0
    ? `${orphanRates.reduce((a, b) => a + b!.perHour, 0).toFixed(4)} ${orphanRates[0]!.currency}` : undefined;
  out.push(unclaimed.length === 0
    ? pass('orphans', r.name, `${pods.length} pod(s), each instance claimed by its pod`)
    : warn('orphans', r.name, `${unclaimed.length} instance(s) tagged ${TAG_NODE_NAME}=${r.nodeName} that no pod claims (${INSTANCE_ANNOTATION}), possibly billed`
      + `${orphanRate !== undefined ? ` (${orphanRate} per hour at list price)` : ''}: `
      + unclaimed.map((g) => `${g.id} (${tag(g, 'NameSpace') ?? '?'}/${tag(g, 'PodName') ?? '?'})`).join(', '),
      'ECI does not document that tag: check these instances in the ECI console'));
  if (missing.length > 0) {
    out.push(fail('pods-without-instance', r.name, `${missing.length} Running pod(s) whose ECI instance is not listed by ECI: ${missing.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`,
      `${UNLISTED_CAUSE}: grant it first; if the caller has it, delete those pods so their controllers create them again: kubectl delete pod -n <ns> <name>`));
  }
  out.push(checkCapacity(r.name, pods.length));
  return out;
}

/** Instances of this cluster whose virtual node is gone (an interrupted or forced removal). */
async function checkStrays(cluster: ClusterPort, cloud: CloudPorts, clusterId: string, rows: VirtualNodeStatus[]): Promise<CheckResult> {
  const seen = await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }], includeCleaned: true });
  const strays = await findStrays(cluster, cloud, clusterId, seen, rows.map((r) => r.nodeName).filter((n): n is string => Boolean(n)));
  if (strays.length === 0) return pass('strays', '', 'no instance of a removed virtual node of this cluster');
  return warn('strays', '', `${strays.length} instance(s) tagged as this cluster's, on virtual nodes that are gone, claimed by no pod: ${strays.map((x) => `${x.id} (${x.pod} on ${x.node})`).join(', ')}`,
    'found by tags ECI does not document: check them in the ECI console; `vnode uninstall --all --cleanup-orphans` deletes them');
}

/** Burst limits at 90% or more (naming the pods held), and a price table that is stale or missing for a spend limit. */
async function checkLimits(cluster: ClusterPort): Promise<CheckResult[]> {
  const { burstCount, limitReport } = await import('../limits/manage.js');
  const r = await limitReport(cluster);
  if (r.limits.length === 0) return [];
  const out: CheckResult[] = [];
  const spend = r.limits.some((l) => l.inForce.maxHourly !== undefined || l.values.maxHourly !== undefined);
  if (spend && !r.prices) out.push(fail('burst-limit', 'kube-system/vnode-eci-prices', 'a spend limit is set but there is no price table: pods of its scope are held', 'run `vnode scheduling limit prices`'));
  else if (spend && r.prices?.stale) out.push(warn('burst-limit', 'kube-system/vnode-eci-prices', `the price table is from ${r.prices.fetched}, older than 7 days`, 'run `vnode scheduling limit prices`'));
  // the servers hold limited pods back from ECI while no replica publishes a current count of the charged pods
  if (await cluster.get(MWC_REF)) {
    const count = await burstCount(cluster);
    if (count.stale) {
      const what = count.age === undefined ? 'no count of the charged pods was published' : `the count of the charged pods is ${Math.round(count.age / 1000)}s old`;
      out.push(fail('burst-limit', count.object,
        `${what} (Lease ${count.lease}: ${count.holder ? `held by ${count.holder}` : 'not held'}): pods of limited scopes are held back from ECI`,
        'look at the server\'s log (kubectl -n kube-system logs deploy/vnode-scheduling); `vnode scheduling enable` again gives its ClusterRole the Lease'));
    }
  }
  const events = await cluster.list<KubeObject & { reason?: string; message?: string; involvedObject?: { namespace?: string; name?: string } }>('v1', 'Event', { fieldSelector: 'reason=BurstLimitReached' }).catch(() => []);
  for (const l of r.limits) {
    const held = [...new Set(events.filter((e) => (e.message ?? '').includes(`burst limit ${l.name} `)).map((e) => `${e.involvedObject?.namespace}/${e.involvedObject?.name}`))];
    const pct = Math.round(l.fullest * 100);
    out.push(l.fullest >= 0.9
      ? warn('burst-limit', l.name, `${pct}% used${held.length ? `; held: ${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''}` : ''}`, `raise it with \`vnode scheduling limit set ${l.name} ...\` or scale down`)
      : pass('burst-limit', l.name, `${pct}% used`));
  }
  return out;
}

/** Selectors the API server would refuse in a webhook entry: vnode applies them nowhere, and says why. */
async function checkSelectors(cluster: ClusterPort): Promise<CheckResult[]> {
  if (!(await cluster.get(MWC_REF)) || !(await cluster.groupVersions()).includes(SELECTOR_API)) return [];
  return (await cluster.list<SelectorObject>(SELECTOR_API, SELECTOR_KIND)).flatMap((sel) => {
    const why = entryProblem(sel);
    return why ? [fail('selector', sel.metadata.name ?? '', `not applied (no webhook entry): ${why}; the other Selectors keep working`, `fix it: kubectl edit selectors.eci.aliyun.com ${sel.metadata.name}`)] : [];
  });
}

async function checkScheduling(cluster: ClusterPort): Promise<CheckResult | undefined> {
  const mwc = await cluster.get(MWC_REF);
  if (!mwc) {
    // an enable that could not finish: its server exists but never became available
    if (!(await cluster.get(DEPLOYMENT_REF))) return undefined;
    const trouble = await serverTrouble(cluster);
    return trouble
      ? fail('scheduling-webhook', MWC_REF.name, `not configured: its Deployment kube-system/vnode-scheduling is not available: ${trouble.join('; ') || 'no pod was created'}`,
        'fix the image (`vnode scheduling enable --image <mirror>`), or remove it with `vnode scheduling disable`')
      : warn('scheduling-webhook', MWC_REF.name, 'its server runs but the webhook is not configured, so no pod is sent anywhere', 'run `vnode scheduling enable` again');
  }
  const secret = await cluster.get<KubeObject>(SECRET_REF);
  const crt = (secret?.data as Record<string, string> | undefined)?.['tls.crt'];
  if (!crt) return fail('scheduling-webhook', MWC_REF.name, `the webhook's certificate Secret ${SECRET_REF.namespace}/${SECRET_REF.name} is missing: labelled pods are not sent to virtual nodes`, 'run `vnode scheduling enable`');
  if (describeConfiguration(mwc).endpoint.kind === 'service') {
    const trouble = await serverTrouble(cluster);
    if (trouble) {
      return fail('scheduling-webhook', MWC_REF.name, `its Deployment kube-system/vnode-scheduling is not available, so labelled pods are not sent to virtual nodes: ${trouble.join('; ') || 'no pod was created'}`,
        'check the image (`vnode scheduling enable --image <mirror>`) and `kubectl -n kube-system describe pod -l app.kubernetes.io/name=vnode-scheduling`');
    }
  }
  const facts = await certFacts(Buffer.from(crt, 'base64').toString('utf8'));
  const left = facts.notAfter.getTime() - Date.now();
  if (left <= 0) return fail('scheduling-webhook', MWC_REF.name, `the webhook's certificate expired ${facts.notAfter.toISOString()}`, 'run `vnode scheduling enable` to renew it');
  if (left < RENEW_BEFORE_MS) return warn('scheduling-webhook', MWC_REF.name, `the webhook's certificate expires ${facts.notAfter.toISOString()}`, 'run `vnode scheduling enable` to renew it');
  return pass('scheduling-webhook', MWC_REF.name, `certificate valid until ${facts.notAfter.toISOString()}`);
}

export interface DoctorResult { checks: CheckResult[]; summary: Record<CheckStatus, number> }

/** `vnode doctor`: each check PASS, WARN or FAIL, with a hint; a check that cannot run is a FAIL saying why. */
export async function runDoctor(ctx: Context, opts: { name: string | undefined; fix: boolean }): Promise<DoctorResult> {
  const cluster = await ctx.cluster();
  const checks: CheckResult[] = [];
  const guarded = async (check: string, target: string, f: () => Promise<CheckResult | CheckResult[] | undefined>): Promise<void> => {
    try {
      const r = await f();
      if (r) checks.push(...(Array.isArray(r) ? r : [r]));
    } catch (e) {
      // a declined or unanswerable confirmation (--fix) is the user's answer, not a failed check
      if (e instanceof VnodeError && e.source !== 'operation') throw e;
      checks.push(fail(check, target, `could not check: ${errorText(e)}`));
    }
  };
  await guarded('api-version', '', async () => checkVersionRange(await cluster.version()));
  const cloud = await ctx.cloud();
  const clusterId = await clusterUid(cluster);
  // the account first: on one without ECI nothing else can be read
  const registered = Boolean(await readRegistration(cluster)) || Boolean(await cluster.get(CONTROLLER_REF));
  await guarded('account', '', async () => {
    const needs: AccountNeed[] = registered ? ['eci', 'ack', 'ack-roles', 'eci-vnode-role'] : ['eci', 'eci-vnode-role'];
    return (await accountFindings(ctx, cloud, needs)).map((f) => (!f.ok ? fail('account', f.need, f.detail, f.remedy) : f.note ? warn('account', f.need, f.detail) : pass('account', f.need, f.detail)));
  });
  if (checks.some((c) => c.check === 'account' && c.target === 'eci' && c.status === 'FAIL')) return summarize(checks);
  const { nodes: all } = await collectStatus(ctx, true);
  const rows = opts.name ? [findOne(all, opts.name)] : all;
  if (rows.length === 0) {
    checks.push(warn('virtual-nodes', '', 'no virtual node is installed in this cluster', 'run `vnode install`'));
  }
  const eci = rows.some((r) => r.mode === 'vnode') ? await cloud.eci.describeVirtualNodes({ tags: [{ key: TAG_CLUSTER, value: clusterId }] }) : [];
  for (const r of rows) {
    checks.push(nodeHealth(r));
    await guarded('identity', r.name, () => checkIdentity(cluster, r, eci.find((v) => v.id === r.virtualNodeId)?.tags.find((t) => t.key === TAG_IDENTITY)?.value));
    await guarded('orphans', r.name, () => checkPods(cluster, cloud, r, clusterId));
  }
  await guarded('strays', '', () => checkStrays(cluster, cloud, clusterId, rows));
  const modes = new Set(rows.map((r) => r.mode));
  if (modes.size > 0) await guarded('daemonset-exclusion', '', () => checkDaemonSets(ctx, cluster, modes, opts.fix));
  const groups = new Map<string, string[]>();
  for (const r of rows) if (r.securityGroup) groups.set(r.securityGroup, [...(groups.get(r.securityGroup) ?? []), r.name]);
  for (const [sg, names] of groups) await guarded('security-group', sg, () => checkSecurityGroup(cloud, sg, names));
  if (modes.has('vnode')) {
    // the address the VNodes dial is in the kubeconfig sent to ECI, which install records; not the operator's
    const records = await listInstallRecords(cluster);
    const servers = new Map<string, string[]>();
    for (const r of rows.filter((x) => x.mode === 'vnode')) {
      const server = records.find((x) => x.name === r.name || x.nodes.includes(r.name))?.server;
      if (server) servers.set(server, [...(servers.get(server) ?? []), r.name]);
    }
    for (const [server, names] of servers) checks.push(checkServer(server, rows.filter((r) => names.includes(r.name)).every((r) => r.nodeReady === 'Ready'), names));
    if (servers.size === 0) checks.push(warn('server-address', '', 'the kubeconfig sent to ECI is not recorded (installed with an older vnode or --kubeconfig-file): its server address cannot be checked'));
  }
  const registration = await readRegistration(cluster);
  if (registration || modes.has('addon')) {
    await guarded('registration', registration?.clusterId ?? '', () => checkRegistration(cloud, registration?.clusterId));
    await guarded('addon-key', `${ADDON_SECRET.namespace}/${ADDON_SECRET.name}`, () => checkAddonKey(ctx, cluster, cloud));
    await guarded('eci-profile', `${ADDON_NS}/eci-profile`, () => checkProfile(cluster, cloud, rows.filter((r) => r.mode === 'addon').map((r) => r.nodeName ?? r.name)));
  }
  await guarded('scheduling-webhook', MWC_REF.name, () => checkScheduling(cluster));
  await guarded('selector', '', () => checkSelectors(cluster));
  await guarded('burst-limit', '', () => checkLimits(cluster));
  return summarize(checks);
}

function summarize(checks: CheckResult[]): DoctorResult {
  const summary: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0 };
  for (const c of checks) summary[c.status]++;
  return { checks, summary };
}

/** The registration's state and the add-on's, as ACK One reports them. */
async function checkRegistration(cloud: CloudPorts, clusterId: string | undefined): Promise<CheckResult[]> {
  if (!clusterId) return [fail('registration', '', `the ${ADDON} add-on's nodes exist but this cluster has no ACK One registration vnode knows of`, 'adopt it: `vnode cluster register --name <its name>`')];
  const c = await cloud.cs.describeCluster(clusterId);
  if (!c) return [fail('registration', clusterId, 'the recorded registration no longer exists in ACK One', 'register again: `vnode cluster register`')];
  const out = [c.state === 'running' ? pass('registration', clusterId, `${c.name}: running (the agent is connected)`)
    : fail('registration', clusterId, `${c.name}: ${c.state} — ${STATE_MEANING[c.state] ?? 'unexpected state'}`, '`vnode cluster status`; `vnode cluster register` re-applies the agent')];
  if (c.state === 'running') {
    const a = await addonVersionInfo(cloud, clusterId);
    out.push(!a ? warn('addon', clusterId, `${ADDON} is not installed`, 'install it: `vnode install --mode addon`')
      : a.state !== 'active' ? fail('addon', clusterId, `${ADDON} ${a.installed}: ${a.state}`, 're-run `vnode install --mode addon`')
        : a.newer.length ? warn('addon', clusterId, `${ADDON} ${a.installed}: active, older than the newest offered (${a.newest})`, `upgrade it: \`vnode update ${ADDON}\` (running ECI pods keep running)`)
          : pass('addon', clusterId, `${ADDON} ${a.installed}: active, the newest offered`));
  }
  return out;
}

/** eci-profile must name vSwitches of one VPC (its vpcId) and a security group there; each zone has its node. */
async function checkProfile(cluster: ClusterPort, cloud: CloudPorts, nodes: string[]): Promise<CheckResult[]> {
  const data = (await cluster.get<KubeObject & { data?: Record<string, string> }>(PROFILE_REF))?.data;
  const target = `${ADDON_NS}/eci-profile`;
  if (!data) return [fail('eci-profile', target, 'missing: the add-on has no ECI settings', 're-run `vnode install --mode addon`')];
  const ids = (data.vSwitchIds ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return [fail('eci-profile', target, 'vSwitchIds is empty', '`vnode config set vswitch=vsw-a,vsw-b`')];
  const vsws = (await Promise.all(ids.map((id) => cloud.vpc.describeVSwitches({ vSwitchId: id })))).flat();
  const unknown = ids.filter((id) => !vsws.some((v) => v.id === id));
  if (unknown.length) return [fail('eci-profile', target, `vSwitchIds names unknown vSwitch(es) ${unknown.join(', ')}`, '`vnode config set vswitch=...`')];
  const vpcs = [...new Set(vsws.map((v) => v.vpcId))];
  if (vpcs.length > 1 || (data.vpcId && data.vpcId !== vpcs[0])) return [fail('eci-profile', target, `vSwitchIds are in ${vpcs.join(', ')}, vpcId says ${data.vpcId ?? '(unset)'}`, '`vnode config set vswitch=...` writes a consistent pair')];
  if (data.securityGroupId) {
    const sg = (await cloud.ecs.describeSecurityGroups({ ids: [data.securityGroupId] })).find((g) => g.id === data.securityGroupId);
    if (!sg || sg.vpcId !== vpcs[0]) return [fail('eci-profile', target, `securityGroupId ${data.securityGroupId} is ${sg ? `in ${sg.vpcId}, not ${vpcs[0]}` : 'unknown'}`, '`vnode config set security-group=...`')];
  }
  const zones = [...new Set(vsws.map((v) => v.zoneId))];
  const missing = zones.filter((z) => !nodes.includes(`virtual-kubelet-${z}`));
  if (missing.length) return [warn('eci-profile', target, `no virtual node yet for zone(s) ${missing.join(', ')} of vSwitchIds`, '`kubectl -n kube-system logs deploy/ack-virtual-node-controller`')];
  return [pass('eci-profile', target, `vSwitches ${ids.join(', ')} (zones ${zones.join(', ')}) in ${vpcs[0]}${data.securityGroupId ? `, security group ${data.securityGroupId}` : ''}`)];
}
