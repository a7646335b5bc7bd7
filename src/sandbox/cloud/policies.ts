import type { CloudStateData } from './state.js';

/** A policy statement as RAM takes it; Condition maps an operator to condition keys and their values. */
interface Statement { Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[] | boolean>> }

const allow = (Action: string | string[], Condition?: Statement['Condition']): Statement => ({ Effect: 'Allow', Action, Resource: '*', ...(Condition ? { Condition } : {}) });

/**
 * System policies the sandbox account has, with their statements. Documented where a page shows them:
 * AliyunECIFullAccess (ECI's page on tag-based authorization: eci:*, the VPC and ECS reads ECI needs, and
 * ram:CreateServiceLinkedRole only for ECI's service names), AliyunECSReadOnlyAccess (ECS's page of system
 * policies). The others are reduced to the actions vnode meets (ASSUMPTION: their full statements are longer).
 */
export const SYSTEM_POLICIES: Record<string, { description: string; statements: Statement[] }> = {
  AdministratorAccess: { description: 'Provides full access to Alibaba Cloud services and resources.', statements: [allow('*')] },
  AliyunECIFullAccess: {
    description: 'Provides full access to Elastic Container Instance (ECI).',
    statements: [
      allow('eci:*'), allow(['vpc:DescribeVSwitches', 'vpc:DescribeVpcs', 'ecs:DescribeSecurityGroups']),
      allow('ram:CreateServiceLinkedRole', { StringEquals: { 'ram:ServiceName': ['eci.aliyuncs.com', 'vnode.eci.aliyuncs.com'] } }),
    ],
  },
  AliyunECIReadOnlyAccess: { description: 'Provides read-only access to Elastic Container Instance (ECI).', statements: [allow('eci:Describe*')] },
  AliyunVPCFullAccess: { description: 'Provides full access to Virtual Private Cloud (VPC).', statements: [allow('vpc:*')] },
  AliyunVPCReadOnlyAccess: { description: 'Provides read-only access to Virtual Private Cloud (VPC).', statements: [allow(['vpc:Describe*', 'vpc:Get*', 'vpc:List*'])] },
  AliyunECSReadOnlyAccess: {
    description: 'Provides read-only access to Elastic Compute Service (ECS).',
    statements: [allow('ecs:Describe*'), allow('ecs:List*'), allow(['vpc:DescribeVpcs', 'vpc:DescribeVSwitches'])],
  },
  AliyunRAMFullAccess: { description: 'Provides full access to Resource Access Management (RAM).', statements: [allow('ram:*')] },
  AliyunRAMReadOnlyAccess: { description: 'Provides read-only access to Resource Access Management (RAM).', statements: [allow(['ram:Get*', 'ram:List*'])] },
  AliyunAccFullAccess: { description: 'Provides full access to Alibaba Cloud Container Compute Service (ACS).', statements: [allow('acc:*')] },
  AliyunCSFullAccess: { description: 'Provides full access to Container Service for Kubernetes (ACK).', statements: [allow('cs:*')] },
  AliyunCSReadOnlyAccess: { description: 'Provides read-only access to Container Service for Kubernetes (ACK).', statements: [allow(['cs:Describe*', 'cs:Get*', 'cs:List*'])] },
};

/** The condition operators the emulator evaluates (RAM's string and boolean ones). */
const OPERATORS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringLike', 'StringNotLike', 'Bool'];

/** Validates a policy document as RAM does; returns its statements or why it is malformed. */
export function parsePolicyDocument(doc: string): Statement[] | string {
  let d: unknown;
  try { d = JSON.parse(doc); } catch { return 'The policy document is not valid JSON.'; }
  const o = d as { Version?: unknown; Statement?: unknown };
  if (o?.Version !== '1') return 'The policy document must have "Version": "1".';
  if (!Array.isArray(o.Statement) || o.Statement.length === 0) return 'The policy document must have a non-empty Statement list.';
  for (const s of o.Statement as Statement[]) {
    if (s?.Effect !== 'Allow' && s?.Effect !== 'Deny') return 'Each statement needs Effect Allow or Deny.';
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    if (actions.length === 0 || actions.some((a) => typeof a !== 'string' || !/^(\*|[a-z0-9-]+:[A-Za-z0-9*]+)$/.test(a))) return 'Each statement needs actions such as "eci:CreateContainerGroup".';
    if (s.Resource === undefined) return 'Each statement needs a Resource.';
    if (s.Condition !== undefined) {
      if (typeof s.Condition !== 'object' || s.Condition === null) return 'Condition must be an object of operators.';
      for (const [op, keys] of Object.entries(s.Condition)) {
        if (!OPERATORS.includes(op)) return `The condition operator ${op} is not supported.`;
        if (typeof keys !== 'object' || keys === null) return `Condition ${op} must map condition keys to values.`;
      }
    }
  }
  return o.Statement as Statement[];
}

const globRe = (pattern: string, flags = 'i'): RegExp => new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', flags);

/** Whether every condition of a statement holds for the request's condition keys; a key the request lacks fails. */
function conditionsHold(c: Statement['Condition'], keys: Record<string, string>): boolean {
  for (const [op, entries] of Object.entries(c ?? {})) {
    for (const [key, want] of Object.entries(entries)) {
      const have = keys[key];
      if (have === undefined) return false;
      const values = (Array.isArray(want) ? want : [want]).map(String);
      const hit = op === 'StringEqualsIgnoreCase' ? values.some((v) => v.toLowerCase() === have.toLowerCase())
        : op === 'StringLike' || op === 'StringNotLike' ? values.some((v) => globRe(v, '').test(have))
        : values.includes(have);
      if (op.includes('Not') ? hit : !hit) return false;
    }
  }
  return true;
}

function matches(pattern: string, action: string): boolean {
  return globRe(pattern).test(action);
}

/**
 * RAM's decision for a RAM user: an explicit Deny wins, then any Allow; nothing attached means denied. Conditions are
 * evaluated against the request's condition keys (e.g. ram:ServiceName of CreateServiceLinkedRole).
 */
export function isAllowed(state: CloudStateData, user: string, action: string, keys: Record<string, string> = {}): boolean {
  let allowed = false;
  for (const a of state.attachments.filter((x) => x.user === user)) {
    const statements: Statement[] = a.policyType === 'System'
      ? SYSTEM_POLICIES[a.policyName]?.statements ?? []
      : (() => { const p = state.policies.find((x) => x.name === a.policyName); const s = p ? parsePolicyDocument(p.document) : []; return typeof s === 'string' ? [] : s; })();
    for (const s of statements) {
      const acts = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (!acts.some((p) => matches(p, action))) continue;
      if (!conditionsHold(s.Condition, keys)) continue;
      if (s.Effect === 'Deny') return false;
      allowed = true;
    }
  }
  return allowed;
}
