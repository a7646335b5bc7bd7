import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddonOptions } from '../../src/commands/install.js';
import { VnodeError } from '../../src/errors.js';
import { profileChanges } from '../../src/steps/addon/addon.js';
import { nodeNameForZone } from '../../src/steps/addon/constants.js';
import { parseAssignments } from '../../src/steps/addon/profile.js';
import { checkRegistrationName } from '../../src/steps/addon/registration.js';

const usage = (f: () => unknown, re: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof VnodeError && e.source === 'usage' && re.test(e.message), String(re));
};

describe('add-on flags, eci-profile settings, registration names', () => {
  it('refuses bad values naming them', () => {
    usage(() => parseAssignments([]), /nothing to set/);
    usage(() => parseAssignments(['zone=cn-hangzhou-h']), /unknown setting "zone"/);
    usage(() => parseAssignments(['kube-proxy']), /kube-proxy has no value/);
    usage(() => parseAssignments(['kube-proxy=yes']), /invalid kube-proxy "yes": expected true or false/);
    usage(() => parseAssignments(['security-group=default']), /invalid security-group "default"/);
    usage(() => parseAssignments(['vswitch=vsw-a,vsw-a']), /lists a vSwitch twice/);
    usage(() => parseAssignments(['resource-group=default']), /invalid resource-group "default"/);
    usage(() => parseAssignments(['kube-proxy=true', 'kube-proxy=false']), /kube-proxy is set twice/);
    usage(() => parseAddonOptions({ vswitch: ['vsw-a', 'x'], timeout: '1m' }), /invalid --vswitch "x"/);
    usage(() => parseAddonOptions({ vswitch: ['vsw-a,vsw-a'], timeout: '1m' }), /lists a vSwitch twice/);
    usage(() => parseAddonOptions({ clusterName: 'a'.repeat(64), timeout: '1m' }), /invalid --cluster-name/);
    usage(() => checkRegistrationName('_x'), /invalid registration name "_x"/);
    usage(() => parseAddonOptions({ clusterName: 'dc1_prod', timeout: '1m' }), /invalid --cluster-name "dc1_prod".*Chinese characters and hyphens/);
    checkRegistrationName('集群-1');
  });

  it('takes good ones', () => {
    assert.deepEqual(parseAssignments(['vswitch=vsw-a,vsw-b', 'kube-proxy=false']), { vswitch: 'vsw-a,vsw-b', 'kube-proxy': 'false' });
    const o = parseAddonOptions({ vswitch: ['vsw-a,vsw-b', 'vsw-c'], securityGroup: 'sg-x', kubeProxy: false, timeout: '1m', clusterName: 'dc1-prod' });
    assert.deepEqual(o.vswitches, ['vsw-a', 'vsw-b', 'vsw-c']);
    assert.equal(o.kubeProxy, false);
    assert.equal(o.registrationName, 'dc1-prod');
    assert.equal(parseAddonOptions({ timeout: '1m' }).kubeProxy, undefined, 'unset: leave enableClusterIp as it is');
    checkRegistrationName('vnode-1a2b3c4d');
  });

  it('eci-profile changes are only the keys that differ; nodes are named after their zone', () => {
    assert.deepEqual(profileChanges({ vSwitchIds: 'vsw-a', securityGroupId: 'sg-x', selectors: '[]' }, { vSwitchIds: 'vsw-a,vsw-b', securityGroupId: 'sg-x' }),
      [{ key: 'vSwitchIds', from: 'vsw-a', to: 'vsw-a,vsw-b' }]);
    assert.deepEqual(profileChanges(undefined, { enableClusterIp: 'false' }), [{ key: 'enableClusterIp', from: null, to: 'false' }]);
    assert.equal(nodeNameForZone('cn-hangzhou-b'), 'virtual-kubelet-cn-hangzhou-b');
  });
});

describe('add-on selectors (eci-profile format) and what the sandbox\'s vk-webhook does with them', () => {
  it('builds the documented shape; refuses a selector that selects nothing, bad names and bad pairs', async () => {
    const { buildSelector, parsePairs, readSelectors } = await import('../../src/steps/scheduling/selectors.js');
    assert.deepEqual(buildSelector('a', { app: 'x' }, {}, { 'k8s.aliyun.com/eci-use-specs': '2-4Gi' }, {}),
      { name: 'a', objectSelector: { matchLabels: { app: 'x' } }, effect: { annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi' } } });
    usage(() => buildSelector('a', {}, {}, {}, {}), /selects nothing/);
    usage(() => buildSelector('A', { a: 'b' }, {}, {}, {}), /invalid selector name "A"/);
    usage(() => parsePairs('--pod-selector', ['a=b,a=c']), /sets a twice/);
    usage(() => parsePairs('--pod-selector', ['-x=1']), /invalid --pod-selector key "-x"/);
    assert.deepEqual(parsePairs('--annotation', ['note=a, b=c'], { anyValue: true }), { note: 'a, b=c' }, 'annotation values are free text');
    assert.throws(() => readSelectors({ selectors: '{' }), /not valid JSON/);
    assert.deepEqual(readSelectors({}), []);
  });

  it('first matching selector wins; the pod\'s own labels win over the effect; unmatched pods are left alone', async () => {
    const { vkPatch } = await import('../../src/sandbox/addon-manager.js');
    const selectors = [
      { name: 'ns', namespaceSelector: { matchLabels: { team: 'b' } }, effect: { labels: { tier: 'burst' } } },
      { name: 'pod', objectSelector: { matchLabels: { app: 'x' } }, effect: { labels: { tier: 'other' }, annotations: { 'a/b': '1' } } },
    ];
    assert.deepEqual(vkPatch({ metadata: { labels: { app: 'y' } }, spec: {} }, {}, selectors), []);
    const p = vkPatch({ metadata: { labels: { app: 'x', tier: 'mine' } }, spec: {} }, {}, selectors) as { path: string; value: unknown }[];
    assert.deepEqual(p.map((x) => x.path), ['/spec/tolerations', '/spec/nodeSelector', '/metadata/annotations']);
    const q = vkPatch({ metadata: { labels: { app: 'x' } }, spec: { tolerations: [] } }, { team: 'b' }, selectors) as { path: string; value: unknown }[];
    assert.deepEqual(q.find((x) => x.path === '/metadata/labels/tier')?.value, 'burst', 'the namespace selector comes first');
    assert.equal(vkPatch({ metadata: { labels: { 'alibabacloud.com/eci': 'true' } }, spec: {} }, {}, []).length, 2, 'the label shortcut needs no selector');
  });
});
