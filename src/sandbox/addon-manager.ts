import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeCluster } from '../cluster/kube.js';
import { ensureObject } from '../cluster/ensure.js';
import type { ClusterPort, KubeObject } from '../cluster/port.js';
import { generateWebhookCerts } from '../steps/scheduling/certs.js';
import type { CsHooks } from './cloud/cs.js';
import type { AddonInstanceRec, RegisteredClusterRec } from './cloud/state.js';
import { messageOf } from './kubelet.js';

const NS = 'kube-system';
const RBAC = 'rbac.authorization.k8s.io/v1';
/** The labels the sandbox's add-on manager puts on what it deploys (ASSUMPTION: the real manager's are not documented). */
const ADDON_LABELS = { 'app.kubernetes.io/part-of': 'ack-virtual-node', 'addon.ack.aliyun.com/managed': 'true' };
export const CONTROLLER_APP = 'ack-virtual-node-controller';
/** The labels the documents use to ask for ECI, on a pod or its namespace. */
const ECI_LABELS = [{ key: 'alibabacloud.com/eci', value: 'true' }, { key: 'eci', value: 'true' }];

interface AdmissionPod { metadata?: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { tolerations?: unknown[]; nodeSelector?: Record<string, string> } }
interface Selector { name: string; namespaceSelector?: { matchLabels?: Record<string, string> }; objectSelector?: { matchLabels?: Record<string, string> }; effect?: { annotations?: Record<string, string>; labels?: Record<string, string> } }

/** eci-profile's selectors; bad JSON is ignored, as documented. */
function parseSelectors(raw: string | undefined): Selector[] {
  try {
    const v = JSON.parse(raw ?? '[]') as unknown;
    return Array.isArray(v) ? (v as Selector[]).filter((s) => s && typeof s.name === 'string') : [];
  } catch { return []; }
}

const matches = (want: Record<string, string> | undefined, have: Record<string, string>): boolean => Object.entries(want ?? {}).every(([k, v]) => have[k] === v);
const pointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * What vk-webhook does to a new pod, as documented: a pod labelled for ECI, in a namespace so labelled, or matched by
 * the first eci-profile selector (all of its pod and namespace labels), goes to the virtual nodes; a selector's
 * effect adds its labels and annotations, the pod's own winning.
 */
export function vkPatch(pod: AdmissionPod, nsLabels: Record<string, string>, selectors: Selector[]): unknown[] {
  const labels = pod.metadata?.labels ?? {};
  const byLabel = ECI_LABELS.some((l) => labels[l.key] === l.value || nsLabels[l.key] === l.value);
  const selector = selectors.find((s) => (s.objectSelector || s.namespaceSelector) && matches(s.objectSelector?.matchLabels, labels) && matches(s.namespaceSelector?.matchLabels, nsLabels));
  if (!byLabel && !selector) return [];
  const patch: unknown[] = [];
  const toleration = { key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' };
  const tolerations = pod.spec?.tolerations;
  if (!tolerations) patch.push({ op: 'add', path: '/spec/tolerations', value: [toleration] });
  else if (!tolerations.some((t) => (t as { key?: string }).key === toleration.key)) patch.push({ op: 'add', path: '/spec/tolerations/-', value: toleration });
  if (!pod.spec?.nodeSelector) patch.push({ op: 'add', path: '/spec/nodeSelector', value: { type: 'virtual-kubelet' } });
  else if (pod.spec.nodeSelector.type !== 'virtual-kubelet') patch.push({ op: 'add', path: '/spec/nodeSelector/type', value: 'virtual-kubelet' });
  for (const [field, add] of [['labels', selector?.effect?.labels], ['annotations', selector?.effect?.annotations]] as const) {
    const have = pod.metadata?.[field];
    const missing = Object.entries(add ?? {}).filter(([k]) => have?.[k] === undefined);
    if (missing.length === 0) continue;
    if (!have) patch.push({ op: 'add', path: `/metadata/${field}`, value: Object.fromEntries(missing) });
    else for (const [k, v] of missing) patch.push({ op: 'add', path: `/metadata/${field}/${pointer(k)}`, value: v });
  }
  return patch;
}

export interface AddonManagerOptions {
  adminKubeconfig: string;
  log?: (m: string) => void;
}

/**
 * Plays what Alibaba runs for a registered cluster, inside the sandbox's cluster:
 * - the connection: a registration counts as connected while the agent Deployment of its manifest exists (with the
 *   token that manifest carried);
 * - the add-on manager: InstallClusterAddons applies the add-on's objects (controller Deployment, RBAC, eci-profile,
 *   the vk-webhook configuration), UnInstallClusterAddons removes them; the controller itself is played by
 *   ControllerSimulator from the Deployment's pods;
 * - vk-webhook: served on loopback, as the API server here reaches no Service; it does what the documents say the
 *   add-on's webhook does for pods labelled alibabacloud.com/eci=true (or in a namespace so labelled).
 */
export class AddonManager {
  private readonly admin = new KubeConfig();
  private readonly cluster: ClusterPort;
  private readonly abort = new AbortController();
  private readonly connected = new Map<string, { token: string; viaVpc: boolean }>();
  private loop: Promise<void> | undefined;
  private webhook: { server: Server; url: string; caBundle: string } | undefined;

  constructor(private readonly opts: AddonManagerOptions) {
    this.admin.loadFromFile(opts.adminKubeconfig);
    this.cluster = new KubeCluster(this.admin, { contextName: '', clusterName: '', server: this.admin.getCurrentCluster()!.server, caData: undefined, caFile: undefined, insecureSkipTlsVerify: false });
  }

  private log(m: string): void {
    this.opts.log?.(`addon-manager: ${m}`);
  }

  start(): void {
    this.loop ??= this.cluster.watchList<KubeObject>('apps/v1', 'Deployment', { namespace: NS, fieldSelector: 'metadata.name=ack-cluster-agent' }, (type, dep) => {
      void this.agentEvent(type, dep);
    }, this.abort.signal).catch((e: unknown) => this.log(`agent watch ended: ${messageOf(e)}`));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    // the API server keeps its connections open: close them, or close() waits for them
    this.webhook?.server.closeAllConnections();
    await new Promise<void>((r) => (this.webhook ? this.webhook.server.close(() => r()) : r()));
  }

  hooks(): CsHooks {
    return {
      agentConnected: (id, token, publicReachable) => { const a = this.connected.get(id); return a !== undefined && a.token === token && (a.viaVpc || publicReachable); },
      installAddon: (c, a) => this.install(c, a),
      uninstallAddon: (c, a) => this.uninstall(c, a),
      upgradeAddon: (c, a, v, overwrite) => this.upgrade(c, a, v, overwrite),
    };
  }

  /** The agent's env names its cluster; its token comes from the Secret, as the pod would read it. */
  private async agentEvent(type: string, dep: KubeObject): Promise<void> {
    const env = ((dep.spec as { template?: { spec?: { containers?: { env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } })
      ?.template?.spec?.containers?.[0]?.env) ?? [];
    const id = env.find((e) => e.name === 'ACK_CLUSTER_ID')?.value;
    if (!id) return;
    if (type === 'DELETED' || dep.metadata.deletionTimestamp) { this.connected.delete(id); this.log(`agent of ${id} gone`); return; }
    const ref = env.find((e) => e.name === 'ACK_AGENT_TOKEN')?.valueFrom?.secretKeyRef;
    // ASSUMPTION: the agent's route shows in its stub endpoint (the VPC one for PrivateIpAddress=true)
    const viaVpc = (env.find((e) => e.name === 'ACK_STUB_ENDPOINT')?.value ?? '').includes('.vpc-');
    try {
      const secret = ref ? await this.cluster.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: ref.name }) : undefined;
      const token = secret?.data?.[ref!.key];
      if (token) { this.connected.set(id, { token: Buffer.from(token, 'base64').toString('utf8'), viaVpc }); this.log(`agent of ${id} connected${viaVpc ? ' over the VPC' : ' over the internet'}`); }
    } catch (e) {
      this.log(`reading the agent's token: ${messageOf(e)}`);
    }
  }

  private readonly cache = new Map<string, { at: number; value: Promise<Record<string, string>> }>();

  /** Labels of a namespace, or eci-profile's data: read through the API server, kept briefly. */
  private cached(key: string, read: () => Promise<Record<string, string> | undefined>): Promise<Record<string, string>> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 500) return hit.value;
    const value = read().then((v) => v ?? {}, () => ({}));
    this.cache.set(key, { at: Date.now(), value });
    return value;
  }

  private async review(request: { uid: string; namespace?: string; object?: AdmissionPod }): Promise<Record<string, unknown>> {
    const pod = request.object;
    if (!pod) return { uid: request.uid, allowed: true };
    const ns = request.namespace ?? pod.metadata?.namespace ?? '';
    const [nsLabels, profile] = await Promise.all([
      this.cached(`ns/${ns}`, async () => (await this.cluster.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: ns }))?.metadata.labels),
      this.cached('profile', async () => (await this.cluster.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'eci-profile' }))?.data),
    ]);
    const patch = vkPatch(pod, nsLabels, parseSelectors(profile.selectors));
    return { uid: request.uid, allowed: true, ...(patch.length ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}) };
  }

  private async serveWebhook(): Promise<{ url: string; caBundle: string }> {
    if (this.webhook) return this.webhook;
    const certs = await generateWebhookCerts(['127.0.0.1']);
    const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: { apiVersion?: string; request?: { uid: string; namespace?: string; object?: AdmissionPod } };
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body; } catch { res.writeHead(400).end(); return; }
        void this.review(body.request ?? { uid: '' }).then((response) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: body.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
        }, () => res.writeHead(500).end());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.webhook = { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`, caBundle: Buffer.from(certs.caPem).toString('base64') };
    return this.webhook;
  }

  private objects(c: RegisteredClusterRec, a: AddonInstanceRec, hook: { url: string; caBundle: string }): KubeObject[] {
    const meta = (name: string, namespaced = true): KubeObject['metadata'] => ({ name, ...(namespaced ? { namespace: NS } : {}), labels: ADDON_LABELS });
    const webhook = (name: string, selector: Record<string, unknown>): Record<string, unknown> => ({
      name, admissionReviewVersions: ['v1', 'v1beta1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
      clientConfig: { url: hook.url, caBundle: hook.caBundle },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }], ...selector,
    });
    return [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('ack-virtual-node') },
      {
        apiVersion: RBAC, kind: 'ClusterRole', metadata: meta('ack-virtual-node-clusterrole', false),
        rules: [
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
          { apiGroups: [''], resources: ['nodes/status'], verbs: ['update', 'patch'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'] },
          { apiGroups: [''], resources: ['pods/status'], verbs: ['update', 'patch'] },
          { apiGroups: [''], resources: ['pods/binding'], verbs: ['create'] },
          { apiGroups: [''], resources: ['events'], verbs: ['create', 'update', 'patch'] },
          { apiGroups: [''], resources: ['configmaps', 'secrets', 'services', 'namespaces'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['get', 'list', 'watch', 'create'] },
          { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/approval'], verbs: ['update'] },
          { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['vk-webhook'], verbs: ['get', 'update', 'patch'] },
        ],
      },
      {
        apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: meta('ack-virtual-node-clusterrolebinding', false),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ack-virtual-node-clusterrole' },
        subjects: [{ kind: 'ServiceAccount', name: 'ack-virtual-node', namespace: NS }],
      },
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(CONTROLLER_APP),
        spec: {
          replicas: 1, selector: { matchLabels: { app: CONTROLLER_APP } },
          template: {
            metadata: { labels: { app: CONTROLLER_APP } },
            spec: {
              serviceAccountName: 'ack-virtual-node',
              affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] }] } } },
              containers: [{
                name: 'ack-virtual-node-controller',
                // ASSUMPTION: the add-on's image path and tag are the add-on manager's; this is the release notes' pattern
                image: `registry-${c.regionId}-vpc.ack.aliyuncs.com/acs/virtual-nodes-eci:${a.version}-aliyun`,
                env: [
                  { name: 'ECI_REGION', value: c.regionId }, { name: 'ALIYUN_CLUSTERID', value: c.id },
                  { name: 'ECI_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'alibaba-addon-secret', key: 'access-key-id' } } },
                  { name: 'ECI_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'alibaba-addon-secret', key: 'access-key-secret' } } },
                ],
              }],
            },
          },
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: meta('vk-webhook', false),
        // every pod: eci-profile's selectors can match any of them
        webhooks: [webhook('vk-webhook.eci.aliyun.com', {})],
      },
    ];
  }

  /** eci-profile as the add-on ships it: the registration's network and the defaults. */
  private defaultProfile(c: RegisteredClusterRec): Record<string, string> {
    return {
      vpcId: c.vpcId, vSwitchIds: c.vswitchIds.join(','), securityGroupId: c.securityGroupId, resourceGroupId: c.resourceGroupId,
      enableClusterIp: 'true', enableHybridMode: 'false', enablePrivateZone: 'false', enableLinuxArm64Node: 'false', selectors: '[]',
    };
  }

  private async install(c: RegisteredClusterRec, a: AddonInstanceRec): Promise<void> {
    const hook = await this.serveWebhook();
    // eci-profile starts from the registration's network and is the user's afterwards: created only when absent
    if (!(await this.cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'eci-profile' }))) {
      await this.cluster.create({
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'eci-profile', namespace: NS, labels: ADDON_LABELS },
        data: this.defaultProfile(c),
      } as KubeObject);
    }
    for (const o of this.objects(c, a, hook)) await ensureObject(this.cluster, o);
    this.log(`${a.name} ${a.version} installed in ${c.id}`);
  }

  /**
   * What an upgrade does to the cluster: the controller's image goes to the new version (a rolling update, as the
   * manager's Deployment does it), nothing else is rewritten; done once the new controller runs and the old is gone.
   * With `overwrite` (the state's addonUpgradeOverwrites, or policy: overwrite) it first puts the controller's env and
   * eci-profile back to the manifest's, as the documents warn an upgrade may; otherwise it keeps them (ASSUMPTION).
   */
  private async upgrade(c: RegisteredClusterRec, a: AddonInstanceRec, version: string, overwrite: boolean): Promise<void> {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: CONTROLLER_APP };
    const image = `registry-${c.regionId}-vpc.ack.aliyuncs.com/acs/virtual-nodes-eci:${version}-aliyun`;
    if (overwrite) {
      // the manifest's objects as they ship: the controller's env and eci-profile's settings back to their defaults
      const manifest = this.objects(c, { ...a, version }, { url: '', caBundle: '' }).find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: { containers: { env?: unknown[] }[] } } } };
      await this.cluster.patch(ref, [{ op: 'replace', path: '/spec/template/spec/containers/0/env', value: manifest.spec.template.spec.containers[0]!.env ?? [] }], 'json');
      await this.cluster.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'eci-profile' }, [{ op: 'replace', path: '/data', value: this.defaultProfile(c) }], 'json');
    }
    await this.cluster.patch(ref, { spec: { template: { spec: { containers: [{ name: 'ack-virtual-node-controller', image }] } } } }, 'strategic');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const dep = await this.cluster.get<KubeObject & { spec?: { replicas?: number }; status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number } }>(ref);
      const pods = await this.cluster.list<KubeObject>('v1', 'Pod', { namespace: NS, labelSelector: `app=${CONTROLLER_APP}` });
      const want = dep?.spec?.replicas ?? 1;
      const st = dep?.status;
      if (dep && (st?.observedGeneration ?? 0) >= Number(dep.metadata.generation ?? 0) && st?.updatedReplicas === want && st.availableReplicas === want && st.replicas === want
        && pods.filter((p) => !p.metadata.deletionTimestamp).length === want) break;
      if (Date.now() > deadline) throw new Error(`the controller Deployment did not roll out ${version} in 120s`);
      await new Promise((r) => setTimeout(r, 300));
    }
    this.log(`${a.name} upgraded from ${a.version} to ${version} in ${c.id}`);
  }

  private async uninstall(c: RegisteredClusterRec, a: AddonInstanceRec): Promise<void> {
    // ASSUMPTION: the manager removes everything it applied, eci-profile included; it leaves the nodes (documented)
    for (const o of this.objects(c, a, { url: '', caBundle: '' }).reverse()) await this.cluster.delete({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
    await this.cluster.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'eci-profile' });
    // done once the controller's pods are gone, so none registers a node again
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await this.cluster.list('v1', 'Pod', { namespace: NS, labelSelector: `app=${CONTROLLER_APP}` })).length > 0) await new Promise((r) => setTimeout(r, 200));
    this.log(`${a.name} uninstalled from ${c.id}`);
  }
}
