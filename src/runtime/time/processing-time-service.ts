// A task's processing-time service: callbacks scheduled at a wall-clock time, fired by the task
// itself inside its step (a mailbox action), never concurrently with record processing.

import type { Clock } from "./clock.ts";
import { TimerHeap } from "./timer-heap.ts";

interface Scheduled {
  time: number;
  seq: number;
  callback: (time: number) => void;
  cancelled: boolean;
}

export interface ScheduledHandle {
  cancel(): void;
}

export class ProcessingTimeService {
  private readonly heap = new TimerHeap<Scheduled>();

  constructor(readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  schedule(time: number, callback: (time: number) => void): ScheduledHandle {
    const s: Scheduled = { time, seq: 0, callback, cancelled: false };
    this.heap.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
      },
    };
  }

  /** Run `callback` every `interval` ms from now on. */
  scheduleAtFixedRate(interval: number, callback: (time: number) => void): ScheduledHandle {
    let handle: ScheduledHandle;
    let stopped = false;
    const tick = (time: number) => {
      if (stopped) return;
      callback(time);
      handle = this.schedule(time + interval, tick);
    };
    handle = this.schedule(this.now() + interval, tick);
    return {
      cancel: () => {
        stopped = true;
        handle.cancel();
      },
    };
  }

  /** When the next callback is due (Infinity when none). */
  nextDue(): number {
    let top = this.heap.peek();
    while (top?.cancelled) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top === undefined ? Number.POSITIVE_INFINITY : top.time;
  }

  /** Fire every callback due by now. Returns how many fired. */
  fireDue(): number {
    const now = this.clock.now();
    let fired = 0;
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.time > now) break;
      this.heap.pop();
      if (top.cancelled) continue;
      fired++;
      top.callback(top.time);
    }
    return fired;
  }
}
