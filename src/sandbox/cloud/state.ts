import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface AccessKeyRec { id: string; secret: string; user: string | null; status: 'Active' | 'Inactive'; createDate: string }
export interface UserRec { name: string; id: string; displayName: string; comments: string; createDate: string }
/** document: the default version's; versions absent in older state files mean one version, v1. */
export interface PolicyRec { name: string; document: string; description: string; createDate: string; versions?: PolicyVersionRec[] }
export interface PolicyVersionRec { id: string; document: string; createDate: string; isDefault: boolean }
export interface AttachmentRec { user: string; policyName: string; policyType: 'System' | 'Custom'; attachDate: string }
export interface VSwitchRec { id: string; vpcId: string; zoneId: string; cidr: string; status: 'Available' | 'Pending'; name: string }
export interface PermissionRec { IpProtocol: string; PortRange: string; SourceCidrIp: string; Direction: 'ingress' | 'egress'; Policy: 'Accept' | 'Drop'; Priority: string }
export interface SecurityGroupRec { id: string; vpcId: string; type: 'normal' | 'enterprise'; name: string; permissions: PermissionRec[] }
export interface Tag { Key: string; Value: string }
export interface Taint { Key: string; Value: string; Effect: string }
export interface EventRec { Count: number; FirstTimestamp: string; LastTimestamp: string; Message: string; Name: string; Reason: string; Type: 'Normal' | 'Warning' }
export interface VirtualNodeRec {
  id: string; name: string; status: 'Pending' | 'Ready' | 'Failed' | 'Cleaned'; regionId: string; vpcId: string; vSwitchIds: string[];
  securityGroupId: string; zoneId: string; resourceGroupId: string; kubeConfig: string; tlsBootstrapEnabled: boolean;
  tags: Tag[]; taints: Taint[]; customResources: string; clusterDns: string; clusterDomain: string; creationTime: string;
  intranetIp: string; events: EventRec[];
}
export interface ContainerGroupRec {
  id: string; name: string; status: string; regionId: string; zoneId: string; vSwitchId: string; securityGroupId: string;
  tags: Tag[]; creationTime: string; intranetIp: string; cpu: number; memory: number;
  /** Who created it (the signing AccessKey and its RAM user; null user = the account). Absent: made by a VNode inside ECI. */
  createdBy?: { accessKeyId: string; user: string | null };
  containers?: { name: string; image: string }[];
  instanceType?: string;
  /** NoSpot (absent), SpotAsPriceGo or SpotWithPriceLimit. */
  spotStrategy?: string;
  /** economy or general (documented: the category an instance is billed as). */
  computeCategory?: string;
  ephemeralStorage?: number;
  /** When it ended, for the instances ECI keeps listing for an hour after (Succeeded, Failed). */
  succeededTime?: string;
  failedTime?: string;
  /** The VNode whose pod this instance runs (what DeleteVirtualNode checks). */
  virtualNodeId?: string;
  /** Terminating: ECI releases the instance at this time (ms), some seconds after its pod is gone. */
  releaseAt?: number;
}
/** A registered (ExternalKubernetes) cluster in the Container Service. */
export interface RegisteredClusterRec {
  id: string; name: string; regionId: string; clusterType: 'ExternalKubernetes';
  /** failed, delete_failed and deleted are never reached by time: a test (or an edited state file) sets them. */
  state: 'initial' | 'waiting' | 'running' | 'disconnected' | 'updating' | 'upgrading' | 'removing' | 'draining' | 'scaling' | 'inactive' | 'unavailable'
    | 'deleting' | 'deleted' | 'delete_failed' | 'failed';
  /** CreateCluster's endpoint_public_access: the API server SLB gets an EIP, so an agent can connect over the internet. */
  endpointPublicAccess?: boolean;
  vpcId: string; vswitchIds: string[]; securityGroupId: string; resourceGroupId: string; created: string; updated: string;
  /** ms; initial -> waiting some time after creation, deleting -> gone some time after DeleteCluster. */
  createdAt: number; deletingAt?: number;
  /** What the agent manifest carries to connect this cluster (and nothing else can). */
  agentToken: string;
  tags: { key: string; value: string }[];
}
/** A RAM role of the account: ACK's service roles once authorized, a service-linked role once created. */
export interface RoleRec { name: string; id: string; createDate: string; description: string; serviceName?: string }
/** What a new account lacks; absent in older state files (an account made ready long ago). */
export interface AccountRec {
  /** Activated services: ECI in its console, ACK by OpenAckService (or its console). */
  services: { eci: boolean; ack: boolean };
  roles: RoleRec[];
  /**
   * The code every Container Service call but CreateCluster answers before ACK is activated: no page names it, so the
   * sandbox plays either (absent: ServiceNotEnabled; CreateCluster answers ErrorNotEnabled, as reported).
   */
  ackNotActivatedCode?: 'ServiceNotEnabled' | 'ErrorNotEnabled';
  /** An account whose balance is zero: OpenAckService is refused by risk control (a public report's code). */
  zeroBalance?: boolean;
}
/** The documented states of an add-on instance; an installing one is `updating` (ASSUMPTION: the documents name no install state). */
export interface AddonInstanceRec { clusterId: string; name: string; version: string; state: 'updating' | 'active' | 'upgrading' | 'deleting'; config: string }
export interface TaskRec {
  id: string; type: string; clusterId: string; state: 'running' | 'success' | 'failed'; created: string; updated: string;
  error?: { code: string; message: string };
}

/** at: when the token was first used (ms); records of older state files have none and are forgotten. */
export interface IdempotencyRec { action: string; caller: string; token: string; paramsHash: string; response: Record<string, unknown>; at?: number }

export interface CloudStateData {
  version: 1;
  accountId: string;
  regionId: string;
  accessKeys: AccessKeyRec[];
  users: UserRec[];
  policies: PolicyRec[];
  attachments: AttachmentRec[];
  vpcs: { id: string; cidr: string }[];
  vswitches: VSwitchRec[];
  securityGroups: SecurityGroupRec[];
  virtualNodes: VirtualNodeRec[];
  /** Deleted virtual nodes, still listed as Cleaned for a while as ECI does (absent in older state files). */
  cleanedVirtualNodes?: (VirtualNodeRec & { cleanedAt: number })[];
  containerGroups: ContainerGroupRec[];
  idempotency: IdempotencyRec[];
  /** Container Service (absent in older state files). */
  clusters?: RegisteredClusterRec[];
  /**
   * The Container Service as an older API version answers (a switch of the state file): Install/UnInstallClusterAddons
   * without a task_id, GetClusterAddonInstance of a missing add-on as a bare 404 (ASSUMPTION: code NotFound).
   */
  csLegacy?: boolean;
  addons?: AddonInstanceRec[];
  tasks?: TaskRec[];
  /** The versions of each add-on offered, by name (absent: the emulator's catalog). */
  addonVersions?: Record<string, string[]>;
  /**
   * The add-on manager rewrites the add-on's objects from its manifest on every upgrade (the controller's env and
   * eci-profile back to their defaults), as UpgradeClusterAddons' `policy: overwrite` may; absent: it keeps them.
   */
  addonUpgradeOverwrites?: boolean;
  /** Services and roles of the account (absent: ready, as older state files were). */
  account?: AccountRec;
  /** The HTTP status of a RAM denial (RAM denials often arrive as 400; absent: 403). */
  deniedStatus?: 400 | 403;
}

export type AccountKind = 'new' | 'ready';

/**
 * ACK's service roles a registration needs. ASSUMPTION: which of ACK's default roles a registered cluster needs is
 * not documented; public reports show CreateCluster refused without AliyunCSDefaultRole.
 */
export const ACK_SERVICE_ROLES = ['AliyunCSDefaultRole', 'AliyunCSManagedKubernetesRole'];
/** The service-linked role CreateVirtualNode creates on first use, and its service name (both documented). */
export const ECI_VNODE_ROLE = { name: 'AliyunServiceRoleForECIVnode', serviceName: 'vnode.eci.aliyuncs.com' };

export function newAccount(): AccountRec {
  return { services: { eci: false, ack: false }, roles: [] };
}

export function readyAccount(now = new Date()): AccountRec {
  const role = (name: string, description: string, serviceName?: string): RoleRec => ({
    name, id: randomId('3', 18, '0123456789'), createDate: iso(now), description, ...(serviceName ? { serviceName } : {}),
  });
  return {
    services: { eci: true, ack: true },
    roles: [
      ...ACK_SERVICE_ROLES.map((n) => role(n, 'Container Service default role')),
      role(ECI_VNODE_ROLE.name, 'ECI virtual node service-linked role', ECI_VNODE_ROLE.serviceName),
    ],
  };
}

/** The account as the emulator plays it: an older state file's is ready. */
export function accountOf(state: CloudState): AccountRec {
  return (state.data.account ??= readyAccount());
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM_MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomId(prefix: string, n: number, alphabet = ALNUM): string {
  let s = prefix;
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export function newAccessKey(user: string | null, now: Date): AccessKeyRec {
  return {
    id: randomId('LTAI5t', 18, ALNUM_MIXED),
    secret: randomBytes(22).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 30).padEnd(30, 'x'),
    user, status: 'Active', createDate: iso(now),
  };
}

let ipCounter = 0;

/** An address in a vSwitch's CIDR for a new container group. */
export function allocateIp(state: CloudState, vSwitchId: string): string {
  const vsw = state.data.vswitches.find((s) => s.id === vSwitchId);
  const [a, b, c] = (vsw?.cidr ?? '192.168.0.0/20').split('/')[0]!.split('.').map(Number) as [number, number, number];
  const n = 10 + (ipCounter++ % 4000);
  return `${a}.${b}.${c + Math.floor(n / 256)}.${n % 256}`;
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The sandbox account: the operator's AccessKey, a VPC with vSwitches in two zones (and one in another VPC),
 * security groups with and without the inbound 10250/10255 rules the virtual node needs.
 */
export function seedState(now = new Date(), account: AccountKind = 'ready'): CloudStateData {
  const allowKubelet: PermissionRec[] = [
    { IpProtocol: 'TCP', PortRange: '10250/10250', SourceCidrIp: '192.168.0.0/16', Direction: 'ingress', Policy: 'Accept', Priority: '1' },
    { IpProtocol: 'TCP', PortRange: '10255/10255', SourceCidrIp: '192.168.0.0/16', Direction: 'ingress', Policy: 'Accept', Priority: '1' },
    { IpProtocol: 'ALL', PortRange: '-1/-1', SourceCidrIp: '0.0.0.0/0', Direction: 'egress', Policy: 'Accept', Priority: '1' },
  ];
  return {
    version: 1,
    accountId: '1234567890123456',
    regionId: 'cn-hangzhou',
    accessKeys: [newAccessKey(null, now)],
    users: [],
    policies: [],
    attachments: [],
    vpcs: [{ id: 'vpc-bp1sandbox0000000001', cidr: '192.168.0.0/16' }, { id: 'vpc-bp1sandbox0000000002', cidr: '172.16.0.0/12' }],
    vswitches: [
      { id: 'vsw-bp1sandboxzoneh00001', vpcId: 'vpc-bp1sandbox0000000001', zoneId: 'cn-hangzhou-h', cidr: '192.168.0.0/20', status: 'Available', name: 'sandbox-h' },
      { id: 'vsw-bp1sandboxzonei00001', vpcId: 'vpc-bp1sandbox0000000001', zoneId: 'cn-hangzhou-i', cidr: '192.168.16.0/20', status: 'Available', name: 'sandbox-i' },
      { id: 'vsw-bp1sandboxpending001', vpcId: 'vpc-bp1sandbox0000000001', zoneId: 'cn-hangzhou-j', cidr: '192.168.32.0/20', status: 'Pending', name: 'sandbox-pending' },
      { id: 'vsw-bp1othervpczoneh0001', vpcId: 'vpc-bp1sandbox0000000002', zoneId: 'cn-hangzhou-h', cidr: '172.16.0.0/20', status: 'Available', name: 'other-vpc' },
    ],
    securityGroups: [
      { id: 'sg-bp1sandboxkubelet0001', vpcId: 'vpc-bp1sandbox0000000001', type: 'enterprise', name: 'vnode-kubelet', permissions: allowKubelet },
      { id: 'sg-bp1sandboxbare0000001', vpcId: 'vpc-bp1sandbox0000000001', type: 'normal', name: 'bare', permissions: [allowKubelet[2]!] },
      { id: 'sg-bp1othervpc0000000001', vpcId: 'vpc-bp1sandbox0000000002', type: 'normal', name: 'other-vpc', permissions: [] },
    ],
    virtualNodes: [],
    containerGroups: [],
    idempotency: [],
    account: account === 'new' ? newAccount() : readyAccount(now),
  };
}

/** The emulator's state, kept in a JSON file so it survives restarts. */
export class CloudState {
  constructor(public data: CloudStateData, private readonly file: string | undefined) {}

  static open(file: string | undefined, account: AccountKind = 'ready'): CloudState {
    if (file && existsSync(file)) return new CloudState(JSON.parse(readFileSync(file, 'utf8')) as CloudStateData, file);
    const s = new CloudState(seedState(new Date(), account), file);
    s.save();
    return s;
  }

  save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private timer: NodeJS.Timeout | undefined;

  /** Coalesces frequent changes (one per pod) into one write shortly after. */
  saveSoon(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.save(); }, 200);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; this.save(); }
  }

  get operatorKey(): AccessKeyRec {
    return this.data.accessKeys.find((k) => k.user === null)!;
  }
}

/** Drops the instances whose release time has come (checked whenever ECI is asked about instances). */
export function releaseDue(state: CloudState, now = Date.now()): void {
  const groups = state.data.containerGroups;
  let changed = false;
  // in place: holders of the array see the same list
  for (let i = groups.length - 1; i >= 0; i--) if (groups[i]!.releaseAt !== undefined && groups[i]!.releaseAt! <= now) { groups.splice(i, 1); changed = true; }
  if (changed) state.saveSoon();
}
