// The default event-time trigger done by the window operator itself, for windows that do not
// merge: fire when the watermark passes a window's end, remove its state at the cleanup time (end
// + allowed lateness). Done here rather than through EventTimeTrigger's calls, it also knows which
// of a window's timers exist: contents that were there got them with their first element, contents
// just created have none yet (registered without a lookup), so no timer is looked up per element.

import type { Namespace } from "../../../state/heap-keyed-state-backend.ts";
import type { InternalTimer, InternalTimerService } from "../../time/internal-timer-service.ts";
import { MAX_WINDOW_TIMESTAMP, type Window } from "./window-contracts.ts";
import type { ContentsProbe, WindowContents } from "./window-contents.ts";

/** What the window-end trigger asks of its window operator (the current key is set). */
export interface WindowFiring {
  /** Calls the window function with the window's contents (the state window is the window). */
  fire(window: Window, stateWindow: Window): void;
  /** Calls the window function with `contents` (already read), if there are any. */
  emitWindow(window: Window, contents: unknown): void;
  /** Removes the window's contents. */
  purge(stateWindow: Window): void;
  /** The window function's clear() and the per-window state it kept. */
  clearWindowFunctionState(window: Window): void;
  namespaceOf(window: Window): Namespace;
}

/** When the state of an event-time window whose maxTimestamp is `max` goes; MAX = never. */
export function cleanupTimeOfEnd(max: number, lateness: number): number {
  const t = max + lateness;
  return t >= max && t < MAX_WINDOW_TIMESTAMP ? t : MAX_WINDOW_TIMESTAMP;
}

export class WindowEndTrigger {
  private readonly probe: ContentsProbe | undefined;
  /**
   * The latest event-time timer restored. A window whose contents existed has its timers when it
   * ends after this (created since the restore, by these rules); windows from a checkpoint may
   * come from another trigger or allowed lateness, so theirs are looked up.
   */
  private restoredTimersUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly op: WindowFiring,
    private readonly timers: InternalTimerService<Window>,
    private readonly contents: WindowContents,
    private readonly lateness: number,
    /** Fire and purge with one contents lookup when they come together (no evictor). */
    private readonly takeOnLastFiring: boolean,
  ) {
    this.probe = contents.probe;
    if (this.probe === undefined) return;
    for (const [domain, restored] of timers.capture()) {
      if (domain !== "event") continue;
      for (const t of restored) if (t.time > this.restoredTimersUntil) this.restoredTimersUntil = t.time;
    }
  }

  /**
   * EventTimeTrigger.onElement and the cleanup timer, for an element just added to a window that
   * is not late: FIRE when the watermark passed the window's end (an element within the allowed
   * lateness), else a timer at the end. Without allowed lateness that timer is also the cleanup
   * timer (one timer per window).
   */
  onElement(window: Window, end: number, cleanup: number, watermark: number): void {
    // Contents that were there got their timers with their first element (and keep them: the
    // cleanup timer removes the contents, the end timer fires before any element sees the window
    // end passed); contents just created have none.
    const probe = this.probe;
    const known = probe !== undefined && end > this.restoredTimersUntil;
    const timersExist = known && probe.existed;
    const timersNew = known && !probe.existed && this.contents.probeShowsCreation;
    if (end <= watermark) this.op.fire(window, window);
    else {
      if (timersExist) return;
      this.register(window, end, timersNew);
      if (cleanup === end) return;
    }
    if (!timersExist && cleanup < MAX_WINDOW_TIMESTAMP) this.register(window, cleanup, timersNew);
  }

  private register(window: Window, time: number, isNew: boolean): void {
    if (isNew) this.timers.registerNewEventTimeTimer(window, time);
    else this.timers.registerEventTimeTimer(window, time);
  }

  /**
   * An event-time timer: FIRE at the window's end; at the cleanup time, the window's state goes.
   * The trigger's clear() would delete the timer at the window's end, which by then has fired (it
   * is due no later than the cleanup timer, and is registered only while the watermark is before
   * it): skipped.
   */
  onTimer(timer: InternalTimer<Window>): void {
    const window = timer.namespace;
    const time = timer.time;
    const end = window.maxTimestamp();
    const cleanup = cleanupTimeOfEnd(end, this.lateness);
    const op = this.op;
    if (time === end && time === cleanup && this.takeOnLastFiring) {
      // The one timer of a window without allowed lateness: fire and remove the contents at once.
      op.emitWindow(window, this.contents.take(op.namespaceOf(window)));
      op.clearWindowFunctionState(window);
      return;
    }
    if (time === end) op.fire(window, window);
    if (time === cleanup) {
      op.purge(window);
      op.clearWindowFunctionState(window);
    }
  }
}
