import { deniedAction } from '../../cloud/errors.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { ACK_SERVICE_ROLES, ECI_VNODE_ROLE, ECI_VNODE_SERVICE, NOT_ACTIVATED_CODES } from '../../assumptions.js';

/**
 * What a first account lacks, found before anything changes: ECI activated (and serving the region), ACK activated,
 * ACK's service roles authorized, the ECI VNode service-linked role (or the right to create it).
 */
export type AccountNeed = 'eci' | 'ack' | 'ack-roles' | 'eci-vnode-role';

export interface AccountFinding {
  need: AccountNeed;
  ok: boolean;
  /** Passing but worth saying (the service-linked role not created yet). */
  note?: boolean;
  detail: string;
  /** The one thing to do. */
  remedy?: string;
}

export const ECI_CONSOLE = 'https://eci.console.aliyun.com';
export const ACK_CONSOLE = 'https://cs.console.aliyun.com';

function notActivated(e: unknown): boolean {
  return e instanceof VnodeError && NOT_ACTIVATED_CODES.includes(e.code);
}

async function checkEci(cloud: CloudPorts): Promise<AccountFinding> {
  let regions: string[];
  try {
    regions = await cloud.eci.describeRegions();
    // a read of the region's own resources: what a service that is not activated refuses
    await cloud.eci.describeVirtualNodes({ name: 'vnode-account-check' });
  } catch (e) {
    if (!notActivated(e)) throw e;
    return { need: 'eci', ok: false, detail: 'Elastic Container Instance is not activated for this account (ServiceNotEnabled)', remedy: `activate it once in the ECI console (${ECI_CONSOLE}), then run again` };
  }
  if (!regions.includes(cloud.regionId)) {
    return { need: 'eci', ok: false, detail: `ECI does not serve region ${cloud.regionId}`, remedy: `pass --region with a region ECI serves: ${regions.join(', ') || 'none listed'}` };
  }
  return { need: 'eci', ok: true, detail: `ECI activated, serving ${cloud.regionId}` };
}

async function ackActivated(cloud: CloudPorts): Promise<boolean> {
  try {
    await cloud.cs.findClusters('vnode-account-check');
    return true;
  } catch (e) {
    if (notActivated(e)) return false;
    throw e;
  }
}

async function checkAck(ctx: Context, cloud: CloudPorts, activate: boolean): Promise<AccountFinding> {
  if (await ackActivated(cloud)) return { need: 'ack', ok: true, detail: 'Container Service (ACK) activated' };
  if (activate) {
    await ctx.status.step('Activating the Container Service (OpenAckService, pay-as-you-go)', () => cloud.cs.openAckService().catch((e: unknown) => {
      if (deniedAction(e)) throw e;
      // activating twice answers an error whose code is undocumented: what counts is the read below
      ctx.out.debug(`OpenAckService: ${(e as Error).message}`);
    }));
    if (await ackActivated(cloud)) return { need: 'ack', ok: true, detail: 'Container Service (ACK) activated by this run (OpenAckService)' };
  }
  return {
    need: 'ack', ok: false, detail: 'the Container Service (ACK) is not activated for this account',
    remedy: `activate it once: run again with --activate-ack (OpenAckService; the account or a RAM user with AdministratorAccess), or in the ACK console (${ACK_CONSOLE})`,
  };
}

async function checkAckRoles(cloud: CloudPorts): Promise<AccountFinding> {
  const roles = await cloud.cs.checkServiceRoles(ACK_SERVICE_ROLES);
  const missing = roles.filter((r) => !r.granted).map((r) => r.name);
  if (missing.length === 0) return { need: 'ack-roles', ok: true, detail: `ACK service roles authorized: ${ACK_SERVICE_ROLES.join(', ')}` };
  return {
    need: 'ack-roles', ok: false, detail: `ACK's service roles are not authorized: ${missing.join(', ')}`,
    remedy: `authorize them once, as the account or a RAM administrator: open the ACK console (${ACK_CONSOLE}) and accept its Cloud Resource Access Authorization (RAM console, Roles: ${missing.join(', ')})`,
  };
}

/** Read-only: whether the role exists; creating it is `ensureEciVnodeRole`'s. */
async function checkEciVnodeRole(cloud: CloudPorts): Promise<AccountFinding> {
  let exists: boolean | undefined;
  try {
    exists = await cloud.ram.roleExists(ECI_VNODE_ROLE);
  } catch (e) {
    if (!deniedAction(e)) throw e;
  }
  if (exists) return { need: 'eci-vnode-role', ok: true, detail: `service-linked role ${ECI_VNODE_ROLE} exists` };
  return {
    need: 'eci-vnode-role', ok: true, note: true,
    detail: exists === false ? `service-linked role ${ECI_VNODE_ROLE} is not created yet: the first install creates it, which needs ram:CreateServiceLinkedRole`
      : `cannot tell whether ${ECI_VNODE_ROLE} exists (no ram:GetRole): the first install creates it if not, which needs ram:CreateServiceLinkedRole`,
  };
}

/** Creates the VNode service-linked role now (what the first CreateVirtualNode would do), so a missing right stops the run before any change. */
async function ensureEciVnodeRole(ctx: Context, cloud: CloudPorts): Promise<AccountFinding> {
  const read = await checkEciVnodeRole(cloud);
  if (!read.note) return read;
  if (ctx.flags.dryRun) return read;
  try {
    const r = await ctx.status.step(`Creating the service-linked role ${ECI_VNODE_ROLE} (CreateServiceLinkedRole)`, () => cloud.rm.createServiceLinkedRole(ECI_VNODE_SERVICE));
    return { need: 'eci-vnode-role', ok: true, detail: `service-linked role ${ECI_VNODE_ROLE} ${r === 'created' ? 'created' : 'exists'}` };
  } catch (e) {
    const denied = deniedAction(e);
    if (!denied) throw e;
    return {
      need: 'eci-vnode-role', ok: false, detail: `the first VNode of an account creates the service-linked role ${ECI_VNODE_ROLE}, and the caller may not (${denied} denied)`,
      remedy: `grant ram:CreateServiceLinkedRole to the caller, or have an administrator create the role once: aliyun resourcemanager CreateServiceLinkedRole --ServiceName ${ECI_VNODE_SERVICE}`,
    };
  }
}

/**
 * Each need checked in turn. Read only (doctor) unless `act`: then ACK is activated when asked, and the VNode
 * service-linked role is created (only when nothing else is missing, so nothing changes on an account not ready).
 */
async function check(ctx: Context, cloud: CloudPorts, needs: AccountNeed[], act: { activateAck: boolean } | undefined): Promise<AccountFinding[]> {
  const out: AccountFinding[] = [];
  for (const need of needs) {
    if (need === 'eci') out.push(await checkEci(cloud));
    else if (need === 'ack') out.push(await checkAck(ctx, cloud, act?.activateAck === true));
    // roles of a service that is not activated cannot be told apart from missing ones
    else if (need === 'ack-roles') { if (out.find((f) => f.need === 'ack')?.ok !== false) out.push(await checkAckRoles(cloud)); }
    else if (!act) out.push(await checkEciVnodeRole(cloud));
    else if (!out.some((f) => !f.ok)) out.push(await ensureEciVnodeRole(ctx, cloud));
  }
  return out;
}

/** Every need, read only (doctor). */
export function accountFindings(ctx: Context, cloud: CloudPorts, needs: AccountNeed[]): Promise<AccountFinding[]> {
  return check(ctx, cloud, needs, undefined);
}

/**
 * Before the first change of a command: exits 1 naming everything the account lacks and the one thing to do for
 * each. --activate-ack activates ACK (a documented call the operator asked for); the VNode service-linked role is
 * created here, as CreateVirtualNode would, so a missing right stops the run before anything else changed.
 */
export async function requireAccount(ctx: Context, cloud: CloudPorts, needs: AccountNeed[], opts: { activateAck?: boolean } = {}): Promise<void> {
  const lacking = (await check(ctx, cloud, needs, { activateAck: opts.activateAck === true })).filter((f) => !f.ok);
  if (lacking.length === 0) return;
  throw operationError('AccountNotReady', `the Alibaba Cloud account is not ready; nothing was changed: ${lacking.map((f) => f.detail).join('; ')}`, {
    hint: lacking.map((f) => f.remedy).filter(Boolean).join('; '),
    details: { lacking: lacking.map((f) => f.need) },
  });
}
