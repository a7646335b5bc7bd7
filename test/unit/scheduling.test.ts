import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitsNode, matchTerm, selectsNode, type NodeFacts } from '../../src/cluster/node-match.js';
import { TAINT as CONTROLLER_TAINT } from '../../src/steps/addon/constants.js';
import { generateWebhookCerts, certFacts } from '../../src/steps/scheduling/certs.js';
import { decide, TARGETS } from '../../src/steps/scheduling/mutation.js';
import { describeConfiguration, servingHosts, webhookConfiguration } from '../../src/steps/scheduling/webhook.js';
import { VNODE_TAINT } from '../../src/steps/virtual-node/install.js';

const vnode: NodeFacts = { name: 'cn-hangzhou.vnd-1', labels: { 'k8s.aliyun.com/vnode': 'true', type: 'virtual-kubelet', 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'cn-hangzhou-h' }, taints: [VNODE_TAINT] };

describe('node matching (the scheduler\'s rules)', () => {
  it('evaluates every operator, matchFields and ORed terms', () => {
    const n: NodeFacts = { name: 'n1', labels: { a: '1', gen: '5' }, taints: [] };
    assert.equal(matchTerm({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, n), true);
    assert.equal(matchTerm({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, n), false);
    assert.equal(matchTerm({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['1'] }] }, n), true);
    assert.equal(matchTerm({ matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }, { key: 'a', operator: 'Exists' }] }, n), true);
    assert.equal(matchTerm({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }, n), true);
    assert.equal(matchTerm({ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }, n), false);
    assert.equal(matchTerm({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, n), true);
    assert.equal(matchTerm({}, n), false, 'an empty term matches nothing');
    const spec = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['9'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Exists' }] }] } } } };
    assert.equal(selectsNode(spec, n), true);
    assert.equal(selectsNode({ nodeSelector: { a: '2' } }, n), false);
  });

  it('NoSchedule/NoExecute taints need a toleration; PreferNoSchedule does not', () => {
    assert.equal(fitsNode({}, vnode), false);
    assert.equal(fitsNode({ tolerations: [{ operator: 'Exists' }] }, vnode), true);
    assert.equal(fitsNode({ tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }, vnode), true);
    assert.equal(fitsNode({ tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Equal', value: 'false' }] }, vnode), false);
    assert.equal(fitsNode({}, { ...vnode, taints: [{ key: 'x', value: 'y', effect: 'PreferNoSchedule' }] }), true);
  });
});

describe('the webhook\'s mutation', () => {
  it('adds nodeSelector, toleration and annotation as a JSON patch (escaping / in keys)', () => {
    const d = decide({ spec: {} }, 'vnode', [vnode]);
    assert.equal(d.skipped, undefined);
    assert.deepEqual(d.patch, [
      { op: 'add', path: '/spec/nodeSelector', value: { 'k8s.aliyun.com/vnode': 'true' } },
      { op: 'add', path: '/spec/tolerations', value: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'vnode.dev/scheduling': 'vnode' } },
    ]);
    const d2 = decide({ metadata: { annotations: {} }, spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'x', operator: 'Exists' }] } }, 'controller', []);
    assert.deepEqual(d2.patch.map((p) => p.path), ['/spec/nodeSelector/type', '/spec/tolerations/-', '/metadata/annotations/vnode.dev~1scheduling']);
  });

  it('tolerates the taints the nodes were installed with (--taint), not only the mode\'s; PreferNoSchedule needs none', () => {
    const gpu: NodeFacts = { ...vnode, taints: [VNODE_TAINT, { key: 'gpu', value: 'true', effect: 'NoSchedule' }, { key: 'dedicated', effect: 'NoExecute' }, { key: 'soft', value: 'x', effect: 'PreferNoSchedule' }] };
    const d = decide({ spec: {} }, 'vnode', [gpu]);
    assert.deepEqual(d.patch.find((p) => p.path === '/spec/tolerations')?.value, [
      { key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' },
    ]);
    // what it already tolerates is not added again; the result fits the node
    const partly = decide({ spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } }, 'vnode', [gpu]);
    assert.deepEqual(partly.patch.filter((p) => p.path === '/spec/tolerations/-').map((p) => (p.value as { key: string }).key), ['k8s.aliyun.com/vnode', 'dedicated']);
    const tolerations = [{ key: 'gpu', operator: 'Exists' }, ...partly.patch.filter((p) => p.path === '/spec/tolerations/-').map((p) => p.value as { key: string })];
    assert.equal(fitsNode({ nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations }, gpu), true);
  });

  it('changes nothing twice: a pod already sent there gets an empty patch', () => {
    const once = { spec: { nodeSelector: { 'k8s.aliyun.com/vnode': 'true' }, tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }] } };
    assert.deepEqual(decide(once, 'vnode', [vnode]), { patch: [] });
  });

  it('leaves alone, with the reason, pods that chose other nodes', () => {
    assert.match(decide({ spec: { nodeName: 'worker-1' } }, 'vnode', [vnode]).skipped ?? '', /spec\.nodeName is worker-1/);
    assert.match(decide({ spec: { nodeSelector: { 'kubernetes.io/hostname': 'worker-1' } } }, 'vnode', [vnode]).skipped ?? '', /nodeSelector kubernetes\.io\/hostname=worker-1 matches no VNode/);
    assert.match(decide({ spec: { nodeSelector: { type: 'gpu' } } }, 'controller', []).skipped ?? '', /nodeSelector type=gpu excludes virtual nodes/);
    const zoneB = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['cn-hangzhou-b'] }] }] } } } };
    assert.match(decide({ spec: zoneB }, 'vnode', [vnode]).skipped ?? '', /its required node affinity matches no VNode/);
    // the same affinity that a virtual node satisfies is kept and the pod is sent
    const zoneH = JSON.parse(JSON.stringify(zoneB).replace('cn-hangzhou-b', 'cn-hangzhou-h')) as typeof zoneB;
    assert.equal(decide({ spec: zoneH }, 'vnode', [vnode]).patch.length, 3);
  });

  it('targets the documented labels and taints of each mode', () => {
    assert.equal(TARGETS.vnode.toleration.key, VNODE_TAINT.key);
    assert.equal(TARGETS.controller.toleration.key, CONTROLLER_TAINT.key);
    assert.deepEqual(TARGETS.controller.nodeSelector, { type: 'virtual-kubelet' });
  });
});

describe('the webhook configuration and its certificate', () => {
  it('a serving certificate for the hosts, signed by a CA of its own, that Node\'s TLS accepts', async () => {
    const hosts = servingHosts({ kind: 'url', url: 'https://127.0.0.1:9443' });
    const c = await generateWebhookCerts(hosts);
    const facts = await certFacts(c.certPem);
    assert.deepEqual(facts.hosts, ['127.0.0.1']);
    const { X509Certificate } = await import('node:crypto');
    assert.equal(new X509Certificate(c.certPem).verify(new X509Certificate(c.caPem).publicKey), true);
    assert.equal(new X509Certificate(c.caPem).ca, true);
    assert.ok(facts.notAfter.getTime() > Date.now() + 365 * 86_400_000);
  });

  it('one webhook per way of asking; the mode and endpoint read back', () => {
    const mwc = webhookConfiguration({ kind: 'url', url: 'https://127.0.0.1:9443' }, 'controller', 'CA');
    const hooks = mwc.webhooks as { name: string; objectSelector: unknown; namespaceSelector: unknown }[];
    assert.deepEqual(hooks.map((h) => h.name), ['pod-label.scheduling.vnode.dev', 'pod-legacy-label.scheduling.vnode.dev', 'namespace-label.scheduling.vnode.dev', 'namespace-legacy-label.scheduling.vnode.dev', 'namespace-short-label.scheduling.vnode.dev']);
    assert.deepEqual(hooks[2]!.namespaceSelector, { matchLabels: { 'alibabacloud.com/eci': 'true' } });
    assert.deepEqual(describeConfiguration(mwc), { mode: 'controller', endpoint: { kind: 'url', url: 'https://127.0.0.1:9443' }, caPem: 'CA' });
    assert.deepEqual(describeConfiguration(webhookConfiguration({ kind: 'service' }, 'vnode', 'CA')).endpoint, { kind: 'service' });
  });
});

describe('why the in-cluster server is not available', () => {
  it('an image that cannot be pulled or a crash loop is hopeless and named; Pending names the scheduler\'s reason', async () => {
    const { podTrouble } = await import('../../src/steps/scheduling/scheduling.js');
    const pull = podTrouble([{ metadata: { name: 'p1' }, status: { phase: 'Pending', containerStatuses: [{ name: 'server', state: { waiting: { reason: 'ErrImagePull', message: 'manifest unknown' } } }] } }]);
    assert.deepEqual(pull, { hopeless: true, lines: ['pod p1: container server ErrImagePull (manifest unknown)'] });
    const crash = podTrouble([{ metadata: { name: 'p2' }, status: { phase: 'Running', containerStatuses: [{ name: 'server', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }]);
    assert.equal(crash.hopeless, true);
    const pending = podTrouble([{ metadata: { name: 'p3' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] } }]);
    assert.deepEqual(pending, { hopeless: false, lines: ['pod p3: Pending, Unschedulable: 0/1 nodes are available'] });
    const creating = podTrouble([{ metadata: { name: 'p4' }, status: { phase: 'Pending', containerStatuses: [{ name: 'server', state: { waiting: { reason: 'ContainerCreating' } } }] } }]);
    assert.equal(creating.hopeless, false, 'still starting: keep waiting');
  });
});
