import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COVER_MS, CountedPods, MISSING_GRACE_MS, PENDING_LIST_MS } from '../../src/steps/limits/counted.js';
import { usageOf, CHARGE_ANNOTATION, CHARGE_LABEL } from '../../src/steps/limits/usage.js';
import type { BurstLimit } from '../../src/steps/limits/limits.js';

/** A charged pod as the API server returns it. */
function pod(id: string, o: { node?: string; deleting?: boolean; phase?: string; grant?: string } = {}): Parameters<CountedPods['seeBound']>[1] {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `p-${id}`, namespace: 'web', labels: { [CHARGE_LABEL]: id },
      annotations: { [CHARGE_ANNOTATION]: JSON.stringify({ cpu: 2, memory: 4, maxHourly: 0, ...(o.grant ? { grants: { cap: o.grant } } : {}) }) },
      ...(o.deleting ? { deletionTimestamp: '2026-12-06T00:00:00Z' } : {}),
    },
    spec: o.node ? { nodeName: o.node } : {},
    status: { phase: o.phase ?? 'Pending' },
  };
}
const virtual = (n: string): boolean => n.startsWith('vnode-');

describe('the counting replica: bound charged pods from a watch, unbound ones from lists', () => {
  it('an unbound pod counts from the list that found it; bound to a virtual node it still counts once; deleted, it is released', () => {
    const c = new CountedPods();
    assert.equal(c.listed([pod('a')], 1000, 1000), true);
    assert.deepEqual([...c.all.keys()], ['a']);
    assert.equal(c.seeBound('ADDED', pod('a', { node: 'vnode-1' }), virtual, 2000), false);
    assert.deepEqual([...c.all.keys()], ['a']);
    // the next list no longer shows it (bound): it is not dropped, the watch has it
    c.listed([], 8000, 8000);
    c.listed([], 20_000, 20_000);
    assert.deepEqual([...c.all.keys()], ['a']);
    assert.equal(c.seeBound('DELETED', pod('a', { node: 'vnode-1' }), virtual, 30_000), true);
    assert.equal(c.all.size, 0);
    assert.equal(c.released.get('a')?.at, 30_000);
  });

  it('on a normal node, ended, or deleting while unbound, a pod stops counting at once', () => {
    const c = new CountedPods();
    c.listed([pod('n'), pod('e'), pod('d')], 0, 0);
    c.seeBound('ADDED', pod('n', { node: 'worker-1' }), virtual, 1);
    c.seeBound('MODIFIED', pod('e', { node: 'vnode-1', phase: 'Succeeded' }), virtual, 1);
    assert.equal(c.listed([pod('d', { deleting: true })], 2, 2), true);
    assert.equal(c.all.size, 0);
    assert.deepEqual([...c.released.keys()].sort(), ['d', 'e', 'n']);
    // a list begun before a release cannot bring the pod back
    c.listed([pod('d'), pod('n')], 3, 3);
    assert.equal(c.all.size, 0);
  });

  it('an unbound pod a list no longer shows counts until a list MISSING_GRACE_MS later still lacks it (bound late to the watch, or deleted)', () => {
    const c = new CountedPods();
    c.listed([pod('a'), pod('b')], 0, 0);
    c.listed([pod('b')], 5000, 5000);
    assert.deepEqual([...c.all.keys()].sort(), ['a', 'b'], 'within the grace: the watch may not have told its binding yet');
    c.listed([pod('b')], 5000 + MISSING_GRACE_MS - 1, 9999);
    assert.ok(c.all.has('a'));
    assert.equal(c.listed([pod('b')], 5000 + MISSING_GRACE_MS, 10_000), true);
    assert.deepEqual([...c.all.keys()], ['b']);
    assert.ok(c.released.has('a'));
    // the watch had it bound after all: it counts again, and is no longer released (what it holds is not given back twice)
    assert.equal(c.seeBound('ADDED', pod('a', { node: 'vnode-1' }), virtual, 11_000), true);
    assert.ok(c.all.has('a') && !c.released.has('a'));
  });

  it('a pod a list lacked once and showed again is not dropped by the next miss', () => {
    const c = new CountedPods();
    c.listed([pod('a')], 0, 0);
    c.listed([], 1000, 1000);
    c.listed([pod('a')], 2000, 2000);
    c.listed([], 1000 + MISSING_GRACE_MS, 1000 + MISSING_GRACE_MS);
    assert.ok(c.all.has('a'), 'its miss counts from the last list that lacked it');
  });

  it('a restarted watch drops the bound pods it no longer lists (deleted while it was down)', () => {
    const c = new CountedPods();
    c.seeBound('ADDED', pod('a', { node: 'vnode-1' }), virtual, 0);
    c.seeBound('ADDED', pod('b', { node: 'vnode-1' }), virtual, 0);
    c.syncBound([pod('b', { node: 'vnode-1' })], virtual, 100);
    assert.deepEqual([...c.all.keys()], ['b']);
    assert.equal(c.released.get('a')?.at, 100);
  });

  it('a list is due once a grant or reservation is COVER_MS old and no list began since; then every PENDING_LIST_MS while pods wait', () => {
    const c = new CountedPods();
    const grant = { at: 100_000, ttl: 60_000 };
    assert.equal(c.listDue(100_000 + COVER_MS - 1, [grant]), false, 'its pods may still be on their way');
    assert.equal(c.listDue(100_000 + COVER_MS, [grant]), true);
    assert.equal(c.listDue(100_000 + 60_001, [grant]), false, 'it no longer counts anything');
    c.listed([], 100_000 + COVER_MS, 100_000 + COVER_MS);
    assert.equal(c.listDue(100_000 + COVER_MS + 1000, [grant]), false, 'covered');
    assert.equal(c.listDue(200_000, []), false, 'nothing made, nothing waits: no list');
    c.listed([pod('a')], 200_000, 200_000);
    assert.equal(c.listDue(200_000 + PENDING_LIST_MS - 1, []), false);
    assert.equal(c.listDue(200_000 + PENDING_LIST_MS, []), true);
  });

  it('with usageOf: a grant\'s pods count as its room until listed, then as themselves, once', () => {
    const l: BurstLimit = { name: 'cap', values: { pods: 100 }, windows: [] };
    const c = new CountedPods();
    const g = { grant: 'g1', limit: 'cap', holder: 'h', room: { pods: 5 }, at: 0 };
    const used = (now: number): number => usageOf(l, c.all.values(), [], c.released, now, [g]).pods;
    assert.equal(used(1000), 5, 'room taken: nothing seen yet');
    c.listed([pod('1', { grant: 'g1' }), pod('2', { grant: 'g1' })], COVER_MS, COVER_MS);
    assert.equal(used(COVER_MS), 5, 'two seen, three of its room not used yet (or on their way)');
    assert.equal(used(61_000), 2, 'expired: its two pods count');
    c.seeBound('ADDED', pod('1', { node: 'vnode-1', grant: 'g1' }), virtual, 62_000);
    assert.equal(used(62_000), 2);
  });
});
