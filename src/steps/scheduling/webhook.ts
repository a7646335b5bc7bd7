import { managed, withAppliedHash } from '../../cluster/ensure.js';
import type { KubeObject } from '../../cluster/port.js';
import { VIRTUAL_KUBELET_LABEL } from './daemonset-affinity.js';
import { LEGACY_NAMESPACE_LABEL, LEGACY_POD_LABEL, NAMESPACE_LABEL, POD_LABEL, SHORT_NAMESPACE_LABEL, type SchedulingMode } from './mutation.js';
import { HEALTH_PATH, MUTATE_PATH } from './server.js';

export const NAMESPACE = 'kube-system';
export const WEBHOOK = 'vnode-scheduling';
export const TLS_SECRET = 'vnode-scheduling-tls';
export const ROLE = 'vnode:scheduling';
export const ADMISSION = 'admissionregistration.k8s.io/v1';
const RBAC = 'rbac.authorization.k8s.io/v1';
export const COMPONENT_LABELS = { 'app.kubernetes.io/name': WEBHOOK };
/** On a namespace: vnode put the scheduling label there (disable takes it off again). */
export const LABELLED_ANNOTATION = 'vnode.dev/scheduling-label';
export const SERVE_PORT = 8443;
export const TLS_DIR = '/etc/vnode/tls';
export const DEFAULT_REPLICAS = 2;
export const TIMEOUT_SECONDS = 5;

export const MWC_REF = { apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', name: WEBHOOK };
export const SECRET_REF = { apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: TLS_SECRET };
export const DEPLOYMENT_REF = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: WEBHOOK };
export const SERVICE_REF = { apiVersion: 'v1', kind: 'Service', namespace: NAMESPACE, name: WEBHOOK };

export function defaultImage(version: string): string {
  return `ghcr.io/vnode-dev/vnode:v${version}`;
}

/** Where the API server calls the webhook: the in-cluster Service, or a URL (a webhook outside the cluster, as in the sandbox). */
export type Endpoint = { kind: 'service' } | { kind: 'url'; url: string };

/** The names the serving certificate must carry for the API server to trust it. */
export function servingHosts(endpoint: Endpoint): string[] {
  if (endpoint.kind === 'url') return [new URL(endpoint.url).hostname.replace(/^\[|\]$/g, '')];
  return [`${WEBHOOK}.${NAMESPACE}.svc`, `${WEBHOOK}.${NAMESPACE}.svc.cluster.local`, `${WEBHOOK}.${NAMESPACE}`];
}

export function serviceAccount(): KubeObject {
  return managed({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: WEBHOOK, namespace: NAMESPACE } }, COMPONENT_LABELS);
}

/** Reads the virtual nodes (to see which a pod could reach) and explains skipped pods in events; nothing else. */
export function clusterRole(): KubeObject {
  return managed({
    apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: ROLE },
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  }, COMPONENT_LABELS);
}

export function clusterRoleBinding(): KubeObject {
  return managed({
    apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: ROLE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE },
    subjects: [{ kind: 'ServiceAccount', name: WEBHOOK, namespace: NAMESPACE }],
  }, COMPONENT_LABELS);
}

export function tlsSecret(certPem: string, keyPem: string, caPem: string, previousCaPem?: string): KubeObject {
  return managed({
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: TLS_SECRET, namespace: NAMESPACE },
    data: { 'tls.crt': b64(certPem), 'tls.key': b64(keyPem), 'ca.crt': b64(caPem), ...(previousCaPem ? { 'previous-ca.crt': b64(previousCaPem) } : {}) },
  }, COMPONENT_LABELS);
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

export function deployment(image: string, replicas: number): KubeObject {
  return withAppliedHash(managed({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: WEBHOOK, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: COMPONENT_LABELS },
      template: {
        metadata: { labels: { ...COMPONENT_LABELS } },
        spec: {
          serviceAccountName: WEBHOOK,
          // the webhook must not depend on the nodes it schedules onto
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: VIRTUAL_KUBELET_LABEL.key, operator: 'NotIn', values: [VIRTUAL_KUBELET_LABEL.value] }] }] } } },
          securityContext: { runAsNonRoot: true, runAsUser: 65532 },
          containers: [{
            name: 'webhook', image,
            args: ['scheduling', 'serve', '--tls-dir', TLS_DIR, '--port', String(SERVE_PORT)],
            ports: [{ name: 'https', containerPort: SERVE_PORT }],
            readinessProbe: { httpGet: { path: HEALTH_PATH, port: SERVE_PORT, scheme: 'HTTPS' }, periodSeconds: 5 },
            resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'tls', mountPath: TLS_DIR, readOnly: true }],
          }],
          volumes: [{ name: 'tls', secret: { secretName: TLS_SECRET } }],
        },
      },
    },
  }, COMPONENT_LABELS));
}

export function service(): KubeObject {
  return withAppliedHash(managed({
    apiVersion: 'v1', kind: 'Service', metadata: { name: WEBHOOK, namespace: NAMESPACE },
    spec: { selector: COMPONENT_LABELS, ports: [{ name: 'https', port: 443, targetPort: SERVE_PORT }] },
  }, COMPONENT_LABELS));
}

function clientConfig(endpoint: Endpoint, mode: SchedulingMode, caPem: string): Record<string, unknown> {
  const path = `${MUTATE_PATH}${mode}`;
  const caBundle = b64(caPem);
  if (endpoint.kind === 'url') return { url: `${endpoint.url.replace(/\/+$/, '')}${path}`, caBundle };
  return { service: { name: WEBHOOK, namespace: NAMESPACE, path, port: 443 }, caBundle };
}

const NOT_OPTED_OUT = { matchExpressions: [{ key: POD_LABEL.key, operator: 'NotIn', values: ['false'] }] };

/**
 * One webhook per way of asking (pod label, namespace label, and their older spellings): selectors are ANDed within a
 * webhook, and a pod that asks twice is changed once (the second call finds nothing left to add).
 */
export function webhookConfiguration(endpoint: Endpoint, mode: SchedulingMode, caPem: string): KubeObject {
  const common = {
    clientConfig: clientConfig(endpoint, mode, caPem),
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    // a webhook that is down must not stop pods from being created; they just stay on ordinary nodes
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    // it writes an Event when it leaves a pod alone, never on a dry run
    sideEffects: 'NoneOnDryRun',
    timeoutSeconds: TIMEOUT_SECONDS,
    admissionReviewVersions: ['v1', 'v1beta1'],
    reinvocationPolicy: 'IfNeeded',
  };
  const byPod = (name: string, label: { key: string; value: string }): Record<string, unknown> =>
    ({ name, ...common, namespaceSelector: {}, objectSelector: { matchLabels: { [label.key]: label.value } } });
  const byNamespace = (name: string, label: { key: string; value: string }): Record<string, unknown> =>
    ({ name, ...common, namespaceSelector: { matchLabels: { [label.key]: label.value } }, objectSelector: NOT_OPTED_OUT });
  return withAppliedHash(managed({
    apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', metadata: { name: WEBHOOK, annotations: { 'vnode.dev/mode': mode } },
    webhooks: [
      byPod('pod-label.scheduling.vnode.dev', POD_LABEL),
      byPod('pod-legacy-label.scheduling.vnode.dev', LEGACY_POD_LABEL),
      byNamespace('namespace-label.scheduling.vnode.dev', NAMESPACE_LABEL),
      byNamespace('namespace-legacy-label.scheduling.vnode.dev', LEGACY_NAMESPACE_LABEL),
      byNamespace('namespace-short-label.scheduling.vnode.dev', SHORT_NAMESPACE_LABEL),
    ],
  }, COMPONENT_LABELS));
}

/** What an installed configuration says: its mode, endpoint and CA. */
export function describeConfiguration(mwc: KubeObject): { mode: SchedulingMode | undefined; endpoint: Endpoint; caPem: string } {
  const hook = (mwc.webhooks as { clientConfig?: { url?: string; service?: { path?: string }; caBundle?: string } }[] | undefined)?.[0];
  const cc = hook?.clientConfig ?? {};
  const path = cc.url ? new URL(cc.url).pathname : cc.service?.path ?? '';
  const m = path.startsWith(MUTATE_PATH) ? path.slice(MUTATE_PATH.length) : '';
  const mode = m === 'vnode' || m === 'controller' ? m : undefined;
  const endpoint: Endpoint = cc.url ? { kind: 'url', url: cc.url.slice(0, cc.url.length - path.length) } : { kind: 'service' };
  return { mode, endpoint, caPem: Buffer.from(cc.caBundle ?? '', 'base64').toString('utf8') };
}
