// Keyed timers of one operator: event-time timers fire when the watermark passes them,
// processing-time timers when the clock does (by time, those of one time in registration order).
// At most one timer per (key, namespace, time) and domain; deleting is lazy. Each timer remembers its key group, so that timers can be
// snapshotted and restored per key-group range with the keyed state.

import { assignToKeyGroup } from "../../core/key-groups.ts";
import { type MapKey, mapKeyOf } from "../../state/state-table.ts";
import type { ProcessingTimeService, ScheduledHandle } from "./processing-time-service.ts";
import { type HeapEntry, TimerHeap } from "./timer-heap.ts";

export interface InternalTimer<N> {
  time: number;
  seq: number;
  key: unknown;
  keyGroup: number;
  namespace: N;
}

export interface Triggerable<N> {
  onEventTime(timer: InternalTimer<N>): void;
  onProcessingTime(timer: InternalTimer<N>): void;
}

/** What the timer service needs of the keyed context: the current key, and a way to set it. */
export interface KeyContext {
  getCurrentKey(): unknown;
  setCurrentKey(key: unknown, keyGroup: number): void;
  /** The current key's key group (else the service hashes the key itself). */
  getCurrentKeyGroup?(): number;
}

/** How many recently used (time, namespace) slots a timer queue remembers (see TimerQueue.slot). */
const RECENT_SLOTS = 8;

/** A timer with its identity parts: at most one per (time, namespace id, key id) and domain. */
interface QueuedTimer<N> extends InternalTimer<N> {
  nsId: unknown;
  keyId: MapKey;
  /** False once the timer fired or was deleted (it may still sit in its slot's order). */
  live: boolean;
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
  constructor(readonly time: number) {
    super();
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
    }
  }
}

/** The identity of a namespace: primitives as they are, objects (windows) by their text. */
function defaultNamespaceId(namespace: unknown): unknown {
  return typeof namespace === "number" || typeof namespace === "string" ? namespace : String(namespace);
}

/**
 * The timers of one domain: an index time -> slot (namespace id -> key id -> timer: nested Maps of
 * primitives, no id string built per registration), and a heap of the slots by time. Timers fire
 * by time, those of one time in registration order: the order of a heap of single timers ordered
 * by (time, registration). Deleting unindexes the timer and marks it dead; a slot leaves the
 * index when its last live timer goes, and the heap drops it when it surfaces.
 */
class TimerQueue<N> {
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
        this.foundSlot = this.recentSlots[i];
        return this.recentByKey[i]!;
      }
    }
    let slot = this.index.get(time);
    if (slot === undefined) {
      slot = new TimeSlot<N>(time);
      this.index.set(time, slot);
      this.heap.push(slot);
    }
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

  /** Adds `t` to `byKey`, which `slot()` just returned, unless it has a timer for its key. */
  add(t: QueuedTimer<N>, byKey: Map<MapKey, QueuedTimer<N>>): boolean {
    if (byKey.has(t.keyId)) return false;
    const slot = this.foundSlot!;
    byKey.set(t.keyId, t);
    t.seq = this.nextSeq++;
    slot.order.push(t);
    slot.live++;
    this.size++;
    return true;
  }

  get(time: number, nsId: unknown, keyId: MapKey): QueuedTimer<N> | undefined {
    return this.index.get(time)?.get(nsId)?.get(keyId);
  }

  delete(time: number, nsId: unknown, keyId: MapKey): void {
    this.lastTime = Number.NaN;
    const slot = this.index.get(time);
    const byKey = slot?.get(nsId);
    const t = byKey?.get(keyId);
    if (t === undefined) return;
    this.unindex(slot!, byKey!, t);
    slot!.compact();
  }

  /** Removes a live timer from the index (and its slot, when it was the slot's last). */
  private unindex(slot: TimeSlot<N>, byKey: Map<MapKey, QueuedTimer<N>>, t: QueuedTimer<N>): void {
    byKey.delete(t.keyId);
    t.live = false;
    this.size--;
    slot.live--;
    if (byKey.size === 0) {
      slot.delete(t.nsId);
      if (slot.live === 0) {
        this.index.delete(slot.time);
        slot.removed = true;
      }
      this.forgetRecent();
    }
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

  /** Removes `t`, which peek() just returned (it is the top slot's next timer). */
  private take(t: QueuedTimer<N>): void {
    this.lastTime = Number.NaN;
    const slot = this.heap.peek()!;
    slot.next++;
    this.unindex(slot, slot.get(t.nsId)!, t);
  }

  *values(): Generator<QueuedTimer<N>> {
    for (const slot of this.index.values()) for (const byKey of slot.values()) yield* byKey.values();
  }

  /** Re-identify every live timer's namespace (the identity function changed), keeping their order. */
  reindex(nsIdOf: (namespace: N) => unknown): void {
    this.lastTime = Number.NaN;
    const live = [...this.values()].sort((a, b) => a.time - b.time || a.seq - b.seq);
    this.index = new Map();
    this.heap = new TimerHeap<TimeSlot<N>>();
    this.forgetRecent();
    this.size = 0;
    for (const t of live) {
      t.nsId = nsIdOf(t.namespace);
      if (!this.add(t, this.slot(t.time, t.nsId))) t.live = false;
    }
  }
}

export class InternalTimerService<N> {
  private readonly eventTimers = new TimerQueue<N>();
  private readonly processingTimers = new TimerQueue<N>();
  private scheduled: ScheduledHandle | undefined;
  private scheduledAt = Number.POSITIVE_INFINITY;
  private watermark = Number.NEGATIVE_INFINITY;

  constructor(
    readonly name: string,
    private readonly keyContext: KeyContext,
    private readonly maxParallelism: number,
    private readonly pts: ProcessingTimeService,
    private readonly triggerable: Triggerable<N>,
  ) {}

  currentWatermark(): number {
    return this.watermark;
  }

  currentProcessingTime(): number {
    return this.pts.now();
  }

  /**
   * How timers tell namespaces apart (default: primitives as they are, objects by their text).
   * The window operator passes its assigner's state namespace, so that no window is turned into
   * a string per record.
   */
  useNamespaceIdentity(nsIdOf: (namespace: N) => unknown): void {
    this.nsIdOf = nsIdOf;
    this.eventTimers.reindex(nsIdOf);
    this.processingTimers.reindex(nsIdOf);
  }

  private nsIdOf: (namespace: N) => unknown = defaultNamespaceId;

  registerEventTimeTimer(namespace: N, time: number): void {
    this.register(this.eventTimers, this.keyContext.getCurrentKey(), namespace, time, true);
  }

  deleteEventTimeTimer(namespace: N, time: number): void {
    this.eventTimers.delete(time, this.nsIdOf(namespace), mapKeyOf(this.keyContext.getCurrentKey()));
  }

  registerProcessingTimeTimer(namespace: N, time: number): void {
    if (this.register(this.processingTimers, this.keyContext.getCurrentKey(), namespace, time, true)) {
      if (time < this.scheduledAt) this.reschedule(time);
    }
  }

  deleteProcessingTimeTimer(namespace: N, time: number): void {
    this.processingTimers.delete(time, this.nsIdOf(namespace), mapKeyOf(this.keyContext.getCurrentKey()));
  }

  /**
   * Adds a timer unless one exists for (key, namespace, time); the timer object only when new.
   * `current`: `key` is the current key (its key group is known).
   */
  private register(
    queue: TimerQueue<N>,
    key: unknown,
    namespace: N,
    time: number,
    current: boolean,
  ): boolean {
    const nsId = this.nsIdOf(namespace);
    const keyId = mapKeyOf(key);
    if (queue.isLast(time, nsId, keyId)) return false;
    queue.remember(time, nsId, keyId);
    const slot = queue.slot(time, nsId);
    if (slot.has(keyId)) return false;
    return queue.add(
      {
        time,
        seq: 0,
        key,
        keyGroup:
          current && key !== undefined && this.keyContext.getCurrentKeyGroup !== undefined
            ? this.keyContext.getCurrentKeyGroup()
            : assignToKeyGroup(key, this.maxParallelism),
        namespace,
        nsId,
        keyId,
        live: true,
      },
      slot,
    );
  }

  /** Fire every event-time timer at or before `watermark`, in time order. */
  advanceWatermark(watermark: number): void {
    this.watermark = watermark;
    for (;;) {
      const t = this.eventTimers.pollDue(watermark);
      if (t === undefined) return;
      this.keyContext.setCurrentKey(t.key, t.keyGroup);
      this.triggerable.onEventTime(t);
    }
  }

  private onProcessingTime(now: number): void {
    this.scheduled = undefined;
    this.scheduledAt = Number.POSITIVE_INFINITY;
    for (;;) {
      const t = this.processingTimers.peek();
      if (t === undefined) return;
      if (t.time > now) {
        this.reschedule(t.time);
        return;
      }
      this.processingTimers.poll();
      this.keyContext.setCurrentKey(t.key, t.keyGroup);
      this.triggerable.onProcessingTime(t);
    }
  }

  private reschedule(time: number): void {
    this.scheduled?.cancel();
    this.scheduledAt = time;
    this.scheduled = this.pts.schedule(time, (now) => this.onProcessingTime(Math.max(now, this.pts.now())));
  }

  /** Put back a timer from a checkpoint (for any key: it carries its own). */
  restoreTimer(domain: "event" | "processing", key: unknown, namespace: N, time: number): void {
    if (domain === "event") this.register(this.eventTimers, key, namespace, time, false);
    else if (this.register(this.processingTimers, key, namespace, time, false) && time < this.scheduledAt) {
      this.reschedule(time);
    }
  }

  numEventTimeTimers(): number {
    return this.eventTimers.size;
  }

  numProcessingTimeTimers(): number {
    return this.processingTimers.size;
  }

  /** The live timers of each domain, for a snapshot (their objects never change once queued). */
  capture(): Array<["event" | "processing", InternalTimer<N>[]]> {
    return [
      ["event", [...this.eventTimers.values()]],
      ["processing", [...this.processingTimers.values()]],
    ];
  }
}
