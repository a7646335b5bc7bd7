import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/cluster/port.js';
import { parseClusterDns, parseClusterDomain, parseCustomResources, parseOptions, parseTag, parseTags, parseTaint } from '../../src/commands/install.js';
import { EXCLUDE, excludedTerms, isExcluded, revertedTerms, wouldSchedule } from '../../src/steps/ground/daemonset-affinity.js';
import { nodeNames, VNODE_LABELS, VNODE_TAINT } from '../../src/steps/virtual-node/install.js';
import { clientToken } from '../../src/steps/virtual-node/install-record.js';

function ds(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd', namespace: 'n' }, spec: { template: { spec } } };
}

const raw = { name: 'vnode', count: '1', timeout: '10m', ttl: '24h' };

describe('DaemonSet affinity', () => {
  it('adds the exclusion to every ORed term and keeps everything else', () => {
    const t = [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, { matchExpressions: [{ key: 'b', operator: 'Exists' }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['x'] }] }];
    assert.deepEqual(excludedTerms(t), [
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }, EXCLUDE] },
      { matchExpressions: [{ key: 'b', operator: 'Exists' }, EXCLUDE], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['x'] }] },
    ]);
    assert.deepEqual(excludedTerms([]), [{ matchExpressions: [EXCLUDE] }]);
    assert.deepEqual(excludedTerms(excludedTerms(t)), excludedTerms(t), 'idempotent');
  });

  it('reverting removes exactly what vnode added', () => {
    const t = [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }];
    assert.deepEqual(revertedTerms(excludedTerms(t)), t);
    assert.equal(revertedTerms(excludedTerms([])), null, 'no terms left: the affinity goes');
  });

  it('knows which DaemonSets would land on a virtual node', () => {
    const everything = ds({ tolerations: [{ operator: 'Exists' }] });
    assert.equal(wouldSchedule(everything, VNODE_LABELS, [VNODE_TAINT]), true);
    assert.equal(wouldSchedule(ds({}), VNODE_LABELS, [VNODE_TAINT]), false, 'does not tolerate the taint');
    assert.equal(wouldSchedule(ds({ tolerations: [{ key: 'k8s.aliyun.com/vnode', operator: 'Exists' }] }), VNODE_LABELS, [VNODE_TAINT, { key: 'x', value: 'y', effect: 'NoExecute' }]), false);
    assert.equal(wouldSchedule(ds({ tolerations: [{ operator: 'Exists' }], nodeSelector: { 'node-role.kubernetes.io/master': '' } }), VNODE_LABELS, [VNODE_TAINT]), false);
    const excluded = ds({ tolerations: [{ operator: 'Exists' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [EXCLUDE] }] } } } });
    assert.equal(isExcluded(excluded), true);
    assert.equal(wouldSchedule(excluded, VNODE_LABELS, [VNODE_TAINT]), false);
  });
});

describe('DaemonSet affinity: the whole node selection counts', () => {
  it('an existing required affinity that no virtual node satisfies means no patch (and no rolling restart)', () => {
    const all = [{ operator: 'Exists' }];
    const onlyWorkers = ds({ tolerations: all, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/worker', operator: 'Exists' }] }] } } } });
    assert.equal(wouldSchedule(onlyWorkers, VNODE_LABELS, [VNODE_TAINT]), false);
    const linuxAmd = ds({ tolerations: all, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } } });
    assert.equal(wouldSchedule(linuxAmd, VNODE_LABELS, [VNODE_TAINT]), true, 'an affinity virtual nodes satisfy still lands there');
    const gpuOrVirtual = ds({ tolerations: all, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, { matchExpressions: [{ key: 'type', operator: 'In', values: ['virtual-kubelet'] }] }] } } } });
    assert.equal(wouldSchedule(gpuOrVirtual, VNODE_LABELS, [VNODE_TAINT]), true, 'terms are ORed');
  });
});

describe('install flags', () => {
  it('parses taints and tags, refusing malformed ones with the value named', () => {
    assert.deepEqual(parseTaint('dedicated=gpu:NoSchedule'), { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' });
    assert.deepEqual(parseTaint('spot:PreferNoSchedule'), { key: 'spot', value: '', effect: 'PreferNoSchedule' });
    assert.throws(() => parseTaint('a=b'), /invalid --taint "a=b": expected key=value:Effect/);
    assert.deepEqual(parseTag('env=prod'), { key: 'env', value: 'prod' });
    assert.throws(() => parseTag('aliyun:x=1'), /invalid --tag "aliyun:x=1"/);
    // ECI's rules: key=value required, key at most 64, no aliyun/acs:/http(s):// prefix; vnode's 4 tags reserved
    assert.throws(() => parseTag('novalue'), /invalid --tag "novalue": expected key=value/);
    assert.deepEqual(parseTag('empty='), { key: 'empty', value: '' });
    assert.deepEqual(parseTag(`${'k'.repeat(64)}=v`).key.length, 64);
    assert.throws(() => parseTag(`${'k'.repeat(65)}=v`), /key 1-64 characters/);
    assert.throws(() => parseTag('https://x=1'), /neither starting with aliyun, acs:, http:\/\/ or https:\/\//);
    assert.throws(() => parseTag('vnode-replaces=vnd-1'), /vnode's own tags/);
  });

  it('validates vSwitches, counts and limits before anything runs', () => {
    assert.deepEqual(parseOptions({ ...raw, vswitch: ['vsw-a,vsw-b', 'vsw-c'] }, '/').vswitches, ['vsw-a', 'vsw-b', 'vsw-c']);
    assert.throws(() => parseOptions({ ...raw, vswitch: ['vsw-a,vsw-a'] }, '/'), /lists a vSwitch twice/);
    assert.throws(() => parseOptions({ ...raw, vswitch: ['subnet-1'] }, '/'), /invalid --vswitch "subnet-1"/);
    assert.throws(() => parseOptions({ ...raw, count: '0' }, '/'), /invalid --count "0"/);
    assert.throws(() => parseOptions({ ...raw, tag: Array.from({ length: 18 }, (_, i) => `k${i}=v`) }, '/'), /at most 16 \(ECI allows 20 and vnode adds 4 of its own\)/);
    assert.throws(() => parseOptions({ ...raw, name: 'Bad_Name' }, '/'), /invalid --name "Bad_Name"/);
    assert.throws(() => parseOptions({ ...raw, kubeconfigFile: 'x', server: 'https://1.2.3.4:6443' }, '/'), /--kubeconfig-file uses an existing kubeconfig/);
  });

  it('refuses, naming the value, what the cloud or the Node would refuse later', () => {
    assert.equal(parseOptions({ ...raw, name: 'a'.repeat(63) }, '/').name.length, 63);
    assert.throws(() => parseOptions({ ...raw, name: 'a'.repeat(64) }, '/'), /\(64 characters\): 2-63 lowercase/);
    assert.throws(() => parseOptions({ ...raw, name: 'a'.repeat(62), count: '2' }, '/'), /2-61 lowercase.*"-2" is appended/);
    assert.equal(parseOptions({ ...raw, name: 'a'.repeat(59), count: '100' }, '/').count, 100);
    assert.equal(parseCustomResources('example.com/gpu=100, example.com/fpga=10'), 'example.com/gpu=100,example.com/fpga=10');
    assert.equal(parseCustomResources('example1.com=100'), 'example1.com=100');
    for (const bad of ['nogood', 'x.com/a=abc', 'x.com/a=1,x.com/a=2', '=5', 'x.com/a=', 'Bad_Prefix.com/a=1', 'x.com/a=1,,']) {
      assert.throws(() => parseCustomResources(bad), new RegExp(`invalid --custom-resources "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`), bad);
    }
    assert.equal(parseClusterDns('10.96.0.10'), '10.96.0.10');
    assert.equal(parseClusterDns('10.96.0.10,fd00::a'), '10.96.0.10,fd00::a');
    assert.throws(() => parseClusterDns('999.1.1.1'), /"999\.1\.1\.1" is not an IP address/);
    assert.equal(parseClusterDomain('cluster.local'), 'cluster.local');
    for (const bad of ['bad..domain', '.local', 'local.', 'UPPER.local', '-x.local', `${'a'.repeat(64)}.local`]) assert.throws(() => parseClusterDomain(bad), /invalid --cluster-domain/, bad);
    assert.throws(() => parseOptions({ ...raw, vswitch: ['vsw-a,,'] }, '/'), /invalid --vswitch "vsw-a,,": an empty entry/);
    assert.throws(() => parseOptions({ ...raw, vswitch: [','] }, '/'), /an empty entry/);
    assert.throws(() => parseTags(['k=1', 'k=2']), /--tag k is given twice \("k=1" and "k=2"\)/);
    assert.deepEqual(parseTags(['a=1', 'b=1']), [{ key: 'a', value: '1' }, { key: 'b', value: '1' }]);
    for (const own of ['vnode-cluster', 'vnode-name', 'vnode-identity']) assert.throws(() => parseTag(`${own}=x`), new RegExp(`${own} is one of vnode's own tags`));
    assert.throws(() => parseOptions({ ...raw, zone: 'Zone H' }, '/'), /invalid --zone "Zone H": expected a zone id/);
    assert.throws(() => parseOptions({ ...raw, resourceGroup: 'default' }, '/'), /invalid --resource-group "default"/);
  });

  it('names are stable; ClientTokens are stable per install record and new for a new one', () => {
    assert.deepEqual(nodeNames('vn', 3), ['vn-1', 'vn-2', 'vn-3']);
    assert.deepEqual(nodeNames('vn', 1), ['vn']);
    assert.equal(clientToken('uid', 'cn-hangzhou', 'vn', 'rec1'), clientToken('uid', 'cn-hangzhou', 'vn', 'rec1'));
    assert.notEqual(clientToken('uid', 'cn-hangzhou', 'vn', 'rec1'), clientToken('uid2', 'cn-hangzhou', 'vn', 'rec1'));
    assert.notEqual(clientToken('uid', 'cn-hangzhou', 'vn', 'rec1'), clientToken('uid', 'cn-hangzhou', 'vn', 'rec2'), 'a new install of the name');
    assert.ok(clientToken('u', 'r', 'n', 'x').length <= 64);
  });
});
