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
  });

  it('takes good ones', () => {
    assert.deepEqual(parseAssignments(['vswitch=vsw-a,vsw-b', 'kube-proxy=false']), { vswitch: 'vsw-a,vsw-b', 'kube-proxy': 'false' });
    const o = parseAddonOptions({ vswitch: ['vsw-a,vsw-b', 'vsw-c'], securityGroup: 'sg-x', kubeProxy: false, timeout: '1m', clusterName: 'dc1_prod' });
    assert.deepEqual(o.vswitches, ['vsw-a', 'vsw-b', 'vsw-c']);
    assert.equal(o.kubeProxy, false);
    assert.equal(o.registrationName, 'dc1_prod');
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
