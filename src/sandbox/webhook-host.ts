import { KubeConfig } from '@kubernetes/client-node';
import { KubeCluster } from '../cluster/kube.js';
import type { ClusterPort, KubeObject } from '../cluster/port.js';
import { startWebhookServer, type WebhookServer } from '../steps/scheduling/server.js';
import { NAMESPACE, TLS_SECRET, WEBHOOK } from '../steps/scheduling/webhook.js';
import { messageOf, serviceAccountKubeConfig } from './kubelet.js';

const TOKEN_SECONDS = 3600;

export interface WebhookHostOptions {
  adminKubeconfig: string;
  port: number;
  log?: (m: string) => void;
}

/**
 * The sandbox's stand-in for a machine outside the cluster running `vnode scheduling serve`: no pod can run here,
 * and the API server reaches it on loopback through `scheduling enable --webhook-url`. It serves with the
 * certificate of the vnode-scheduling-tls Secret whenever that exists, as the webhook's ServiceAccount.
 */
export class WebhookHost {
  private readonly admin = new KubeConfig();
  private readonly abort = new AbortController();
  private server: WebhookServer | undefined;
  private serving: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private identity: { at: number; cluster: Promise<ClusterPort> } | undefined;

  constructor(private readonly opts: WebhookHostOptions) {
    this.admin.loadFromFile(opts.adminKubeconfig);
  }

  get url(): string {
    return `https://127.0.0.1:${this.opts.port}`;
  }

  start(): void {
    const cluster = new KubeCluster(this.admin, { contextName: '', clusterName: '', server: this.admin.getCurrentCluster()!.server, caData: undefined, caFile: undefined, insecureSkipTlsVerify: false });
    this.loop ??= cluster.watchList<KubeObject & { data?: Record<string, string> }>('v1', 'Secret', { namespace: NAMESPACE, fieldSelector: `metadata.name=${TLS_SECRET}` },
      (type, secret) => { this.serving = this.serving.then(() => (type === 'DELETED' ? this.close() : this.serve(secret.data ?? {}))); }, this.abort.signal)
      .catch((e: unknown) => this.log(`watch ended: ${messageOf(e)}`));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.serving;
    await this.close();
  }

  private log(m: string): void {
    this.opts.log?.(`webhook-host: ${m}`);
  }

  private async serve(data: Record<string, string>): Promise<void> {
    const cert = Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8');
    const key = Buffer.from(data['tls.key'] ?? '', 'base64').toString('utf8');
    if (!cert || !key) return this.close();
    try {
      if (this.server) { this.server.reload(cert, key); return; }
      this.server = await startWebhookServer({ host: '127.0.0.1', port: this.opts.port, cert, key, cluster: () => this.cluster(), log: (m) => this.log(m) });
      this.log(`serving on ${this.url}`);
    } catch (e) {
      this.log(`cannot serve: ${messageOf(e)}`);
    }
  }

  private async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }

  /** A token of the webhook's ServiceAccount, renewed well before it expires. */
  private cluster(): Promise<ClusterPort> {
    if (!this.identity || Date.now() - this.identity.at > (TOKEN_SECONDS / 2) * 1000) {
      const at = Date.now();
      const cluster = (async () => {
        const kc = await serviceAccountKubeConfig(this.admin, NAMESPACE, WEBHOOK, { seconds: TOKEN_SECONDS });
        const c = kc.getCurrentCluster()!;
        return new KubeCluster(kc, { contextName: 'c', clusterName: 'c', server: c.server, caData: c.caData, caFile: c.caFile, insecureSkipTlsVerify: false }) as ClusterPort;
      })();
      // a failed request is asked again next time
      cluster.catch(() => { if (this.identity?.at === at) this.identity = undefined; });
      this.identity = { at, cluster };
    }
    return this.identity.cluster;
  }
}
