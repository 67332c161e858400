// Keyed timers of one operator: event-time timers fire when the watermark passes them,
// processing-time timers when the clock does (by time, those of one time in registration order).
// At most one timer per (key, namespace, time) and domain; deleting is lazy. Each timer remembers
// its key group, so that timers can be snapshotted and restored per key-group range with the keyed
// state. The queue of each domain is in timer-queue.ts.

import { assignToKeyGroup } from "../../core/key-groups.ts";
import { mapKeyOf } from "../../state/state-table.ts";
import type { ProcessingTimeService, ScheduledHandle } from "./processing-time-service.ts";
import { defaultNamespaceId, QueuedTimer, TimerQueue } from "./timer-queue.ts";

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

  /**
   * registerEventTimeTimer for a timer the caller knows is not registered (nor is any other of the
   * current key, `namespace` and `time`): no lookup, and no per-key index entry until one is needed.
   */
  registerNewEventTimeTimer(namespace: N, time: number): void {
    const ctx = this.keyContext;
    const key = ctx.getCurrentKey();
    const keyGroup =
      key !== undefined && ctx.getCurrentKeyGroup !== undefined
        ? ctx.getCurrentKeyGroup()
        : assignToKeyGroup(key, this.maxParallelism);
    this.eventTimers.addNew(new QueuedTimer(time, key, keyGroup, namespace));
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
    if (slot.get(keyId)?.live === true) return false;
    const keyGroup =
      current && key !== undefined && this.keyContext.getCurrentKeyGroup !== undefined
        ? this.keyContext.getCurrentKeyGroup()
        : assignToKeyGroup(key, this.maxParallelism);
    queue.add(new QueuedTimer(time, key, keyGroup, namespace), keyId, slot);
    return true;
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
