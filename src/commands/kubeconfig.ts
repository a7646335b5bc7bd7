import { parseImage } from './flags.js';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { DEFAULT_APPROVER_IMAGE } from '../steps/identity/identity.js';
import { provisionKubeconfig, type KubeconfigOptions, type KubeconfigResult } from '../steps/identity/kubeconfig.js';
import { parseServer } from '../steps/identity/kubeconfig-file.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { CommandModule } from './registry.js';

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseOptions(raw: Record<string, unknown>, cwd: string): KubeconfigOptions {
  const name = String(raw.name);
  if (!NAME_RE.test(name) || name.length > 50) {
    throw usageError('InvalidName', `invalid --name "${name}": use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 50 characters`);
  }
  const bootstrap = Boolean(raw.bootstrap);
  const ttlMs = parseDuration('--ttl', String(raw.ttl));
  if (!bootstrap && raw.ttl !== '24h') {
    throw usageError('TtlWithoutBootstrap', `--ttl ${String(raw.ttl)} applies to bootstrap tokens only`, 'add --bootstrap, or drop --ttl (ServiceAccount tokens do not expire)');
  }
  const file = String(raw.file);
  if (file === '') throw usageError('InvalidFile', 'invalid --file "": expected a file path');
  // before anything is created in the cluster: the file must be writable where it goes
  const dir = path.dirname(path.resolve(cwd, file));
  let usable = false;
  try { usable = statSync(dir).isDirectory(); if (usable) accessSync(dir, constants.W_OK); } catch { usable = false; }
  if (!usable) throw usageError('InvalidFile', `invalid --file "${file}": directory ${dir} does not exist or is not writable`, 'create the directory first, or choose another path');
  return {
    file: path.resolve(cwd, file),
    name,
    mode: bootstrap ? 'bootstrap' : 'serviceaccount',
    ttlMs,
    server: raw.server === undefined ? undefined : parseServer(String(raw.server)),
    extraPrivilege: Boolean(raw.extraPrivilege),
    force: Boolean(raw.force),
    approverImage: parseImage('--approver-image', raw.approverImage),
  };
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

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .summary('create the identity and kubeconfig a virtual node uses')
      .description('Create the RBAC, identity and kubeconfig file a virtual node uses to join this cluster. ' +
        'Default: a ServiceAccount with a long-lived token. --bootstrap: a TLS bootstrap token (Kubernetes 1.19+), ' +
        'with vnode-approver to approve the virtual nodes\' certificate requests. Re-running converges.')
      .addOption(new Option('--file <path>', 'where to write the kubeconfig').default('./vnode-config'))
      .addOption(new Option('--name <identity>', 'name of the identity (ServiceAccount, token owner)').default('vnode'))
      .addOption(new Option('--bootstrap', 'use TLS bootstrapping (certificate rotation) instead of a ServiceAccount token'))
      .addOption(new Option('--ttl <duration>', 'bootstrap token lifetime, 0 = never expires').default('24h'))
      .addOption(new Option('--server <url>', 'API server address the virtual node uses (default: the context\'s server)'))
      .addOption(new Option('--extra-privilege', 'also grant endpoints create/update (Kubernetes 1.13)'))
      .addOption(new Option('--approver-image <image>', 'vnode-approver image (bootstrap mode)').default(DEFAULT_APPROVER_IMAGE))
      .addOption(new Option('--force', 'overwrite the file if it exists with other content'));
  },
  async run(ctx, _args, raw) {
    const opts = parseOptions(raw, ctx.cwd);
    const result = await provisionKubeconfig(ctx, opts);
    // the absolute path: unambiguous whatever the working directory
    ctx.out.result({ ...result, ttl: opts.mode === 'bootstrap' ? formatDuration(opts.ttlMs) : null }, () => renderText(result, opts.file!));
  },
};

export default command;
