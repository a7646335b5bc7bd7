import { usageError } from '../../errors.js';
import type { EnableResult } from '../../steps/scheduling/scheduling.js';
import { DEFAULT_IMAGE, DEFAULT_REPLICAS, type Endpoint } from '../../steps/scheduling/webhook.js';
import { defineCommand, flag, read } from '../define.js';
import { durationFlag, parseImage, parseNamespaces } from '../flags.js';
import { SCHEDULING_ACCESS } from '../contract.js';

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
  lines.push(`${r.dryRun ? 'Would send' : 'Sending'} pods labelled alibabacloud.com/eci=true (or in a labelled namespace) to ${r.mode === 'vnode' ? 'VNode' : 'controller'} `
    + `virtual nodes; webhook at ${r.endpoint}, certificate valid until ${r.certificateExpires.slice(0, 10)}.`);
  if (r.dryRun) lines.push('No changes were applied; run again without --dry-run to apply them.');
  else lines.push('Try it: kubectl run eci-test --image=nginx --labels=alibabacloud.com/eci=true, then kubectl get pod eci-test -o wide');
  return lines.join('\n');
}

function replicas(raw: unknown): number {
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n < 1 || n > 10) throw usageError('InvalidReplicas', `invalid --replicas "${String(raw)}": expected a whole number from 1 to 10`);
  return n;
}

export default defineCommand({
  description: 'Deploy vnode\'s scheduling server (admission webhook plus burst controller) on the official Node.js image, with its code in a ConfigMap, '
    + 'and the Selector CRD (eci.aliyun.com/v1, as Alibaba\'s eci-profile). Pods labelled alibabacloud.com/eci=true (or eci=true), and every pod of a namespace '
    + 'labelled alibabacloud.com/eci=true (or eci=true, virtual-node-affinity-injection=enabled), go to this cluster\'s virtual nodes; `vnode scheduling add` '
    + 'adds Selectors with policies. A pod that already selects other nodes is left alone, with a Warning event saying why. Re-running renews the certificate when it is close to expiry.',
  flags: {
    namespaces: flag('--namespace <name>', 'label this namespace so all its pods go to virtual nodes (repeatable, or comma-separated)', parseNamespaces, { repeatable: true }),
    mode: flag('--mode <mode>', 'which virtual nodes labelled pods go to (default: the installed mode)', (raw) => raw as 'vnode' | 'controller' | undefined, { choices: ['vnode', 'controller'] }),
    image: flag('--image <ref>', `Node.js image the server runs on (a supported LTS: 22, 24 or 26), e.g. a mirror of it (default: ${DEFAULT_IMAGE}); vnode's code comes from a ConfigMap`,
      read.optional((v) => parseImage('--image', v))),
    replicas: flag('--replicas <n>', 'webhook server replicas', replicas, { default: String(DEFAULT_REPLICAS) }),
    endpoint: flag('--webhook-url <url>', 'call a server outside the cluster at this https URL instead of the in-cluster Service (run `vnode scheduling serve --mode MODE` there)', parseEndpoint),
    wait: flag('--no-wait', 'do not wait for the webhook server to be available', read.unlessNegated),
    timeoutMs: durationFlag('--timeout <duration>', 'how long to wait for the webhook server', '3m'),
  },
  mutates: true,
  contract: {
    cloud: { always: [] },
    kubernetes: SCHEDULING_ACCESS,
    risk: 'change',
    waits: 'the scheduling server\'s Deployment available',
    converges: true,
  },
  async run(ctx, o) {
    if (o.endpoint.kind === 'url' && o.image !== undefined) throw usageError('ConflictingFlags', '--image does not apply with --webhook-url: no webhook server is deployed in the cluster');
    const { enableScheduling } = await import('../../steps/scheduling/scheduling.js');
    const r = await enableScheduling(ctx, { ...o, image: o.image ?? DEFAULT_IMAGE });
    ctx.out.result(r, () => render(r));
  },
});
