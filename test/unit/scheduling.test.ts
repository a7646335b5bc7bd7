import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitsNode, matchTerm, selectsNode, type NodeFacts } from '../../src/cluster/node-match.js';
import { TAINT as CONTROLLER_TAINT } from '../../src/steps/addon/constants.js';
import { generateWebhookCerts, certFacts } from '../../src/steps/scheduling/certs.js';
import { imageKind, imagePattern, nodeMajorOf } from '../../src/sandbox/worker.js';
import { decide, TARGETS, type PatchOp } from '../../src/steps/scheduling/mutation.js';
import { admit, BUILT_IN_RULES, BURST_LABEL, burstPatch, burstScopes, matchesLabels, pick, ruleOf, type Rule, type SelectorObject } from '../../src/steps/scheduling/policy.js';
import { describeConfiguration, reconfigured, servingHosts, webhookConfiguration } from '../../src/steps/scheduling/webhook.js';
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

  it('never tolerates the taints of a node\'s state: a cordoned or draining node keeps new pods off', () => {
    const cordoned: NodeFacts = { ...vnode, taints: [VNODE_TAINT, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] };
    const d = decide({ spec: {} }, 'vnode', [cordoned]);
    assert.deepEqual(d.patch.find((p) => p.path === '/spec/tolerations')?.value, [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }]);
    const stuck = { metadata: { labels: { [BURST_LABEL]: 'pending' } }, spec: { tolerations: [] }, status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } };
    const prefer = ruleOf({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'p' }, spec: { policy: { normalNodePrefer: {} } } } as SelectorObject);
    assert.deepEqual(burstPatch(stuck, prefer, 'vnode', [cordoned]).patch?.filter((p) => p.op === 'add').map((p) => (p.value as { key: string }).key), ['k8s.aliyun.com/vnode']);
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

  it('one webhook per shortcut and per Selector, with its selectors, never for the server\'s own pods; the mode and endpoint read back', () => {
    const sel = { apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'web' }, spec: {
      objectLabels: { matchLabels: { app: 'web' } }, namespaceLabels: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }, policy: { fair: {} } } };
    const mwc = webhookConfiguration({ kind: 'url', url: 'https://127.0.0.1:9443' }, 'controller', 'CA', [sel]);
    const hooks = mwc.webhooks as { name: string; objectSelector: unknown; namespaceSelector: unknown }[];
    const server = { key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['vnode-scheduling'] };
    assert.deepEqual(hooks.map((h) => h.name), ['pod-label.scheduling.vnode.dev', 'pod-short-label.scheduling.vnode.dev', 'namespace-label.scheduling.vnode.dev',
      'namespace-short-label.scheduling.vnode.dev', 'namespace-injection-label.scheduling.vnode.dev', 'web.selectors.scheduling.vnode.dev']);
    assert.deepEqual(hooks[0]!.objectSelector, { matchLabels: { 'alibabacloud.com/eci': 'true' }, matchExpressions: [server] });
    assert.deepEqual(hooks[2]!.namespaceSelector, { matchLabels: { 'alibabacloud.com/eci': 'true' } });
    assert.deepEqual(hooks[5]!.namespaceSelector, { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] });
    assert.deepEqual(hooks[5]!.objectSelector, { matchLabels: { app: 'web' }, matchExpressions: [server] });
    assert.deepEqual(describeConfiguration(mwc), { mode: 'controller', endpoint: { kind: 'url', url: 'https://127.0.0.1:9443' }, caPem: 'CA' });
    assert.deepEqual(describeConfiguration(webhookConfiguration({ kind: 'service' }, 'vnode', 'CA')).endpoint, { kind: 'service' });
    // read back and rendered again: the same configuration (so a re-run or the server changes nothing)
    assert.deepEqual(reconfigured(mwc, [sel]), mwc);
  });
});

describe('eci-profile policies (admission and burst)', () => {
  const ns = {};
  const podOf = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({ metadata: { labels }, spec: { ...spec } });
  const sel = (name: string, spec: Record<string, unknown>): Rule => ruleOf({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name }, spec } as SelectorObject);
  const rules = (...user: Rule[]): Rule[] => [...BUILT_IN_RULES, ...user];
  const apply = (patch: PatchOp[], doc: Record<string, unknown>): Record<string, unknown> => {
    const out = structuredClone(doc) as Record<string, unknown>;
    for (const op of patch) {
      if (op.op === 'test') continue;
      const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      let at = out as Record<string, unknown>;
      for (const k of parts.slice(0, -1)) at = at[k] as Record<string, unknown>;
      const last = parts[parts.length - 1]!;
      if (last === '-') (at as unknown as unknown[]).push(op.value); else at[last] = op.value;
    }
    return out;
  };

  it('the highest priority wins; on a tie a user\'s selector before a built-in; a pod\'s own label always wins', () => {
    const normal = sel('normal', { namespaceLabels: { matchLabels: { team: 'a' } }, policy: { normalNodeOnly: {} }, priority: 5 });
    const fair = sel('fair', { namespaceLabels: { matchLabels: { team: 'a' } }, policy: { fair: {} } });
    assert.equal(pick(rules(normal, fair), {}, { team: 'a', 'alibabacloud.com/eci': 'true' })?.name, 'normal');
    assert.equal(pick(rules(fair), {}, { team: 'a', 'alibabacloud.com/eci': 'true' })?.name, 'fair');
    assert.equal(pick(rules(normal), { 'alibabacloud.com/eci': 'true' }, { team: 'a' })?.name, 'pod-label');
    assert.equal(pick(rules(normal), { 'alibabacloud.com/eci': 'false' }, { 'alibabacloud.com/eci': 'true' }), undefined, 'opted out');
    assert.equal(pick(rules(sel('both', { namespaceLabels: { matchLabels: { team: 'a' } }, objectLabels: { matchLabels: { app: 'x' } }, policy: { fair: {} } })), { app: 'x' }, { team: 'b' }), undefined, 'namespace AND pod');
    assert.equal(matchesLabels({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'canary', operator: 'DoesNotExist' }] }, { tier: 'api' }), true);
    // eci-profile's findExecutor: no policy is virtual-node-only; several set: fair, virtual-node-only, normal-node-only, normal-node-prefer
    const policy = (spec: SelectorObject['spec']): string | undefined => ruleOf({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'x' }, spec } as SelectorObject).policy;
    assert.equal(policy({}), 'virtualNodeOnly', 'eci-profile\'s default');
    assert.equal(policy({ policy: { namespaceResourceLimit: {} } }), 'virtualNodeOnly');
    assert.equal(policy({ policy: { normalNodePrefer: {}, fair: {}, virtualNodeOnly: {} } }), 'fair');
    assert.equal(policy({ policy: { normalNodePrefer: {}, virtualNodeOnly: {} } }), 'virtualNodeOnly');
    assert.equal(policy({ policy: { normalNodePrefer: {}, normalNodeOnly: {} } }), 'normalNodeOnly');
    assert.equal(policy({ policy: { normalNodePrefer: {} } }), 'normalNodePrefer');
    assert.equal(ruleOf({ apiVersion: 'eci.aliyun.com/v1', kind: 'Selector', metadata: { name: 'x' }, spec: { policy: { namespaceResourceLimit: { namespace: 'a', limits: {} } } } } as SelectorObject).policy,
      'virtualNodeOnly', 'namespaceResourceLimit picks no executor');
  });

  it('virtual-node-only: nodeSelector and toleration; fair: toleration only; normal-node-only: nothing at all; the pod\'s own labels win', () => {
    const vno = admit(podOf({ app: 'x', billing: 'mine' }), ns, rules(sel('s', { objectLabels: { matchLabels: { app: 'x' } }, policy: { virtualNodeOnly: {} },
      effect: { labels: { billing: 'eci', tier: 'burst' }, annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi' } } })), 'vnode', [vnode]);
    const out = apply(vno.patch, podOf({ app: 'x', billing: 'mine' })) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { nodeSelector: Record<string, string>; tolerations: unknown[] } };
    assert.deepEqual(out.spec.nodeSelector, { 'k8s.aliyun.com/vnode': 'true' });
    assert.deepEqual(out.spec.tolerations, [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.deepEqual(out.metadata.labels, { app: 'x', billing: 'mine', tier: 'burst' });
    assert.deepEqual(out.metadata.annotations, { 'k8s.aliyun.com/eci-use-specs': '2-4Gi', 'vnode.dev/scheduling': 'vnode', 'vnode.dev/selector': 's' });

    const fair = apply(admit(podOf({ app: 'x' }), ns, rules(sel('f', { objectLabels: { matchLabels: { app: 'x' } }, policy: { fair: {} } })), 'vnode', [vnode]).patch, podOf({ app: 'x' })) as { spec: Record<string, unknown> };
    assert.equal(fair.spec.nodeSelector, undefined);
    assert.deepEqual(fair.spec.tolerations, [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' }]);

    const only = admit(podOf({ app: 'x' }), ns, rules(sel('n', { objectLabels: { matchLabels: { app: 'x' } }, policy: { normalNodeOnly: {} }, effect: { labels: { billing: 'eci' }, annotations: { a: 'b' } } })), 'vnode', [vnode]);
    assert.deepEqual(only.patch, [], 'normal-node-only adds nothing, not even the effect (eci-profile\'s executor)');
    assert.equal(admit(podOf({ app: 'y' }), ns, rules(), 'vnode', [vnode]).patch.length, 0, 'no selector: untouched');
  });

  it('normal-node-prefer marks the pod at creation and bursts it only once it is Unschedulable, with a patch that tests what it read', () => {
    const prefer = sel('p', { objectLabels: { matchLabels: { app: 'x' } }, policy: { normalNodePrefer: {} } });
    const created = admit(podOf({ app: 'x' }), ns, rules(prefer), 'vnode', [vnode]);
    const pod = apply(created.patch, podOf({ app: 'x' }, { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }] })) as Parameters<typeof burstPatch>[0];
    assert.equal(pod.metadata?.labels?.[BURST_LABEL], 'pending');
    assert.equal(pod.spec?.tolerations?.length, 1, 'no toleration at creation');
    assert.equal(burstPatch(pod, prefer, 'vnode', [vnode]).patch, undefined, 'not Unschedulable yet');
    const stuck = { ...pod, status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } };
    const b = burstPatch(stuck, prefer, 'vnode', [{ ...vnode, taints: [VNODE_TAINT, { key: 'dedicated', value: 'eci', effect: 'NoSchedule' }] }]);
    assert.deepEqual(b.patch, [
      { op: 'test', path: '/spec/tolerations', value: pod.spec!.tolerations },
      { op: 'add', path: '/spec/tolerations/-', value: { key: 'k8s.aliyun.com/vnode', operator: 'Exists', effect: 'NoSchedule' } },
      { op: 'add', path: '/spec/tolerations/-', value: { key: 'dedicated', operator: 'Equal', value: 'eci', effect: 'NoSchedule' } },
      { op: 'replace', path: '/metadata/labels/vnode.dev~1burst', value: 'done' },
    ]);
    assert.equal(burstPatch(stuck, sel('f', { objectLabels: { matchLabels: { app: 'x' } }, policy: { fair: {} } }), 'vnode', [vnode]).patch, undefined, 'another policy: never touched');
    // a pod made before the Selector (or while the webhook was down) carries no mark: it bursts all the same, once
    const unmarked = { ...podOf({ app: 'x' }), status: stuck.status } as Parameters<typeof burstPatch>[0];
    const u = burstPatch(unmarked, prefer, 'vnode', [vnode]);
    assert.deepEqual(u.patch?.at(-1), { op: 'add', path: '/metadata/labels/vnode.dev~1burst', value: 'done' });
    const burst = apply(u.patch!, unmarked as unknown as Record<string, unknown>) as Parameters<typeof burstPatch>[0];
    assert.equal(burstPatch({ ...burst, status: stuck.status }, prefer, 'vnode', [vnode]).patch, undefined, 'done: never again');
    assert.match(burstPatch({ ...stuck, spec: { ...stuck.spec, nodeSelector: { 'kubernetes.io/hostname': 'w1' } } }, prefer, 'vnode', [vnode]).skipped ?? '', /matches no VNode virtual node/);
  });

  it('burst watches only the pods a normal-node-prefer selector may pick: none without one, all when one picks by namespace', () => {
    const prefer = (name: string, objectLabels?: Record<string, unknown>): Rule => sel(name, { ...(objectLabels ? { objectLabels } : {}), namespaceLabels: { matchLabels: { team: 'a' } }, policy: { normalNodePrefer: {} } });
    assert.deepEqual(burstScopes(BUILT_IN_RULES), [], 'the label shortcuts never burst');
    assert.deepEqual(burstScopes([...BUILT_IN_RULES, sel('f', { objectLabels: { matchLabels: { app: 'x' } }, policy: { fair: {} } })]), []);
    const x = prefer('x', { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'canary', operator: 'DoesNotExist' }] });
    assert.deepEqual(burstScopes([x, prefer('y', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['z'] }, { key: 'burst', operator: 'Exists' }] }), x]),
      ['vnode.dev/burst!=done,app notin (z),burst', 'vnode.dev/burst!=done,app=x,tier in (a,b),!canary']);
    assert.deepEqual(burstScopes([x, prefer('all')]), ['vnode.dev/burst!=done']);
  });

  it('the sandbox worker runs node images (on their own major) and pause; other images are played; .invalid registries and --unpullable patterns cannot be pulled', () => {
    assert.equal(imageKind('docker.io/library/node:20-alpine'), 'node');
    assert.equal(imageKind('node:20'), 'node');
    assert.equal(imageKind('registry.example.com/mirror/node:20.18-slim'), 'node');
    assert.equal(imageKind('node:24-alpine'), 'node');
    assert.equal(imageKind('node:lts-alpine'), 'unavailable', 'no major version in the tag');
    assert.equal(nodeMajorOf('docker.io/library/node:26-alpine'), '26');
    assert.equal(nodeMajorOf('node:24.11.1-slim'), '24');
    assert.equal(nodeMajorOf('node'), undefined);
    assert.equal(nodeMajorOf('nginx:24'), undefined);
    assert.equal(imageKind('registry.k8s.io/pause:3.9'), 'pause');
    assert.equal(imageKind('registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/virtual-nodes-eci:v2.11.0-aliyun'), 'played');
    assert.equal(imageKind('nginx'), 'played');
    assert.equal(imageKind('registry.example.com/team/app:1.2'), 'played');
    assert.equal(imageKind('localhost:5000/node:20'), 'node');
    assert.equal(imageKind('registry.vnode.invalid/app:1'), 'unavailable');
    assert.equal(imageKind('registry.vnode.invalid:5000/app:1'), 'unavailable');
    assert.equal(imageKind('registry.example.com/vnode/vnode:v0.1.0', [imagePattern('registry.example.com/vnode/*')]), 'unavailable');
    assert.equal(imageKind('registry.example.com/other/x:1', [imagePattern('registry.example.com/vnode/*')]), 'played');
    assert.equal(imageKind('nginx', [imagePattern('nginx')]), 'unavailable');
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
