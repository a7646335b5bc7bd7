/** The Alibaba Cloud port: only the calls vnode makes. Real ones over the SDKs; tests may use fakes. */

export interface RamUser { name: string; id: string; displayName: string; comments: string }
export interface RamPolicyRef { name: string; type: 'System' | 'Custom' }
export interface AccessKeyInfo { id: string; status: string; createDate: string }
export interface NewAccessKey { id: string; secret: string }

export interface RamPort {
  getUser(name: string): Promise<RamUser | undefined>;
  /** Creates the user; an existing one is returned with created=false. */
  ensureUser(name: string, displayName: string, comments: string): Promise<{ user: RamUser; created: boolean }>;
  /** Returns false when the user was already gone. */
  deleteUser(name: string): Promise<boolean>;
  /** The default version's document, or undefined when there is no such policy. */
  getPolicyDocument(name: string, type: 'System' | 'Custom'): Promise<string | undefined>;
  createPolicy(name: string, document: string, description: string): Promise<void>;
  /** A custom policy's versions, oldest first. */
  listPolicyVersions(name: string): Promise<{ id: string; isDefault: boolean; createDate: string }[]>;
  /** A new default version of a custom policy. */
  createPolicyVersion(name: string, document: string): Promise<string>;
  /** Returns false when the version was already gone. */
  deletePolicyVersion(name: string, versionId: string): Promise<boolean>;
  listPoliciesForUser(user: string): Promise<RamPolicyRef[]>;
  /** Returns false when it was already attached. */
  attachPolicyToUser(user: string, policy: RamPolicyRef): Promise<boolean>;
  /** Returns false when it was not attached. */
  detachPolicyFromUser(user: string, policy: RamPolicyRef): Promise<boolean>;
  /**
   * Creates a key; if the answer is lost (network error) a key it did create is deleted again, so a retry
   * never leaves an extra key whose secret nobody has.
   */
  createAccessKey(user: string): Promise<NewAccessKey>;
  listAccessKeys(user: string): Promise<AccessKeyInfo[]>;
  /** Returns false when it was already gone. */
  deleteAccessKey(user: string, id: string): Promise<boolean>;
  /** A custom policy's description, or undefined when there is no such policy. */
  policyDescription(name: string): Promise<string | undefined>;
  /** Who has a policy attached (ListEntitiesForPolicy). */
  listEntitiesForPolicy(name: string, type: 'System' | 'Custom'): Promise<{ users: string[]; groups: string[]; roles: string[] }>;
  /** Deletes a custom policy (its other versions first, as RAM requires); false when it was already gone. */
  deletePolicy(name: string): Promise<boolean>;
  /** Whether the account has this role (a service role or a service-linked one). */
  roleExists(name: string): Promise<boolean>;
}

/** Resource Management: service-linked roles. */
export interface ResourceManagerPort {
  /** created, or exists (it was there already). */
  createServiceLinkedRole(serviceName: string): Promise<'created' | 'exists'>;
}

/** Who a key is (STS GetCallerIdentity, which any identity may call). */
export interface CallerIdentity { accountId: string; userId: string; arn: string; principalId: string; identityType: string }

/** The Security Token Service: who the caller is. */
export interface StsPort {
  callerIdentity(): Promise<CallerIdentity>;
}

export interface VSwitchInfo { id: string; vpcId: string; zoneId: string; cidr: string; status: string; name: string }
export interface SecurityGroupInfo { id: string; vpcId: string; type: string; name: string }
export interface PermissionInfo { protocol: string; portRange: string; source: string; direction: string; policy: string }

export interface VpcPort {
  describeVSwitches(filter: { vSwitchId?: string; vpcId?: string }): Promise<VSwitchInfo[]>;
}

export interface EcsPort {
  describeSecurityGroups(filter: { ids?: string[]; vpcId?: string }): Promise<SecurityGroupInfo[]>;
  describeSecurityGroupPermissions(id: string): Promise<PermissionInfo[] | undefined>;
}

export interface Tag { key: string; value: string }
export interface Taint { key: string; value: string; effect: string }

export interface CreateVirtualNodeInput {
  name: string;
  vSwitchIds: string[];
  securityGroupId: string;
  kubeConfig: string;
  tlsBootstrapEnabled: boolean;
  zoneId?: string;
  resourceGroupId?: string;
  customResources?: string;
  clusterDns?: string;
  clusterDomain?: string;
  tags: Tag[];
  taints: Taint[];
  clientToken: string;
}

export interface VirtualNodeUpdate { name?: string; tags?: Tag[]; customResources?: string; clusterDns?: string; clusterDomain?: string }

export interface VirtualNodeEvent { count: number; firstTimestamp: string; lastTimestamp: string; message: string; name: string; reason: string; type: string }
export interface VirtualNodeInfo {
  id: string; name: string; status: string; vpcId: string; vSwitchIds: string[]; securityGroupId: string;
  intranetIp: string; creationTime: string; tags: Tag[]; events: VirtualNodeEvent[];
}
export interface ContainerGroupInfo {
  id: string; name: string; status: string; tags: Tag[]; creationTime: string;
  /** What it runs on, as DescribeContainerGroups reports it (for pricing). */
  zoneId?: string; cpu?: number; memory?: number; instanceType?: string; spotStrategy?: string; ephemeralStorage?: number;
  /** economy or general (documented: what the instance is billed as). */
  computeCategory?: string;
  /** When it ended (SucceededTime or FailedTime), for one ECI still lists. */
  endTime?: string;
}

/** A spec as DescribeContainerGroupPrice takes it. */
export interface PriceSpec {
  cpu: number; memory: number; instanceType?: string | undefined; zoneId?: string | undefined; spotStrategy?: string | undefined; ephemeralStorage?: number | undefined;
  /** economy prices the economy category (vCPU/memory specs only). */
  computeCategory?: string | undefined;
}
/**
 * The list price per second (TradePrice before discounts) and, for a spot strategy, the zone's spot price: per hour
 * as ECI answers it, and per second.
 */
export interface SpecPrice { perSecond: number; currency: string; spotPerHour?: number; spotPerSecond?: number }

export interface EciPort {
  /** The regions ECI serves. */
  describeRegions(): Promise<string[]>;
  createVirtualNode(input: CreateVirtualNodeInput): Promise<string>;
  /** All pages; deleted ones (listed as Cleaned for a while) only with includeCleaned. */
  describeVirtualNodes(filter: { ids?: string[]; name?: string; tags?: Tag[]; includeCleaned?: boolean }): Promise<VirtualNodeInfo[]>;
  /** Returns false when it was already gone. */
  deleteVirtualNode(id: string, clientToken: string): Promise<boolean>;
  /** What UpdateVirtualNode changes in place; tags are merged into the node's. */
  updateVirtualNode(id: string, change: VirtualNodeUpdate, clientToken: string): Promise<void>;
  /** All pages. */
  describeContainerGroups(filter: { tags?: Tag[]; ids?: string[] }): Promise<ContainerGroupInfo[]>;
  deleteContainerGroup(id: string, clientToken: string): Promise<boolean>;
  /** DescribeContainerGroupPrice: pay-as-you-go list prices of a spec, per second. */
  describePrice(spec: PriceSpec): Promise<SpecPrice>;
}

export interface RegisteredCluster {
  id: string; name: string; type: string; state: string; regionId: string; vpcId: string; vSwitchIds: string[];
  securityGroupId: string; resourceGroupId: string; created: string;
  /** From master_url: true with a public API server endpoint, false with only the VPC one, undefined when not told. */
  publicEndpoint?: boolean | undefined;
}
export interface CreateRegistrationInput {
  name: string; vpcId: string; vSwitchIds: string[]; securityGroupId?: string; resourceGroupId?: string; tags: Tag[];
  /** An EIP on the API server SLB: what an agent connecting over the internet talks to. */
  endpointPublicAccess: boolean;
}
export interface AddonVersion { name: string; version: string }
export interface AddonInstance { name: string; version: string; state: string; config: string }
export interface CsTask { id: string; type: string; state: string; error?: { code: string; message: string } }

/** The Container Service (ACK): a registered cluster and its add-ons. */
export interface CsPort {
  /** Registered (ExternalKubernetes) clusters whose name is exactly this one, all pages. */
  findClusters(name: string): Promise<RegisteredCluster[]>;
  /** undefined when there is no such cluster (ErrorClusterNotFound). */
  describeCluster(id: string): Promise<RegisteredCluster | undefined>;
  /** Not retried blindly: a lost answer may have created it (callers look it up by name before trying again). */
  createCluster(input: CreateRegistrationInput): Promise<{ clusterId: string; taskId: string }>;
  /** Returns false when it was already gone. */
  deleteCluster(id: string): Promise<boolean>;
  /** The agent manifest (multi-document YAML) to apply to the cluster. */
  describeExternalAgent(id: string, privateAddress: boolean): Promise<string>;
  /** The add-on and the version this cluster may install. */
  describeAddon(clusterId: string, name: string): Promise<AddonVersion | undefined>;
  /** undefined when not installed (AddonNotFound). */
  getAddonInstance(clusterId: string, name: string): Promise<AddonInstance | undefined>;
  installAddon(clusterId: string, addon: AddonVersion): Promise<string>;
  uninstallAddon(clusterId: string, name: string): Promise<string>;
  /**
   * What an installed add-on may be upgraded to here: the newest version ListAddons offers (and whether the add-on
   * supports upgrades), and the versions DescribeAddon names as newer than the installed one, oldest first.
   */
  addonUpgrades(clusterId: string, name: string, installed: string): Promise<{ newest: string; newer: string[]; upgradable: boolean }>;
  /** UpgradeClusterAddons from the installed version to another: a task. */
  upgradeAddon(clusterId: string, name: string, from: string, to: string): Promise<string>;
  describeTask(id: string): Promise<CsTask>;
  /** Whether each of ACK's service roles is authorized for this account (CheckServiceRole). */
  checkServiceRoles(names: string[]): Promise<{ name: string; granted: boolean; message: string }[]>;
  /** Activates ACK (OpenAckService, pay-as-you-go); the account or AdministratorAccess only. */
  openAckService(): Promise<void>;
}

export interface CloudPorts {
  regionId: string;
  /** Where the credentials came from (environment, profile x, default chain); never the credentials. */
  credentialSource: string;
  /** The AccessKey ID of the caller when known (for saying which key is used). */
  ram: RamPort;
  eci: EciPort;
  vpc: VpcPort;
  ecs: EcsPort;
  cs: CsPort;
  rm: ResourceManagerPort;
  sts: StsPort;
}
