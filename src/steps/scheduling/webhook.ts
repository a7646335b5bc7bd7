import { managed, withAppliedHash } from '../../cluster/ensure.js';
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../cluster/port.js';
import { VIRTUAL_KUBELET_LABEL } from '../ground/daemonset-affinity.js';
import type { SchedulingMode } from './mutation.js';
import { BUILT_IN_RULES, SELECTOR_CRD, SELECTOR_GROUP, SELECTOR_KIND, type LabelSelector, type SelectorObject } from './policy.js';

export const MUTATE_PATH = '/mutate/';
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';
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
/** Under /opt, which the official Node.js image leaves empty. */
export const TLS_DIR = '/opt/vnode/tls';
export const CODE_DIR = '/opt/vnode/code';
export const CODE_CONFIGMAP = 'vnode-scheduling-code';
export const CODE_FILE = 'webhook.cjs.gz';
export const LOADER_FILE = 'loader.cjs';
/** On the pod template: the code's digest, so a new vnode rolls the server out. */
export const CODE_ANNOTATION = 'vnode.dev/code-sha256';
export const DEFAULT_REPLICAS = 2;
export const TIMEOUT_SECONDS = 5;

export const MWC_REF = { apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', name: WEBHOOK };
export const SECRET_REF = { apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: TLS_SECRET };
export const DEPLOYMENT_REF = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: WEBHOOK };
export const SERVICE_REF = { apiVersion: 'v1', kind: 'Service', namespace: NAMESPACE, name: WEBHOOK };
export const CODE_REF = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: CODE_CONFIGMAP };
export const CRD_REF = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: SELECTOR_CRD };

/**
 * The official Node.js image of the major version vnode is built for: vnode's server is not an image of its own but
 * code in a ConfigMap (see codeConfigMap), so nothing has to be published. --image takes a mirror of it.
 */
/** The Active LTS line (supported until 2029-04-30), the longest support window of the lines users can pull. */
export const DEFAULT_IMAGE = 'docker.io/library/node:26-alpine';

/**
 * Loads the gzipped server next to it as a CommonJS module. Runs on the image's own `node`; kept in the ConfigMap
 * as text so what runs in the cluster can be read there.
 */
export const LOADER = `// vnode scheduling server loader: runs ${CODE_FILE} (vnode's bundled server) from this ConfigMap.
'use strict';
const { gunzipSync } = require('node:zlib');
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const file = path.join(__dirname, 'webhook.cjs');
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(__dirname);
m._compile(gunzipSync(readFileSync(path.join(__dirname, '${CODE_FILE}'))).toString('utf8'), file);
`;

/** The server's code: vnode's bundled, gzipped server and its loader (a ConfigMap holds up to 1 MiB). */
export function codeConfigMap(gz: Buffer): KubeObject {
  return managed({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CODE_CONFIGMAP, namespace: NAMESPACE, annotations: { [CODE_ANNOTATION]: codeDigest(gz) } },
    data: { [LOADER_FILE]: LOADER }, binaryData: { [CODE_FILE]: gz.toString('base64') },
  }, COMPONENT_LABELS);
}

export function codeDigest(gz: Buffer): string {
  return createHash('sha256').update(gz).update(LOADER).digest('hex');
}

/** Selector (eci.aliyun.com), as Alibaba's eci-profile defines it, served as v1 (and v1beta1 for its older manifests). */
export function selectorCrd(): KubeObject {
  const labelSelector = {
    type: 'object',
    properties: {
      matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
      matchExpressions: {
        type: 'array',
        items: {
          type: 'object', required: ['key', 'operator'],
          properties: { key: { type: 'string' }, operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
  };
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  const schema = {
    openAPIV3Schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            namespaceLabels: labelSelector,
            objectLabels: labelSelector,
            effect: { type: 'object', properties: { annotations: stringMap, labels: stringMap } },
            policy: {
              type: 'object',
              properties: {
                fair: { type: 'object' }, normalNodeOnly: { type: 'object' }, virtualNodeOnly: { type: 'object' },
                // float64 in eci-profile's types: fractions are valid
                normalNodePrefer: { type: 'object', properties: { cpuRatio: { type: 'number' }, memoryRatio: { type: 'number' } } },
                namespaceResourceLimit: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
            priority: { type: 'integer', format: 'int32' },
          },
        },
      },
    },
  };
  const columns = [
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];
  return withAppliedHash(managed({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: SELECTOR_CRD },
    spec: {
      group: SELECTOR_GROUP, scope: 'Cluster',
      names: { plural: 'selectors', singular: 'selector', kind: SELECTOR_KIND, listKind: 'SelectorList' },
      versions: [
        { name: 'v1', served: true, storage: true, schema, additionalPrinterColumns: columns },
        { name: 'v1beta1', served: true, storage: false, schema, additionalPrinterColumns: columns },
      ],
    },
  }, COMPONENT_LABELS));
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

/**
 * Reads what decides (virtual nodes, namespace labels, Selectors), patches pods (burst: tolerations of pending pods of
 * a normal-node-prefer selector) and its own webhook configuration, and explains itself in events; nothing else.
 */
export function clusterRole(): KubeObject {
  return managed({
    apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: ROLE },
    rules: [
      { apiGroups: [''], resources: ['nodes', 'namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: [SELECTOR_GROUP], resources: ['selectors'], verbs: ['get', 'list', 'watch'] },
      // its own webhook configuration only: one entry per Selector, kept in step when Selectors change
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [WEBHOOK], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      // burst limits: the limits and the price table read, the ledger of reservations written (kube-system)
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      // one replica counts the charged pods for all (a Lease names it)
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'patch'] },
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

export function deployment(image: string, replicas: number, mode: SchedulingMode, codeSha: string): KubeObject {
  return withAppliedHash(managed({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: WEBHOOK, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: COMPONENT_LABELS },
      template: {
        metadata: { labels: { ...COMPONENT_LABELS }, annotations: { [CODE_ANNOTATION]: codeSha } },
        spec: {
          serviceAccountName: WEBHOOK,
          // the webhook must not depend on the nodes it schedules onto
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: VIRTUAL_KUBELET_LABEL.key, operator: 'NotIn', values: [VIRTUAL_KUBELET_LABEL.value] }] }] } } },
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
          containers: [{
            name: 'server', image,
            command: ['node', `${CODE_DIR}/${LOADER_FILE}`],
            args: ['serve', '--tls-dir', TLS_DIR, '--port', String(SERVE_PORT), '--mode', mode],
            ports: [{ name: 'https', containerPort: SERVE_PORT }],
            readinessProbe: { httpGet: { path: HEALTH_PATH, port: SERVE_PORT, scheme: 'HTTPS' }, periodSeconds: 5 },
            resources: { requests: { cpu: '20m', memory: '96Mi' }, limits: { memory: '256Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'code', mountPath: CODE_DIR, readOnly: true }, { name: 'tls', mountPath: TLS_DIR, readOnly: true }],
          }],
          volumes: [{ name: 'code', configMap: { name: CODE_CONFIGMAP } }, { name: 'tls', secret: { secretName: TLS_SECRET } }],
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

const ENTRY_SUFFIX = '.selectors.scheduling.vnode.dev';
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.pop()!;
  const prefix = parts.join('/');
  if (parts.length > 1 || (prefix && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) || name.length > 63 || !LABEL_NAME.test(name)) return `label key "${key}" is not a valid label key`;
  return undefined;
}

function selectorProblem(what: string, sel: LabelSelector | undefined): string | undefined {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) {
    const p = keyProblem(k) ?? (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v) ? `value "${String(v)}" of ${k} is not a valid label value` : undefined);
    if (p) return `${what}.matchLabels: ${p}`;
  }
  for (const [i, e] of (sel?.matchExpressions ?? []).entries()) {
    const at = `${what}.matchExpressions[${i}]`;
    const p = keyProblem(e.key ?? '');
    if (p) return `${at}: ${p}`;
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) return `${at}: operator ${e.operator} needs at least one value`;
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) return `${at}: operator ${e.operator} takes no values`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) return `${at}: operator "${e.operator}" is not one of In, NotIn, Exists, DoesNotExist`;
    const bad = values.find((v) => typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v));
    if (bad !== undefined) return `${at}: value "${String(bad)}" is not a valid label value`;
  }
  return undefined;
}

/**
 * Why a Selector cannot have a webhook entry, checked as the API server would check the entry (its name, its
 * namespace and object selectors): a bad one is left out, so it never breaks the configuration of the others.
 */
export function entryProblem(sel: SelectorObject): string | undefined {
  const name = `${sel.metadata.name ?? ''}${ENTRY_SUFFIX}`;
  if (name.length > 253) return `its name is ${sel.metadata.name?.length} characters: a webhook entry's name (name${ENTRY_SUFFIX}) may have at most 253`;
  return selectorProblem('namespaceLabels', sel.spec?.namespaceLabels) ?? selectorProblem('objectLabels', sel.spec?.objectLabels);
}

/**
 * One webhook per way a pod can be picked: each label shortcut and each Selector, with the same namespace and object
 * selectors, so the API server calls the server only for pods some selector may pick (every other pod is created as
 * if vnode were not there). A pod several pick is called once per entry; the calls after the first change nothing.
 * The server's own pods are never sent to it. The order is by name, so the same Selectors give the same configuration.
 */
export function webhookConfiguration(endpoint: Endpoint, mode: SchedulingMode, caPem: string, selectors: SelectorObject[] = []): KubeObject {
  const notServer = Object.entries(COMPONENT_LABELS).map(([key, v]) => ({ key, operator: 'NotIn', values: [v] }));
  const entry = (name: string, namespaceLabels: LabelSelector | undefined, objectLabels: LabelSelector | undefined): Record<string, unknown> => ({
    name,
    clientConfig: clientConfig(endpoint, mode, caPem),
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    // a webhook that is down must not stop pods from being created; they just stay on ordinary nodes
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    namespaceSelector: namespaceLabels ?? {},
    objectSelector: { ...(objectLabels?.matchLabels ? { matchLabels: objectLabels.matchLabels } : {}), matchExpressions: [...(objectLabels?.matchExpressions ?? []), ...notServer] },
    // it writes an Event when it leaves a pod alone, never on a dry run
    sideEffects: 'NoneOnDryRun',
    timeoutSeconds: TIMEOUT_SECONDS,
    admissionReviewVersions: ['v1', 'v1beta1'],
    reinvocationPolicy: 'IfNeeded',
  });
  return withAppliedHash(managed({
    apiVersion: ADMISSION, kind: 'MutatingWebhookConfiguration', metadata: { name: WEBHOOK, annotations: { 'vnode.dev/mode': mode } },
    webhooks: [
      ...BUILT_IN_RULES.map((r) => entry(`${r.name}.scheduling.vnode.dev`, r.namespaceLabels, r.objectLabels)),
      ...[...selectors].filter((sel) => entryProblem(sel) === undefined).sort((x, y) => (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''))
        .map((sel) => entry(`${sel.metadata.name}${ENTRY_SUFFIX}`, sel.spec?.namespaceLabels, sel.spec?.objectLabels)),
    ],
  }, COMPONENT_LABELS));
}

/** The configuration as it is, with the Selectors there are now (what `enable`, `scheduling add|remove` and the server apply). */
export function reconfigured(live: KubeObject, selectors: SelectorObject[]): KubeObject | undefined {
  const c = describeConfiguration(live);
  return c.mode ? webhookConfiguration(c.endpoint, c.mode, c.caPem, selectors) : undefined;
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
