// The timers of one domain of an InternalTimerService: an index time -> slot (namespace id -> key
// id -> timer) and a heap of the slots by time, so that registering and firing a timer touch no
// heap while many keys' timers share a time (the windows of one end). Timers registered as known
// to be new (addNew) join their slot's order only; the slot indexes them when it is first looked
// into (catchUp), which a window operator's own timers often never are.

import { type MapKey, mapKeyOf } from "../../state/state-table.ts";
import type { InternalTimer } from "./internal-timer-service.ts";
import { type HeapEntry, TimerHeap } from "./timer-heap.ts";

/** How many recently used (time, namespace) slots a timer queue remembers (see TimerQueue.slot). */
const RECENT_SLOTS = 8;

/**
 * A queued timer: at most one per (time, namespace id, key id) and domain. A class, not a literal:
 * its objects are smaller (no allocation memento) and all of one shape. Its namespace id and key
 * id are not kept (the index is reached with them, and reindex() derives them again).
 */
export class QueuedTimer<N> implements InternalTimer<N> {
  seq = 0;
  /** False once the timer fired or was deleted (it may still sit in its slot's order and Map). */
  live = true;
  constructor(
    readonly time: number,
    readonly key: unknown,
    readonly keyGroup: number,
    readonly namespace: N,
  ) {}
}

/**
 * The timers of one domain due at one time, by namespace id and key id, and in the order they
 * were registered (the order they fire in). Many keys' windows end at the same time, so a queue
 * orders these slots, not single timers: registering and firing a timer touch no heap.
 */
class TimeSlot<N> extends Map<unknown, Map<MapKey, QueuedTimer<N>>> implements HeapEntry {
  seq = 0;
  /** Registration order; entries before `next` fired or were deleted, later dead ones are skipped. */
  order: QueuedTimer<N>[] = [];
  next = 0;
  live = 0;
  /** Out of the index (nothing live left); the heap drops it when it surfaces. */
  removed = false;
  /** `order[0, indexed)` is in the per-key Maps (live timers); later timers wait for catchUp(). */
  indexed = 0;
  constructor(readonly time: number) {
    super();
  }

  /** Puts the live timers registered by addNew since the last catch-up into the per-key Maps. */
  catchUp(nsIdOf: (namespace: N) => unknown): void {
    const order = this.order;
    for (let i = this.indexed; i < order.length; i++) {
      const t = order[i]!;
      if (!t.live) continue;
      const nsId = nsIdOf(t.namespace);
      let byKey = this.get(nsId);
      if (byKey === undefined) this.set(nsId, (byKey = new Map()));
      byKey.set(mapKeyOf(t.key), t);
    }
    this.indexed = order.length;
  }

  /** The next live timer in registration order, or undefined when none is left. */
  first(): QueuedTimer<N> | undefined {
    const order = this.order;
    while (this.next < order.length) {
      const t = order[this.next]!;
      if (t.live) return t;
      this.next++;
    }
    return undefined;
  }

  /** Drops dead timers from `order` once they outnumber the live ones (deletes without firing). */
  compact(): void {
    const dead = this.order.length - this.next - this.live;
    if (dead > 32 && dead > 2 * this.live) {
      this.order = this.order.filter((t, i) => i >= this.next && t.live);
      this.next = 0;
      this.indexed = this.order.length; // called after catchUp
    }
  }
}

/** The identity of a namespace: primitives as they are, objects (windows) by their text. */
export function defaultNamespaceId(namespace: unknown): unknown {
  return typeof namespace === "number" || typeof namespace === "string" ? namespace : String(namespace);
}

/**
 * The timers of one domain: an index time -> slot (namespace id -> key id -> timer: nested Maps of
 * primitives, no id string built per registration), and a heap of the slots by time. Timers fire
 * by time, those of one time in registration order: the order of a heap of single timers ordered
 * by (time, registration). Deleting unindexes the timer and marks it dead; a slot leaves the
 * index when its last live timer goes, and the heap drops it when it surfaces.
 */
export class TimerQueue<N> {
  private heap = new TimerHeap<TimeSlot<N>>();
  private index = new Map<number, TimeSlot<N>>();
  size = 0;
  private nextSeq = 0;
  /** The last timer registered (or found registered): the window operator registers the same one
   * twice per record (trigger and cleanup timer). Cleared by every removal. */
  private lastTime = Number.NaN;
  private lastNsId: unknown = undefined;
  private lastKeyId: MapKey = "";
  /** The slot of the per-key Map `slot()` returned last (where `add` puts a timer). */
  private foundSlot: TimeSlot<N> | undefined;
  /** The slot addNew used last (dropped with it). */
  private newSlot: TimeSlot<N> | undefined;
  /** How catchUp identifies a timer's namespace (set by reindex). */
  private nsIdOf: (namespace: N) => unknown = defaultNamespaceId;

  /** Whether (time, nsId, keyId) is the last timer registered, still live. */
  isLast(time: number, nsId: unknown, keyId: MapKey): boolean {
    return time === this.lastTime && nsId === this.lastNsId && keyId === this.lastKeyId;
  }

  remember(time: number, nsId: unknown, keyId: MapKey): void {
    this.lastTime = time;
    this.lastNsId = nsId;
    this.lastKeyId = keyId;
  }

  /**
   * The per-key Maps of the last few (time, namespace id) looked up, round-robin: the elements of
   * a window operator register the timers of the same few windows again and again (a sliding
   * window: one per window the element is in). Emptied whenever a per-key Map leaves the index.
   */
  private readonly recentTimes: number[] = new Array<number>(RECENT_SLOTS).fill(Number.NaN);
  private readonly recentNsIds: unknown[] = new Array<unknown>(RECENT_SLOTS).fill(undefined);
  private readonly recentByKey: Array<Map<MapKey, QueuedTimer<N>> | undefined> = new Array(RECENT_SLOTS).fill(
    undefined,
  );
  private readonly recentSlots: Array<TimeSlot<N> | undefined> = new Array(RECENT_SLOTS).fill(undefined);
  private nextRecent = 0;

  private forgetRecent(): void {
    this.recentTimes.fill(Number.NaN);
    this.recentByKey.fill(undefined);
    this.recentSlots.fill(undefined);
  }

  /** The per-key Map of (time, namespace id), created when missing. */
  slot(time: number, nsId: unknown): Map<MapKey, QueuedTimer<N>> {
    const times = this.recentTimes;
    for (let i = 0; i < RECENT_SLOTS; i++) {
      if (times[i] === time && this.recentNsIds[i] === nsId) {
        const found = this.recentSlots[i]!;
        if (found.indexed !== found.order.length) found.catchUp(this.nsIdOf);
        this.foundSlot = found;
        return this.recentByKey[i]!;
      }
    }
    const slot = this.slotAt(time);
    slot.catchUp(this.nsIdOf);
    let byKey = slot.get(nsId);
    if (byKey === undefined) slot.set(nsId, (byKey = new Map()));
    const r = this.nextRecent;
    times[r] = time;
    this.recentNsIds[r] = nsId;
    this.recentByKey[r] = byKey;
    this.recentSlots[r] = slot;
    this.nextRecent = (r + 1) % RECENT_SLOTS;
    this.foundSlot = slot;
    return byKey;
  }

  /** The slot of `time`, created when missing (its per-key Maps may lag: see catchUp). */
  private slotAt(time: number): TimeSlot<N> {
    let slot = this.index.get(time);
    if (slot === undefined) {
      slot = new TimeSlot<N>(time);
      this.index.set(time, slot);
      this.heap.push(slot);
    }
    return slot;
  }

  /**
   * Adds `t`, which the caller knows has no live timer of the same (time, namespace, key) here,
   * without looking: it joins its slot's order, and the slot's per-key Maps when they are next
   * read. A duplicate would fire twice.
   */
  addNew(t: QueuedTimer<N>): void {
    let slot = this.newSlot;
    if (slot === undefined || slot.time !== t.time || slot.removed) this.newSlot = slot = this.slotAt(t.time);
    t.seq = this.nextSeq++;
    slot.order.push(t);
    slot.live++;
    this.size++;
  }

  /** Adds `t` under `keyId` to `byKey`, which `slot()` just returned (no live timer for that key). */
  add(t: QueuedTimer<N>, keyId: MapKey, byKey: Map<MapKey, QueuedTimer<N>>): void {
    const slot = this.foundSlot!;
    byKey.set(keyId, t);
    t.seq = this.nextSeq++;
    slot.order.push(t);
    if (slot.indexed === slot.order.length - 1) slot.indexed++;
    slot.live++;
    this.size++;
  }

  delete(time: number, nsId: unknown, keyId: MapKey): void {
    this.lastTime = Number.NaN;
    const slot = this.index.get(time);
    slot?.catchUp(this.nsIdOf);
    const byKey = slot?.get(nsId);
    const t = byKey?.get(keyId);
    if (t === undefined || !t.live) return;
    byKey!.delete(keyId);
    t.live = false;
    this.size--;
    if (--slot!.live === 0) this.removeSlot(slot!);
    else {
      if (byKey!.size === 0) {
        slot!.delete(nsId);
        this.forgetRecent();
      }
      slot!.compact();
    }
  }

  /** Takes a slot with no live timer left out of the index; the heap drops it when it surfaces. */
  private removeSlot(slot: TimeSlot<N>): void {
    this.index.delete(slot.time);
    slot.removed = true;
    if (this.newSlot === slot) this.newSlot = undefined;
    this.forgetRecent();
  }

  /** The earliest live timer (dropping fired and deleted ones, and emptied slots). */
  peek(): QueuedTimer<N> | undefined {
    for (;;) {
      const slot = this.heap.peek();
      if (slot === undefined) return undefined;
      if (!slot.removed) {
        const t = slot.first();
        if (t !== undefined) return t;
      }
      this.heap.pop();
    }
  }

  /** Removes and returns the earliest live timer if it is due at `time` or before. */
  pollDue(time: number): QueuedTimer<N> | undefined {
    const t = this.peek();
    if (t === undefined || t.time > time) return undefined;
    this.take(t);
    return t;
  }

  poll(): QueuedTimer<N> | undefined {
    const t = this.peek();
    if (t !== undefined) this.take(t);
    return t;
  }

  /**
   * Removes `t`, which peek() just returned (it is the top slot's next timer). It stays in its
   * per-key Map, dead, until the slot goes with its last live timer: a slot is due all at once, so
   * firing drains it, and dropping the slot's Maps whole is cheaper than deleting every timer from
   * them (V8 shrinks a Map as it empties). Lookups treat a dead timer as absent.
   */
  private take(t: QueuedTimer<N>): void {
    this.lastTime = Number.NaN;
    const slot = this.heap.peek()!;
    slot.next++;
    t.live = false;
    this.size--;
    if (--slot.live === 0) this.removeSlot(slot);
  }

  *values(): Generator<QueuedTimer<N>> {
    for (const slot of this.index.values()) {
      slot.catchUp(this.nsIdOf);
      for (const byKey of slot.values()) for (const t of byKey.values()) if (t.live) yield t;
    }
  }

  /** Re-identify every live timer's namespace (the identity function changed), keeping their order. */
  reindex(nsIdOf: (namespace: N) => unknown): void {
    this.lastTime = Number.NaN;
    const live = [...this.values()].sort((a, b) => a.time - b.time || a.seq - b.seq);
    this.nsIdOf = nsIdOf;
    this.index = new Map();
    this.heap = new TimerHeap<TimeSlot<N>>();
    this.newSlot = undefined;
    this.forgetRecent();
    this.size = 0;
    for (const t of live) {
      const keyId = mapKeyOf(t.key);
      const byKey = this.slot(t.time, nsIdOf(t.namespace));
      if (byKey.get(keyId)?.live === true) t.live = false;
      else this.add(t, keyId, byKey);
    }
  }
}
