import { deniedAction } from '../../cloud/errors.js';
import type { CloudPorts } from '../../cloud/port.js';
import type { Context } from '../../context.js';
import { operationError, VnodeError } from '../../errors.js';
import { ACK_SERVICE_ROLES, ECI_VNODE_ROLE, ECI_VNODE_SERVICE, missingRoleOf, NOT_ACTIVATED_CODES, ROLE_MISSING_CODE } from '../../assumptions.js';

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
    return { need: 'eci', ok: false, detail: `Elastic Container Instance is not activated for this account (${(e as VnodeError).code})`, remedy: `activate it once in the ECI console (${ECI_CONSOLE}), then run again` };
  }
  if (!regions.includes(cloud.regionId)) {
    return { need: 'eci', ok: false, detail: `ECI does not serve region ${cloud.regionId}`, remedy: `pass --region with a region ECI serves: ${regions.join(', ') || 'none listed'}` };
  }
  return { need: 'eci', ok: true, detail: `ECI activated, serving ${cloud.regionId}` };
}

/** What a read of the Container Service tells: activated, not activated, or activated without its default role. */
type AckRead = { activated: true; roleMissing?: string } | { activated: false; code: string };

async function readAck(cloud: CloudPorts): Promise<AckRead> {
  try {
    await cloud.cs.findClusters('vnode-account-check');
    return { activated: true };
  } catch (e) {
    if (notActivated(e)) return { activated: false, code: (e as VnodeError).code };
    if (e instanceof VnodeError && e.code === ROLE_MISSING_CODE) return { activated: true, roleMissing: missingRoleOf(e.message) ?? ACK_SERVICE_ROLES[0]! };
    throw e;
  }
}

const ACK_NOT_ACTIVATED_REMEDY = `activate it once: run again with --activate-ack (OpenAckService; the account or a RAM user with AdministratorAccess), or in the ACK console (${ACK_CONSOLE})`;

/** The ACK finding, read only. */
function ackFinding(read: AckRead, refusal = ''): AccountFinding {
  if (read.activated) return { need: 'ack', ok: true, detail: 'Container Service (ACK) activated' };
  return {
    need: 'ack', ok: false, detail: `the Container Service (ACK) is not activated for this account (${read.code})${refusal ? `; ${refusal}` : ''}`,
    remedy: refusal ? `resolve what OpenAckService answered (e.g. the account's balance or real-name verification), or activate ACK in its console (${ACK_CONSOLE}), then run again` : ACK_NOT_ACTIVATED_REMEDY,
  };
}

/** OpenAckService, then ACK read again; its refusal (other than "already open") is said with its code. */
async function activateAck(ctx: Context, cloud: CloudPorts, done: string[]): Promise<AccountFinding> {
  let refusal = '';
  await ctx.status.step('Activating the Container Service (OpenAckService, pay-as-you-go)', () => cloud.cs.openAckService().catch((e: unknown) => {
    if (deniedAction(e)) throw e;
    const code = e instanceof VnodeError ? String((e.details as { code?: unknown } | undefined)?.code ?? e.code) : 'Error';
    if (code !== 'ORDER.OPEND') refusal = `OpenAckService refused: ${code}: ${firstLine(e)}`;
    ctx.out.debug(`OpenAckService: ${(e as Error).message}`);
  }));
  const read = await readAck(cloud);
  if (!read.activated) return ackFinding(read, refusal);
  done.push('activated the Container Service (OpenAckService, pay-as-you-go)');
  return { need: 'ack', ok: true, detail: 'Container Service (ACK) activated by this run (OpenAckService)' };
}

function firstLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!;
}

async function checkAckRoles(cloud: CloudPorts, read: AckRead): Promise<AccountFinding> {
  const missing = new Set<string>();
  if (read.activated && read.roleMissing) missing.add(read.roleMissing);
  try {
    for (const r of await cloud.cs.checkServiceRoles(ACK_SERVICE_ROLES)) if (!r.granted) missing.add(r.name);
  } catch (e) {
    // the default role missing is answered to CheckServiceRole too, where ACK does so: the role it names counts
    if (!(e instanceof VnodeError && e.code === ROLE_MISSING_CODE)) throw e;
    missing.add(missingRoleOf(e.message) ?? ACK_SERVICE_ROLES[0]!);
  }
  if (missing.size === 0) return { need: 'ack-roles', ok: true, detail: `ACK service roles authorized: ${ACK_SERVICE_ROLES.join(', ')}` };
  const names = [...missing];
  return {
    need: 'ack-roles', ok: false, detail: `ACK's service roles are not authorized: ${names.join(', ')}${read.activated && read.roleMissing ? ` (${ROLE_MISSING_CODE})` : ''}`,
    remedy: `authorize them once, as the account or a RAM administrator: open the ACK console (${ACK_CONSOLE}) and accept its Cloud Resource Access Authorization (RAM console, Roles: ${names.join(', ')})`,
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
async function check(ctx: Context, cloud: CloudPorts, needs: AccountNeed[], act: { activateAck: boolean } | undefined, done: string[] = []): Promise<AccountFinding[]> {
  const out: AccountFinding[] = [];
  let ack: AckRead | undefined;
  for (const need of needs) {
    if (need === 'eci') out.push(await checkEci(cloud));
    else if (need === 'ack') out.push(ackFinding(ack = await readAck(cloud)));
    else if (need === 'ack-roles') {
      const roles = await checkAckRoles(cloud, ack ?? await readAck(cloud)).catch((e: unknown) => {
        // before ACK is activated its roles may not be asked: the activation finding stands for them
        if (notActivated(e)) return undefined;
        throw e;
      });
      if (roles) out.push(roles);
    }
  }
  // ACK is activated only when asked and when it is the one thing missing: nothing is ordered for an account not ready otherwise
  const lacking = out.filter((f) => !f.ok);
  if (act?.activateAck && lacking.length === 1 && lacking[0]!.need === 'ack') out.splice(out.indexOf(lacking[0]!), 1, await activateAck(ctx, cloud, done));
  if (needs.includes('eci-vnode-role')) {
    if (!act) out.push(await checkEciVnodeRole(cloud));
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
 * each. --activate-ack activates ACK (a documented call the operator asked for) when it is the one thing missing;
 * the VNode service-linked role is created here, as CreateVirtualNode would, so a missing right stops the run before
 * anything else changed. What this check did itself is said.
 */
export async function requireAccount(ctx: Context, cloud: CloudPorts, needs: AccountNeed[], opts: { activateAck?: boolean } = {}): Promise<void> {
  const done: string[] = [];
  const lacking = (await check(ctx, cloud, needs, { activateAck: opts.activateAck === true }, done)).filter((f) => !f.ok);
  if (lacking.length === 0) return;
  const changed = done.length ? `this run ${done.join(' and ')}; nothing else was changed` : 'nothing was changed';
  throw operationError('AccountNotReady', `the Alibaba Cloud account is not ready; ${changed}: ${lacking.map((f) => f.detail).join('; ')}`, {
    hint: lacking.map((f) => f.remedy).filter(Boolean).join('; '),
    details: { lacking: lacking.map((f) => f.need), done },
  });
}
