import { requireAccount } from '../ground/account.js';
import { PROBES, requirePermissions } from '../ground/permissions.js';
import { addonVersionInfo, type AddonVersionInfo } from './versions.js';
import { parseAllDocuments } from 'yaml';
import { isRetryable } from '../../cloud/errors.js';
import type { CloudPorts, RegisteredCluster } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import { ensureObject, managed } from '../../cluster/ensure.js';
import { describeRef, refOf, type ClusterPort, type KubeObject, type ObjectRef } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError, VnodeError } from '../../errors.js';
import { pause } from '../../util/sleep.js';
import { asInput, checkNetwork } from '../ground/preflight.js';
import { ADDON, AGENT_DEPLOYMENT, AGENT_PART, CONTROLLER_DEPLOYMENT, NAMESPACE, PART_OF_LABEL, REGISTRATION } from './constants.js';

export interface RegistrationRecord {
  clusterId: string;
  name: string;
  region: string;
  privateAddress: boolean;
  /** What vnode applied from the agent manifest, to delete on deregister (the manifest is gone with the cluster). */
  agentObjects: ObjectRef[];
}

/** What each documented state of a registered cluster (DescribeClusterDetail) means for the user. */
export const STATE_MEANING: Record<string, string> = {
  initial: 'being created by ACK One',
  waiting: 'registered, waiting for its agent to connect: the agent manifest is not applied, or the agent cannot reach the ACK One endpoint',
  running: 'connected: the agent reaches ACK One',
  disconnected: 'the agent lost its connection: check that its pod runs and that the cluster reaches the ACK One endpoint (outbound internet, or the VPC with --private-address)',
  unavailable: 'ACK One cannot reach the cluster through its agent: check the agent pod and the network to the ACK One endpoint',
  updating: 'ACK One is changing it; wait until it is running again',
  upgrading: 'ACK One is upgrading it; wait until it is running again',
  scaling: 'ACK One is scaling it; wait until it is running again',
  draining: 'ACK One is draining nodes of it; wait until it is running again',
  removing: 'ACK One is removing nodes from it; wait until it is running again',
  inactive: 'inactive (ACK One stopped serving it, e.g. for an overdue payment): reactivate the account or the cluster in the ACK One console',
  failed: 'ACK One could not create it',
  deleting: 'being deregistered',
  deleted: 'deregistered',
  delete_failed: 'ACK One could not delete it: delete it in the ACK One console',
};

/**
 * What vnode does in each state: `connect` applies (or re-applies) the agent, `wait` waits for ACK One to finish
 * what it is doing, `ready` needs nothing, `refuse` stops with the meaning, `gone` counts as no registration.
 */
export type StatePlan = 'create-wait' | 'connect' | 'ready' | 'wait' | 'refuse' | 'gone' | 'delete-failed';
export function planFor(state: string): StatePlan {
  switch (state) {
    case 'initial': return 'create-wait';
    case 'waiting': case 'disconnected': case 'unavailable': return 'connect';
    case 'running': return 'ready';
    case 'updating': case 'upgrading': case 'scaling': case 'draining': case 'removing': return 'wait';
    case 'deleting': case 'deleted': return 'gone';
    case 'delete_failed': return 'delete-failed';
    default: return 'refuse';
  }
}
const BUSY = (s: string | undefined): boolean => s !== undefined && planFor(s) === 'wait';

export async function readRegistration(cluster: ClusterPort): Promise<RegistrationRecord | undefined> {
  const cm = await cluster.get<KubeObject & { data?: Record<string, string> }>(REGISTRATION);
  const d = cm?.data;
  if (!d?.clusterId) return undefined;
  let agentObjects: ObjectRef[] = [];
  try { agentObjects = JSON.parse(d.agentObjects ?? '[]') as ObjectRef[]; } catch { /* an edited record: deregister falls back to the label */ }
  return { clusterId: d.clusterId, name: d.name ?? '', region: d.region ?? '', privateAddress: d.privateAddress === 'true', agentObjects };
}

async function writeRegistration(cluster: ClusterPort, r: RegistrationRecord): Promise<void> {
  await ensureObject(cluster, managed({
    ...REGISTRATION,
    metadata: { name: REGISTRATION.name, namespace: REGISTRATION.namespace },
    data: { clusterId: r.clusterId, name: r.name, region: r.region, privateAddress: String(r.privateAddress), agentObjects: JSON.stringify(r.agentObjects) },
  } as KubeObject));
}

export async function defaultRegistrationName(cluster: ClusterPort): Promise<string> {
  return `vnode-${(await clusterUid(cluster)).slice(0, 8)}`;
}

export interface RegisterOptions {
  name: string | undefined;
  vswitches: string[];
  securityGroup: string | undefined;
  privateAddress: boolean;
  /** The agent manifest exported from the ACK One console, applied instead of calling DescribeExternalAgent. */
  agentManifest?: string | undefined;
  /** 0: no limit. */
  timeoutMs: number;
  /** Activate ACK (OpenAckService) when the account has not. */
  activateAck?: boolean;
  /** The caller checked the account already. */
  accountChecked?: boolean;
}

export interface RegisterResult {
  clusterId: string;
  name: string;
  state: string;
  /** created, adopted (found by name), existing (recorded), or would create (dry run). */
  action: 'created' | 'adopted' | 'existing' | 'would create';
  agent: { object: string; action: string }[];
  calls: string[];
  dryRun: boolean;
}

// the Container Service's rule for a cluster name
const NAME_RE = /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5-]{0,62}$/;

/** What a registration costs and needs, by how its agent connects: said before it is created. */
export function registrationCost(privateAddress: boolean): string {
  return privateAddress
    ? 'Its agent connects over the VPC: the data center must reach the VPC (Express Connect, VPN or CEN). ACK One waives its management fee for registered clusters.'
    : 'Its agent connects over the internet, to the API server SLB with an EIP (endpoint_public_access): the SLB and the EIP are billed (ACK One waives only its management fee), '
      + 'and Alibaba recommends access control on the SLB\'s 6443 listener. --private-address connects over the VPC instead.';
}

/** States of a registration that is over: never adopted or reused. */
const TERMINAL = ['deleted', 'delete_failed', 'failed'];

/** The ack-cluster-agent Deployment of a manifest, and the cluster it names (ACK_CLUSTER_ID), checked before anything is applied. */
export function checkAgentManifest(text: string, source: string): { objects: number; clusterId: string | undefined } {
  let docs: KubeObject[];
  try {
    docs = parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw d.errors[0]!;
      return d.toJS() as KubeObject | null;
    }).filter((o): o is KubeObject => Boolean(o));
  } catch (e) {
    throw usageError('InvalidAgentManifest', `--agent-manifest ${source}: not YAML (${(e as Error).message.split('\n')[0]})`, 'export it again from the ACK One console');
  }
  if (docs.some((o) => typeof o !== 'object' || !o.kind || !o.apiVersion || !o.metadata?.name)) {
    throw usageError('InvalidAgentManifest', `--agent-manifest ${source}: every document must be a Kubernetes object (apiVersion, kind, metadata.name)`);
  }
  const dep = docs.find((o) => o.kind === 'Deployment' && o.metadata.name === AGENT_DEPLOYMENT);
  if (!dep) throw usageError('InvalidAgentManifest', `--agent-manifest ${source}: no Deployment ${AGENT_DEPLOYMENT} in it: not the agent manifest of a registered cluster`, 'export it from the ACK One console (the cluster\'s Connection Information)');
  const env = ((dep.spec as { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } | undefined)?.template?.spec?.containers ?? []).flatMap((c) => c.env ?? []);
  return { objects: docs.length, clusterId: env.find((e) => e.name === 'ACK_CLUSTER_ID')?.value };
}

/** DescribeExternalAgent answered as a removed API (it is documented as deprecated): the gateway's documented codes for an unknown API. */
export function isRetired(e: unknown): boolean {
  const d = (e as { details?: { code?: string } }).details;
  const code = d?.code ?? (e as { code?: string }).code ?? '';
  return code === 'InvalidAction.NotFound' || code === 'InvalidApi.NotFound';
}

export function checkRegistrationName(name: string): void {
  if (!NAME_RE.test(name)) throw usageError('InvalidName', `invalid registration name "${name}": 1-63 letters, digits, Chinese characters and hyphens, not starting with a hyphen`);
}

/**
 * Creates, with no duplicate, even when an answer is lost: CreateCluster has no ClientToken, so after a failure the
 * name is looked up before another attempt.
 */
async function createOnce(ctx: Context, cloud: CloudPorts, input: Parameters<CloudPorts['cs']['createCluster']>[0]): Promise<{ id: string; adopted: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { id: (await cloud.cs.createCluster(input)).clusterId, adopted: false };
    } catch (e) {
      const cause = (e as { cause?: unknown }).cause ?? e;
      if (attempt >= 6 || !(isRetryable(cause) || isRetryable(e)) || ctx.signal.aborted) throw e;
      ctx.out.debug(`cs: CreateCluster attempt ${attempt} failed (${(e as VnodeError).code ?? (e as Error).message}); looking the name up before trying again`);
      const found = await cloud.cs.findClusters(input.name);
      if (found.length > 0) return { id: found[0]!.id, adopted: true };
      await pause(Math.min(4000, 250 * 2 ** attempt), ctx.signal);
    }
  }
}

/**
 * Never two registrations of one cluster (each would bill its endpoint): had another run created one of this name
 * at the same time (past the lock: another machine, another tool), the oldest stays, this run deletes its own and
 * adopts that one. Both runs pick the same one.
 */
async function oneRegistration(ctx: Context, cloud: CloudPorts, name: string, made: { id: string; adopted: boolean }): Promise<{ id: string; adopted: boolean }> {
  const live = (await cloud.cs.findClusters(name)).filter((c) => c.state !== 'deleting' && !TERMINAL.includes(c.state));
  if (live.length <= 1) return made;
  const keep = [...live].sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id))[0]!;
  if (keep.id === made.id) return made;
  ctx.out.warn(`another registration named ${name} (${keep.id}) was created at the same time: keeping it, deleting this run's ${made.id}`);
  await ctx.status.step(`Deleting the duplicate registration ${made.id} (DeleteCluster)`, () => cloud.cs.deleteCluster(made.id));
  return { id: keep.id, adopted: true };
}

/** Applies the agent manifest as it came; each object also carries vnode's labels, so deregister finds them. */
export async function applyAgent(cluster: ClusterPort, manifest: string): Promise<{ refs: ObjectRef[]; actions: { object: string; action: string }[] }> {
  const docs = parseAllDocuments(manifest).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => Boolean(o?.kind));
  if (docs.length === 0) throw operationError('EmptyAgentManifest', 'DescribeExternalAgent returned no objects to apply');
  const refs: ObjectRef[] = [];
  const actions: { object: string; action: string }[] = [];
  for (const raw of docs) {
    const obj = toData(managed(raw, { [PART_OF_LABEL]: AGENT_PART }));
    const { action } = await ensureObject(cluster, obj);
    refs.push(refOf(obj));
    actions.push({ object: describeRef(refOf(obj)), action });
  }
  return { refs, actions };
}

/** stringData is write-only: as data, a re-run compares equal and changes nothing. */
function toData(o: KubeObject): KubeObject {
  const s = (o as { stringData?: Record<string, string> }).stringData;
  if (o.kind !== 'Secret' || !s) return o;
  const rest = { ...o } as Record<string, unknown>;
  delete rest.stringData;
  const data = { ...((o as { data?: Record<string, string> }).data ?? {}) };
  for (const [k, v] of Object.entries(s)) data[k] = Buffer.from(v).toString('base64');
  return { ...(rest as unknown as KubeObject), data } as KubeObject;
}

async function waitState(ctx: Context, cloud: CloudPorts, id: string, done: (c: RegisteredCluster | undefined) => boolean, deadline: number): Promise<RegisteredCluster | undefined> {
  let c = await cloud.cs.describeCluster(id);
  while (!done(c) && Date.now() < deadline && !ctx.signal.aborted) {
    await pause(Math.min(1000, Math.max(0, deadline - Date.now())), ctx.signal);
    c = await cloud.cs.describeCluster(id);
  }
  return c;
}

/**
 * `vnode cluster register` (and install --mode addon when not registered): find this cluster's registration
 * (recorded in the cluster, else by exact name), or create one; apply the agent manifest; wait until it is running.
 */
export async function register(ctx: Context, opts: RegisterOptions): Promise<RegisterResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const cloud = await ctx.cloud().catch(asInput);
  const record = await readRegistration(cluster);
  if (record && record.region && record.region !== cloud.regionId) {
    throw usageError('RegionMismatch', `this cluster is registered in ${record.region} (${record.clusterId}), not ${cloud.regionId}`, `pass --region ${record.region}`);
  }
  const name = opts.name ?? record?.name ?? await defaultRegistrationName(cluster);
  checkRegistrationName(name);
  if (record && opts.name && opts.name !== record.name) {
    throw usageError('AlreadyRegistered', `this cluster is registered as ${record.name} (${record.clusterId}), not ${opts.name}`, 'drop --name, or deregister first (vnode cluster deregister)');
  }
  const calls: string[] = [];
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  if (!opts.accountChecked) await status.step('Checking the account (ACK, its service roles)', () => requireAccount(ctx, cloud, ['ack', 'ack-roles'], { activateAck: opts.activateAck === true }));

  let current = record ? await status.step(`Looking up registered cluster ${record.clusterId}`, () => cloud.cs.describeCluster(record.clusterId).catch(asInput), (c) => c?.state ?? 'gone') : undefined;
  if (current?.state === 'delete_failed') throw deleteFailed(current);
  if (current && (current.state === 'deleting' || TERMINAL.includes(current.state))) current = undefined;
  let action: RegisterResult['action'] = 'existing';
  if (!current) {
    const found = await status.step(`Looking for a registered cluster named ${name}`, () => cloud.cs.findClusters(name).catch(asInput), (l) => (l.length ? l.map((c) => `${c.id} ${c.state}`).join(', ') : 'none'));
    const stuck = found.find((c) => c.state === 'delete_failed');
    if (stuck) throw deleteFailed(stuck);
    const live = found.filter((c) => c.state !== 'deleting' && !TERMINAL.includes(c.state));
    if (live.length > 1) {
      throw usageError('AmbiguousRegistration', `${live.length} registered clusters are named ${name}: ${live.map((c) => c.id).join(', ')}`, 'delete the extra ones in the ACK One console, or pass another --name');
    }
    if (live.length === 1) {
      current = live[0];
      action = 'adopted';
    } else {
      if (opts.agentManifest !== undefined) {
        throw usageError('AgentManifestWithoutRegistration', `--agent-manifest is the manifest of an existing registration, but this cluster has none named ${name}`,
          'register first (without --agent-manifest), or give --name of the registration the manifest was exported from');
      }
      if (opts.vswitches.length === 0) throw usageError('VSwitchRequired', 'registering this cluster needs its VPC: pass --vswitch (the vSwitches ECI pods use, one VPC)');
      const net = await status.step('Checking the vSwitches and security group', () => checkNetwork(cloud, { vswitches: opts.vswitches, securityGroup: opts.securityGroup }).catch(asInput), (n) => `VPC ${n.vpcId}`);
      const input = {
        name, vpcId: net.vpcId, vSwitchIds: opts.vswitches, ...(opts.securityGroup ? { securityGroupId: opts.securityGroup } : {}), tags: [{ key: 'created-by', value: 'vnode' }],
        // an agent on the internet needs the public endpoint; one on the VPC route does not
        endpointPublicAccess: !opts.privateAddress,
      };
      calls.push(`CreateCluster ${JSON.stringify({
        name, region_id: cloud.regionId, cluster_type: 'ExternalKubernetes', vpcid: net.vpcId, vswitch_ids: opts.vswitches,
        ...(opts.securityGroup ? { security_group_id: opts.securityGroup } : {}), endpoint_public_access: input.endpointPublicAccess, tags: input.tags,
      })}`);
      if (flags.dryRun) {
        calls.push(`DescribeExternalAgent PrivateIpAddress=${opts.privateAddress}, then apply the manifest`, 'DescribeClusterDetail until running');
        return { clusterId: '', name, state: '', action: 'would create', agent: [], calls, dryRun: true };
      }
      // what follows CreateCluster is asked first (install --mode addon asks it with its own)
      if (!opts.accountChecked) {
        await requirePermissions(ctx, cloud, [PROBES.createCluster, PROBES.describeCluster, ...(opts.agentManifest ? [] : [PROBES.describeExternalAgent])]);
      }
      let made = await status.step(`Registering this cluster with ACK One as ${name}`, () => createOnce(ctx, cloud, input), (m) => m.id);
      made = await oneRegistration(ctx, cloud, name, made);
      current = {
        id: made.id, name, type: 'ExternalKubernetes', state: 'initial', regionId: cloud.regionId, vpcId: net.vpcId, vSwitchIds: opts.vswitches,
        securityGroupId: opts.securityGroup ?? '', resourceGroupId: '', created: '', publicEndpoint: input.endpointPublicAccess,
      };
      action = made.adopted ? 'adopted' : 'created';
    }
  }
  const id = current!.id;
  if (action !== 'created' && (opts.vswitches.length > 0 || opts.securityGroup)) await checkGivenNetwork(ctx, cloud, current!, opts);
  // an agent on the internet cannot reach a registration without a public endpoint (DescribeClusterDetail's master_url says)
  if (!opts.privateAddress && current!.publicEndpoint === false) {
    throw usageError('NoPublicEndpoint', `registered cluster ${id} has no public API server endpoint (created without endpoint_public_access): its agent can only connect over the VPC`,
      'pass --private-address (the data center must reach the VPC: Express Connect, VPN or CEN)');
  }
  const manifestOf = opts.agentManifest === undefined ? undefined : checkAgentManifest(opts.agentManifest, 'given');
  if (manifestOf && manifestOf.clusterId !== id) {
    throw usageError('AgentManifestOfOtherCluster', `--agent-manifest is the agent of ${manifestOf.clusterId ?? 'no named cluster'}, not of ${id} (${name})`, `export the manifest of ${id} from the ACK One console`);
  }
  if (!flags.dryRun && (!record || record.clusterId !== id)) {
    // recorded at once: an interrupted run resumes with this registration
    await writeRegistration(cluster, { clusterId: id, name, region: cloud.regionId, privateAddress: opts.privateAddress, agentObjects: record?.clusterId === id ? record.agentObjects : [] });
  }

  let state = current!.state;
  if (state === 'initial' || BUSY(state)) {
    const c = await status.step(`Waiting for ${id} to be ${state === 'initial' ? 'created' : `done ${state}`}`, () => waitState(ctx, cloud, id, (x) => x?.state !== 'initial' && !BUSY(x?.state), deadline), (x) => x?.state ?? 'gone');
    state = c?.state ?? 'gone';
    if (BUSY(state)) throw operationError('RegistrationBusy', `registered cluster ${id} is still ${state}: ${STATE_MEANING[state]}`, { hint: 'run the same command again later' });
  }
  if (state === 'delete_failed') throw deleteFailed(current!);
  if (state === 'inactive') throw operationError('RegistrationInactive', `registered cluster ${id} is inactive: ${STATE_MEANING.inactive}`, { hint: 'run the same command again once it is reactivated' });
  if (TERMINAL.includes(state) || state === 'gone' || planFor(state) === 'refuse' || planFor(state) === 'gone') {
    throw operationError('RegistrationFailed', `registered cluster ${id} is ${state}`, { hint: 'delete it in the ACK One console (or `vnode cluster deregister`) and register again' });
  }
  let agent: { object: string; action: string }[] = [];
  if (state !== 'running') {
    calls.push(opts.agentManifest !== undefined ? `apply the given agent manifest (${manifestOf!.objects} objects)` : `DescribeExternalAgent PrivateIpAddress=${opts.privateAddress}, then apply the manifest`);
    if (flags.dryRun) return { clusterId: id, name, state, action, agent, calls, dryRun: true };
    const manifest = opts.agentManifest ?? await status.step('Fetching the agent manifest (DescribeExternalAgent)', () => cloud.cs.describeExternalAgent(id, opts.privateAddress).catch((e: unknown) => {
      if (!isRetired(e)) throw e;
      throw operationError('AgentApiRetired', `DescribeExternalAgent is no longer offered by the Container Service (${(e as { details?: { code?: string } }).details?.code ?? (e as Error).message}): vnode cannot fetch the agent manifest of ${id}`, {
        hint: `export it from the ACK One console (Clusters > ${name} > Connection Information, the ${opts.privateAddress ? 'internal' : 'public'} network tab) and run again with --agent-manifest FILE`,
      });
    }));
    const applied = await status.step('Applying the agent manifest', () => applyAgent(cluster, manifest), (a) => `${a.actions.length} objects`);
    agent = applied.actions;
    const prior = (await readRegistration(cluster))?.agentObjects ?? [];
    const refs = [...prior, ...applied.refs.filter((r) => !prior.some((p) => describeRef(p) === describeRef(r)))];
    await writeRegistration(cluster, { clusterId: id, name, region: cloud.regionId, privateAddress: opts.privateAddress, agentObjects: refs });
    const c = await status.step(`Waiting for the agent to connect ${id}`, () => waitState(ctx, cloud, id, (x) => x?.state === 'running', deadline), (x) => x?.state ?? 'gone');
    state = c?.state ?? 'gone';
    if (state !== 'running') {
      if (ctx.signal.aborted) throw new VnodeError('interrupted', 'Interrupted', `registration of ${id} interrupted while its agent connects`, { hint: 'run the same command again to finish' });
      throw operationError('AgentNotConnected', `registered cluster ${id} is ${state}, not running, after ${Math.round(opts.timeoutMs / 1000)}s: ${STATE_MEANING[state] ?? 'unexpected state'}`, {
        hint: `check the agent: kubectl -n ${NAMESPACE} get deploy ${AGENT_DEPLOYMENT}; then run the same command again`,
      });
    }
  }
  return { clusterId: id, name, state, action, agent, calls, dryRun: flags.dryRun };
}

/** --vswitch/--security-group given for a registration that exists: they must exist and be of its VPC; a difference is said. */
async function checkGivenNetwork(ctx: Context, cloud: CloudPorts, current: RegisteredCluster, opts: RegisterOptions): Promise<void> {
  let vpcId: string;
  if (opts.vswitches.length > 0 && opts.securityGroup) {
    vpcId = (await checkNetwork(cloud, { vswitches: opts.vswitches, securityGroup: opts.securityGroup }).catch(asInput)).vpcId;
  } else if (opts.vswitches.length > 0) {
    const found = (await Promise.all(opts.vswitches.map((v) => cloud.vpc.describeVSwitches({ vSwitchId: v }).catch(asInput)))).flat();
    for (const v of opts.vswitches) if (!found.some((x) => x.id === v)) throw usageError('UnknownVSwitch', `unknown vSwitch ${v} in region ${cloud.regionId}`);
    const vpcs = [...new Set(found.map((x) => x.vpcId))];
    if (vpcs.length > 1) throw usageError('VSwitchesInSeveralVpcs', `the vSwitches belong to different VPCs (${found.map((x) => `${x.id} in ${x.vpcId}`).join(', ')})`);
    vpcId = vpcs[0]!;
  } else {
    const sg = (await cloud.ecs.describeSecurityGroups({ ids: [opts.securityGroup!] }).catch(asInput)).find((g) => g.id === opts.securityGroup);
    if (!sg) throw usageError('UnknownSecurityGroup', `unknown security group ${opts.securityGroup} in region ${cloud.regionId}`);
    vpcId = sg.vpcId;
  }
  const given = [opts.vswitches.length ? `--vswitch ${opts.vswitches.join(',')}` : '', opts.securityGroup ? `--security-group ${opts.securityGroup}` : ''].filter(Boolean).join(' ');
  if (current.vpcId && vpcId !== current.vpcId) {
    throw usageError('OtherVpc', `${given} ${given.includes(' --') ? 'are' : 'is'} in ${vpcId}, but registered cluster ${current.id} is attached to ${current.vpcId}`,
      `give vSwitches and a security group of ${current.vpcId}, or drop the flags`);
  }
  const diffs = [
    opts.vswitches.length && current.vSwitchIds.length && [...opts.vswitches].sort().join(',') !== [...current.vSwitchIds].sort().join(',') ? `vSwitches ${current.vSwitchIds.join(',')}` : '',
    opts.securityGroup && current.securityGroupId && opts.securityGroup !== current.securityGroupId ? `security group ${current.securityGroupId}` : '',
  ].filter(Boolean);
  if (diffs.length) ctx.out.warn(`registered cluster ${current.id} already exists with ${diffs.join(' and ')}: a registration keeps its network, so ${given} is checked but not applied to it`);
}

function deleteFailed(c: RegisteredCluster): VnodeError {
  return operationError('RegistrationDeleteFailed', `registered cluster ${c.id} (${c.name}) is delete_failed: ACK One could not delete it, and vnode neither reuses it nor registers this cluster again under its name`,
    { hint: `delete it in the ACK One console (Clusters > ${c.name} > More > Delete), then run again` });
}

export interface RegistrationStatus {
  registered: boolean;
  clusterId: string | null;
  name: string | null;
  state: string | null;
  meaning: string | null;
  /** How an agent can reach the registration (from master_url); null when not told. */
  access: 'internet and VPC' | 'VPC only' | null;
  agent: { deployment: string; present: boolean; ready: string };
  /** The installed add-on's version and the newer ones offered (null: not installed, or not running). */
  addon: AddonVersionInfo | null;
}

export async function registrationStatus(ctx: Context): Promise<RegistrationStatus> {
  const cluster = await ctx.cluster();
  const record = await readRegistration(cluster);
  const dep = await cluster.get<KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: AGENT_DEPLOYMENT });
  const agent = { deployment: `${NAMESPACE}/${AGENT_DEPLOYMENT}`, present: Boolean(dep), ready: dep ? `${dep.status?.availableReplicas ?? 0}/${dep.spec?.replicas ?? 1}` : '-' };
  if (!record) return { registered: false, clusterId: null, name: null, state: null, meaning: null, access: null, agent, addon: null };
  const cloud = await ctx.cloud().catch(asInput);
  const c = await cloud.cs.describeCluster(record.clusterId).catch(asInput);
  const state = c?.state ?? 'gone';
  return {
    registered: Boolean(c), clusterId: record.clusterId, name: record.name, state,
    access: c?.publicEndpoint === true ? 'internet and VPC' : c?.publicEndpoint === false ? 'VPC only' : null,
    meaning: c ? STATE_MEANING[state] ?? null : 'the recorded registration no longer exists in ACK One: `vnode cluster register` registers again', agent,
    addon: c && planFor(state) !== 'gone' ? await addonVersionInfo(cloud, record.clusterId).catch(asInput) : null,
  };
}

export interface DeregisterResult {
  clusterId: string | null;
  clusterDeleted: boolean;
  agentDeleted: string[];
  dryRun: boolean;
  would?: string[];
}

/** DeleteCluster, then the agent's objects and the record. The add-on must be gone first (its nodes and instances). */
export async function deregister(ctx: Context, opts: { addonRemovedFirst?: boolean } = {}): Promise<DeregisterResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const record = await readRegistration(cluster);
  const labelled = await agentObjectsByLabel(cluster);
  const refs = [...(record?.agentObjects ?? [])];
  for (const r of labelled) if (!refs.some((x) => describeRef(x) === describeRef(r))) refs.push(r);
  if (!record && refs.length === 0) return { clusterId: null, clusterDeleted: false, agentDeleted: [], dryRun: flags.dryRun };
  const cloud = await ctx.cloud().catch(asInput);
  let current = record ? await cloud.cs.describeCluster(record.clusterId).catch(asInput) : undefined;
  if (current && planFor(current.state) === 'gone') current = current.state === 'deleting' ? current : undefined;
  if (current && current.state !== 'deleting' && !opts.addonRemovedFirst) {
    // in any state the registration still has: an add-on of a disconnected cluster is still billed when it runs again
    const addon = await cloud.cs.getAddonInstance(current.id, ADDON).catch(() => undefined);
    if (addon || await cluster.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: CONTROLLER_DEPLOYMENT })) {
      throw usageError('AddonInstalled', `the ${ADDON} add-on is still installed in ${current.id}: deregistering would leave its nodes and ECI instances with nobody to remove them`,
        `run \`vnode uninstall ${ADDON} --drain --deregister\``);
    }
  }
  if (flags.dryRun) {
    return {
      clusterId: record?.clusterId ?? null, clusterDeleted: false, agentDeleted: [], dryRun: true,
      would: [...(current ? [`DeleteCluster ${current.id}`] : []), ...refs.map((r) => `delete ${describeRef(r)}`), ...(record ? [`delete ${describeRef(REGISTRATION)}`] : [])],
    };
  }
  let clusterDeleted = false;
  if (current && BUSY(current.state)) {
    // ACK One finishes what it does before it deletes
    const c = await status.step(`Waiting for ${current.id} to be done ${current.state}`, () => waitState(ctx, cloud, current!.id, (x) => !BUSY(x?.state), Date.now() + 120_000), (x) => x?.state ?? 'gone');
    if (c && BUSY(c.state)) throw operationError('RegistrationBusy', `registered cluster ${c.id} is still ${c.state}: ${STATE_MEANING[c.state]}`, { hint: 'run the same command again later' });
  }
  if (current && current.state !== 'deleting') clusterDeleted = await status.step(`Deregistering ${current.id} (DeleteCluster)`, () => cloud.cs.deleteCluster(current!.id));
  if (current) {
    await status.step(`Waiting for ${current.id} to be deleted`, () => waitState(ctx, cloud, current.id, (c) => !c || c.state === 'deleted', Date.now() + 120_000), (c) => (c ? c.state : 'deleted'));
  }
  const agentDeleted: string[] = [];
  for (const r of refs) if (await cluster.delete(r)) agentDeleted.push(describeRef(r));
  await cluster.delete(REGISTRATION);
  return { clusterId: record?.clusterId ?? null, clusterDeleted, agentDeleted, dryRun: false };
}

/** The agent's objects by vnode's label, for a record that was lost or edited. */
async function agentObjectsByLabel(cluster: ClusterPort): Promise<ObjectRef[]> {
  const selector = `${PART_OF_LABEL}=${AGENT_PART}`;
  const kinds: [string, string, boolean][] = [
    ['apps/v1', 'Deployment', true], ['v1', 'Secret', true], ['v1', 'ConfigMap', true], ['v1', 'ServiceAccount', true],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', true], ['rbac.authorization.k8s.io/v1', 'Role', true],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false], ['rbac.authorization.k8s.io/v1', 'ClusterRole', false],
  ];
  const out: ObjectRef[] = [];
  for (const [apiVersion, kind, namespaced] of kinds) {
    for (const o of await cluster.list<KubeObject>(apiVersion, kind, { labelSelector: selector, ...(namespaced ? { namespace: NAMESPACE } : {}) })) out.push(refOf(o));
  }
  return out;
}
