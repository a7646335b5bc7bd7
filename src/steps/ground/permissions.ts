import { randomUUID } from 'node:crypto';
import { deniedAction } from '../../cloud/errors.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { Context } from '../../context.js';
import { operationError } from '../../errors.js';

/**
 * Whether the caller may make the calls a command will make after its first change, asked before that change. No
 * API here has a dry run, so each is probed with a request that cannot change anything (an id that does not exist,
 * a name that is not valid): a RAM denial means no permission; any other answer means it was allowed (or that the
 * service checked the request before the permission, which only leaves the denial for later, as without a probe).
 * ASSUMPTION: the gateway checks RAM before the request's parameters, as the emulator does; not documented.
 */
export interface Probe { action: string; call(cloud: CloudPorts): Promise<unknown> }

const NONE = 'vnode-permission-probe';
/** A RAM user name that cannot exist (RAM allows letters, digits, '.', '_', '-' and '@'): a probe on it can act on nothing. */
const NO_USER = `!${NONE}`;

export const PROBES = {
  createVirtualNode: { action: 'eci:CreateVirtualNode', call: (c) => c.eci.createVirtualNode({ name: NONE, vSwitchIds: [], securityGroupId: '', kubeConfig: '', tlsBootstrapEnabled: false, tags: [], taints: [], clientToken: randomUUID() }) },
  deleteVirtualNode: { action: 'eci:DeleteVirtualNode', call: (c) => c.eci.deleteVirtualNode(`vnd-${NONE}`, randomUUID()) },
  deleteContainerGroup: { action: 'eci:DeleteContainerGroup', call: (c) => c.eci.deleteContainerGroup(`eci-${NONE}`, randomUUID()) },
  createCluster: { action: 'cs:CreateCluster', call: (c) => c.cs.createCluster({ name: `-${NONE}`, vpcId: '', vSwitchIds: [], tags: [], endpointPublicAccess: false }) },
  installAddon: { action: 'cs:InstallClusterAddons', call: (c) => c.cs.installAddon(`c${NONE}`, { name: NONE, version: 'v0' }) },
  uninstallAddon: { action: 'cs:UnInstallClusterAddons', call: (c) => c.cs.uninstallAddon(`c${NONE}`, NONE) },
  deleteCluster: { action: 'cs:DeleteCluster', call: (c) => c.cs.deleteCluster(`c${NONE}`) },
  // reads a command makes after its first change: asked as well, so none is found missing half-way
  describeCluster: { action: 'cs:DescribeClusterDetail', call: (c) => c.cs.describeCluster(`c${NONE}`) },
  describeExternalAgent: { action: 'cs:DescribeExternalAgent', call: (c) => c.cs.describeExternalAgent(`c${NONE}`, false) },
  describeTask: { action: 'cs:DescribeTaskInfo', call: (c) => c.cs.describeTask(`T-${NONE}`) },
  getAddonInstance: { action: 'cs:GetClusterAddonInstance', call: (c) => c.cs.getAddonInstance(`c${NONE}`, NONE) },
  createUser: { action: 'ram:CreateUser', call: (c) => c.ram.ensureUser(NO_USER, NONE, NONE) },
  createPolicy: { action: 'ram:CreatePolicy', call: (c) => c.ram.createPolicy(`!${NONE}`, '{}', NONE) },
  attachPolicy: { action: 'ram:AttachPolicyToUser', call: (c) => c.ram.attachPolicyToUser(NO_USER, { name: 'AliyunECIReadOnlyAccess', type: 'System' }) },
  createAccessKey: { action: 'ram:CreateAccessKey', call: (c) => c.ram.createAccessKey(NO_USER) },
} satisfies Record<string, Probe>;

/** Exit 1 before any change, naming every action the caller lacks, when one of the probes is denied. */
export async function requirePermissions(ctx: Context, cloud: CloudPorts, probes: Probe[]): Promise<void> {
  if (probes.length === 0 || ctx.flags.skipPermissionCheck) return;
  const denied: string[] = [];
  await ctx.status.step(`Checking the caller may ${probes.map((p) => p.action).join(', ')}`, async () => {
    for (const p of probes) {
      try {
        await p.call(cloud);
      } catch (e) {
        const action = deniedAction(e);
        if (action) denied.push(action);
      }
    }
  });
  if (denied.length === 0) return;
  throw operationError('PermissionDenied', `the caller may not ${[...new Set(denied)].join(', ')}, which this command needs after its first change; nothing was changed`, {
    hint: 'grant them to the caller (`vnode ram operator-policy` prints a least-privilege policy with every action vnode needs), then run the same command again. '
      + 'Each was asked with an id or name that does not exist: a policy scoped by tag or resource (acs:ResourceTag, a Resource ARN) may deny that and still allow the real call; '
      + 'if yours is so scoped, run again with --skip-permission-check and the real calls decide',
    details: { denied: [...new Set(denied)] },
  });
}
