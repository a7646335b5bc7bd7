import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCapacity, checkVersionRange, PODS_PER_NODE } from '../../src/steps/doctor/doctor.js';

describe('doctor checks that a real cluster cannot easily be made to fail', () => {
  it('api-version: too old fails, newer than tested warns, in range passes', () => {
    assert.equal(checkVersionRange({ gitVersion: 'v1.15.3', major: 1, minor: 15 }).status, 'FAIL');
    assert.equal(checkVersionRange({ gitVersion: 'v1.37.0', major: 1, minor: 37 }).status, 'WARN');
    assert.equal(checkVersionRange({ gitVersion: 'v1.30.1', major: 1, minor: 30 }).status, 'PASS');
  });

  it('capacity: more than 3000 pods on one virtual node warns and says how to add nodes', () => {
    const c = checkCapacity('vnode', PODS_PER_NODE + 1);
    assert.equal(c.status, 'WARN');
    assert.match(c.message, /3001 pods on one virtual node \(recommended at most 3000\)/);
    assert.match(c.hint ?? '', /vnode install --count N.*vnode config set vswitch=/);
    assert.equal(checkCapacity('vnode', PODS_PER_NODE).status, 'PASS');
  });
});
