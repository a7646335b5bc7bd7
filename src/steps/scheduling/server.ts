import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeFacts, NodeTaint } from '../../cluster/node-match.js';
import type { ClusterPort, KubeObject } from '../../cluster/port.js';
import { decide, LEGACY_POD_LABEL, POD_LABEL, SCHEDULING_MODES, TARGETS, type SchedulingMode } from './mutation.js';

export const MUTATE_PATH = '/mutate/';
export const HEALTH_PATH = '/healthz';
export const SKIPPED_REASON = 'VirtualNodeNotInjected';
const COMPONENT = 'vnode-scheduling';
const NODE_CACHE_MS = 5000;
const MAX_BODY = 3 * 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** Reads the mode's nodes and writes events, as the webhook's ServiceAccount (asked for each use: a token may be renewed). */
  cluster: () => Promise<ClusterPort>;
  log: (m: string) => void;
}

export interface WebhookServer {
  port: number;
  /** New certificate and key for new connections (a renewed Secret). */
  reload(cert: string, key: string): void;
  close(): Promise<void>;
}

interface AdmissionRequest {
  uid: string;
  namespace?: string;
  dryRun?: boolean;
  object?: KubeObject & { spec?: Record<string, unknown> };
}

interface NodeObject extends KubeObject { spec?: { taints?: NodeTaint[] } }

/** The mutating admission webhook behind `vnode scheduling enable`: one path per install mode. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const cache = new Map<SchedulingMode, { at: number; nodes: Promise<NodeFacts[]> }>();
  const nodesOf = (mode: SchedulingMode): Promise<NodeFacts[]> => {
    const hit = cache.get(mode);
    if (hit && Date.now() - hit.at < NODE_CACHE_MS) return hit.nodes;
    const nodes = opts.cluster().then((c) => c.list<NodeObject>('v1', 'Node', { labelSelector: TARGETS[mode].nodeLabelSelector }))
      .then((list) => list.map((n) => ({ name: n.metadata.name ?? '', labels: n.metadata.labels ?? {}, taints: n.spec?.taints ?? [] })))
      .catch((e: unknown) => {
        // without the list the mode's usual labels decide; a pod is never refused for it
        opts.log(`listing ${mode} nodes failed: ${(e as Error).message}`);
        cache.delete(mode);
        return [];
      });
    cache.set(mode, { at: Date.now(), nodes });
    return nodes;
  };

  const review = async (mode: SchedulingMode, body: { apiVersion?: string; request?: AdmissionRequest }): Promise<Record<string, unknown>> => {
    const req = body.request;
    if (!req?.uid) throw Object.assign(new Error('not an AdmissionReview request'), { status: 400 });
    const response: Record<string, unknown> = { uid: req.uid, allowed: true };
    const pod = req.object;
    if (pod?.kind === 'Pod') {
      const d = decide(pod, mode, await nodesOf(mode));
      if (d.patch.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(d.patch)).toString('base64');
      }
      if (d.skipped) {
        const message = `not sent to a virtual node: ${d.skipped}`;
        response.warnings = [message];
        if (!req.dryRun) void opts.cluster().then((c) => recordSkip(c, pod, req.namespace ?? '', message)).catch((e: unknown) => opts.log(`event: ${(e as Error).message}`));
      }
    }
    return { apiVersion: body.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (req.method === 'GET' && url.pathname === HEALTH_PATH) { res.writeHead(200).end('ok'); return; }
    const mode = url.pathname.startsWith(MUTATE_PATH) ? url.pathname.slice(MUTATE_PATH.length) as SchedulingMode : undefined;
    if (req.method !== 'POST' || !mode || !SCHEDULING_MODES.includes(mode)) { res.writeHead(404).end(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) { res.writeHead(413).end(); return; }
      chunks.push(c as Buffer);
    }
    try {
      const out = await review(mode, JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion?: string; request?: AdmissionRequest });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      res.writeHead((e as { status?: number }).status ?? 400, { 'content-type': 'text/plain' }).end((e as Error).message);
    }
  };

  const server: Server = createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((e: unknown) => { if (!res.headersSent) res.writeHead(500).end(); opts.log(`request failed: ${(e as Error).message}`); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    reload(cert, key) { server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' }); },
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** The event goes to the pod's controller when it has one: a generated pod has no name yet at admission. */
async function recordSkip(cluster: ClusterPort, pod: KubeObject, namespace: string, message: string): Promise<void> {
  const owner = (pod.metadata.ownerReferences as { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[] | undefined)?.find((o) => o.controller);
  const involved = owner
    ? { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, namespace }
    : { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name || pod.metadata.generateName || '', namespace };
  const labels = pod.metadata.labels ?? {};
  const asked = labels[POD_LABEL.key] === POD_LABEL.value ? `label ${POD_LABEL.key}=${POD_LABEL.value}`
    : labels[LEGACY_POD_LABEL.key] === LEGACY_POD_LABEL.value ? `label ${LEGACY_POD_LABEL.key}=${LEGACY_POD_LABEL.value}` : `namespace ${namespace}'s label`;
  const now = new Date().toISOString();
  await cluster.create({
    apiVersion: 'v1', kind: 'Event',
    metadata: { generateName: `${involved.name}.`, namespace },
    involvedObject: involved, reason: SKIPPED_REASON, type: 'Warning', count: 1, firstTimestamp: now, lastTimestamp: now,
    message: `pod ${pod.metadata.name || `${pod.metadata.generateName ?? ''}*`} asked for ECI (${asked}) but was ${message}`,
    source: { component: COMPONENT },
  });
}
