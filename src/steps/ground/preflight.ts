import { deniedAction } from '../../cloud/errors.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { ClusterPort } from '../../cluster/port.js';
import { beyondDocumented, documentedByAlibaba, SUPPORTED_MIN_MINOR, supportRange, TESTED_MAX_MINOR } from '../../cluster/versions.js';
import { usageError, VnodeError } from '../../errors.js';

/** Cloud failures that mean the input was wrong: exit 2, as nothing has changed yet. */
export function asInput(e: unknown): never {
  const code = (e as VnodeError).code ?? '';
  if (e instanceof VnodeError && (code === 'InvalidRegionId.NotFound' || code.startsWith('InvalidRegionId'))) {
    throw usageError('UnknownRegion', `unknown region: ${e.message.replace(/^[^:]+: /, '')}`, 'pass --region with a region id such as cn-hangzhou');
  }
  if (e instanceof VnodeError && code === 'NoCredentials') throw new VnodeError('usage', code, e.message, e.hint ? { hint: e.hint } : {});
  if (e instanceof VnodeError && deniedAction(e) !== undefined) {
    // the denied action is in the message; the hint says where the whole set is
    throw new VnodeError('operation', code, e.message, { hint: `${e.hint ?? ''}; \`vnode ram operator-policy\` prints a least-privilege policy with every action vnode needs`.replace(/^; /, ''), cause: e });
  }
  throw e;
}

export interface NetworkCheck { vpcId: string; zones: string[]; warnings: string[] }

/** Refuses servers older than virtual nodes support; warns above the tested range. */
export async function checkVersion(cluster: ClusterPort): Promise<string[]> {
  const v = await cluster.version();
  const range = supportRange(v);
  if (range === 'too old') {
    throw usageError('UnsupportedVersion', `Kubernetes ${v.gitVersion} is older than the 1.${SUPPORTED_MIN_MINOR}–1.${TESTED_MAX_MINOR} range virtual nodes support`, 'upgrade the cluster first');
  }
  if (range === 'newer than tested') return [`Kubernetes ${v.gitVersion} is newer than vnode is tested with (1.${SUPPORTED_MIN_MINOR}–1.${TESTED_MAX_MINOR}); ${beyondDocumented(v.gitVersion).split(': ')[1]}`];
  return documentedByAlibaba(v) ? [] : [beyondDocumented(v.gitVersion)];
}

export function opensKubeletPorts(perms: { protocol: string; portRange: string; direction: string; policy: string }[]): boolean {
  const covers = (port: number): boolean => perms.some((p) => {
    if (p.direction !== 'ingress' || p.policy === 'Drop' || !['TCP', 'ALL'].includes(p.protocol.toUpperCase())) return false;
    const [lo, hi] = p.portRange.split('/').map(Number) as [number, number];
    return (lo === -1 && hi === -1) || (lo <= port && port <= hi);
  });
  return covers(10250) && covers(10255);
}

/** vSwitches Available and of one VPC, the security group in that VPC (and open for the kubelet ports: a warning). */
export async function checkNetwork(cloud: CloudPorts, opts: { vswitches: string[]; securityGroup: string | undefined; zone?: string | undefined }): Promise<NetworkCheck> {
  const warnings: string[] = [];
  const found = await Promise.all(opts.vswitches.map((id) => cloud.vpc.describeVSwitches({ vSwitchId: id }).catch(asInput)));
  const vsws = found.map((list, i) => {
    const vsw = list.find((x) => x.id === opts.vswitches[i]);
    if (!vsw) throw usageError('UnknownVSwitch', `unknown vSwitch ${opts.vswitches[i]} in region ${cloud.regionId}`, 'list them with `aliyun vpc DescribeVSwitches`, or run on a terminal to choose');
    if (vsw.status !== 'Available') throw usageError('VSwitchNotAvailable', `vSwitch ${vsw.id} is ${vsw.status}, not Available`);
    return vsw;
  });
  const vpcs = [...new Set(vsws.map((x) => x.vpcId))];
  if (vpcs.length > 1) {
    throw usageError('VSwitchesInSeveralVpcs', `the vSwitches belong to different VPCs (${vsws.map((x) => `${x.id} in ${x.vpcId}`).join(', ')}); a virtual node uses vSwitches of one VPC`);
  }
  const vpcId = vpcs[0]!;
  const zones = [...new Set(vsws.map((x) => x.zoneId))];
  if (opts.zone && !zones.includes(opts.zone)) throw usageError('ZoneMismatch', `--zone ${opts.zone} has none of the given vSwitches (their zones: ${zones.join(', ')})`);
  if (!opts.securityGroup) throw usageError('SecurityGroupRequired', `a security group is needed: pass --security-group with one of ${vpcId}`, `list them with \`aliyun ecs DescribeSecurityGroups --VpcId ${vpcId}\``);
  const sgs = await cloud.ecs.describeSecurityGroups({ ids: [opts.securityGroup] });
  const sg = sgs.find((g) => g.id === opts.securityGroup);
  if (!sg) throw usageError('UnknownSecurityGroup', `unknown security group ${opts.securityGroup} in region ${cloud.regionId}`);
  if (sg.vpcId !== vpcId) throw usageError('SecurityGroupVpcMismatch', `security group ${sg.id} is in ${sg.vpcId}, the vSwitches in ${vpcId}`);
  const perms = await cloud.ecs.describeSecurityGroupPermissions(sg.id);
  if (perms && !opensKubeletPorts(perms)) warnings.push(`security group ${sg.id} has no inbound rule for TCP 10250 and 10255 (kubelet API and metrics): kubectl logs/exec and metrics on virtual-node pods will not work`);
  return { vpcId, zones, warnings };
}
