import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKubeVersion, supportRange, versionProfile } from '../../src/cluster/versions.js';
import { apiserverArgs, componentPortArgs } from '../../src/sandbox/controlplane.js';

const v = (minor: number) => ({ major: 1, minor });

describe('what differs by Kubernetes version (one table)', () => {
  it('1.20: policy/v1beta1, certificates/v1, auto-created token Secrets, the insecure-port flags', () => {
    assert.deepEqual(versionProfile(v(20)), {
      pdb: 'policy/v1beta1', eviction: 'policy/v1beta1', csr: 'certificates.k8s.io/v1', autoTokenSecrets: true,
      legacyTokenCleanup: false, apiserverInsecurePortFlag: true, componentPortFlag: true,
    });
  });

  it('1.21: PodDisruptionBudgets in policy/v1, evictions still v1beta1', () => {
    const p = versionProfile(v(21), ['v1', 'policy/v1', 'policy/v1beta1', 'certificates.k8s.io/v1']);
    assert.equal(p.pdb, 'policy/v1');
    assert.equal(p.eviction, 'policy/v1beta1');
  });

  it('1.24: no auto-created token Secrets, no insecure-port flags', () => {
    const p = versionProfile(v(24), ['v1', 'policy/v1', 'policy/v1beta1', 'certificates.k8s.io/v1']);
    assert.equal(p.eviction, 'policy/v1');
    assert.equal(p.autoTokenSecrets, false);
    assert.equal(p.apiserverInsecurePortFlag, false);
    assert.equal(p.componentPortFlag, false);
    assert.equal(p.legacyTokenCleanup, false);
  });

  it('1.25: policy/v1beta1 is gone; discovery agrees with the table', () => {
    const p = versionProfile(v(25), ['v1', 'policy/v1', 'certificates.k8s.io/v1']);
    assert.equal(p.pdb, 'policy/v1');
    assert.equal(p.eviction, 'policy/v1');
    assert.deepEqual(versionProfile(v(25)), p, 'without discovery the table says the same');
  });

  it('1.30 and 1.36: unused auto-generated legacy tokens are cleaned up', () => {
    for (const minor of [30, 36]) {
      const p = versionProfile(v(minor), ['v1', 'policy/v1', 'certificates.k8s.io/v1']);
      assert.deepEqual(p, {
        pdb: 'policy/v1', eviction: 'policy/v1', csr: 'certificates.k8s.io/v1', autoTokenSecrets: false,
        legacyTokenCleanup: true, apiserverInsecurePortFlag: false, componentPortFlag: false,
      }, `1.${minor}`);
    }
  });

  it('discovery wins over the number: an API the server does not serve is not used', () => {
    assert.equal(versionProfile(v(22), ['v1', 'policy/v1beta1']).eviction, 'policy/v1beta1');
    assert.equal(versionProfile(v(20), ['v1', 'certificates.k8s.io/v1beta1']).csr, undefined);
    assert.equal(versionProfile(v(18)).csr, undefined);
  });

  it('supported from 1.16, tested through 1.36; newer is a warning', () => {
    assert.equal(supportRange(v(15)), 'too old');
    for (const minor of [16, 20, 28, 34, 36]) assert.equal(supportRange(v(minor)), 'tested', `1.${minor}`);
    assert.equal(supportRange(v(37)), 'newer than tested');
  });

  it('reads the version the binaries and servers print', () => {
    assert.deepEqual(parseKubeVersion('Kubernetes v1.36.3\n'), { major: 1, minor: 36, gitVersion: 'v1.36.3' });
    assert.deepEqual(parseKubeVersion('v1.20.5+really1.20.2'), { major: 1, minor: 20, gitVersion: 'v1.20.5+really1.20.2' });
    assert.throws(() => parseKubeVersion('etcd Version: unknown'), /no Kubernetes version/);
  });

  it('the launcher passes only the flags a version has', () => {
    assert.ok(apiserverArgs(versionProfile(v(20))).includes('--insecure-port=0'));
    assert.ok(!apiserverArgs(versionProfile(v(24))).some((a) => a.startsWith('--insecure-port')));
    assert.deepEqual(componentPortArgs(versionProfile(v(20))), ['--port=0']);
    assert.deepEqual(componentPortArgs(versionProfile(v(36))), []);
  });
});

describe('CustomResourceDefinition schemas through client-node\'s model', () => {
  it('wire names (enum, x-kubernetes-*) become the model\'s and back, in typed positions only', async () => {
    const { crdNames } = await import('../../src/cluster/crd-schema.js');
    const wire = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x' },
      spec: { versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object', properties: {
        op: { type: 'string', enum: ['In'] }, any: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        list: { type: 'array', items: { type: 'string', enum: ['a'] } },
      } } } }] },
    };
    const model = crdNames(wire, 'model');
    const props = (model.spec.versions[0]!.schema.openAPIV3Schema as { properties: Record<string, Record<string, unknown>> }).properties;
    assert.deepEqual(props.op, { type: 'string', _enum: ['In'] });
    assert.deepEqual(props.any, { type: 'object', x_kubernetes_preserve_unknown_fields: true });
    assert.deepEqual(props.list!.items, { type: 'string', enum: ['a'] }, 'items is passed through by the model: left as it is');
    assert.deepEqual(crdNames(model, 'wire'), wire);
    const pod = { kind: 'Pod', spec: { versions: [] } };
    assert.equal(crdNames(pod, 'model'), pod);
  });
});
