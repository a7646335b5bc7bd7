import type { CloudStateData } from './state.js';

/** System policies the sandbox account has, by the actions they allow. */
export const SYSTEM_POLICIES: Record<string, { description: string; actions: string[] }> = {
  AdministratorAccess: { description: 'Provides full access to Alibaba Cloud services and resources.', actions: ['*'] },
  AliyunECIFullAccess: { description: 'Provides full access to Elastic Container Instance (ECI).', actions: ['eci:*'] },
  AliyunECIReadOnlyAccess: { description: 'Provides read-only access to Elastic Container Instance (ECI).', actions: ['eci:Describe*'] },
  AliyunVPCFullAccess: { description: 'Provides full access to Virtual Private Cloud (VPC).', actions: ['vpc:*'] },
  AliyunVPCReadOnlyAccess: { description: 'Provides read-only access to Virtual Private Cloud (VPC).', actions: ['vpc:Describe*', 'vpc:Get*', 'vpc:List*'] },
  AliyunECSReadOnlyAccess: { description: 'Provides read-only access to Elastic Compute Service (ECS).', actions: ['ecs:Describe*'] },
  AliyunRAMFullAccess: { description: 'Provides full access to Resource Access Management (RAM).', actions: ['ram:*'] },
  AliyunRAMReadOnlyAccess: { description: 'Provides read-only access to Resource Access Management (RAM).', actions: ['ram:Get*', 'ram:List*'] },
  AliyunAccFullAccess: { description: 'Provides full access to Alibaba Cloud Container Compute Service (ACS).', actions: ['acc:*'] },
  AliyunCSFullAccess: { description: 'Provides full access to Container Service for Kubernetes (ACK).', actions: ['cs:*'] },
  AliyunCSReadOnlyAccess: { description: 'Provides read-only access to Container Service for Kubernetes (ACK).', actions: ['cs:Describe*', 'cs:Get*', 'cs:List*'] },
};

interface Statement { Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource: string | string[] }

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
  }
  return o.Statement as Statement[];
}

function matches(pattern: string, action: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(action);
}

/** RAM's decision for a RAM user: an explicit Deny wins, then any Allow; nothing attached means denied. */
export function isAllowed(state: CloudStateData, user: string, action: string): boolean {
  let allowed = false;
  for (const a of state.attachments.filter((x) => x.user === user)) {
    const statements: Statement[] = a.policyType === 'System'
      ? [{ Effect: 'Allow', Action: SYSTEM_POLICIES[a.policyName]?.actions ?? [], Resource: '*' }]
      : (() => { const p = state.policies.find((x) => x.name === a.policyName); const s = p ? parsePolicyDocument(p.document) : []; return typeof s === 'string' ? [] : s; })();
    for (const s of statements) {
      const acts = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (!acts.some((p) => matches(p, action))) continue;
      if (s.Effect === 'Deny') return false;
      allowed = true;
    }
  }
  return allowed;
}
