import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { compareVersions } from '../../util/versions.js';
import { ApiError } from './errors.js';
import type { CallContext, Route, Service } from './service.js';
import { accountOf, ACK_SERVICE_ROLES, iso, randomId, type AddonInstanceRec, type CloudState, type RegisteredClusterRec, type TaskRec } from './state.js';

/**
 * The Container Service (ACK) as far as registered clusters and their add-ons go: ROA over V3 signatures, answers
 * in the SDK's snake_case models, errors as {code, message, requestId}.
 */

/** The sandbox's side of what Alibaba's add-on manager and its cluster connection do (set when there is a cluster). */
export interface CsHooks {
  /** Does the cluster run this registration's agent (its Deployment, with the token its manifest carries)? */
  /** publicReachable: the registration has a public endpoint, so an agent connecting over the internet reaches it. */
  agentConnected?(clusterId: string, token: string, publicReachable: boolean): boolean;
  /** Deploys the add-on into the registered cluster (what the add-on manager applies); settles the task. */
  installAddon?(cluster: RegisteredClusterRec, addon: AddonInstanceRec): Promise<void>;
  /** Removes what installAddon applied; settles the task. */
  uninstallAddon?(cluster: RegisteredClusterRec, addon: AddonInstanceRec): Promise<void>;
  /** Rolls the add-on's objects to another version, keeping what runs (what the add-on manager does); settles the task. */
  /** overwrite: the manager rewrites the add-on's objects from its manifest (its env, eci-profile), as `policy: overwrite` may. */
  upgradeAddon?(cluster: RegisteredClusterRec, addon: AddonInstanceRec, version: string, overwrite: boolean): Promise<void>;
}

export const CS_VERSION = '2015-12-15';
/** A new registration leaves `initial` after this long (ASSUMPTION: the documents give no figure). */
export const INITIAL_MS = 1000;
/** A deleted registration is listed as `deleting` this long (ASSUMPTION). */
export const DELETING_MS = 1000;

/**
 * The add-ons an ExternalKubernetes cluster may install, with every version offered, oldest first. The versions are
 * an ASSUMPTION (the catalog is served by ListAddons and DescribeAddon at runtime; vnode reads it from there, never
 * from here); the state's `addonVersions` pins what is offered, so a test can make a newer one appear.
 */
/** The catalog's supported_actions take the documented values (ListAddonsResponseBody): Install, Upgrade, Modify, Uninstall. */
export const ADDON_CATALOG = [
  { name: 'ack-virtual-node', versions: ['v2.13.1', 'v2.14.0'], category: 'others', managed: false, install_by_default: false, supported_actions: ['Install', 'Upgrade', 'Modify', 'Uninstall'] },
  { name: 'logtail-ds', versions: ['v1.8.5.0-aliyun'], category: 'logging', managed: false, install_by_default: false, supported_actions: ['Install', 'Upgrade', 'Uninstall'] },
];

/** 404 EntityNotExist.Role for the first of these roles the account lacks (public reports' code, status and message). */
function roleMissing(state: CloudState, roles: string[]): ApiError | undefined {
  const lacking = roles.find((r) => !accountOf(state).roles.some((x) => x.name === r && x.serviceName === undefined));
  return lacking ? new ApiError(404, 'EntityNotExist.Role', `The role not exists: acs:ram::${state.data.accountId}:role/${lacking.toLowerCase()}.`) : undefined;
}

const ROUTES: Record<string, Route> = {
  DescribeClustersForRegion: { method: 'GET', path: '/regions/{region_id}/clusters' },
  CreateCluster: { method: 'POST', path: '/clusters' },
  DescribeClusterDetail: { method: 'GET', path: '/clusters/{ClusterId}' },
  DeleteCluster: { method: 'DELETE', path: '/clusters/{ClusterId}' },
  DescribeExternalAgent: { method: 'GET', path: '/k8s/{ClusterId}/external/agent/deployment' },
  ListAddons: { method: 'GET', path: '/addons' },
  DescribeAddon: { method: 'GET', path: '/addons/{addon_name}' },
  InstallClusterAddons: { method: 'POST', path: '/clusters/{ClusterId}/components/install' },
  UnInstallClusterAddons: { method: 'POST', path: '/clusters/{ClusterId}/components/uninstall' },
  GetClusterAddonInstance: { method: 'GET', path: '/clusters/{cluster_id}/addon_instances/{instance_name}' },
  ListClusterAddonInstances: { method: 'GET', path: '/clusters/{cluster_id}/addon_instances' },
  DescribeTaskInfo: { method: 'GET', path: '/tasks/{task_id}' },
  UpgradeClusterAddons: { method: 'POST', path: '/clusters/{ClusterId}/components/upgrade' },
  CheckServiceRole: { method: 'POST', path: '/ram/check-service-role' },
  OpenAckService: { method: 'POST', path: '/service/open' },
};

// the documented rule of a cluster name: letters, digits, Chinese characters and hyphens, not starting with a hyphen
const NAME_RE = /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5-]{0,62}$/;

function clusters(ctx: CallContext): RegisteredClusterRec[] {
  return (ctx.state.data.clusters ??= []);
}
function addons(ctx: CallContext): AddonInstanceRec[] {
  return (ctx.state.data.addons ??= []);
}
function tasks(ctx: CallContext): TaskRec[] {
  return (ctx.state.data.tasks ??= []);
}

function invalidParameter(message: string): ApiError {
  // ASSUMPTION: the code of a malformed CS request is not documented; third-party write-ups show InvalidParameter
  return new ApiError(400, 'InvalidParameter', message);
}

function clusterNotFound(id: string): ApiError {
  return new ApiError(404, 'ErrorClusterNotFound', `cluster ${id} not found`);
}

function addonNotFound(name: string): ApiError {
  return new ApiError(404, 'AddonNotFound', `addon ${name} not found`);
}

/** master_url as DescribeClusterDetail has it: a JSON string; the public endpoint only with endpoint_public_access. */
function masterUrl(c: RegisteredClusterRec): string {
  // ASSUMPTION: the addresses (an SLB in the VPC, an EIP); the keys are the SDK model's
  const n = parseInt(c.id.slice(-4), 16);
  return JSON.stringify({
    ...(c.endpointPublicAccess ? { api_server_endpoint: `https://47.96.${(n >> 8) & 255}.${n & 255}:6443` } : {}),
    intranet_api_server_endpoint: `https://192.168.${(n >> 8) & 255}.${n & 255}:6443`,
  });
}

function view(c: RegisteredClusterRec): Record<string, unknown> {
  return {
    cluster_id: c.id, name: c.name, cluster_type: c.clusterType, region_id: c.regionId, state: c.state, vpc_id: c.vpcId,
    vswitch_ids: c.vswitchIds, security_group_id: c.securityGroupId, resource_group_id: c.resourceGroupId, created: c.created, updated: c.updated,
    current_version: '', deletion_protection: false, tags: c.tags, size: 0, master_url: masterUrl(c),
  };
}

function taskView(t: TaskRec): Record<string, unknown> {
  return {
    task_id: t.id, task_type: t.type, state: t.state, cluster_id: t.clusterId, created: t.created, updated: t.updated,
    target: { id: t.clusterId, type: 'cluster' }, ...(t.error ? { error: t.error } : {}),
  };
}

/** The agent manifest DescribeExternalAgent returns (the emulator's own: a real one differs in its details). */
export function agentManifest(c: RegisteredClusterRec, opts: { privateAddress: boolean; mode: 'admin' | 'restricted' }): string {
  const ns = 'kube-system';
  const labels = { app: 'ack-cluster-agent', 'ack/creator': 'ack' };
  const stub = `${c.id}.${opts.privateAddress ? 'vpc-' : ''}stub.${c.regionId}.cs.aliyuncs.com:443`;
  const docs: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ack', namespace: ns, labels } },
    opts.mode === 'admin'
      ? { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ack-admin-binding', labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'ack', namespace: ns }] }
      : { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'ack-restricted', namespace: ns, labels },
        rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] }] },
    ...(opts.mode === 'restricted' ? [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ack-restricted', namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ack-restricted' }, subjects: [{ kind: 'ServiceAccount', name: 'ack', namespace: ns }] }] : []),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ack-agent-config', namespace: ns, labels }, data: { addNodeScriptPath: '', enableNodepool: 'false', isInit: 'true' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ack-cluster-agent-credential', namespace: ns, labels }, type: 'Opaque', stringData: { token: c.agentToken } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ack-cluster-agent', namespace: ns, labels },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'ack-cluster-agent' } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'ack',
            containers: [{
              name: 'agent',
              // ASSUMPTION: the image path and tag of the real agent are in its manifest only
              image: `registry${opts.privateAddress ? '-vpc' : ''}.${c.regionId}.aliyuncs.com/acs/ack-cluster-agent:v1.13.1.113-g5fb9d47-aliyun`,
              env: [
                { name: 'ACK_CLUSTER_ID', value: c.id },
                { name: 'ACK_STUB_ENDPOINT', value: stub },
                { name: 'ACK_AGENT_MODE', value: opts.mode },
                { name: 'ACK_AGENT_TOKEN', valueFrom: { secretKeyRef: { name: 'ack-cluster-agent-credential', key: 'token' } } },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
            }],
          },
        },
      },
    },
  ];
  return docs.map((d) => stringify(d).trimEnd()).join('\n---\n') + '\n';
}

export function csService(hooks: CsHooks = {}): Service {
  /** Moves a registration along with time and its agent: initial -> waiting -> running <-> disconnected. */
  const settle = (ctx: CallContext): void => {
    const t = ctx.now.getTime();
    const list = clusters(ctx);
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      const was = c.state;
      if (c.state === 'deleting') {
        if (t - (c.deletingAt ?? t) >= DELETING_MS) {
          list.splice(i, 1);
          ctx.state.saveSoon();
          ctx.state.data.addons = addons(ctx).filter((a) => a.clusterId !== c.id);
        }
        continue;
      }
      // states ACK One moves a registration into by its own work (or a test sets) stay until changed
      if (!['initial', 'waiting', 'running', 'disconnected', 'unavailable'].includes(c.state)) continue;
      if (c.state === 'initial' && t - c.createdAt >= INITIAL_MS) c.state = 'waiting';
      // an agent connects through an endpoint the registration has: over the internet only with public access
      const connected = hooks.agentConnected?.(c.id, c.agentToken, Boolean(c.endpointPublicAccess)) ?? false;
      if ((c.state === 'waiting' || c.state === 'disconnected' || c.state === 'unavailable') && connected) c.state = 'running';
      else if (c.state === 'running' && !connected) c.state = 'disconnected';
      if (c.state !== was) { c.updated = iso(ctx.now); ctx.state.saveSoon(); }
    }
  };
  const cluster = (ctx: CallContext, id: string | undefined): RegisteredClusterRec => {
    settle(ctx);
    const c = clusters(ctx).find((x) => x.id === id);
    if (!c) throw clusterNotFound(id ?? '');
    return c;
  };
  const newTask = (ctx: CallContext, type: string, clusterId: string): TaskRec => {
    const t: TaskRec = { id: `T-${randomId('', 18)}`, type, clusterId, state: 'running', created: iso(ctx.now), updated: iso(ctx.now) };
    tasks(ctx).push(t);
    // the emulator's state is saved after each request; the task settles later and saves itself
    return t;
  };
  const finish = (ctx: CallContext, t: TaskRec, work: Promise<void> | undefined, onSuccess: () => void, onFail: () => void): void => {
    const done = (e?: unknown): void => {
      t.state = e === undefined ? 'success' : 'failed';
      t.updated = iso(new Date());
      if (e !== undefined) {
        t.error = { code: 'AddonTaskFailed', message: e instanceof Error ? e.message : String(e) };
        onFail();
      } else onSuccess();
      ctx.state.save();
    };
    // without a cluster to act on, the task completes on its own a little later
    (work ?? new Promise<void>((r) => setTimeout(r, 200))).then(() => done(), (e: unknown) => done(e));
  };
  const addonBody = (ctx: CallContext, what: string): Record<string, unknown>[] => {
    if (!Array.isArray(ctx.body) || ctx.body.length === 0 || ctx.body.some((x) => !x || typeof x !== 'object' || typeof (x as { name?: unknown }).name !== 'string')) {
      throw invalidParameter(`the request body must be a JSON array of add-ons to ${what}, each with a name`);
    }
    return ctx.body as Record<string, unknown>[];
  };
  /** The versions of an add-on offered now, oldest first (the state may pin them). */
  const offered = (ctx: CallContext, name: string): string[] => {
    const known = ADDON_CATALOG.find((a) => a.name === name);
    const pinned = ctx.state.data.addonVersions?.[name];
    return [...(pinned ?? known?.versions ?? [])].sort(compareVersions);
  };
  const newest = (ctx: CallContext, name: string): string => offered(ctx, name).at(-1) ?? '';
  const catalogView = (ctx: CallContext, a: (typeof ADDON_CATALOG)[number]): Record<string, unknown> => {
    return {
      name: a.name, category: a.category, managed: a.managed, install_by_default: a.install_by_default, supported_actions: a.supported_actions,
      version: newest(ctx, a.name), config_schema: '{}', architecture: ['amd64', 'arm64'],
    };
  };
  const q = (ctx: CallContext, k: string): string | undefined => {
    const v = ctx.params.get(k);
    return v === undefined || v === '' ? undefined : v;
  };

  return {
    code: 'cs',
    host: 'cs.aliyuncs.com',
    version: CS_VERSION,
    // ASSUMPTION: a RAM denial's code from CS; write-ups show ErrorCheckAcl with 403
    deniedCode: 'ErrorCheckAcl',
    routes: ROUTES,
    // documented on UpgradeClusterAddons' page (a mapping table says cs:UpgradeClusterAddons; policies name both)
    authActions: { UpgradeClusterAddons: 'cs:UpgradeK8sComponents' },
    activation: {
      service: 'ack', openActions: ['OpenAckService', 'CheckServiceRole'],
      // public reports: CreateCluster answers ErrorNotEnabled before ACK is activated. ASSUMPTION: the status (400), and
      // that other calls answer the gateway's ServiceNotEnabled (ECI's documented code; ACK's is not public)
      refuse: (action, state) => action === 'CreateCluster' || accountOf(state).ackNotActivatedCode === 'ErrorNotEnabled'
        ? new ApiError(400, 'ErrorNotEnabled', 'please enable cskpro container service before creating cluster')
        : new ApiError(400, 'ServiceNotEnabled', 'Container Service for Kubernetes is not activated for this account: activate it first (OpenAckService or the console).'),
    },
    // public reports (terraform-provider-alicloud issue 149): before ACK's default role exists every call, reads
    // included, answers 404 EntityNotExist.Role naming it
    precondition: (state, action) => {
      if (action === 'OpenAckService' || action === 'CheckServiceRole') return undefined;
      return roleMissing(state, ACK_SERVICE_ROLES.slice(0, 1));
    },
    handlers: {
      CheckServiceRole(ctx) {
        const b = (ctx.body ?? {}) as { roles?: unknown };
        if (!Array.isArray(b.roles) || b.roles.length === 0 || b.roles.some((r) => typeof (r as { name?: unknown })?.name !== 'string')) throw invalidParameter('roles must be a non-empty list of {name}');
        const have = accountOf(ctx.state).roles;
        return {
          roles: (b.roles as { name: string }[]).map(({ name }) => {
            const granted = have.some((r) => r.name === name && r.serviceName === undefined);
            return { name, granted, ...(granted ? {} : { message: `The role does not exist: ${name}` }) };
          }),
        };
      },
      OpenAckService(ctx) {
        // documented: type is optional (propayasgo, edgepayasgo, gspayasgo)
        const type = q(ctx, 'type');
        if (type !== undefined && !['propayasgo', 'edgepayasgo', 'gspayasgo'].includes(type)) throw invalidParameter(`type must be propayasgo, edgepayasgo or gspayasgo, not ${type}`);
        // documented: the account, or a RAM user with AdministratorAccess
        if (ctx.caller.user !== null && !ctx.state.data.attachments.some((a) => a.user === ctx.caller.user && a.policyType === 'System' && a.policyName === 'AdministratorAccess')) {
          throw new ApiError(ctx.state.data.deniedStatus ?? 403, 'ErrorCheckAcl', 'RAM policy Forbidden for action cs:OpenAckService: activating ACK needs the account or AdministratorAccess', {
            AccessDeniedDetail: { AuthAction: 'cs:OpenAckService', AuthPrincipalType: 'SubUser', AuthPrincipalDisplayName: ctx.caller.user, NoPermissionType: 'ImplicitDeny' },
          });
        }
        const account = accountOf(ctx.state);
        // a public report: RISK.RISK_CONTROL_REJECTION when the balance is zero (ASSUMPTION: its status and message)
        if (account.zeroBalance && !account.services.ack) throw new ApiError(400, 'RISK.RISK_CONTROL_REJECTION', 'The order was rejected by risk control: the account balance is insufficient.');
        // terraform-provider-alicloud treats it as already open: the code of activating twice (seen in write-ups of the console's order flow)
        if (account.services.ack) throw new ApiError(400, 'ORDER.OPEND', 'The service has been opened.');
        account.services.ack = true;
        return { order_id: randomId('', 15, '0123456789'), request_id: ctx.requestId };
      },
      DescribeClustersForRegion(ctx) {
        if (ctx.path.region_id !== ctx.state.data.regionId) throw invalidParameter(`region ${ctx.path.region_id} is not supported`);
        settle(ctx);
        const number = Number(q(ctx, 'page_number') ?? 1);
        const size = Number(q(ctx, 'page_size') ?? 10);
        if (!Number.isInteger(number) || number < 1) throw invalidParameter('page_number must be a positive integer');
        if (!Number.isInteger(size) || size < 1 || size > 100) throw invalidParameter('page_size must be an integer from 1 to 100');
        const name = q(ctx, 'name');
        // the name filter is fuzzy, as documented
        const all = clusters(ctx).filter((c) => (!q(ctx, 'cluster_type') || c.clusterType === q(ctx, 'cluster_type'))
          && (!q(ctx, 'cluster_id') || c.id === q(ctx, 'cluster_id')) && (!name || c.name.includes(name)));
        return { clusters: all.slice((number - 1) * size, number * size).map(view), page_info: { page_number: number, page_size: size, total_count: all.length } };
      },
      CreateCluster(ctx) {
        const b = (ctx.body ?? {}) as Record<string, unknown>;
        const name = b.name;
        if (typeof name !== 'string' || !NAME_RE.test(name)) throw invalidParameter('name must be 1-63 characters: letters, digits, Chinese characters and hyphens, not starting with a hyphen');
        if (b.region_id !== ctx.state.data.regionId) throw invalidParameter(`region_id ${String(b.region_id)} is not supported`);
        if (b.cluster_type !== 'ExternalKubernetes') throw invalidParameter(`cluster_type ${String(b.cluster_type)}: the sandbox registers external clusters only (ExternalKubernetes)`);
        const vpcId = b.vpcid;
        if (typeof vpcId !== 'string' || !ctx.state.data.vpcs.some((v) => v.id === vpcId)) throw invalidParameter(`vpcid ${String(vpcId)} does not exist`);
        const vswitchIds = Array.isArray(b.vswitch_ids) ? b.vswitch_ids.map(String) : [];
        for (const id of vswitchIds) {
          const v = ctx.state.data.vswitches.find((x) => x.id === id);
          if (!v || v.vpcId !== vpcId) throw invalidParameter(`vswitch ${id} does not exist in ${vpcId}`);
        }
        const sg = typeof b.security_group_id === 'string' ? b.security_group_id : '';
        if (sg && !ctx.state.data.securityGroups.some((g) => g.id === sg && g.vpcId === vpcId)) throw invalidParameter(`security_group_id ${sg} does not exist in ${vpcId}`);
        if (b.endpoint_public_access !== undefined && typeof b.endpoint_public_access !== 'boolean') throw invalidParameter('endpoint_public_access must be a boolean');
        const tags = Array.isArray(b.tags) ? (b.tags as { key?: unknown; value?: unknown }[]).map((t) => ({ key: String(t.key ?? ''), value: String(t.value ?? '') })) : [];
        // public reports: a new account's CreateCluster names the first role ACK lacks
        const lacking = roleMissing(ctx.state, ACK_SERVICE_ROLES);
        if (lacking) throw lacking;
        const c: RegisteredClusterRec = {
          endpointPublicAccess: b.endpoint_public_access === true,
          id: `c${randomId('', 32, '0123456789abcdef')}`, name, regionId: ctx.state.data.regionId, clusterType: 'ExternalKubernetes', state: 'initial',
          vpcId, vswitchIds, securityGroupId: sg, resourceGroupId: typeof b.resource_group_id === 'string' ? b.resource_group_id : '',
          created: iso(ctx.now), updated: iso(ctx.now), createdAt: ctx.now.getTime(), agentToken: randomBytes(24).toString('hex'), tags,
        };
        clusters(ctx).push(c);
        const t = newTask(ctx, 'cluster_create', c.id);
        t.state = 'success';
        return { cluster_id: c.id, request_id: ctx.requestId, task_id: t.id };
      },
      DescribeClusterDetail(ctx) {
        return view(cluster(ctx, ctx.path.ClusterId));
      },
      DeleteCluster(ctx) {
        const c = cluster(ctx, ctx.path.ClusterId);
        if (c.state !== 'deleting') {
          c.state = 'deleting';
          c.deletingAt = ctx.now.getTime();
          c.updated = iso(ctx.now);
        }
        const t = newTask(ctx, 'cluster_delete', c.id);
        t.state = 'success';
        return { cluster_id: c.id, request_id: ctx.requestId, task_id: t.id };
      },
      DescribeExternalAgent(ctx) {
        const c = cluster(ctx, ctx.path.ClusterId);
        if (c.state === 'deleting' || c.state === 'deleted' || c.state === 'delete_failed' || c.state === 'failed') throw new ApiError(400, 'ErrorClusterState', `cluster ${c.id} is ${c.state}`);
        const priv = q(ctx, 'PrivateIpAddress') ?? 'false';
        if (priv !== 'true' && priv !== 'false') throw invalidParameter(`PrivateIpAddress must be true or false, not ${priv}`);
        // ASSUMPTION: the code and status when a public agent is asked of a registration without a public endpoint
        if (priv === 'false' && !c.endpointPublicAccess) {
          throw new ApiError(400, 'ErrorClusterEndpointNotPublic', `cluster ${c.id} has no public API server endpoint (created without endpoint_public_access): an agent can only connect over its VPC (PrivateIpAddress=true)`);
        }
        const mode = q(ctx, 'AgentMode') ?? 'admin';
        if (mode !== 'admin' && mode !== 'restricted') throw invalidParameter(`AgentMode must be admin or restricted, not ${mode}`);
        return { config: agentManifest(c, { privateAddress: priv === 'true', mode }) };
      },
      ListAddons(ctx) {
        const id = q(ctx, 'cluster_id');
        if (!id) throw invalidParameter('give cluster_id (or region_id, cluster_type, profile, cluster_spec and cluster_version together)');
        cluster(ctx, id);
        return { addons: ADDON_CATALOG.map((a) => catalogView(ctx, a)) };
      },
      DescribeAddon(ctx) {
        const id = q(ctx, 'cluster_id');
        if (id) cluster(ctx, id);
        const a = ADDON_CATALOG.find((x) => x.name === ctx.path.addon_name);
        if (!a) throw addonNotFound(ctx.path.addon_name ?? '');
        const all = offered(ctx, a.name);
        const version = q(ctx, 'version') ?? all.at(-1) ?? '';
        // ASSUMPTION: the code of a version that does not exist
        if (!all.includes(version)) throw invalidParameter(`version ${version} of ${a.name} is not offered; offered: ${all.join(', ')}`);
        const newer = all.filter((v) => compareVersions(v, version) > 0).map((v) => ({ version: v, upgradable: true, minimum_cluster_version: '1.16.0' }));
        return { ...catalogView(ctx, a), version, newer_versions: newer };
      },
      InstallClusterAddons(ctx) {
        const c = cluster(ctx, ctx.path.ClusterId);
        const items = addonBody(ctx, 'install');
        // ASSUMPTION: the code for a cluster that is not running (documents say install needs a connected cluster)
        if (c.state !== 'running') throw new ApiError(400, 'ErrorClusterState', `cluster ${c.id} is ${c.state}, not running: connect its agent first`);
        for (const it of items) {
          const known = ADDON_CATALOG.find((a) => a.name === it.name);
          if (!known) throw addonNotFound(String(it.name));
          const versions = offered(ctx, known.name);
          // the SDK marks version required
          if (typeof it.version !== 'string' || it.version === '') throw invalidParameter(`version of ${known.name} is required (offered: ${versions.join(', ')})`);
          if (!versions.includes(it.version)) throw invalidParameter(`version ${String(it.version)} of ${known.name} is not available; offered: ${versions.join(', ')}`);
          if (it.config !== undefined && typeof it.config !== 'string') throw invalidParameter('config must be a JSON string');
          // ASSUMPTION: the code of a duplicate install is undocumented
          if (addons(ctx).some((a) => a.clusterId === c.id && a.name === it.name)) throw new ApiError(400, 'AddonAlreadyExist', `addon ${String(it.name)} is already installed in ${c.id}`);
        }
        const t = newTask(ctx, 'cluster_addon_install', c.id);
        for (const it of items) {
          const known = ADDON_CATALOG.find((a) => a.name === it.name)!;
          const rec: AddonInstanceRec = { clusterId: c.id, name: known.name, version: String(it.version), state: 'updating', config: typeof it.config === 'string' ? it.config : '{}' };
          addons(ctx).push(rec);
          finish(ctx, t, hooks.installAddon?.(c, rec), () => { rec.state = 'active'; }, () => {
            ctx.state.data.addons = addons(ctx).filter((a) => a !== rec);
          });
        }
        return { cluster_id: c.id, request_id: ctx.requestId, ...(ctx.state.data.csLegacy ? {} : { task_id: t.id }) };
      },
      UpgradeClusterAddons(ctx) {
        const c = cluster(ctx, ctx.path.ClusterId);
        if (!Array.isArray(ctx.body) || ctx.body.length === 0 || ctx.body.some((x) => !x || typeof x !== 'object' || typeof (x as { component_name?: unknown }).component_name !== 'string')) {
          throw invalidParameter('the request body must be a JSON array of add-ons to upgrade, each with a component_name');
        }
        if (c.state !== 'running') throw new ApiError(400, 'ErrorClusterState', `cluster ${c.id} is ${c.state}, not running`);
        // ASSUMPTION: the code while another task of the cluster runs
        if (tasks(ctx).some((t) => t.clusterId === c.id && t.state === 'running')) throw new ApiError(400, 'ErrorTaskRunning', `cluster ${c.id} has a task running; try again when it is done`);
        const plan = (ctx.body as { component_name: string; version?: unknown; next_version?: unknown; policy?: unknown }[]).map((it) => {
          // documented: policy is overwrite or canary
          if (it.policy !== undefined && it.policy !== 'overwrite' && it.policy !== 'canary') throw invalidParameter(`policy ${String(it.policy)} must be overwrite or canary`);
          const rec = addons(ctx).find((a) => a.clusterId === c.id && a.name === it.component_name);
          if (!rec) throw addonNotFound(it.component_name);
          if (rec.state !== 'active') throw new ApiError(400, 'ErrorAddonState', `addon ${rec.name} is ${rec.state}`);
          if (typeof it.version !== 'string' || it.version !== rec.version) throw invalidParameter(`version ${String(it.version)} is not the installed version of ${rec.name} (${rec.version})`);
          const versions = offered(ctx, rec.name);
          if (typeof it.next_version !== 'string' || !versions.includes(it.next_version) || compareVersions(it.next_version, rec.version) <= 0) {
            throw invalidParameter(`next_version ${String(it.next_version)} of ${rec.name} is not offered for an upgrade from ${rec.version}; offered: ${versions.filter((v) => compareVersions(v, rec.version) > 0).join(', ') || 'none'}`);
          }
          return { rec, next: it.next_version, overwrite: it.policy === 'overwrite' || ctx.state.data.addonUpgradeOverwrites === true };
        });
        const t = newTask(ctx, 'cluster_addon_upgrade', c.id);
        for (const { rec, next, overwrite } of plan) {
          rec.state = 'upgrading';
          finish(ctx, t, hooks.upgradeAddon?.(c, rec, next, overwrite), () => { rec.version = next; rec.state = 'active'; }, () => { rec.state = 'active'; });
        }
        return { cluster_id: c.id, request_id: ctx.requestId, task_id: t.id };
      },
      UnInstallClusterAddons(ctx) {
        const c = cluster(ctx, ctx.path.ClusterId);
        const items = addonBody(ctx, 'uninstall');
        const recs = items.map((it) => {
          const rec = addons(ctx).find((a) => a.clusterId === c.id && a.name === it.name);
          if (!rec) throw addonNotFound(String(it.name));
          // ASSUMPTION: the code for an add-on that is busy (being installed or removed) is undocumented
          if (rec.state !== 'active') throw new ApiError(400, 'ErrorAddonState', `addon ${rec.name} is ${rec.state}`);
          return rec;
        });
        const t = newTask(ctx, 'cluster_addon_uninstall', c.id);
        for (const rec of recs) {
          rec.state = 'deleting';
          finish(ctx, t, hooks.uninstallAddon?.(c, rec), () => {
            ctx.state.data.addons = addons(ctx).filter((a) => a !== rec);
          }, () => { rec.state = 'active'; });
        }
        return { cluster_id: c.id, request_id: ctx.requestId, ...(ctx.state.data.csLegacy ? {} : { task_id: t.id }) };
      },
      GetClusterAddonInstance(ctx) {
        const c = cluster(ctx, ctx.path.cluster_id);
        const rec = addons(ctx).find((a) => a.clusterId === c.id && a.name === ctx.path.instance_name);
        if (!rec) throw ctx.state.data.csLegacy ? new ApiError(404, 'NotFound', `instance ${ctx.path.instance_name ?? ''} not found`) : addonNotFound(ctx.path.instance_name ?? '');
        return { name: rec.name, version: rec.version, state: rec.state, config: rec.config, logging: { capable: false, enabled: false, log_project: '', logstore: '' } };
      },
      ListClusterAddonInstances(ctx) {
        const c = cluster(ctx, ctx.path.cluster_id);
        return { addons: addons(ctx).filter((a) => a.clusterId === c.id).map((a) => ({ name: a.name, version: a.version, state: a.state })) };
      },
      DescribeTaskInfo(ctx) {
        const t = tasks(ctx).find((x) => x.id === ctx.path.task_id);
        // ASSUMPTION: the code of an unknown task id is undocumented
        if (!t) throw new ApiError(404, 'ErrorTaskNotFound', `task ${ctx.path.task_id} not found`);
        return { ...taskView(t), requestId: ctx.requestId };
      },
    },
  };
}
