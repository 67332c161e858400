// The window operator (Flink's WindowOperator and EvictingWindowOperator in one): assigns each
// element of a keyed stream to windows, keeps each window's contents in keyed state under the
// window's namespace (a list of elements, or one incrementally reduced/aggregated value), asks
// the trigger when to fire and purge, merges session windows through a MergingWindowSet, and
// removes a window's state with a cleanup timer at maxTimestamp + allowed lateness. Elements
// later than that go to the late-data side output, or are counted in numLateRecordsDropped.

import { InvalidArgumentError, InvalidJobError } from "../../../core/errors.ts";
import type { Collector, Counter, OutputTag } from "../../../core/functions.ts";
import type { ValueState } from "../../../core/state.ts";
import type { Namespace } from "../../../state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../../state/keyed-state-backend.ts";
import type { InternalTimer, InternalTimerService } from "../../time/internal-timer-service.ts";
import { type KeyedContext, StreamOperator } from "../stream-operator.ts";
import { MergingWindowSet, mergingSetState } from "./merging-window-set.ts";
import {
  type Evictor,
  isEventTimeEndTrigger,
  isMergingAssigner,
  MAX_WINDOW_TIMESTAMP,
  type MergingWindowAssigner,
  type TimestampedValue,
  TimeWindow,
  GlobalWindow,
  type Trigger,
  type Window,
  type WindowAssigner,
  type WindowAssignerContext,
} from "./window-contracts.ts";
import {
  WindowEvictorContext,
  type WindowOperatorAccess,
  WindowProcessContext,
  WindowTriggerContext,
} from "./window-contexts.ts";
import { WindowContents, type WindowContentsDescriptor } from "./window-contents.ts";
import { cleanupTimeOfEnd, WindowEndTrigger, type WindowFiring } from "./window-end-trigger.ts";
import { compositeRich, type InternalWindowFunction } from "./window-functions.ts";

export { CONTENTS_STATE, type WindowContentsDescriptor } from "./window-contents.ts";

export interface WindowOperatorSpec {
  assigner: WindowAssigner<unknown, Window>;
  trigger: Trigger<unknown, Window>;
  /** With an evictor, contents are always the list of elements (with their timestamps). */
  evictor: Evictor<unknown, Window> | undefined;
  allowedLateness: number;
  lateDataTag: OutputTag<unknown> | undefined;
  /** How contents are kept without an evictor; its name must be CONTENTS_STATE. */
  contents: WindowContentsDescriptor;
  fn: InternalWindowFunction<any, unknown, unknown, Window>;
}

export const LATE_RECORDS_DROPPED = "numLateRecordsDropped";

export class WindowOperator extends StreamOperator implements WindowOperatorAccess, WindowFiring {
  backend!: KeyedStateBackend;
  timers!: InternalTimerService<Window>;
  private keySelector!: (value: unknown) => unknown;
  private keyedInput!: KeyedContext;
  /**
   * Keys are made current without their key group (a backend over every key group whose records
   * bring none): no hash per element; the key group is computed when a timer or a snapshot needs it.
   */
  private lazyKeys = false;
  private contents!: WindowContents;
  private mergingSetState: ValueState<number[]> | undefined;
  private lateDropped!: Counter;
  private collector!: Collector<unknown>;
  private readonly assigner: WindowAssigner<unknown, Window>;
  private readonly trigger: Trigger<unknown, Window>;
  private readonly evictor: Evictor<unknown, Window> | undefined;
  private readonly fn: InternalWindowFunction<any, unknown, unknown, Window>;
  private readonly eventTime: boolean;
  private readonly merging: boolean;
  private readonly lateness: number;
  private readonly lateTag: OutputTag<unknown> | undefined;
  /**
   * The trigger is the default event-time one and windows do not merge: the operator does the
   * trigger's work itself (endTrigger), which also tells it which of its timers exist.
   */
  private readonly inlineTrigger: boolean;
  private endTrigger: WindowEndTrigger | undefined;
  private readonly triggerCtx = new WindowTriggerContext(this);
  private readonly evictorCtx = new WindowEvictorContext(this);
  private readonly processCtx: WindowProcessContext;
  private readonly assignerCtx: WindowAssignerContext = {
    getCurrentProcessingTime: () => this.processingTime.now(),
  };

  constructor(private readonly spec: WindowOperatorSpec) {
    super(compositeRich(spec.fn.richFunctions));
    this.assigner = spec.assigner;
    this.trigger = spec.trigger;
    this.evictor = spec.evictor;
    this.fn = spec.fn;
    this.eventTime = spec.assigner.isEventTime();
    this.merging = isMergingAssigner(spec.assigner);
    this.lateness = spec.allowedLateness;
    this.lateTag = spec.lateDataTag;
    this.inlineTrigger = this.eventTime && !this.merging && isEventTimeEndTrigger(spec.trigger);
    this.processCtx = new WindowProcessContext(this, this.merging);
  }

  override async open(): Promise<void> {
    const keyed = this.keyed[0];
    if (keyed === undefined) {
      throw new InvalidJobError(`${this.describe()} needs a keyed input: call keyBy(...) before window(...)`);
    }
    this.backend = keyed.backend;
    this.keySelector = keyed.keySelector;
    this.keyedInput = keyed;
    this.lazyKeys =
      keyed.keyGroupFromRecord !== true &&
      this.backend.setCurrentKeyLazily !== undefined &&
      this.backend.ownsAllKeyGroups?.() === true;
    this.timers = this.getInternalTimerService<Window>("window-timers", {
      onEventTime: (t) => this.onEventTime(t),
      onProcessingTime: (t) => this.onProcessingTime(t),
    });
    // A window's state namespace identifies it for this assigner: timers use it, not its text.
    const assigner = this.assigner;
    this.timers.useNamespaceIdentity((w) => assigner.stateNamespace(w));
    this.contents = new WindowContents(
      this.backend,
      this.spec.contents,
      this.evictor !== undefined,
      this.inlineTrigger,
    );
    if (this.inlineTrigger) {
      const take = this.evictor === undefined;
      this.endTrigger = new WindowEndTrigger(this, this.timers, this.contents, this.lateness, take);
    }
    if (this.merging) this.mergingSetState = mergingSetState(this.backend);
    this.lateDropped = this.runtime.getCounter(LATE_RECORDS_DROPPED);
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    await super.open();
  }

  // ---- checkpoints: windows as timer namespaces ----------------------------------------------

  protected override timerNamespaceToData(window: unknown): unknown {
    if (window instanceof TimeWindow) return [window.start, window.end];
    if (window instanceof GlobalWindow) return "global";
    const assigner = this.assigner;
    if (typeof assigner.windowToData !== "function" || typeof assigner.windowFromData !== "function") {
      throw new InvalidJobError(
        `${this.describe()}: cannot checkpoint the timers of window ${String(window)} of assigner ${String(assigner)}: it is neither a TimeWindow nor a GlobalWindow; give the assigner windowToData(window) and windowFromData(data) (plain data) so its windows survive a restore`,
      );
    }
    return { window: assigner.windowToData(window as Window) };
  }

  protected override timerNamespaceFromData(data: unknown): unknown {
    if (Array.isArray(data)) return new TimeWindow(data[0] as number, data[1] as number);
    if (typeof data === "object" && data !== null && "window" in data) {
      const assigner = this.assigner;
      if (typeof assigner.windowFromData !== "function") {
        throw new InvalidJobError(
          `${this.describe()}: the checkpoint holds windows of assigner ${String(assigner)}'s own class, but the assigner has no windowFromData(data) to read them`,
        );
      }
      return assigner.windowFromData((data as { window: unknown }).window);
    }
    return GlobalWindow.get();
  }

  // ---- WindowOperatorAccess ------------------------------------------------------------------

  namespaceOf(window: Window): Namespace {
    return this.assigner.stateNamespace(window);
  }
  processingTimeNow(): number {
    return this.processingTime.now();
  }
  emitSide(tagId: string, value: unknown): void {
    this.output.collectSide(tagId, value);
  }
  describe(): string {
    return `window operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid})`;
  }

  // ---- elements ------------------------------------------------------------------------------

  processElement(value: unknown): void {
    const key = this.keySelector(value);
    if (this.lazyKeys) this.backend.setCurrentKeyLazily!(key);
    else this.backend.setCurrentKey(key, this.keyGroupOf(this.keyedInput, key));
    const ts = this.element.timestamp;
    if (this.eventTime && Number.isNaN(ts)) throw this.missingTimestamp();
    const windows = this.assigner.assignWindows(value, ts, this.assignerCtx);
    let skipped = true;
    if (this.merging) {
      skipped = this.addToMergingWindows(windows as TimeWindow[], value, ts);
    } else if (this.inlineTrigger) {
      const watermark = this.timers.currentWatermark();
      for (let i = 0; i < windows.length; i++) {
        const w = windows[i]!;
        const end = w.maxTimestamp();
        const cleanup = cleanupTimeOfEnd(end, this.lateness);
        if (cleanup <= watermark) continue;
        skipped = false;
        this.addToWindow(this.namespaceOf(w), value, ts);
        this.endTrigger!.onElement(w, end, cleanup, watermark);
      }
    } else {
      for (let i = 0; i < windows.length; i++) {
        const w = windows[i]!;
        if (this.isWindowLate(w)) continue;
        skipped = false;
        const ns = this.namespaceOf(w);
        this.addToWindow(ns, value, ts);
        this.onElementTrigger(value, ts, w, ns, w);
      }
    }
    if (skipped && this.isElementLate(ts)) {
      if (this.lateTag !== undefined) {
        this.element.timestamp = ts;
        this.output.collectSide(this.lateTag.id, value);
      } else this.lateDropped.add(1);
    }
  }

  /**
   * Adds an element to its merging windows; false when they were all late. (Apart from
   * processElement: a closure there would make every call allocate a context for `this`.)
   */
  private addToMergingWindows(windows: TimeWindow[], value: unknown, ts: number): boolean {
    let skipped = true;
    const set = this.mergingSet();
    for (const w of windows) {
      const actual = set.addWindow(w, (result, merged, stateResult, mergedState) =>
        this.mergeWindows(result, merged, stateResult, mergedState),
      );
      if (this.isWindowLate(actual)) {
        set.retireWindow(actual);
        continue;
      }
      skipped = false;
      const stateWindow = set.getStateWindow(actual)!;
      this.addToWindow(this.namespaceOf(stateWindow), value, ts);
      this.onElementTrigger(value, ts, actual, this.namespaceOf(actual), stateWindow);
    }
    set.persist();
    return skipped;
  }

  private addToWindow(stateNamespace: Namespace, value: unknown, ts: number): void {
    this.contents.add(stateNamespace, value, ts);
  }

  private onElementTrigger(
    value: unknown,
    ts: number,
    window: Window,
    namespace: Namespace,
    stateWindow: Window,
  ): void {
    this.triggerCtx.window = window;
    this.backend.setCurrentNamespace(namespace);
    const r = this.trigger.onElement(value, ts, window, this.triggerCtx);
    if (r.fire) this.fire(window, stateWindow);
    if (r.purge) this.purge(stateWindow);
    this.registerCleanupTimer(window);
  }

  // ---- timers --------------------------------------------------------------------------------

  private onEventTime(timer: InternalTimer<Window>): void {
    if (this.endTrigger !== undefined) this.endTrigger.onTimer(timer);
    else this.onTimer(timer, true);
  }

  private onProcessingTime(timer: InternalTimer<Window>): void {
    this.onTimer(timer, false);
  }

  private onTimer(timer: InternalTimer<Window>, eventTimeTimer: boolean): void {
    const window = timer.namespace;
    let set: MergingWindowSet | undefined;
    let stateWindow: Window = window;
    if (this.merging) {
      set = this.mergingSet();
      const sw = set.getStateWindow(window as TimeWindow);
      // The window merged into another one: its trigger state and timers went with it.
      if (sw === undefined) return;
      stateWindow = sw;
    }
    this.triggerCtx.window = window;
    this.backend.setCurrentNamespace(this.namespaceOf(window));
    const r = eventTimeTimer
      ? this.trigger.onEventTime(timer.time, window, this.triggerCtx)
      : this.trigger.onProcessingTime(timer.time, window, this.triggerCtx);
    if (r.fire) this.fire(window, stateWindow);
    if (r.purge) this.purge(stateWindow);
    if (eventTimeTimer === this.eventTime && timer.time === this.cleanupTime(window)) {
      this.clearAllState(window, stateWindow, set);
    }
    set?.persist();
  }

  // ---- firing, purging, cleanup ----------------------------------------------------------------

  fire(window: Window, stateWindow: Window): void {
    const contents = this.contents.get(this.namespaceOf(stateWindow));
    const evictor = this.evictor;
    if (evictor === undefined) {
      this.emitWindow(window, contents);
      return;
    }
    if (contents === undefined || (contents as unknown[]).length === 0) return;
    const key = this.backend.getCurrentKey();
    this.element.timestamp = window.maxTimestamp();
    this.processCtx.window = window;
    const elements = (contents as TimestampedValue<unknown>[]).slice();
    const size = elements.length;
    evictor.evictBefore(elements, size, window, this.evictorCtx);
    const values = elements.map((e) => e.value);
    this.fn.process(key, window, this.processCtx, values, this.collector);
    evictor.evictAfter(elements, size, window, this.evictorCtx);
    this.contents.updateElements(this.namespaceOf(stateWindow), elements);
  }

  /** Calls the window function with the contents of `window` (without an evictor), if any. */
  emitWindow(window: Window, contents: unknown): void {
    if (contents === undefined || (this.contents.list && (contents as unknown[]).length === 0)) return;
    this.element.timestamp = window.maxTimestamp();
    this.processCtx.window = window;
    this.fn.process(this.backend.getCurrentKey(), window, this.processCtx, contents, this.collector);
  }

  purge(stateWindow: Window): void {
    this.contents.clear(this.namespaceOf(stateWindow));
  }

  private clearAllState(window: Window, stateWindow: Window, set: MergingWindowSet | undefined): void {
    this.purge(stateWindow);
    this.triggerCtx.window = window;
    this.backend.setCurrentNamespace(this.namespaceOf(window));
    this.trigger.clear(window, this.triggerCtx);
    this.clearWindowFunctionState(window);
    set?.retireWindow(window as TimeWindow);
  }

  /** The window function's clear() and the per-window state it kept. */
  clearWindowFunctionState(window: Window): void {
    this.backend.setCurrentNamespace(this.namespaceOf(window));
    this.processCtx.window = window;
    this.fn.clear(window, this.processCtx);
    this.processCtx.clearWindowState();
  }

  /** When a window's state goes: maxTimestamp (+ allowed lateness in event time); MAX = never. */
  private cleanupTime(window: Window): number {
    const max = window.maxTimestamp();
    return this.eventTime ? cleanupTimeOfEnd(max, this.lateness) : max;
  }

  private registerCleanupTimer(window: Window): void {
    const t = this.cleanupTime(window);
    if (t >= MAX_WINDOW_TIMESTAMP) return;
    if (this.eventTime) this.timers.registerEventTimeTimer(window, t);
    else this.timers.registerProcessingTimeTimer(window, t);
  }

  private deleteCleanupTimer(window: Window): void {
    const t = this.cleanupTime(window);
    if (t >= MAX_WINDOW_TIMESTAMP) return;
    if (this.eventTime) this.timers.deleteEventTimeTimer(window, t);
    else this.timers.deleteProcessingTimeTimer(window, t);
  }

  private isWindowLate(window: Window): boolean {
    return this.eventTime && this.cleanupTime(window) <= this.timers.currentWatermark();
  }

  private isElementLate(ts: number): boolean {
    return this.eventTime && ts + this.lateness <= this.timers.currentWatermark();
  }

  // ---- merging -------------------------------------------------------------------------------

  private mergingSet(): MergingWindowSet {
    return new MergingWindowSet(this.assigner as MergingWindowAssigner<unknown>, this.mergingSetState!);
  }

  private mergeWindows(
    result: TimeWindow,
    mergedWindows: TimeWindow[],
    stateResult: TimeWindow,
    mergedStateWindows: TimeWindow[],
  ): void {
    if (this.eventTime && result.maxTimestamp() + this.lateness <= this.timers.currentWatermark()) {
      throw new InvalidArgumentError(
        `${this.describe()}: merging made window ${result} end before the current watermark ${this.timers.currentWatermark()}; a merging assigner must not shrink windows`,
      );
    }
    if (!this.eventTime && result.maxTimestamp() <= this.processingTime.now()) {
      throw new InvalidArgumentError(
        `${this.describe()}: merging made processing-time window ${result} end before the current processing time ${this.processingTime.now()}`,
      );
    }
    const ctx = this.triggerCtx;
    ctx.window = result;
    ctx.mergedWindows = mergedWindows;
    this.backend.setCurrentNamespace(this.namespaceOf(result));
    this.trigger.onMerge?.(result, ctx);
    ctx.mergedWindows = [];
    for (const m of mergedWindows) {
      ctx.window = m;
      this.backend.setCurrentNamespace(this.namespaceOf(m));
      this.trigger.clear(m, ctx);
      this.deleteCleanupTimer(m);
    }
    if (mergedStateWindows.length > 0) {
      this.contents.merge(
        this.namespaceOf(stateResult),
        mergedStateWindows.map((w) => this.namespaceOf(w)),
      );
    }
  }

  private missingTimestamp(): Error {
    return new InvalidJobError(
      `${this.describe()} got a record without a timestamp, but its assigner ${this.assigner} makes event-time windows: give records timestamps with WatermarkStrategy....withTimestampAssigner((e) => e.time) in fromSource(...) or assignTimestampsAndWatermarks(...) before keyBy/window, or use a processing-time assigner (e.g. TumblingProcessingTimeWindows)`,
    );
  }
}
