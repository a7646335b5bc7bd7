import { requireAccount } from '../ground/account.js';
import { PROBES, requirePermissions } from '../ground/permissions.js';
import { asInput } from '../ground/preflight.js';
import { createHash } from 'node:crypto';
import type { RamPolicyRef, RamPort } from '../../cloud/port.js';
import { clusterUid } from '../../cluster/cluster-id.js';
import { MANAGED_BY, MANAGED_BY_LABEL, type ClusterPort, type KubeObject } from '../../cluster/port.js';
import type { Context } from '../../context.js';
import { operationError, usageError } from '../../errors.js';
import { readTemplate } from '../../util/templates.js';
import { ADDON, ADDON_NAMESPACE as NAMESPACE, CONTROLLER_DEPLOYMENT, CONTROLLER_REF, restartController } from '../ground/virtual-nodes.js';
import { ANNOTATION_KEYS, ANNOTATION_POLICIES, ANNOTATION_USER, ADDON_SECRET, attachedByVnode, deleteAddonSecret, readAddonSecret, readKeyLedger, writeAddonSecret, writeKeyLedger, writePolicyLedger } from './addon-secret.js';

export const DEFAULT_POLICY = 'vnode-ack-virtual-node';
export const MAX_KEYS = 2;
/** Marks users vnode created, so revoke --delete-user deletes only those. */
export const USER_COMMENT_PREFIX = 'Created by vnode';
/** In the description of the policy vnode creates, so revoke --delete-user deletes only that one. */
export const POLICY_CREATED_BY = '(created by vnode)';

export function policyDocument(): string {
  return JSON.stringify(JSON.parse(readTemplate('ram-policy-ack-virtual-node.json')));
}

/** What the person running vnode needs for the VNode flow (not ram grant, which needs RAM rights of its own). */
export function operatorPolicyDocument(): string {
  return JSON.stringify(JSON.parse(readTemplate('ram-policy-operator.json')), null, 2);
}

/**
 * Actions of the documented virtual-node policy that the public ECI SDK does not expose: RAM action names also cover
 * internal APIs, and Alibaba documents these for virtual nodes. Kept: a missing permission breaks pods, an extra one
 * costs nothing.
 */
export const INTERNAL_ECI_ACTIONS = ['eci:UpdateContainerGroupByTemplate', 'eci:CreateContainerGroupFromTemplate', 'eci:ExportContainerGroupTemplate'];

export function actionsOf(document: string): string[] {
  const doc = JSON.parse(document) as { Statement: { Action: string | string[] }[] };
  return doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** RAM keeps at most this many versions of a policy. */
export const MAX_POLICY_VERSIONS = 5;

/** A new default version with vnode's document; the oldest non-default version goes first when all 5 are used. */
async function updatePolicy(ctx: Context, ram: RamPort): Promise<{ version: string; deletedVersion: string | undefined }> {
  const versions = await ram.listPolicyVersions(DEFAULT_POLICY);
  let deletedVersion: string | undefined;
  if (versions.length >= MAX_POLICY_VERSIONS) {
    deletedVersion = versions.find((v) => !v.isDefault)?.id;
    if (deletedVersion) await ctx.status.step(`Deleting version ${deletedVersion} of ${DEFAULT_POLICY} (RAM keeps ${MAX_POLICY_VERSIONS})`, () => ram.deletePolicyVersion(DEFAULT_POLICY, deletedVersion!));
  }
  const version = await ctx.status.step(`Updating RAM policy ${DEFAULT_POLICY}`, () => ram.createPolicyVersion(DEFAULT_POLICY, policyDocument()), (v) => `version ${v}, default`);
  return { version, deletedVersion };
}

export function validateUserName(name: string): string {
  if (name.length < 1 || name.length > 64 || !/^[A-Za-z0-9._-]+$/.test(name)) {
    throw usageError('InvalidUser', `invalid --user "${name}": a RAM user name is 1-64 characters of letters, digits, '.', '_' and '-'`);
  }
  return name;
}

export function validatePolicyName(name: string): string {
  if (name.length < 1 || name.length > 128 || !/^[A-Za-z0-9-]+$/.test(name)) {
    throw usageError('InvalidPolicy', `invalid --policy "${name}": a RAM policy name is 1-128 characters of letters, digits and '-'`);
  }
  return name;
}

/** vnode-addon-<8 hex of the kube-system UID>: the same cluster always finds the same user. */
export async function defaultUserName(cluster: ClusterPort): Promise<string> {
  const uid = await clusterUid(cluster, 'pass --user <name>');
  return `vnode-addon-${createHash('sha256').update(uid).digest('hex').slice(0, 8)}`;
}

function sameDocument(a: string, b: string): boolean {
  try { return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b)); } catch { return a === b; }
}

function refKey(p: RamPolicyRef): string {
  return `${p.type}:${p.name}`;
}

/** A named policy is a system policy if RAM has one by that name, else a custom one (which must exist). */
async function resolvePolicy(ram: RamPort, name: string): Promise<{ ref: RamPolicyRef; exists: boolean; document: string | undefined }> {
  if (name === DEFAULT_POLICY) {
    const doc = await ram.getPolicyDocument(name, 'Custom');
    return { ref: { name, type: 'Custom' }, exists: doc !== undefined, document: doc };
  }
  const sys = await ram.getPolicyDocument(name, 'System');
  if (sys !== undefined) return { ref: { name, type: 'System' }, exists: true, document: sys };
  const custom = await ram.getPolicyDocument(name, 'Custom');
  if (custom === undefined) throw usageError('PolicyNotFound', `--policy ${name}: no system or custom RAM policy has that name`, `e.g. --policy AliyunECIFullAccess, or omit --policy for vnode's own ${DEFAULT_POLICY}`);
  return { ref: { name, type: 'Custom' }, exists: true, document: custom };
}

export interface GrantOptions {
  user: string | undefined;
  policies: string[];
  rotateKey: boolean;
  noSecret: boolean;
  /** Make vnode's document the policy's default version when it differs. */
  updatePolicy: boolean;
}

export interface GrantResult {
  user: string;
  userAction: 'created' | 'exists' | 'would create';
  policies: { name: string; type: string; action: 'attached' | 'already attached' | 'would attach'; created?: boolean }[];
  policyDrift: boolean;
  /** --update-policy: the new default version (and the one deleted to make room). */
  policyUpdate?: { version: string; deletedVersion: string | undefined } | null;
  accessKey: { id: string | null; action: 'created' | 'kept' | 'rotated' | 'none' | 'would create' | 'would rotate' };
  deletedKeys: string[];
  /** Controller replicas restarted to pick up a new key. */
  restarted?: string[];
  secret: { namespace: string; name: string; action: string } | null;
  dryRun: boolean;
}

/** `vnode ram grant`: onectl's `ram-user grant --addon ack-virtual-node`, converging instead of failing. */
export async function grant(ctx: Context, opts: GrantOptions): Promise<GrantResult> {
  const { out, status, flags } = ctx;
  const cluster = opts.noSecret && opts.user ? undefined : await ctx.cluster();
  const user = opts.user ?? (await defaultUserName(cluster!));
  const cloud = await ctx.cloud();
  const ram = cloud.ram;
  // read everything first: every refusal happens before the first change
  const plan = await status.step(`Reading RAM user ${user}`, async () => {
    // the key is for ECI: an account without it activated would get a key that works nowhere
    await requireAccount(ctx, cloud, ['eci']).catch(asInput);
    const existing = await ram.getUser(user);
    const policies = await Promise.all(opts.policies.map((p) => resolvePolicy(ram, p)));
    const attached = existing ? new Set((await ram.listPoliciesForUser(user)).map(refKey)) : new Set<string>();
    const keys = existing && !opts.noSecret ? await ram.listAccessKeys(user) : [];
    const stored = cluster ? await readAddonSecret(cluster) : undefined;
    const secret = opts.noSecret ? undefined : stored;
    const ledger = cluster && !opts.noSecret ? await readKeyLedger(cluster, user) : [];
    const policyRecord = cluster ? await attachedByVnode(cluster, user, stored) : [];
    return { existing, policies, attached, keys, secret, ledger, policyRecord };
  });
  const toAttach = plan.policies.filter((p) => !plan.attached.has(refKey(p.ref)));
  const defaultPolicy = plan.policies.find((p) => p.ref.name === DEFAULT_POLICY);
  const drift = Boolean(defaultPolicy?.exists && defaultPolicy.document !== undefined && !sameDocument(defaultPolicy.document, policyDocument()));
  if (drift && !opts.updatePolicy) out.warn(`RAM policy ${DEFAULT_POLICY} differs from the document vnode would create; it is left as it is (--update-policy makes vnode's the default version)`);

  const secretKey = plan.secret?.accessKeyId;
  const liveInSecret = secretKey !== undefined && plan.keys.some((k) => k.id === secretKey && k.status === 'Active');
  // only keys vnode created (recorded on the Secret) are ever deleted; ids no longer on the user are dropped
  const recorded = [...new Set([...(plan.secret?.ramUser === user ? plan.secret.createdKeys : []), ...plan.ledger])].filter((id) => plan.keys.some((k) => k.id === id));
  let keyAction: GrantResult['accessKey']['action'] = 'none';
  let freeSlot: string | undefined;
  if (!opts.noSecret) {
    keyAction = !liveInSecret ? 'created' : opts.rotateKey ? 'rotated' : 'kept';
    if (keyAction !== 'kept' && plan.keys.length >= MAX_KEYS) {
      freeSlot = plan.keys.filter((k) => k.id !== secretKey && recorded.includes(k.id)).sort((a, b) => a.createDate.localeCompare(b.createDate))[0]?.id;
      const ids = plan.keys.map((k) => k.id).join(', ');
      if (!freeSlot) {
        throw operationError('AccessKeyLimit', `RAM user ${user} already has ${plan.keys.length} AccessKeys (the limit): ${ids}; vnode created none that is unused, so it deletes none of them`, {
          hint: `delete one you no longer use (aliyun ram DeleteAccessKey --UserName ${user} --UserAccessKeyId <id>), then run again`,
        });
      }
      if (!opts.rotateKey) {
        throw operationError('AccessKeyLimit', `RAM user ${user} already has ${plan.keys.length} AccessKeys (the limit): ${ids}; the cluster's Secret holds neither of them`, {
          hint: `pass --rotate-key: vnode deletes ${freeSlot}, which it created and nothing uses, creates a new key and stores it in ${ADDON_SECRET.namespace}/${ADDON_SECRET.name}`,
        });
      }
    }
  }
  if (plan.secret && !plan.secret.managedByVnode && keyAction !== 'kept' && !flags.dryRun) {
    const ok = await ctx.prompt.confirm(`Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name} was not written by vnode; replace its AccessKey?`);
    if (!ok) throw usageError('Declined', 'nothing was changed');
  }
  if (toAttach.length > 0 && !flags.dryRun) {
    const ok = await ctx.prompt.confirm(`Attach ${toAttach.map((p) => `${p.ref.type} policy ${p.ref.name}`).join(', ')} to RAM user ${user}? This broadens its permissions.`, { default: true });
    if (!ok) throw usageError('Declined', 'nothing was changed');
  }

  // a user vnode created holds only what vnode attached: a requested policy found attached but unrecorded was
  // attached by an interrupted run of ours, so the record catches up
  const ours = Boolean(plan.existing?.comments.startsWith(USER_COMMENT_PREFIX));
  const policyRecord = [...new Set([
    ...plan.policyRecord,
    ...plan.policies.filter((p) => ours && plan.attached.has(refKey(p.ref))).map((p) => refKey(p.ref)),
    ...toAttach.map((p) => refKey(p.ref)),
  ])];
  const annotations = (createdKeys: string[]): Record<string, string> => ({
    [ANNOTATION_USER]: user,
    [ANNOTATION_POLICIES]: policyRecord.join(','),
    [ANNOTATION_KEYS]: [...new Set(createdKeys)].join(','),
  });

  if (flags.dryRun) {
    return {
      user, userAction: plan.existing ? 'exists' : 'would create',
      policies: plan.policies.map((p) => ({ name: p.ref.name, type: p.ref.type, action: plan.attached.has(refKey(p.ref)) ? 'already attached' : 'would attach', ...(p.exists ? {} : { created: false }) })),
      policyDrift: drift,
      accessKey: { id: keyAction === 'kept' ? secretKey! : null, action: keyAction === 'created' ? 'would create' : keyAction === 'rotated' ? 'would rotate' : keyAction },
      deletedKeys: [],
      secret: opts.noSecret ? null : { ...ADDON_SECRET, action: keyAction === 'kept' ? 'unchanged' : 'would write' },
      dryRun: true,
    };
  }

  // the calls after the first change, asked before it
  await requirePermissions(ctx, cloud, [
    ...(plan.existing ? [] : [PROBES.createUser]), ...(plan.policies.some((p) => !p.exists && p.ref.type === 'Custom') ? [PROBES.createPolicy] : []),
    ...(toAttach.length > 0 ? [PROBES.attachPolicy] : []), ...(keyAction === 'created' || keyAction === 'rotated' ? [PROBES.createAccessKey] : []),
  ]);

  if (drift && opts.updatePolicy) {
    const ok = await ctx.prompt.confirm(`Make vnode's document the default version of RAM policy ${DEFAULT_POLICY}? Every user it is attached to gets exactly its actions.`, { default: true });
    if (!ok) throw usageError('Declined', 'nothing was changed');
  }
  // the record goes first: whatever point an interrupt stops at, revoke knows every policy vnode may have attached
  if (cluster) await writePolicyLedger(cluster, user, policyRecord);
  const userRes = await status.step(`Ensuring RAM user ${user}`, () => ram.ensureUser(user, user, `${USER_COMMENT_PREFIX} for the ECI virtual node addon`));
  const policies: GrantResult['policies'] = [];
  try {
    for (const p of plan.policies) {
      let created: boolean | undefined;
      if (!p.exists) {
        await status.step(`Creating RAM policy ${p.ref.name}`, () => ram.createPolicy(p.ref.name, policyDocument(), `Least privilege for the ECI virtual node addon ${POLICY_CREATED_BY}`));
        created = true;
      }
      const attachedNow = plan.attached.has(refKey(p.ref)) ? false : await status.step(`Attaching ${p.ref.name} to ${user}`, () => ram.attachPolicyToUser(user, p.ref));
      policies.push({ name: p.ref.name, type: p.ref.type, action: attachedNow ? 'attached' : 'already attached', ...(created ? { created } : {}) });
    }
  } catch (e) {
    // a refused attach (not an interrupt) leaves out of the record what RAM does not show attached
    if (cluster && !ctx.signal.aborted) {
      const now = new Set((await ram.listPoliciesForUser(user).catch(() => [])).map(refKey));
      const pending = new Set(toAttach.map((p) => refKey(p.ref)));
      await writePolicyLedger(cluster, user, policyRecord.filter((r) => !pending.has(r) || now.has(r))).catch(() => undefined);
    }
    throw e;
  }

  const policyUpdate = drift && opts.updatePolicy ? await updatePolicy(ctx, ram) : null;

  const deletedKeys: string[] = [];
  let keyId: string | null = keyAction === 'kept' ? secretKey! : null;
  let secretAction = 'unchanged';
  let restarted: string[] = [];
  if (keyAction === 'kept') {
    await writeKeyLedger(cluster!, user, recorded);
    secretAction = await writeAddonSecretAnnotations(ctx, cluster!, user, annotations(recorded));
  } else if (keyAction === 'created' || keyAction === 'rotated') {
    // rotation order: a free slot (a key vnode created that nothing uses), the new key, the Secret, then the old key
    if (freeSlot) {
      await status.step(`Deleting unused AccessKey ${freeSlot}`, () => ram.deleteAccessKey(user, freeSlot!));
      deletedKeys.push(freeSlot);
    }
    const key = await status.step(`Creating an AccessKey for ${user}`, () => ram.createAccessKey(user));
    ctx.redactor.add(key.secret);
    keyId = key.id;
    const record = [...recorded.filter((id) => id !== freeSlot), key.id];
    try {
      // recorded before it is used, with whatever another run recorded meanwhile: a key vnode made is never nobody's
      await writeKeyLedger(cluster!, user, [...new Set([...await readKeyLedger(cluster!, user), ...record])]);
      secretAction = await status.step(`Writing Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name}`, () => writeAddonSecret(cluster!, key, annotations(record)));
    } catch (e) {
      // unrecorded, the new key would be nobody's to delete
      await ram.deleteAccessKey(user, key.id).catch(() => false);
      throw e;
    }
    // the controller's replicas read the key from their env, set when they started
    if (await cluster!.get(CONTROLLER_REF).catch(() => undefined)) {
      restarted = await status.step(`Restarting ${NAMESPACE}/${CONTROLLER_DEPLOYMENT} to use the new key`, () => restartController(cluster!), (r) => r.join(', '));
    }
    if (keyAction === 'rotated' && secretKey && secretKey !== key.id) {
      if (recorded.includes(secretKey)) {
        await status.step(`Deleting the previous AccessKey ${secretKey}`, () => ram.deleteAccessKey(user, secretKey));
        deletedKeys.push(secretKey);
        await writeKeyLedger(cluster!, user, record.filter((id) => id !== secretKey));
      } else {
        ctx.out.warn(`the previous AccessKey ${secretKey} was not created by vnode: it is left as it is`);
      }
    }
  }
  return {
    user, userAction: userRes.created ? 'created' : 'exists', policies, policyDrift: drift, policyUpdate,
    accessKey: { id: keyId, action: keyAction }, deletedKeys, restarted,
    secret: opts.noSecret ? null : { ...ADDON_SECRET, action: secretAction },
    dryRun: false,
  };
}

/** Keeps the record of what vnode attached current without touching the key. */
async function writeAddonSecretAnnotations(ctx: Context, cluster: ClusterPort, user: string, annotations: Record<string, string>): Promise<string> {
  const live = await cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', ...ADDON_SECRET });
  if (!live) return 'unchanged';
  const cur = live.metadata.annotations ?? {};
  if (Object.entries(annotations).every(([k, v]) => cur[k] === v) && live.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) return 'unchanged';
  ctx.out.debug(`recording ${user}'s policies on the Secret`);
  await cluster.patch({ apiVersion: 'v1', kind: 'Secret', ...ADDON_SECRET }, { metadata: { annotations, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } } }, 'merge');
  return 'updated';
}

export interface RevokeOptions {
  user: string | undefined;
  policies: string[] | undefined;
  deleteUser: boolean;
  /** Detach the policies only: the AccessKeys and the Secret stay (the controller keeps signing, and is denied). */
  keepKey: boolean;
  /** Delete the key even while the in-cluster controller uses it. */
  force: boolean;
}

export interface RevokeResult {
  user: string;
  detached: string[];
  deletedKeys: string[];
  /** AccessKeys revoke saw and left, and why. */
  keptKeys: { id: string; reason: string }[];
  secretDeleted: boolean;
  userDeleted: boolean;
  userKeptBecause: string | null;
  /** With --delete-user: vnode's custom policy, deleted once nothing has it attached. */
  policyDeleted: boolean;
  policyKeptBecause: string | null;
  dryRun: boolean;
}

/** `vnode ram revoke`: undoes what grant did, and only that. */
export async function revoke(ctx: Context, opts: RevokeOptions): Promise<RevokeResult> {
  const { status, flags } = ctx;
  const cluster = await ctx.cluster();
  const secret = await readAddonSecret(cluster);
  const user = opts.user ?? secret?.ramUser ?? (await defaultUserName(cluster));
  const ram = (await ctx.cloud()).ram;
  const existing = await ram.getUser(user);
  const ours = secret?.ramUser === user ? secret : undefined;
  const record = await attachedByVnode(cluster, user, secret);
  const recorded = opts.policies?.map((p) => (p === DEFAULT_POLICY ? `Custom:${p}` : p.includes(':') ? p : `System:${p}`))
    ?? (record.length ? record : [`Custom:${DEFAULT_POLICY}`]);
  const attached = existing ? new Set((await ram.listPoliciesForUser(user)).map(refKey)) : new Set<string>();
  const toDetach = recorded.filter((p) => attached.has(p));
  // the user's keys that vnode recorded creating: never another key of the user, another user's or the account's
  const userKeys = existing ? await ram.listAccessKeys(user) : [];
  const created = new Set([...(ours?.createdKeys ?? []), ...(await readKeyLedger(cluster, user))]);
  const toDelete = userKeys.filter((k) => created.has(k.id)).map((k) => k.id);
  const keptKeys = userKeys.filter((k) => !created.has(k.id)).map((k) => ({ id: k.id, reason: `a key of RAM user ${user} that vnode did not create` }));
  if (secret?.accessKeyId && !userKeys.some((k) => k.id === secret.accessKeyId)) {
    keptKeys.push({ id: secret.accessKeyId, reason: `the key in the Secret, not a key of RAM user ${user}` });
  }
  if (opts.keepKey) {
    for (const id of toDelete.splice(0)) keptKeys.push({ id, reason: 'kept as asked (--keep-key)' });
  } else if (secret && !opts.force && (await cluster.get(CONTROLLER_REF).catch(() => undefined))) {
    throw usageError('ControllerUsesKey', `the ${ADDON} add-on (${NAMESPACE}/${CONTROLLER_DEPLOYMENT}) uses the AccessKey in ${ADDON_SECRET.namespace}/${ADDON_SECRET.name}: `
      + 'without it, it can neither create nor delete ECI instances (pods stuck, instances left billed)',
      `uninstall it first (vnode uninstall ${ADDON} --drain), or pass --keep-key to detach the policies only, or --force`);
  }
  const result: RevokeResult = {
    user, detached: [], deletedKeys: [], keptKeys, secretDeleted: false, userDeleted: false, userKeptBecause: null, policyDeleted: false, policyKeptBecause: null, dryRun: flags.dryRun,
  };
  const deletesSecret = !opts.keepKey && Boolean(secret && (ours || !secret.ramUser) && secret.managedByVnode);
  if (flags.dryRun) {
    return { ...result, detached: toDetach, deletedKeys: toDelete, secretDeleted: deletesSecret, userDeleted: opts.deleteUser && Boolean(existing) && keptKeys.length === 0 };
  }
  for (const p of toDetach) {
    const [type, name] = p.split(':') as ['System' | 'Custom', string];
    if (await status.step(`Detaching ${name} from ${user}`, () => ram.detachPolicyFromUser(user, { type, name }))) result.detached.push(name);
  }
  // an entry left by an interrupt here is harmless: revoke detaches only what RAM shows attached
  await writePolicyLedger(cluster, user, record.filter((r) => attached.has(r) && !toDetach.includes(r)));
  for (const id of toDelete) {
    if (await status.step(`Deleting AccessKey ${id}`, () => ram.deleteAccessKey(user, id))) result.deletedKeys.push(id);
  }
  await writeKeyLedger(cluster, user, [...created].filter((id) => !result.deletedKeys.includes(id) && userKeys.some((k) => k.id === id)));
  if (deletesSecret) {
    result.secretDeleted = await status.step(`Deleting Secret ${ADDON_SECRET.namespace}/${ADDON_SECRET.name}`, () => deleteAddonSecret(cluster));
  }
  if (opts.deleteUser && existing) {
    const remainingKeys = await ram.listAccessKeys(user);
    const remainingPolicies = await ram.listPoliciesForUser(user);
    if (!existing.comments.startsWith(USER_COMMENT_PREFIX)) result.userKeptBecause = 'vnode did not create it';
    else if (remainingKeys.length > 0) result.userKeptBecause = `it still has AccessKey(s) vnode did not create: ${remainingKeys.map((k) => k.id).join(', ')}`;
    else if (remainingPolicies.length > 0) result.userKeptBecause = `it still has ${remainingPolicies.length === 1 ? 'a policy' : 'policies'} vnode did not attach: ${remainingPolicies.map((p) => p.name).join(', ')}`;
    else result.userDeleted = await status.step(`Deleting RAM user ${user}`, () => ram.deleteUser(user));
  }
  if (opts.deleteUser && recorded.includes(`Custom:${DEFAULT_POLICY}`)) await deleteOwnPolicy(ctx, ram, result);
  return result;
}

/** vnode's custom policy goes with its user, when vnode created it and nothing else has it attached (ListEntitiesForPolicy). */
async function deleteOwnPolicy(ctx: Context, ram: RamPort, result: RevokeResult): Promise<void> {
  const description = await ram.policyDescription(DEFAULT_POLICY);
  if (description === undefined) return;
  if (!description.includes(POLICY_CREATED_BY)) { result.policyKeptBecause = 'vnode did not create it'; return; }
  const who = await ram.listEntitiesForPolicy(DEFAULT_POLICY, 'Custom');
  const others = [...who.users.map((u) => `RAM user ${u}`), ...who.groups.map((g) => `group ${g}`), ...who.roles.map((r) => `role ${r}`)];
  if (others.length > 0) { result.policyKeptBecause = `still attached to ${others.join(', ')}`; return; }
  result.policyDeleted = await ctx.status.step(`Deleting RAM policy ${DEFAULT_POLICY}`, () => ram.deletePolicy(DEFAULT_POLICY));
}
