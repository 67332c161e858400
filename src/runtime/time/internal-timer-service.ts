// Keyed timers of one operator: event-time timers fire when the watermark passes them,
// processing-time timers when the clock does. At most one timer per (key, namespace, time) and
// domain; deleting is lazy. Each timer remembers its key group, so that timers can be
// snapshotted and restored per key-group range with the keyed state.

import { assignToKeyGroup } from "../../core/key-groups.ts";
import { type MapKey, mapKeyOf } from "../../state/state-table.ts";
import type { ProcessingTimeService, ScheduledHandle } from "./processing-time-service.ts";
import { TimerHeap } from "./timer-heap.ts";

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
}

/** How many recently used (time, namespace) slots a timer queue remembers (see TimerQueue.slot). */
const RECENT_SLOTS = 8;

/** A timer with its identity parts: at most one per (time, namespace id, key id) and domain. */
interface QueuedTimer<N> extends InternalTimer<N> {
  nsId: unknown;
  keyId: MapKey;
}

/** The identity of a namespace: primitives as they are, objects (windows) by their text. */
function defaultNamespaceId(namespace: unknown): unknown {
  return typeof namespace === "number" || typeof namespace === "string" ? namespace : String(namespace);
}

/**
 * The timers of one domain: a heap by time, and an index time -> namespace id -> key id -> timer
 * (nested Maps of primitives: no id string is built per registration). Deleting only unindexes;
 * the heap drops deleted timers when they surface.
 */
class TimerQueue<N> {
  readonly heap = new TimerHeap<QueuedTimer<N>>();
  private index = new Map<number, Map<unknown, Map<MapKey, QueuedTimer<N>>>>();
  size = 0;
  /** The last timer registered (or found registered): the window operator registers the same one
   * twice per record (trigger and cleanup timer). Cleared by every removal. */
  private lastTime = Number.NaN;
  private lastNsId: unknown = undefined;
  private lastKeyId: MapKey = "";

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
  private readonly recentSlots: Array<Map<MapKey, QueuedTimer<N>> | undefined> = new Array(RECENT_SLOTS).fill(
    undefined,
  );
  private nextRecent = 0;

  private forgetRecent(): void {
    this.recentTimes.fill(Number.NaN);
    this.recentSlots.fill(undefined);
  }

  /** The per-key Map of (time, namespace id), created when missing. */
  slot(time: number, nsId: unknown): Map<MapKey, QueuedTimer<N>> {
    const times = this.recentTimes;
    for (let i = 0; i < RECENT_SLOTS; i++) {
      if (times[i] === time && this.recentNsIds[i] === nsId) return this.recentSlots[i]!;
    }
    let byNs = this.index.get(time);
    if (byNs === undefined) this.index.set(time, (byNs = new Map()));
    let byKey = byNs.get(nsId);
    if (byKey === undefined) byNs.set(nsId, (byKey = new Map()));
    const r = this.nextRecent;
    times[r] = time;
    this.recentNsIds[r] = nsId;
    this.recentSlots[r] = byKey;
    this.nextRecent = (r + 1) % RECENT_SLOTS;
    return byKey;
  }

  /** Adds `t` unless its slot already has a timer for its key. */
  add(t: QueuedTimer<N>, slot: Map<MapKey, QueuedTimer<N>>): boolean {
    if (slot.has(t.keyId)) return false;
    slot.set(t.keyId, t);
    this.size++;
    this.heap.push(t);
    return true;
  }

  get(time: number, nsId: unknown, keyId: MapKey): QueuedTimer<N> | undefined {
    return this.index.get(time)?.get(nsId)?.get(keyId);
  }

  delete(time: number, nsId: unknown, keyId: MapKey): void {
    this.lastTime = Number.NaN;
    const byNs = this.index.get(time);
    const byKey = byNs?.get(nsId);
    if (byKey === undefined || !byKey.delete(keyId)) return;
    this.size--;
    if (byKey.size === 0) {
      byNs!.delete(nsId);
      if (byNs!.size === 0) this.index.delete(time);
      this.forgetRecent();
    }
  }

  /** The earliest live timer (dropping deleted ones). */
  peek(): QueuedTimer<N> | undefined {
    for (;;) {
      const t = this.heap.peek();
      if (t === undefined) return undefined;
      if (this.get(t.time, t.nsId, t.keyId) === t) return t;
      this.heap.pop();
    }
  }

  poll(): QueuedTimer<N> | undefined {
    const t = this.peek();
    if (t !== undefined) {
      this.heap.pop();
      this.delete(t.time, t.nsId, t.keyId);
    }
    return t;
  }

  *values(): Generator<QueuedTimer<N>> {
    for (const byNs of this.index.values()) for (const byKey of byNs.values()) yield* byKey.values();
  }

  /** Re-identify every live timer's namespace (the identity function changed). */
  reindex(nsIdOf: (namespace: N) => unknown): void {
    this.lastTime = Number.NaN;
    const live = [...this.values()];
    this.index = new Map();
    this.forgetRecent();
    for (const t of live) {
      t.nsId = nsIdOf(t.namespace);
      const slot = this.slot(t.time, t.nsId);
      if (slot.has(t.keyId)) this.size--;
      else slot.set(t.keyId, t);
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
    this.register(this.eventTimers, this.keyContext.getCurrentKey(), namespace, time);
  }

  deleteEventTimeTimer(namespace: N, time: number): void {
    this.eventTimers.delete(time, this.nsIdOf(namespace), mapKeyOf(this.keyContext.getCurrentKey()));
  }

  registerProcessingTimeTimer(namespace: N, time: number): void {
    if (this.register(this.processingTimers, this.keyContext.getCurrentKey(), namespace, time)) {
      if (time < this.scheduledAt) this.reschedule(time);
    }
  }

  deleteProcessingTimeTimer(namespace: N, time: number): void {
    this.processingTimers.delete(time, this.nsIdOf(namespace), mapKeyOf(this.keyContext.getCurrentKey()));
  }

  /** Adds a timer unless one exists for (key, namespace, time); the timer object only when new. */
  private register(queue: TimerQueue<N>, key: unknown, namespace: N, time: number): boolean {
    const nsId = this.nsIdOf(namespace);
    const keyId = mapKeyOf(key);
    if (queue.isLast(time, nsId, keyId)) return false;
    queue.remember(time, nsId, keyId);
    const slot = queue.slot(time, nsId);
    if (slot.has(keyId)) return false;
    return queue.add(
      { time, seq: 0, key, keyGroup: assignToKeyGroup(key, this.maxParallelism), namespace, nsId, keyId },
      slot,
    );
  }

  /** Fire every event-time timer at or before `watermark`, in time order. */
  advanceWatermark(watermark: number): void {
    this.watermark = watermark;
    for (;;) {
      const t = this.eventTimers.peek();
      if (t === undefined || t.time > watermark) return;
      this.eventTimers.poll();
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
    if (domain === "event") this.register(this.eventTimers, key, namespace, time);
    else if (this.register(this.processingTimers, key, namespace, time) && time < this.scheduledAt) {
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
