import { Option, type Command } from 'commander';
import { usageError } from '../../errors.js';
import type { EnableResult } from '../../steps/scheduling/scheduling.js';
import { DEFAULT_IMAGE, DEFAULT_REPLICAS, type Endpoint } from '../../steps/scheduling/webhook.js';
import { parseDuration } from '../../util/duration.js';
import { collect, parseImage, parseNamespaces } from '../flags.js';
import type { CommandModule } from '../registry.js';

export function parseEndpoint(raw: unknown): Endpoint {
  if (raw === undefined || raw === '') return { kind: 'service' };
  const s = String(raw);
  let u: URL;
  try { u = new URL(s); } catch {
    throw usageError('InvalidWebhookUrl', `invalid --webhook-url "${s}": expected an https:// URL such as https://10.0.0.5:8443`);
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.search || u.hash) {
    throw usageError('InvalidWebhookUrl', `invalid --webhook-url "${s}": expected an https:// URL without user, query or fragment (the API server calls webhooks over TLS only)`);
  }
  return { kind: 'url', url: `${u.origin}${u.pathname.replace(/\/+$/, '')}` };
}

function render(r: EnableResult): string {
  const pre = r.dryRun ? '(dry run) ' : '';
  const lines = r.objects.map((o) => `${pre}${o.object} ${o.action}`);
  for (const n of r.namespaces) lines.push(`${pre}Namespace ${n.name} ${n.action} alibabacloud.com/eci=true`);
  lines.push(`${r.dryRun ? 'Would send' : 'Sending'} pods labelled alibabacloud.com/eci=true (or in a labelled namespace) to ${r.mode === 'vnode' ? 'VNode' : 'controller'} virtual nodes; webhook at ${r.endpoint}, certificate valid until ${r.certificateExpires.slice(0, 10)}.`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('Try it: kubectl run eci-test --image=nginx --labels=alibabacloud.com/eci=true, then kubectl get pod eci-test -o wide');
  return lines.join('\n');
}

const command: CommandModule = {
  configure(cmd: Command) {
    cmd.description('Deploy vnode\'s scheduling server (admission webhook plus burst controller) on the official Node.js image, with its code in a ConfigMap, ' +
      'and the Selector CRD (eci.aliyun.com/v1, as Alibaba\'s eci-profile). Pods labelled alibabacloud.com/eci=true (or eci=true), and every pod of a namespace ' +
      'labelled alibabacloud.com/eci=true (or eci=true, virtual-node-affinity-injection=enabled), go to this cluster\'s virtual nodes; `vnode scheduling add` ' +
      'adds Selectors with policies. A pod that already selects other nodes is left alone, with a Warning event saying why. Re-running renews the certificate when it is close to expiry.')
      .option('--namespace <name>', 'label this namespace so all its pods go to virtual nodes (repeatable, or comma-separated)', collect)
      .addOption(new Option('--mode <mode>', 'which virtual nodes labelled pods go to (default: the installed mode)').choices(['vnode', 'controller']))
      .option('--image <ref>', `Node.js image the server runs on (a supported LTS: 22, 24 or 26), e.g. a mirror of it (default: ${DEFAULT_IMAGE}); vnode's code comes from a ConfigMap`)
      .option('--replicas <n>', 'webhook server replicas', String(DEFAULT_REPLICAS))
      .option('--webhook-url <url>', 'call a server outside the cluster at this https URL instead of the in-cluster Service (run `vnode scheduling serve --mode MODE` there)')
      .option('--no-wait', 'do not wait for the webhook server to be available')
      .option('--timeout <duration>', 'how long to wait for the webhook server', '3m');
  },
  async run(ctx, _args, raw) {
    const namespaces = parseNamespaces(raw.namespace);
    const replicas = Number(raw.replicas);
    if (!/^\d+$/.test(String(raw.replicas)) || replicas < 1 || replicas > 10) throw usageError('InvalidReplicas', `invalid --replicas "${String(raw.replicas)}": expected a whole number from 1 to 10`);
    const endpoint = parseEndpoint(raw.webhookUrl);
    if (endpoint.kind === 'url' && raw.image !== undefined) throw usageError('ConflictingFlags', '--image does not apply with --webhook-url: no webhook server is deployed in the cluster');
    const timeoutMs = parseDuration('--timeout', String(raw.timeout));
    const image = raw.image === undefined ? DEFAULT_IMAGE : parseImage('--image', raw.image);
    const { enableScheduling } = await import('../../steps/scheduling/scheduling.js');
    const r = await enableScheduling(ctx, {
      namespaces, mode: raw.mode as 'vnode' | 'controller' | undefined, image, replicas, endpoint, wait: raw.wait !== false, timeoutMs,
    });
    ctx.out.result(r, () => render(r));
  },
};

export default command;
