// Keyed timers of one operator: event-time timers fire when the watermark passes them,
// processing-time timers when the clock does. At most one timer per (key, namespace, time) and
// domain; deleting is lazy. Each timer remembers its key group, so that timers can be
// snapshotted and restored per key-group range with the keyed state.

import { assignToKeyGroup, canonicalKey } from "../../core/key-groups.ts";
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

function timerId(key: unknown, namespace: unknown, time: number): string {
  const k =
    typeof key === "string"
      ? key
      : typeof key === "object" && key !== null
        ? canonicalKey(key)
        : `${typeof key}:${String(key)}`;
  return `${time}\u0000${String(namespace)}\u0000${k}`;
}

class TimerQueue<N> {
  readonly heap = new TimerHeap<InternalTimer<N>>();
  readonly live = new Map<string, InternalTimer<N>>();

  add(t: InternalTimer<N>, id: string): boolean {
    if (this.live.has(id)) return false;
    this.live.set(id, t);
    this.heap.push(t);
    return true;
  }

  delete(id: string): void {
    this.live.delete(id);
  }

  /** The earliest live timer (dropping deleted ones). */
  peek(): InternalTimer<N> | undefined {
    for (;;) {
      const t = this.heap.peek();
      if (t === undefined) return undefined;
      if (this.live.get(timerId(t.key, t.namespace, t.time)) === t) return t;
      this.heap.pop();
    }
  }

  poll(): InternalTimer<N> | undefined {
    const t = this.peek();
    if (t !== undefined) {
      this.heap.pop();
      this.live.delete(timerId(t.key, t.namespace, t.time));
    }
    return t;
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

  registerEventTimeTimer(namespace: N, time: number): void {
    const key = this.keyContext.getCurrentKey();
    this.eventTimers.add(this.timer(key, namespace, time), timerId(key, namespace, time));
  }

  deleteEventTimeTimer(namespace: N, time: number): void {
    this.eventTimers.delete(timerId(this.keyContext.getCurrentKey(), namespace, time));
  }

  registerProcessingTimeTimer(namespace: N, time: number): void {
    const key = this.keyContext.getCurrentKey();
    if (this.processingTimers.add(this.timer(key, namespace, time), timerId(key, namespace, time))) {
      if (time < this.scheduledAt) this.reschedule(time);
    }
  }

  deleteProcessingTimeTimer(namespace: N, time: number): void {
    this.processingTimers.delete(timerId(this.keyContext.getCurrentKey(), namespace, time));
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

  private timer(key: unknown, namespace: N, time: number): InternalTimer<N> {
    return { time, seq: 0, key, keyGroup: assignToKeyGroup(key, this.maxParallelism), namespace };
  }

  /** Put back a timer from a checkpoint (for any key: it carries its own). */
  restoreTimer(domain: "event" | "processing", key: unknown, namespace: N, time: number): void {
    const t = this.timer(key, namespace, time);
    if (domain === "event") this.eventTimers.add(t, timerId(key, namespace, time));
    else if (this.processingTimers.add(t, timerId(key, namespace, time)) && time < this.scheduledAt) {
      this.reschedule(time);
    }
  }

  numEventTimeTimers(): number {
    return this.eventTimers.live.size;
  }

  numProcessingTimeTimers(): number {
    return this.processingTimers.live.size;
  }

  /** Live timers, for snapshots: [domain, timer]. */
  *timers(): Generator<["event" | "processing", InternalTimer<N>]> {
    for (const t of this.eventTimers.live.values()) yield ["event", t];
    for (const t of this.processingTimers.live.values()) yield ["processing", t];
  }
}
