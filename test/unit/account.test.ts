import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloudError, deniedAction, isDenial } from '../../src/cloud/errors.js';
import { beyondDocumented, documentedByAlibaba } from '../../src/cluster/versions.js';
import { checkVersionRange } from '../../src/steps/doctor/doctor.js';
import { isRetired, planFor, STATE_MEANING } from '../../src/steps/addon/registration.js';

describe('what a first account and Alibaba\'s answers mean to vnode', () => {
  it('RAM denials are recognised as 403 and as 400, by code, by ACK\'s message or by AccessDeniedDetail; other 400s are not', () => {
    assert.ok(isDenial(403, 'Whatever', ''));
    assert.ok(isDenial(400, 'Forbidden.RAM', ''));
    assert.ok(isDenial(400, 'StatusForbidden', ''));
    assert.ok(isDenial(400, 'ErrorCheckAcl', ''));
    assert.ok(isDenial(400, 'Other', 'RAM policy Forbidden for action cs:CreateCluster'));
    assert.ok(!isDenial(400, 'InvalidParameter', 'bad value'));
    assert.ok(!isDenial(500, 'InternalError', ''));
    const e = cloudError({ code: 'ErrorCheckAcl', statusCode: 400, data: { Message: 'RAM policy Forbidden for action cs:DeleteCluster' } }, 'cs:DeleteCluster');
    assert.equal(deniedAction(e), 'cs:DeleteCluster');
    assert.match(e.message, /permission denied for cs:DeleteCluster/);
    assert.equal(deniedAction(cloudError({ code: 'InvalidParameter', statusCode: 400, data: { Message: 'x' } }, 'eci:X')), undefined);
  });

  it('only the gateway\'s documented unknown-API codes mean a retired API', () => {
    assert.ok(isRetired({ details: { code: 'InvalidAction.NotFound', status: 404 } }));
    assert.ok(isRetired({ details: { code: 'InvalidApi.NotFound', status: 404 } }));
    assert.ok(!isRetired({ details: { code: 'NotFound', status: 404 } }));
    assert.ok(!isRetired({ details: { code: 'ErrorClusterNotFound', status: 404 } }));
    assert.ok(!isRetired({ details: { code: 'ApiDeprecated', status: 400 } }));
  });

  it('every documented registration state has a meaning and a plan', () => {
    const documented = ['initial', 'failed', 'running', 'updating', 'upgrading', 'removing', 'draining', 'scaling', 'inactive', 'unavailable', 'deleting', 'deleted', 'delete_failed', 'waiting', 'disconnected'];
    for (const s of documented) assert.ok(STATE_MEANING[s], s);
    assert.deepEqual(documented.map((s) => `${s}:${planFor(s)}`), [
      'initial:create-wait', 'failed:refuse', 'running:ready', 'updating:wait', 'upgrading:wait', 'removing:wait', 'draining:wait', 'scaling:wait',
      'inactive:refuse', 'unavailable:connect', 'deleting:gone', 'deleted:gone', 'delete_failed:delete-failed', 'waiting:connect', 'disconnected:connect',
    ]);
  });

  it('versions: Alibaba documents VNodes for 1.16-1.30; above it install and doctor warn, naming vnode\'s tested range', () => {
    const v = (minor: number) => ({ major: 1, minor, gitVersion: `v1.${minor}.0` });
    assert.ok(documentedByAlibaba(v(30)) && documentedByAlibaba(v(16)));
    assert.ok(!documentedByAlibaba(v(31)) && !documentedByAlibaba(v(15)));
    assert.equal(checkVersionRange(v(30)).status, 'PASS');
    const w = checkVersionRange(v(34));
    assert.equal(w.status, 'WARN');
    assert.equal(w.message, beyondDocumented('v1.34.0'));
    assert.match(w.message, /Alibaba documents VNode support for 1\.16-1\.30; vnode's own suite passes through 1\.36/);
  });
});
