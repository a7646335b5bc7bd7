import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offeredSpec, podSpec } from '../../src/sandbox/cloud/pricing.js';
import { effective, inWindow, parseWindow, type BurstLimit } from '../../src/steps/limits/limits.js';
import { hourlyOf, type PriceTable } from '../../src/steps/limits/prices.js';
import { estimatePod, quantity, specList, ALL_REGION_SPECS, REGIONAL_SPECS } from '../../src/steps/limits/spec.js';
import { crossing, snapshotOf, usageFromSnapshot, usageOf, type Charge, type Grant, type Reservation } from '../../src/steps/limits/usage.js';
import { DOCUMENTED_SPECS } from '../fixtures/documented-answers.js';

describe('burst limits: the spec a pod is billed as, windows, usage', () => {
  const offered = specList([...ALL_REGION_SPECS, ...REGIONAL_SPECS]);
  for (const c of DOCUMENTED_SPECS.cases) {
    it(`documented (${DOCUMENTED_SPECS.source}): ${c.what} — vnode's estimate and the emulator's instance agree with the page`, () => {
      const pod = { metadata: { annotations: c.annotations ?? {} }, spec: { containers: c.containers.map((r) => ({ resources: r })) } };
      const e = estimatePod(pod, offered);
      assert.deepEqual('unknown' in e ? e : { cpu: e.cpu, memory: e.memory }, { cpu: c.cpu, memory: c.memory });
      const s = podSpec(pod);
      assert.deepEqual({ cpu: s.cpu, memory: s.memory }, { cpu: c.cpu, memory: c.memory });
    });
  }

  it(`documented (${DOCUMENTED_SPECS.source}): the offered specs are the page's tables, on both sides`, () => {
    const rows = (t: Record<string, number[]>): string[] => Object.entries(t).flatMap(([c, gs]) => gs.map((g) => `${Number(c)}/${g}`)).sort();
    assert.deepEqual(specList(ALL_REGION_SPECS).map((x) => `${x.cpu}/${x.memory}`).sort(), rows(DOCUMENTED_SPECS.everyRegion));
    assert.deepEqual(specList(REGIONAL_SPECS).map((x) => `${x.cpu}/${x.memory}`).sort(), rows(DOCUMENTED_SPECS.someRegions));
    for (const r of rows(DOCUMENTED_SPECS.everyRegion)) { const [c, g] = r.split('/').map(Number); assert.ok(offeredSpec(c!, g!, true), `emulator offers ${r}, spot too`); }
    for (const r of rows(DOCUMENTED_SPECS.someRegions)) { const [c, g] = r.split('/').map(Number); assert.ok(offeredSpec(c!, g!) && !offeredSpec(c!, g!, true), `emulator offers ${r}, not as spot`); }
    for (const [c, g] of [[2, 3], [3, 6], [8, 16.5], [6, 50]] as const) assert.equal(offeredSpec(c, g), false, `${c}/${g} is in neither table`);
  });

  it('quantities as Kubernetes writes them; an instance type cannot be accounted', () => {
    assert.equal(quantity('250m', 'cpu'), 0.25);
    assert.equal(quantity('1536Mi', 'memory'), 1.5);
    assert.equal(quantity('2G', 'memory')!.toFixed(3), (2e9 / 2 ** 30).toFixed(3));
    assert.equal(quantity('lots', 'cpu'), undefined);
    assert.match(JSON.stringify(estimatePod({ metadata: { annotations: { 'k8s.aliyun.com/eci-use-specs': 'ecs.c6.large' } } }, offered)), /instance type ecs.c6.large/);
    assert.match(JSON.stringify(estimatePod({ spec: { containers: [{ resources: { limits: { cpu: '100' } } }] } }, offered)), /more than any spec/);
  });

  it('spot is held at the most it may pay: the list price, or SpotWithPriceLimit\'s hourly limit when lower', () => {
    const table: PriceTable = { fetched: '', region: 'cn-hangzhou', currency: 'CNY', perHour: { '2-4': 0.441 } };
    const hourly = (annotations: Record<string, string>): number | undefined => {
      const e = estimatePod({ metadata: { annotations: { 'k8s.aliyun.com/eci-use-specs': '2-4Gi', ...annotations } } }, offered);
      assert.ok(!('unknown' in e), JSON.stringify(e));
      return hourlyOf(table, e);
    };
    assert.equal(hourly({}), 0.441);
    assert.equal(hourly({ 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo' }), 0.441);
    assert.equal(hourly({ 'k8s.aliyun.com/eci-spot-strategy': 'SpotWithPriceLimit', 'k8s.aliyun.com/eci-spot-price-limit': '0.250' }), 0.25);
    assert.equal(hourly({ 'k8s.aliyun.com/eci-spot-strategy': 'SpotWithPriceLimit', 'k8s.aliyun.com/eci-spot-price-limit': '0.5' }), 0.441);
    // the limit is read only with SpotWithPriceLimit, as ECI reads it
    assert.equal(hourly({ 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo', 'k8s.aliyun.com/eci-spot-price-limit': '0.1' }), 0.441);
  });

  it('windows: days, hours past midnight and time zones; the first in force wins over the limit\'s own', () => {
    const w = parseWindow('Mon-Fri 08:00-20:00 Asia/Shanghai cpu=64');
    assert.deepEqual(w.days, [1, 2, 3, 4, 5]);
    // Monday 2026-12-07 01:00 UTC is 09:00 in Shanghai
    assert.equal(inWindow(w, new Date('2026-12-07T01:00:00Z')), true);
    assert.equal(inWindow(w, new Date('2026-12-07T13:00:00Z')), false);
    assert.equal(inWindow(w, new Date('2026-12-06T01:00:00Z')), false, 'a Sunday');
    const night = parseWindow('Fri 22:00-06:00 UTC pods=5');
    assert.equal(inWindow(night, new Date('2026-12-12T03:00:00Z')), true, 'Saturday 03:00 belongs to Friday\'s window');
    const l: BurstLimit = { name: 'x', values: { cpu: 8, pods: 10 }, windows: [w] };
    assert.deepEqual(effective(l, new Date('2026-12-07T01:00:00Z')).values, { cpu: 64, pods: 10 });
    assert.deepEqual(effective(l, new Date('2026-12-07T13:00:00Z')).values, { cpu: 8, pods: 10 });
    assert.throws(() => parseWindow('Mon 08:00-08:00 UTC pods=1'), /hours "08:00-08:00"/);
  });

  it('usage: a reservation counts until its pod is seen (once) or released, and not past its time; crossing names the resource', () => {
    const l: BurstLimit = { name: 'cap', selector: 'web', values: { cpu: 4 }, windows: [] };
    const now = Date.now();
    const pod = { id: 'a', selector: 'web', cpu: 2, memory: 4, pods: 1, maxHourly: 0 };
    const res = [{ ...pod, at: now }, { ...pod, id: 'b', at: now }, { ...pod, id: 'old', at: now - 200_000 }, { ...pod, id: 'other', selector: 'db', at: now }];
    assert.equal(usageOf(l, [pod], res, new Map(), now).cpu, 4, 'a once, b reserved, old expired, other out of scope');
    assert.equal(usageOf(l, [pod], res, new Map([['b', res[1]!]]), now).cpu, 2);
    const c = crossing(l, usageOf(l, [pod], res, new Map(), now), pod, new Date(now));
    assert.equal(c?.resource, 'cpu');
    assert.equal(crossing(l, usageOf(l, [], [], new Map(), now), pod, new Date(now)), undefined);
  });

  it('usage: a live grant counts its room, less what its pods were seen to take or give back; an old one only its pods', () => {
    const l: BurstLimit = { name: 'cap', values: { pods: 100 }, windows: [] };
    const now = Date.now();
    const p = (id: string, grant?: string): Charge => ({ id, selector: undefined, cpu: 2, memory: 4, pods: 1, maxHourly: 0, ...(grant ? { grants: { cap: grant } } : {}) });
    const grant = { grant: 'g1', limit: 'cap', holder: 'a', room: { pods: 10 }, at: now };
    const seen = [p('1', 'g1'), p('2', 'g1'), p('3', 'g1'), p('4')];
    assert.equal(usageOf(l, seen, [], new Map([['5', p('5', 'g1')]]), now, [grant]).pods, 1 + 3 + (10 - 3 - 1));
    assert.equal(usageOf(l, seen, [], new Map(), now, [{ ...grant, room: { pods: 2 } }]).pods, 4, 'written down below what was seen: the pods count');
    assert.equal(usageOf(l, seen, [], new Map(), now, [{ ...grant, at: now - 61_000 }]).pods, 4, 'expired: its pods count alone');
    assert.equal(usageOf(l, seen, [], new Map(), now, [{ ...grant, limit: 'other' }]).pods, 4);
  });

  it('the replicas that watch no pods count from the counting one\'s snapshot exactly what it counts (200 random states)', () => {
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const limits: BurstLimit[] = [{ name: 'all', values: { pods: 500, cpu: 900 }, windows: [] }, { name: 'web', selector: 'web', values: { memory: 2000 }, windows: [] }];
    for (let round = 0; round < 200; round++) {
      const now = 1_000_000_000;
      const grants: Grant[] = Array.from({ length: rnd(6) }, (_, i) => ({
        grant: `g${i}`, limit: limits[rnd(2)]!.name, holder: 'h', room: { pods: rnd(20), cpu: rnd(40), memory: rnd(80) }, at: now - rnd(90_000),
      }));
      const charge = (id: string): Charge => {
        const g = grants.length > 0 && rnd(2) === 0 ? grants[rnd(grants.length)] : undefined;
        return { id, selector: ['web', 'db', undefined][rnd(3)], cpu: 1 + rnd(4), memory: 2 + rnd(8), pods: 1, maxHourly: 0, ...(g ? { grants: { [g.limit]: g.grant } } : {}) };
      };
      const charged = Array.from({ length: rnd(30) }, (_, i) => charge(`p${i}`));
      const released = new Map(Array.from({ length: rnd(6) }, (_, i) => [`r${i}`, charge(`r${i}`)] as const));
      const reservations: Reservation[] = [
        ...charged.filter(() => rnd(4) === 0).map((c) => ({ ...c, at: now - rnd(150_000) })),
        ...Array.from({ length: rnd(4) }, (_, i) => ({ ...charge(`u${i}`), at: now - rnd(150_000) })),
      ];
      const snap = snapshotOf(limits, charged, released, reservations, grants, now, 'h');
      for (const l of limits) {
        const want = usageOf(l, charged, reservations, released, now, grants);
        const got = usageFromSnapshot(l, JSON.parse(JSON.stringify(snap)) as typeof snap, reservations, now, grants);
        for (const r of ['cpu', 'memory', 'pods'] as const) assert.ok(Math.abs(want[r] - got[r]) < 1e-9, `round ${round}, ${l.name} ${r}: counted ${want[r]}, from the snapshot ${got[r]}`);
      }
    }
  });

  it('a snapshot older than a grant counts that grant in full: the replicas that read it never count less', () => {
    const l: BurstLimit = { name: 'cap', values: { pods: 100 }, windows: [] };
    const now = Date.now();
    const p = (id: string, grant?: string): Charge => ({ id, selector: undefined, cpu: 1, memory: 1, pods: 1, maxHourly: 0, ...(grant ? { grants: { cap: grant } } : {}) });
    const before = snapshotOf([l], [p('1')], new Map(), [], [], now - 1000, 'h');
    const g = { grant: 'g', limit: 'cap', holder: 'x', room: { pods: 5 }, at: now - 500 };
    // two pods of the new grant exist, the snapshot has not seen them: 1 + the grant's whole room
    assert.equal(usageFromSnapshot(l, before, [], now, [g]).pods, 6);
    assert.equal(usageOf(l, [p('1'), p('2', 'g'), p('3', 'g')], [], new Map(), now, [g]).pods, 6);
    // an unseen reservation counts; one the snapshot saw charged does not count twice
    const r: Reservation = { ...p('4'), at: now };
    assert.equal(usageFromSnapshot(l, before, [r], now, []).pods, 2);
    assert.equal(usageFromSnapshot(l, snapshotOf([l], [p('1'), p('4')], new Map(), [r], [], now, 'h'), [r], now, []).pods, 2);
  });
});
