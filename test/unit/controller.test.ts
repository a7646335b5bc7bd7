import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseControllerOptions } from '../../src/commands/install.js';
import { parseAssignments } from '../../src/steps/controller/config.js';
import { APPLIED_ANNOTATION, clusterRole, ordinalOf, settingsOf, statefulSet, type ControllerSettings } from '../../src/steps/controller/manifest.js';
import { VnodeError } from '../../src/errors.js';

const settings: ControllerSettings = {
  region: 'cn-hangzhou', vswitches: ['vsw-a', 'vsw-b'], securityGroup: 'sg-x', kubeProxy: false, clusterId: 'c-1', resourceGroup: 'rg-1',
  image: 'registry.cn-hangzhou.aliyuncs.com/acs/virtual-nodes-eci:v1', replicas: 3,
};

describe('controller manifests', () => {
  it('the StatefulSet carries its settings and reads back as them', () => {
    assert.deepEqual(settingsOf(statefulSet(settings)), settings);
    assert.deepEqual(settingsOf(statefulSet({ ...settings, resourceGroup: undefined, kubeProxy: true })), { ...settings, resourceGroup: undefined, kubeProxy: true });
  });

  it('the applied hash changes with any setting and only then', () => {
    const h = (s: ControllerSettings): string => statefulSet(s).metadata.annotations![APPLIED_ANNOTATION]!;
    assert.equal(h(settings), h({ ...settings }));
    for (const change of [{ kubeProxy: true }, { vswitches: ['vsw-a'] }, { securityGroup: 'sg-y' }, { replicas: 2 }, { image: 'x:2' }]) {
      assert.notEqual(h({ ...settings, ...change }), h(settings), JSON.stringify(change));
    }
  });

  it('the AccessKey comes only from the Secret; the role has no wildcard and no write on secrets', () => {
    const env = (statefulSet(settings).spec as { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } }).template.spec.containers[0]!.env;
    for (const name of ['ECI_ACCESS_KEY', 'ECI_SECRET_KEY']) {
      const e = env.find((x) => x.name === name)!;
      assert.equal(e.value, undefined);
      assert.ok(e.valueFrom);
    }
    const rules = clusterRole().rules as { resources: string[]; verbs: string[] }[];
    assert.ok(rules.every((r) => !r.verbs.includes('*') && !r.resources.includes('*')));
    assert.ok(rules.filter((r) => r.resources.includes('secrets')).every((r) => r.verbs.every((v) => ['get', 'list', 'watch'].includes(v))));
  });

  it('ordinals are read from node names of the StatefulSet only', () => {
    assert.equal(ordinalOf('virtual-node-eci-12'), 12);
    assert.equal(ordinalOf('virtual-node-eci-x'), undefined);
    assert.equal(ordinalOf('cn-hangzhou.vnd-1'), undefined);
  });
});

describe('controller flags and config assignments', () => {
  const usage = (f: () => unknown, re: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof VnodeError && e.source === 'usage' && re.test(e.message));
  };

  it('refuses bad values naming them', () => {
    usage(() => parseAssignments([]), /nothing to set/);
    usage(() => parseAssignments(['zone=cn-hangzhou-h']), /unknown setting "zone"/);
    usage(() => parseAssignments(['kube-proxy']), /invalid kube-proxy "": expected true or false/);
    usage(() => parseAssignments(['security-group=default']), /invalid security-group "default"/);
    usage(() => parseAssignments(['vswitch=vsw-a,vsw-a']), /lists a vSwitch twice/);
    usage(() => parseAssignments(['kube-proxy=true', 'kube-proxy=false']), /kube-proxy is set twice/);
    usage(() => parseControllerOptions({ replicas: '101', timeout: '1m' }), /invalid --replicas "101": expected a whole number from 1 to 100/);
    usage(() => parseControllerOptions({ replicas: '1.5', timeout: '1m' }), /invalid --replicas "1.5"/);
    usage(() => parseControllerOptions({ image: 'has space', timeout: '1m' }), /invalid --image "has space"/);
  });

  it('takes good ones', () => {
    assert.deepEqual(parseAssignments(['vswitch=vsw-a,vsw-b', 'kube-proxy=false']), { vswitch: 'vsw-a,vsw-b', 'kube-proxy': 'false' });
    const o = parseControllerOptions({ replicas: '4', kubeProxy: false, timeout: '1m' });
    assert.equal(o.replicas, 4);
    assert.equal(o.kubeProxy, false);
    assert.equal(parseControllerOptions({ timeout: '1m' }).replicas, undefined, 'unset: as installed, else 1');
  });
});
