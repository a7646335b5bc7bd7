import { stringify } from 'yaml';
import { usageError } from '../../errors.js';
import { actionsOf } from '../../steps/ram/ram.js';
import { allAccess, allActions, policyOf, rulesOf, type Contract } from '../contract.js';
import { defineCommand, flag, read } from '../define.js';
import { commands } from '../registry.js';

/** Commands that administer RAM (they need RAM rights an operator's policy does not carry). */
const RAM_ADMIN = ['ram grant', 'ram revoke'];

/** Every command's contract, by its path ("ram grant"). */
export async function contracts(): Promise<Map<string, Contract>> {
  const out = new Map<string, Contract>();
  for (const c of commands) out.set(c.path.join(' '), (await c.load()).contract);
  return out;
}

/** --for: command paths, comma-separated ("cost,status", "ram grant" or ram-grant). */
function parseFor(raw: string, known: string[]): string[] {
  const names = raw.split(',').map((x) => x.trim().replace(/[-:]/g, ' ').replace(/\s+/g, ' ')).filter(Boolean);
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length || names.length === 0) throw usageError('UnknownCommand', `--for ${raw}: ${bad.length ? `no command ${bad.map((b) => `"${b}"`).join(', ')}` : 'no command named'}`, `commands: ${known.join(', ')}`);
  return [...new Set(names)];
}

export default defineCommand({
  description: 'Print the least-privilege RAM policy for the person (or CI role) running vnode, generated from what each command declares it may '
    + 'call (`vnode schema` shows it). Without --for: every command but ram grant and ram revoke (which need RAM rights on top); with --for: just '
    + 'those commands (e.g. --for cost,status for a read-only CI job). --kubernetes prints the matching Kubernetes ClusterRole for the operator instead. '
    + 'onectl asks for AliyunCSFullAccess, AliyunRamFullAccess and AliyunVPCReadOnlyAccess; this lists only the calls vnode makes.',
  flags: {
    for: flag('--for <commands>', 'only what these commands need, comma-separated (e.g. cost,status or "ram grant")', read.text),
    kubernetes: flag('--kubernetes', 'print the Kubernetes ClusterRole these commands need (YAML), not the RAM policy', read.bool),
  },
  mutates: false,
  contract: { cloud: { always: [] }, kubernetes: [], risk: 'read', converges: true },
  async run(ctx, o) {
    const all = await contracts();
    const chosen = o.for !== undefined ? parseFor(o.for, [...all.keys()]) : [...all.keys()].filter((k) => !RAM_ADMIN.includes(k));
    const label = o.for !== undefined ? chosen.join(', ') : 'every command but ram grant and ram revoke';
    if (o.kubernetes) {
      const role = {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
        metadata: { name: o.for !== undefined ? `vnode-operator-${chosen.map((c) => c.replace(/\s+/g, '-')).join('-')}`.slice(0, 253) : 'vnode-operator', labels: { 'app.kubernetes.io/managed-by': 'vnode' } },
        rules: rulesOf(chosen.flatMap((c) => allAccess(all.get(c)!))).map((r) => ({ apiGroups: [r.group], resources: r.resources, verbs: r.verbs })),
      };
      ctx.out.result(role, () => `# what ${label} need of Kubernetes\n${stringify(role)}`);
      return;
    }
    const doc = policyOf([...new Set(chosen.flatMap((c) => allActions(all.get(c)!)))]);
    const text = JSON.stringify(doc, null, 2);
    ctx.out.result(doc, () => text);
    ctx.out.info(`${actionsOf(text).length} actions, for ${label}. Create it with: aliyun ram CreatePolicy --PolicyName vnode-operator --PolicyDocument "$(vnode ram operator-policy)"`);
  },
});
