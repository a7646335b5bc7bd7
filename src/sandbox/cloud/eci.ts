import { createHash } from 'node:crypto';
import { ApiError, invalid, missing } from './errors.js';
import { indexed, str, type CallContext, type Service } from './service.js';
import { isAllowed } from './policies.js';
import { economyApplies, priceAnswer } from './pricing.js';
import { accountOf, allocateIp, ECI_VNODE_ROLE, iso, randomId, releaseDue, type ContainerGroupRec, type Tag, type Taint, type VirtualNodeRec } from './state.js';

const MAX_PAGE = 20;
const TAINT_EFFECTS = ['NoSchedule', 'NoExecute', 'PreferNoSchedule'];

function region(ctx: CallContext): string {
  const r = str(ctx, 'RegionId');
  if (!r) throw missing('RegionId');
  if (r !== ctx.state.data.regionId) throw new ApiError(400, 'InvalidRegionId.NotFound', `The specified region ${r} does not exist.`);
  return r;
}

function tags(ctx: CallContext): Tag[] {
  const t = indexed(ctx, 'Tag', ['Key', 'Value']);
  if (t.length > 20) throw invalid('Tag', 'at most 20 tags');
  return t.map((x) => {
    if (!x.Key || x.Key.length > 64 || /^(aliyun|acs:|https?:\/\/)/.test(x.Key)) throw invalid('Tag.Key', `"${x.Key ?? ''}" must be 1-64 characters and not start with aliyun, acs:, http:// or https://`);
    if ((x.Value ?? '').length > 128) throw invalid('Tag.Value', 'at most 128 characters');
    return { Key: x.Key, Value: x.Value ?? '' };
  });
}

/** Opaque page tokens, as the service's NextToken. */
function page<T>(ctx: CallContext, items: T[]): { items: T[]; next: string } {
  const limitRaw = str(ctx, 'Limit');
  const limit = limitRaw === undefined ? MAX_PAGE : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid('Limit', `must be an integer from 1 to ${MAX_PAGE}`);
  const token = str(ctx, 'NextToken');
  let offset = 0;
  if (token) {
    const m = /^o(\d+)$/.exec(Buffer.from(token, 'base64').toString());
    if (!m) throw invalid('NextToken', 'unknown token');
    offset = Number(m[1]);
  }
  const slice = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? Buffer.from(`o${offset + limit}`).toString('base64') : '';
  return { items: slice, next };
}

function jsonIds(ctx: CallContext, name: string): string[] | undefined {
  const raw = str(ctx, name);
  if (raw === undefined) return undefined;
  let ids: unknown;
  try { ids = JSON.parse(raw); } catch { throw invalid(name, 'must be a JSON array of strings'); }
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) throw invalid(name, 'must be a JSON array of strings');
  if (ids.length > MAX_PAGE) throw invalid(name, `at most ${MAX_PAGE} ids`);
  return ids as string[];
}

function matchTags(have: Tag[], want: Tag[]): boolean {
  return want.every((w) => have.some((h) => h.Key === w.Key && (w.Value === '' || h.Value === w.Value)));
}

/**
 * How long a ClientToken is remembered. Alibaba Cloud documents no window (only that a token is for retrying one
 * request); services that do document one keep tokens between 8 and 36 hours, so the emulator keeps them 24 hours
 * and then forgets them: a client must not rely on an old token either way.
 */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

/** Same ClientToken within the window, same answer; same token with other parameters is a mismatch. */
function idempotent(ctx: CallContext, action: string, windowMs: number, run: () => Record<string, unknown>): Record<string, unknown> {
  const token = str(ctx, 'ClientToken');
  if (!token) return run();
  if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token)) throw invalid('ClientToken', 'at most 64 ASCII characters');
  const t = ctx.now.getTime();
  ctx.state.data.idempotency = ctx.state.data.idempotency.filter((r) => r.at !== undefined && t - r.at < windowMs);
  const relevant = [...ctx.params.entries()].filter(([k]) => k !== 'ClientToken').sort(([a], [b]) => (a < b ? -1 : 1));
  const paramsHash = createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
  const caller = ctx.caller.user ?? '(root)';
  const prior = ctx.state.data.idempotency.find((r) => r.action === action && r.caller === caller && r.token === token);
  if (prior) {
    if (prior.paramsHash !== paramsHash) throw new ApiError(400, 'IdempotentParameterMismatch', 'The request uses the same client token as a previous, but non-identical request.');
    return prior.response;
  }
  const response = run();
  ctx.state.data.idempotency.push({ action, caller, token, paramsHash, response, at: t });
  return response;
}

/** A VNode's address in its vSwitch: unique among the live VNodes, as in a VPC. */
function vnodeIp(ctx: CallContext, base: number[]): string {
  const used = new Set(ctx.state.data.virtualNodes.map((v) => v.intranetIp));
  for (let i = 10; ; i++) {
    const ip = `${base[0]}.${base[1]}.${base[2]! + 15 + Math.floor(i / 250)}.${i % 250}`;
    if (!used.has(ip)) return ip;
  }
}

function vnodeView(v: VirtualNodeRec): Record<string, unknown> {
  return {
    VirtualNodeId: v.id, VirtualNodeName: v.name, Status: v.status, RegionId: v.regionId, ZoneId: v.zoneId, VpcId: v.vpcId,
    VirtualNodeVSwitchId: v.vSwitchIds.join(','), VirtualNodeSecurityGroupId: v.securityGroupId, IntranetIp: v.intranetIp, InternetIp: '',
    ResourceGroupId: v.resourceGroupId, CreationTime: v.creationTime, Tags: v.tags, Events: v.events,
  };
}

function cgView(c: ContainerGroupRec): Record<string, unknown> {
  return {
    ContainerGroupId: c.id, ContainerGroupName: c.name, Status: c.status, RegionId: c.regionId, ZoneId: c.zoneId, VSwitchId: c.vSwitchId,
    SecurityGroupId: c.securityGroupId, Tags: c.tags, CreationTime: c.creationTime, IntranetIp: c.intranetIp, Cpu: c.cpu, Memory: c.memory,
    InstanceType: c.instanceType ?? '', SpotStrategy: c.spotStrategy ?? 'NoSpot', EphemeralStorage: c.ephemeralStorage ?? 0,
    // documented: DescribeContainerGroups answers the category an instance is billed as (ASSUMPTION: as a string)
    ComputeCategory: c.computeCategory ?? 'general',
    ...(c.succeededTime ? { SucceededTime: c.succeededTime } : {}), ...(c.failedTime ? { FailedTime: c.failedTime } : {}),
  };
}

const ENDED = ['Succeeded', 'Failed', 'Expired'];

/**
 * CreateContainerGroup's ComputeCategory.N (documented: economy or general, tried in order; economy only for a
 * vCPU/memory spec of 0.25-8 vCPU, refused with spot as FeatureBasedConstraintConflict).
 */
function categoryOf(ctx: CallContext): { computeCategory?: string } {
  const asked = [...ctx.params.entries()].filter(([k]) => /^ComputeCategory\.\d+$/.test(k)).sort(([a], [b]) => Number(a.split('.')[1]) - Number(b.split('.')[1])).map(([, v]) => v);
  if (asked.length === 0) return {};
  for (const c of asked) if (c !== 'economy' && c !== 'general') throw invalid('ComputeCategory', `"${c}" must be economy or general`);
  const spot = (str(ctx, 'SpotStrategy') ?? 'NoSpot') !== 'NoSpot';
  if (asked.includes('economy') && spot) throw new ApiError(400, 'FeatureBasedConstraintConflict', 'ComputeCategory economy cannot be combined with a spot strategy.');
  const spec = { cpu: Number(str(ctx, 'Cpu') ?? 2), instanceType: str(ctx, 'InstanceType'), spotStrategy: str(ctx, 'SpotStrategy') };
  const category = asked.find((c) => c === 'general' || economyApplies(spec));
  return category ? { computeCategory: category } : {};
}

/**
 * The first CreateVirtualNode of an account creates the service-linked role AliyunServiceRoleForECIVnode, so its
 * caller needs ram:CreateServiceLinkedRole then (documented). ASSUMPTION: the refusal's code and shape (a RAM denial).
 */
function linkedRole(ctx: CallContext): void {
  const account = accountOf(ctx.state);
  if (account.roles.some((r) => r.name === ECI_VNODE_ROLE.name)) return;
  const action = 'ram:CreateServiceLinkedRole';
  if (ctx.caller.user !== null && !isAllowed(ctx.state.data, ctx.caller.user, action, { 'ram:ServiceName': ECI_VNODE_ROLE.serviceName })) {
    throw new ApiError(ctx.state.data.deniedStatus ?? 403, 'Forbidden.RAM', `Creating the service-linked role ${ECI_VNODE_ROLE.name} needs ${action}.`, {
      AccessDeniedDetail: { AuthAction: action, AuthPrincipalType: 'SubUser', AuthPrincipalDisplayName: ctx.caller.user, NoPermissionType: 'ImplicitDeny', PolicyType: 'AccountLevelIdentityBasedPolicy' },
    });
  }
  account.roles.push({ name: ECI_VNODE_ROLE.name, id: randomId('3', 18, '0123456789'), createDate: iso(ctx.now), description: 'ECI virtual node service-linked role', serviceName: ECI_VNODE_ROLE.serviceName });
}

/** Called when a virtual node is created or deleted; the sandbox's node simulation attaches here. */
export interface EciHooks {
  virtualNodeCreated?(v: VirtualNodeRec): void;
  virtualNodeDeleted?(v: VirtualNodeRec): void;
}

/** How long a deleted virtual node is still listed, as Cleaned. */
export const CLEANED_RETENTION_MS = 10 * 60_000;

export type GoneDeletes = 'not-found' | 'success';

export function eciService(hooks: EciHooks = {}, idempotencyWindowMs = IDEMPOTENCY_WINDOW_MS, goneDeletes: GoneDeletes = 'not-found'): Service {
  return {
    code: 'eci',
    host: 'eci.aliyuncs.com',
    version: '2018-08-08',
    deniedCode: 'Forbidden.RAM',
    // documented (DescribeContainerGroups' page): a RAM user or role without the permission gets an empty list
    emptyWhenDenied: { DescribeContainerGroups: () => ({ ContainerGroups: [], TotalCount: 0, NextToken: '' }) },
    // documented: ServiceNotEnabled (400) until ECI is activated in its console
    activation: {
      service: 'eci', openActions: [],
      refuse: (): ApiError => new ApiError(400, 'ServiceNotEnabled', 'The service this request depends on is not enabled: activate Elastic Container Instance first.'),
    },
    handlers: {
      DescribeContainerGroupPrice(ctx) {
        region(ctx);
        return priceAnswer(ctx, [...new Set(ctx.state.data.vswitches.map((v) => v.zoneId))].sort());
      },
      DescribeRegions(ctx) {
        const want = str(ctx, 'RegionId');
        const r = ctx.state.data.regionId;
        const zones = [...new Set(ctx.state.data.vswitches.map((v) => v.zoneId))].sort();
        return { Regions: want && want !== r ? [] : [{ RegionId: r, RegionEndpoint: `eci.${r}.aliyuncs.com`, Zones: zones, RecommendZones: zones }] };
      },
      CreateVirtualNode(ctx) {
        const regionId = region(ctx);
        return idempotent(ctx, 'CreateVirtualNode', idempotencyWindowMs, () => {
          const sgId = str(ctx, 'SecurityGroupId');
          if (!sgId) throw missing('SecurityGroupId');
          const vswRaw = str(ctx, 'VSwitchId');
          if (!vswRaw) throw missing('VSwitchId');
          const vswIds = vswRaw.split(',').map((s) => s.trim()).filter(Boolean);
          if (vswIds.length < 1 || vswIds.length > 10) throw invalid('VSwitchId', 'specify 1 to 10 vSwitches');
          const vsws = vswIds.map((id) => {
            const v = ctx.state.data.vswitches.find((x) => x.id === id);
            if (!v) throw new ApiError(404, 'InvalidVSwitchId.NotFound', `The specified vSwitch ${id} does not exist.`);
            return v;
          });
          if (new Set(vsws.map((v) => v.vpcId)).size > 1) throw invalid('VSwitchId', 'all vSwitches must belong to one VPC');
          const sg = ctx.state.data.securityGroups.find((x) => x.id === sgId);
          if (!sg) throw new ApiError(404, 'InvalidSecurityGroupId.NotFound', `The specified security group ${sgId} does not exist.`);
          if (sg.vpcId !== vsws[0]!.vpcId) throw new ApiError(400, 'InvalidParameter.Mismatch', 'The security group and the vSwitches are not in the same VPC.');
          const name = str(ctx, 'VirtualNodeName') ?? '';
          if (name && !/^[a-z0-9][a-z0-9.-]{0,126}[a-z0-9]$/.test(name)) throw invalid('VirtualNodeName', 'must be 2-128 lowercase letters, digits, "." or "-", starting and ending with a letter or digit');
          const tagList = tags(ctx);
          const taints = indexed(ctx, 'Taint', ['Key', 'Value', 'Effect']);
          if (taints.length > 20) throw invalid('Taint', 'at most 20 taints');
          for (const t of taints) {
            if (!t.Key) throw invalid('Taint.Key', 'required');
            if (!TAINT_EFFECTS.includes(t.Effect ?? '')) throw invalid('Taint.Effect', `"${t.Effect ?? ''}" must be one of ${TAINT_EFFECTS.join(', ')}`);
          }
          const kubeConfig = str(ctx, 'KubeConfig') ?? '';
          if (kubeConfig && !/^[A-Za-z0-9+/=\s]+$/.test(kubeConfig)) throw invalid('KubeConfig', 'must be base64');
          const zone = str(ctx, 'ZoneId') ?? vsws[0]!.zoneId;
          if (!vsws.some((v) => v.zoneId === zone)) throw invalid('ZoneId', `no given vSwitch is in zone ${zone}`);
          const home = vsws.find((v) => v.zoneId === zone)!;
          const base = home.cidr.split('/')[0]!.split('.').map(Number);
          const v: VirtualNodeRec = {
            id: randomId('vnd-', 20), name: name || '', status: 'Pending', regionId, vpcId: vsws[0]!.vpcId, vSwitchIds: vswIds, securityGroupId: sgId,
            zoneId: zone, resourceGroupId: str(ctx, 'ResourceGroupId') ?? 'rg-default', kubeConfig, tlsBootstrapEnabled: str(ctx, 'TlsBootstrapEnabled') === 'true',
            tags: tagList, taints: taints.map((t) => ({ Key: t.Key!, Value: t.Value ?? '', Effect: t.Effect! })) as Taint[],
            customResources: str(ctx, 'CustomResources') ?? '', clusterDns: str(ctx, 'ClusterDNS') ?? '', clusterDomain: str(ctx, 'ClusterDomain') ?? '',
            creationTime: iso(ctx.now), intranetIp: vnodeIp(ctx, base), events: [],
          };
          if (!v.name) v.name = v.id;
          // a valid request only: an invalid one changes nothing, the role included
          linkedRole(ctx);
          ctx.state.data.virtualNodes.push(v);
          hooks.virtualNodeCreated?.(v);
          return { VirtualNodeId: v.id };
        });
      },
      DescribeVirtualNodes(ctx) {
        region(ctx);
        const ids = jsonIds(ctx, 'VirtualNodeIds');
        const name = str(ctx, 'VirtualNodeName');
        const status = str(ctx, 'Status');
        const rg = str(ctx, 'ResourceGroupId');
        const want = tags(ctx);
        // deleted ones linger as Cleaned, with the tags they had
        const cleaned = (ctx.state.data.cleanedVirtualNodes ??= []).filter((v) => Date.now() - v.cleanedAt < CLEANED_RETENTION_MS);
        if (cleaned.length !== ctx.state.data.cleanedVirtualNodes.length) ctx.state.saveSoon();
        ctx.state.data.cleanedVirtualNodes = cleaned;
        const all = [...ctx.state.data.virtualNodes, ...cleaned].filter((v) => (!ids || ids.includes(v.id)) && (!name || v.name === name) && (!status || v.status === status)
          && (!rg || v.resourceGroupId === rg) && matchTags(v.tags, want));
        const p = page(ctx, all);
        return { TotalCount: all.length, NextToken: p.next, VirtualNodes: p.items.map(vnodeView) };
      },
      DeleteVirtualNode(ctx) {
        region(ctx);
        const id = str(ctx, 'VirtualNodeId');
        if (!id) throw missing('VirtualNodeId');
        return idempotent(ctx, 'DeleteVirtualNode', idempotencyWindowMs, () => {
          const v = ctx.state.data.virtualNodes.find((x) => x.id === id);
          if (!v && goneDeletes === 'success' && ctx.state.data.cleanedVirtualNodes?.some((x) => x.id === id)) return {};
          if (!v) throw new ApiError(400, 'InvalidVirtualNodeId.NotFound', `The specified virtual node ${id} does not exist.`);
          releaseDue(ctx.state);
          // documented: no ECI instance may exist on the node; ASSUMPTION: the code, and that ended instances do not count
          const on = ctx.state.data.containerGroups.filter((c) => c.virtualNodeId === v.id && !ENDED.includes(c.status));
          if (on.length > 0) {
            throw new ApiError(400, 'IncorrectStatus', `The virtual node ${v.id} still has ${on.length} ECI instance(s) (${on.slice(0, 5).map((c) => c.id).join(', ')}${on.length > 5 ? ', ...' : ''}); delete them before the node.`);
          }
          ctx.state.data.virtualNodes = ctx.state.data.virtualNodes.filter((x) => x !== v);
          (ctx.state.data.cleanedVirtualNodes ??= []).push({ ...v, status: 'Cleaned', events: [], cleanedAt: Date.now() });
          hooks.virtualNodeDeleted?.(v);
          return {};
        });
      },
      UpdateVirtualNode(ctx) {
        region(ctx);
        const id = str(ctx, 'VirtualNodeId');
        if (!id) throw missing('VirtualNodeId');
        return idempotent(ctx, 'UpdateVirtualNode', idempotencyWindowMs, () => {
          const v = ctx.state.data.virtualNodes.find((x) => x.id === id);
          if (!v) throw new ApiError(400, 'InvalidVirtualNodeId.NotFound', `The specified virtual node ${id} does not exist.`);
          const name = str(ctx, 'VirtualNodeName');
          if (name !== undefined) {
            if (!/^[a-z0-9][a-z0-9.-]{0,126}[a-z0-9]$/.test(name)) throw invalid('VirtualNodeName', 'must be 2-128 lowercase letters, digits, "." or "-"');
            v.name = name;
          }
          // tags are merged: a key given replaces that key's value, the others stay
          for (const t of tags(ctx)) v.tags = [...v.tags.filter((x) => x.Key !== t.Key), t];
          v.customResources = str(ctx, 'CustomResources') ?? v.customResources;
          v.clusterDns = str(ctx, 'ClusterDNS') ?? v.clusterDns;
          v.clusterDomain = str(ctx, 'ClusterDomain') ?? v.clusterDomain;
          return {};
        });
      },
      CreateContainerGroup(ctx) {
        const regionId = region(ctx);
        releaseDue(ctx.state);
        return idempotent(ctx, 'CreateContainerGroup', idempotencyWindowMs, () => {
          const name = str(ctx, 'ContainerGroupName');
          if (!name) throw missing('ContainerGroupName');
          if (!/^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$/.test(name)) throw invalid('ContainerGroupName', 'must be 2-128 lowercase letters, digits or "-", starting and ending with a letter or digit');
          const sgId = str(ctx, 'SecurityGroupId');
          if (!sgId) throw missing('SecurityGroupId');
          const vswRaw = str(ctx, 'VSwitchId');
          if (!vswRaw) throw missing('VSwitchId');
          const vswIds = vswRaw.split(',').map((x) => x.trim()).filter(Boolean);
          if (vswIds.length > 10) throw invalid('VSwitchId', 'specify 1 to 10 vSwitches');
          const vsws = vswIds.map((id) => {
            const v = ctx.state.data.vswitches.find((x) => x.id === id);
            if (!v) throw new ApiError(404, 'InvalidVSwitchId.NotFound', `The specified vSwitch ${id} does not exist.`);
            return v;
          });
          const sg = ctx.state.data.securityGroups.find((x) => x.id === sgId);
          if (!sg) throw new ApiError(404, 'InvalidSecurityGroupId.NotFound', `The specified security group ${sgId} does not exist.`);
          if (vsws.some((v) => v.vpcId !== sg.vpcId)) throw new ApiError(400, 'InvalidParameter.Mismatch', 'The security group and the vSwitches are not in the same VPC.');
          const containers = indexed(ctx, 'Container', ['Name', 'Image']);
          if (containers.length === 0) throw missing('Container');
          if (containers.some((c) => !c.Name || !c.Image)) throw invalid('Container', 'each container needs Name and Image');
          // ECI picks a zone with stock among the vSwitches; here the first Available one
          const home = vsws.find((v) => v.status === 'Available');
          if (!home) throw new ApiError(400, 'InvalidVSwitchId.NotAvailable', `None of the vSwitches ${vswIds.join(',')} is Available.`);
          const cg: ContainerGroupRec = {
            id: randomId('eci-', 20), name, status: 'Running', regionId, zoneId: home.zoneId, vSwitchId: home.id, securityGroupId: sgId,
            creationTime: iso(ctx.now), intranetIp: allocateIp(ctx.state, home.id), cpu: Number(str(ctx, 'Cpu') ?? 2), memory: Number(str(ctx, 'Memory') ?? 4),
            ...(str(ctx, 'InstanceType') ? { instanceType: str(ctx, 'InstanceType')! } : {}), ...(str(ctx, 'SpotStrategy') ? { spotStrategy: str(ctx, 'SpotStrategy')! } : {}),
            ...categoryOf(ctx),
            tags: tags(ctx), createdBy: { accessKeyId: ctx.caller.accessKeyId, user: ctx.caller.user },
            containers: containers.map((c) => ({ name: c.Name!, image: c.Image! })),
          };
          ctx.state.data.containerGroups.push(cg);
          return { ContainerGroupId: cg.id };
        });
      },
      DescribeContainerGroups(ctx) {
        region(ctx);
        releaseDue(ctx.state);
        const ids = jsonIds(ctx, 'ContainerGroupIds');
        const want = tags(ctx);
        const f = (k: string): string | undefined => str(ctx, k);
        const all = ctx.state.data.containerGroups.filter((c) => (!ids || ids.includes(c.id)) && (!f('ContainerGroupName') || c.name === f('ContainerGroupName'))
          && (!f('Status') || c.status === f('Status')) && (!f('VSwitchId') || c.vSwitchId === f('VSwitchId')) && (!f('SecurityGroupId') || c.securityGroupId === f('SecurityGroupId'))
          && (!f('ZoneId') || c.zoneId === f('ZoneId')) && matchTags(c.tags, want));
        const p = page(ctx, all);
        return { TotalCount: all.length, NextToken: p.next, ContainerGroups: p.items.map(cgView) };
      },
      DeleteContainerGroup(ctx) {
        region(ctx);
        releaseDue(ctx.state);
        const id = str(ctx, 'ContainerGroupId');
        if (!id) throw missing('ContainerGroupId');
        return idempotent(ctx, 'DeleteContainerGroup', idempotencyWindowMs, () => {
          const c = ctx.state.data.containerGroups.find((x) => x.id === id);
          if (!c && goneDeletes === 'success' && /^eci-/.test(id)) return {};
          if (!c) throw new ApiError(400, 'InvalidContainerGroupId.NotFound', `The specified container group ${id} does not exist.`);
          ctx.state.data.containerGroups = ctx.state.data.containerGroups.filter((x) => x !== c);
          return {};
        });
      },
    },
  };
}
