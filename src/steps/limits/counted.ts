import type { KubeObject, WatchEventType } from '../../cluster/port.js';
import { chargeOf, stillCounts, type Charge } from './usage.js';

type PodLike = KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };

/**
 * A list of the unbound charged pods is due this long after a grant or reservation was made: every pod admitted from
 * it exists by then (a grant is admitted from for GRANT_USE_MS, 10 s; the webhook answers within 5 s), and its room
 * still counts in full for 15 s more (GRANT_TTL_MS), time for a retry.
 */
export const COVER_MS = 45_000;
/** While unbound charged pods are known, they are listed again this often (to see those deleted before binding). */
export const PENDING_LIST_MS = 5_000;
/** An unbound pod a later list no longer shows, and the watch has not seen bound, counts this long still. */
export const MISSING_GRACE_MS = 5_000;

/**
 * The charged pods that count, as the counting replica knows them without a watch of every charged pod (whose creation
 * alone would send each pod to it): the bound ones from a watch (`spec.nodeName!=`), the unbound ones from a list made
 * when a grant or reservation is about to stop counting them. `all` holds both, by charge id; `released` the charges
 * that stopped counting (ended, deleted, or on a normal node), kept a while so what they held is not counted again.
 */
export class CountedPods {
  readonly all = new Map<string, Charge>();
  readonly released = new Map<string, Charge & { at: number }>();
  private readonly bound = new Set<string>();
  private readonly pending = new Map<string, { charge: Charge; missing?: number }>();
  /** When the last complete list of unbound charged pods began. */
  lastList = Number.NEGATIVE_INFINITY;

  /** A pod as the watch of bound charged pods sees it. True when what counts changed. */
  seeBound(type: WatchEventType, p: PodLike, isVirtual: (node: string) => boolean, now: number): boolean {
    const c = chargeOf(p);
    if (!c) return false;
    this.pending.delete(c.id);
    if (type === 'DELETED' || !stillCounts(p, isVirtual)) {
      this.bound.delete(c.id);
      const was = this.all.delete(c.id);
      if (was || type === 'DELETED') this.released.set(c.id, { ...c, at: now });
      return true;
    }
    this.bound.add(c.id);
    this.all.set(c.id, c);
    // dropped from the lists before the watch saw it bound: it counts again, once
    return this.released.delete(c.id);
  }

  /** The watch of bound charged pods (re)started with these: one it counted that is not among them is gone. */
  syncBound(present: PodLike[], isVirtual: (node: string) => boolean, now: number): void {
    const ids = new Set(present.map((p) => chargeOf(p)?.id));
    for (const id of this.bound) {
      if (ids.has(id)) continue;
      const c = this.all.get(id);
      this.bound.delete(id);
      this.all.delete(id);
      if (c) this.released.set(id, { ...c, at: now });
    }
    for (const p of present) this.seeBound('ADDED', p, isVirtual, now);
  }

  /**
   * What a list of the unbound charged pods, begun at `at`, found. A pod it no longer shows was bound (the watch has it,
   * or will in a moment) or deleted: it counts until a list MISSING_GRACE_MS later still lacks it. True when what counts changed.
   */
  listed(pods: PodLike[], at: number, now: number): boolean {
    let changed = false;
    const shown = new Set<string>();
    for (const p of pods) {
      const c = chargeOf(p);
      if (!c || p.spec?.nodeName || this.bound.has(c.id) || this.released.has(c.id)) continue;
      if (p.metadata.deletionTimestamp) {
        // going: it stops counting now, as the watch would have it
        if (this.pending.delete(c.id)) { this.all.delete(c.id); changed = true; }
        this.released.set(c.id, { ...c, at: now });
        continue;
      }
      shown.add(c.id);
      const had = this.pending.get(c.id);
      if (had) { delete had.missing; continue; }
      this.pending.set(c.id, { charge: c });
      this.all.set(c.id, c);
      changed = true;
    }
    for (const [id, e] of this.pending) {
      if (shown.has(id)) continue;
      if (e.missing === undefined) { e.missing = at; continue; }
      if (at - e.missing < MISSING_GRACE_MS) continue;
      this.pending.delete(id);
      this.all.delete(id);
      this.released.set(id, { ...e.charge, at: now });
      changed = true;
    }
    this.lastList = at;
    return changed;
  }

  /** Whether a list of unbound charged pods is due: a grant or reservation (`at`, counted until `at + ttl`) needs cover, or known ones need a look. */
  listDue(now: number, made: Iterable<{ at: number; ttl: number }>): boolean {
    if (this.pending.size > 0 && now - this.lastList >= PENDING_LIST_MS) return true;
    for (const m of made) if (now >= m.at + COVER_MS && now <= m.at + m.ttl && this.lastList < m.at + COVER_MS) return true;
    return false;
  }

  /** Releases older than `keepMs` no longer matter: what they held has stopped counting everywhere. */
  forget(now: number, keepMs: number): void {
    for (const [id, r] of this.released) if (now - r.at > keepMs) this.released.delete(id);
  }

  reset(): void {
    this.all.clear();
    this.bound.clear();
    this.pending.clear();
    this.lastList = Number.NEGATIVE_INFINITY;
  }
}
