import { parseImage } from './flags.js';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.js';
import { DEFAULT_APPROVER_IMAGE } from '../steps/identity/identity.js';
import { provisionKubeconfig, type KubeconfigOptions, type KubeconfigResult } from '../steps/identity/kubeconfig.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { defineCommand, flag, read } from './define.js';
import { LOCK_ACCESS, READ, WRITE } from './contract.js';

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function identityName(raw: unknown): string {
  const name = String(raw);
  if (!NAME_RE.test(name) || name.length > 50) {
    throw usageError('InvalidName', `invalid --name "${name}": use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 50 characters`);
  }
  return name;
}

/** Checked before anything is created in the cluster: the file must be writable where it goes. */
function writableFile(file: string, cwd: string): string {
  if (file === '') throw usageError('InvalidFile', 'invalid --file "": expected a file path');
  const dir = path.dirname(path.resolve(cwd, file));
  let usable = false;
  try { usable = statSync(dir).isDirectory(); if (usable) accessSync(dir, constants.W_OK); } catch { usable = false; }
  if (!usable) throw usageError('InvalidFile', `invalid --file "${file}": directory ${dir} does not exist or is not writable`, 'create the directory first, or choose another path');
  return path.resolve(cwd, file);
}

function renderText(r: KubeconfigResult, displayFile: string): string {
  const lines: string[] = [];
  const modeText = r.mode === 'bootstrap' ? 'TLS bootstrap token' : 'ServiceAccount token';
  if (r.dryRun) {
    lines.push(`(dry run) would write ${displayFile} (${modeText}, server ${r.server}); no changes were applied`);
    for (const o of r.objects) lines.push(`  ${o.action.padEnd(12)} ${o.kind} ${o.namespace ? o.namespace + '/' : ''}${o.name}`);
    return lines.join('\n');
  }
  const verb = r.fileAction === 'unchanged' ? 'is up to date' : 'written';
  lines.push(`Kubeconfig ${displayFile} ${verb} (${modeText}, server ${r.server}, mode ${r.fileMode}).`);
  if (r.mode === 'bootstrap') {
    lines.push(`Bootstrap token ${r.token.id} ${r.token.action}${r.expiresAt ? `, expires ${r.expiresAt}` : ', never expires'}; virtual nodes authenticate as ${r.identity}.`);
  } else {
    lines.push(`Identity: ${r.identity} (token ${r.token.action}; it does not expire — treat the file as a node credential).`);
  }
  return lines.join('\n');
}

export default defineCommand({
  description: 'Create the RBAC, identity and kubeconfig file a virtual node uses to join this cluster. '
    + 'Default: a ServiceAccount with a long-lived token. --bootstrap: a TLS bootstrap token (Kubernetes 1.19+), '
    + 'with vnode-approver to approve the virtual nodes\' certificate requests. Re-running converges.',
  configure: (cmd) => { cmd.summary('create the identity and kubeconfig a virtual node uses'); },
  flags: {
    file: flag('--file <path>', 'where to write the kubeconfig', read.given, { default: './vnode-config' }),
    name: flag('--name <identity>', 'name of the identity (ServiceAccount, token owner)', identityName, { default: 'vnode' }),
    bootstrap: flag('--bootstrap', 'use TLS bootstrapping (certificate rotation) instead of a ServiceAccount token', read.bool),
    ttl: flag('--ttl <duration>', 'bootstrap token lifetime, 0 = never expires', (raw) => ({ text: String(raw), ms: parseDuration('--ttl', String(raw)) }), { default: '24h' }),
    server: flag('--server <url>', 'API server address the virtual node uses (default: the context\'s server)', read.optional(parseServer)),
    extraPrivilege: flag('--extra-privilege', 'also grant endpoints create/update (Kubernetes 1.13)', read.bool),
    approverImage: flag('--approver-image <image>', 'vnode-approver image (bootstrap mode)', (raw) => parseImage('--approver-image', raw), { default: DEFAULT_APPROVER_IMAGE }),
    force: flag('--force', 'overwrite the file if it exists with other content', read.bool),
  },
  mutates: true,
  contract: {
    cloud: { always: [] },
    kubernetes: [
      LOCK_ACCESS, { group: '', resources: ['serviceaccounts', 'secrets', 'configmaps', 'namespaces', 'nodes'], verbs: WRITE },
      { group: '', resources: ['serviceaccounts/token'], verbs: ['create'] },
      { group: 'rbac.authorization.k8s.io', resources: ['clusterroles', 'clusterrolebindings'], verbs: [...WRITE, 'bind', 'escalate'] },
      { group: 'certificates.k8s.io', resources: ['certificatesigningrequests'], verbs: READ }, { group: 'apps', resources: ['deployments'], verbs: WRITE },
      { group: 'authorization.k8s.io', resources: ['selfsubjectaccessreviews'], verbs: ['create'] },
    ],
    risk: 'change',
    waits: 'the vnode-approver Deployment, with --bootstrap',
    converges: true,
  },
  async run(ctx, o) {
    if (!o.bootstrap && o.ttl.text !== '24h') {
      throw usageError('TtlWithoutBootstrap', `--ttl ${o.ttl.text} applies to bootstrap tokens only`, 'add --bootstrap, or drop --ttl (ServiceAccount tokens do not expire)');
    }
    const opts: KubeconfigOptions = {
      file: writableFile(o.file, ctx.cwd), name: o.name, mode: o.bootstrap ? 'bootstrap' : 'serviceaccount', ttlMs: o.ttl.ms, server: o.server,
      extraPrivilege: o.extraPrivilege, force: o.force, approverImage: o.approverImage,
    };
    const result = await provisionKubeconfig(ctx, opts);
    // the absolute path: unambiguous whatever the working directory
    ctx.out.result({ ...result, ttl: opts.mode === 'bootstrap' ? formatDuration(opts.ttlMs) : null }, () => renderText(result, opts.file!));
  },
});
