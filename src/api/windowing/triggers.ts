// Built-in triggers: event time, processing time, count, continuous event/processing time,
// delta, purging, a processing-time timeout around another trigger, and the never-firing default
// of GlobalWindows. Write your own by implementing Trigger.

import { InvalidArgumentError } from "../../core/errors.ts";
import { ReducingStateDescriptor, ValueStateDescriptor } from "../../core/state.ts";
import { MAX_WATERMARK } from "../../core/watermark.ts";
import {
  checkTrigger,
  declareEventTimeEndTrigger,
  MAX_WINDOW_TIMESTAMP,
  type OnMergeContext,
  type Trigger,
  type TriggerContext,
  TriggerResult,
  type Window,
} from "../../runtime/operators/window/window-contracts.ts";
import type { DeltaFunction } from "./evictors.ts";
import { checkDuration } from "./time.ts";

const sum = (a: number, b: number): number => a + b;
const min = (a: number, b: number): number => Math.min(a, b);

/** Fires once the watermark passes the end of the window; late elements (within lateness) fire at once. */
export class EventTimeTrigger implements Trigger<unknown, Window> {
  private constructor() {}
  static create(): EventTimeTrigger {
    return new EventTimeTrigger();
  }
  onElement(_e: unknown, _t: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    return TriggerResult.CONTINUE;
  }
  onEventTime(time: number, window: Window): TriggerResult {
    return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(window: Window, ctx: OnMergeContext): void {
    // Only when the merged window is not already late: a late one fired on its element.
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp());
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
  toString(): string {
    return "EventTimeTrigger()";
  }
}

declareEventTimeEndTrigger(EventTimeTrigger.prototype);

/** Fires when the processing-time clock passes the end of the window. */
export class ProcessingTimeTrigger implements Trigger<unknown, Window> {
  private constructor() {}
  static create(): ProcessingTimeTrigger {
    return new ProcessingTimeTrigger();
  }
  onElement(_e: unknown, _t: number, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.FIRE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime()) {
      ctx.registerProcessingTimeTimer(window.maxTimestamp());
    }
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp());
  }
  toString(): string {
    return "ProcessingTimeTrigger()";
  }
}

/** Fires every `maxCount` elements of a window (the count restarts after each firing). */
export class CountTrigger implements Trigger<unknown, Window> {
  private readonly state = new ReducingStateDescriptor<number>("__count-trigger", sum);
  private constructor(readonly maxCount: number) {}
  static of(maxCount: number): CountTrigger {
    if (!Number.isInteger(maxCount) || maxCount < 1) {
      throw new InvalidArgumentError(`CountTrigger.of() needs a count >= 1, got ${String(maxCount)}`);
    }
    return new CountTrigger(maxCount);
  }
  onElement(_e: unknown, _t: number, _w: Window, ctx: TriggerContext): TriggerResult {
    const count = ctx.getPartitionedState(this.state);
    count.add(1);
    if (count.get()! >= this.maxCount) {
      count.clear();
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(_w: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.state);
  }
  clear(_w: Window, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.state).clear();
  }
  toString(): string {
    return `CountTrigger(${this.maxCount})`;
  }
}

/** Fires every `interval` ms of event time while the window is open, and at its end. */
export class ContinuousEventTimeTrigger implements Trigger<unknown, Window> {
  private readonly state = new ReducingStateDescriptor<number>("__continuous-event-fire", min);
  private constructor(readonly interval: number) {}
  static of(interval: number): ContinuousEventTimeTrigger {
    return new ContinuousEventTimeTrigger(checkDuration(interval, "ContinuousEventTimeTrigger interval"));
  }
  onElement(_e: unknown, timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    const fireAt = ctx.getPartitionedState(this.state);
    if (fireAt.get() === undefined) {
      const start = timestamp - mod(timestamp, this.interval);
      this.registerNext(start, window, ctx);
    }
    return TriggerResult.CONTINUE;
  }
  onEventTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (time === window.maxTimestamp()) return TriggerResult.FIRE;
    const fireAt = ctx.getPartitionedState(this.state);
    if (fireAt.get() === time) {
      fireAt.clear();
      // At the end of input a window that never ends (GlobalWindows) would get one timer per
      // interval up to the end of time, and the job would never finish: its end timer fires last.
      const endOfInput = ctx.getCurrentWatermark() === MAX_WATERMARK;
      if (!(endOfInput && window.maxTimestamp() >= MAX_WINDOW_TIMESTAMP))
        this.registerNext(time, window, ctx);
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(_w: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.state);
    const next = ctx.getPartitionedState(this.state).get();
    if (next !== undefined) ctx.registerEventTimeTimer(next);
  }
  clear(_w: Window, ctx: TriggerContext): void {
    const fireAt = ctx.getPartitionedState(this.state);
    const t = fireAt.get();
    if (t !== undefined) {
      ctx.deleteEventTimeTimer(t);
      fireAt.clear();
    }
  }
  private registerNext(time: number, window: Window, ctx: TriggerContext): void {
    const next = Math.min(time + this.interval, window.maxTimestamp());
    ctx.getPartitionedState(this.state).add(next);
    ctx.registerEventTimeTimer(next);
  }
  toString(): string {
    return `ContinuousEventTimeTrigger(${this.interval})`;
  }
}

/** Fires every `interval` ms of processing time while the window has elements. */
export class ContinuousProcessingTimeTrigger implements Trigger<unknown, Window> {
  private readonly state = new ReducingStateDescriptor<number>("__continuous-processing-fire", min);
  private constructor(readonly interval: number) {}
  static of(interval: number): ContinuousProcessingTimeTrigger {
    return new ContinuousProcessingTimeTrigger(
      checkDuration(interval, "ContinuousProcessingTimeTrigger interval"),
    );
  }
  onElement(_e: unknown, _t: number, window: Window, ctx: TriggerContext): TriggerResult {
    const fireAt = ctx.getPartitionedState(this.state);
    if (fireAt.get() === undefined) {
      const now = ctx.getCurrentProcessingTime();
      this.registerNext(now - mod(now, this.interval), window, ctx);
    }
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    const fireAt = ctx.getPartitionedState(this.state);
    if (fireAt.get() === time) {
      fireAt.clear();
      this.registerNext(time, window, ctx);
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(_w: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.state);
    const next = ctx.getPartitionedState(this.state).get();
    if (next !== undefined) ctx.registerProcessingTimeTimer(next);
  }
  clear(_w: Window, ctx: TriggerContext): void {
    const fireAt = ctx.getPartitionedState(this.state);
    const t = fireAt.get();
    if (t !== undefined) {
      ctx.deleteProcessingTimeTimer(t);
      fireAt.clear();
    }
  }
  private registerNext(time: number, window: Window, ctx: TriggerContext): void {
    const next = Math.min(time + this.interval, window.maxTimestamp());
    ctx.getPartitionedState(this.state).add(next);
    ctx.registerProcessingTimeTimer(next);
  }
  toString(): string {
    return `ContinuousProcessingTimeTrigger(${this.interval})`;
  }
}

/** Turns every FIRE of the nested trigger into FIRE_AND_PURGE. */
export class PurgingTrigger<T, W extends Window> implements Trigger<T, W> {
  private constructor(readonly nested: Trigger<T, W>) {}
  static of<T, W extends Window>(nested: Trigger<T, W>): PurgingTrigger<T, W> {
    checkTrigger(nested, "PurgingTrigger.of()");
    return new PurgingTrigger(nested);
  }
  private static purging(r: TriggerResult): TriggerResult {
    return r.fire ? TriggerResult.FIRE_AND_PURGE : r;
  }
  onElement(e: T, t: number, w: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onElement(e, t, w, ctx));
  }
  onEventTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onEventTime(time, w, ctx));
  }
  onProcessingTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onProcessingTime(time, w, ctx));
  }
  canMerge(): boolean {
    return this.nested.canMerge?.() === true;
  }
  onMerge(w: W, ctx: OnMergeContext): void {
    this.nested.onMerge?.(w, ctx);
  }
  clear(w: W, ctx: TriggerContext): void {
    this.nested.clear(w, ctx);
  }
  toString(): string {
    return `PurgingTrigger(${String(this.nested)})`;
  }
}

/**
 * Fires when an element is more than `threshold` away from the element of the last firing (the
 * window's first element before any firing), as `delta(last, element)` measures it; that element
 * becomes the new reference. The window's first element only sets the reference. With
 * GlobalWindows and an evictor it makes "every time the car has moved another 50 m, the top speed
 * of the last 10 s".
 */
export class DeltaTrigger<T> implements Trigger<T, Window> {
  private readonly state = new ValueStateDescriptor<T>("__delta-trigger-last");
  private constructor(
    readonly threshold: number,
    private readonly delta: DeltaFunction<T>,
  ) {}
  static of<T>(threshold: number, delta: DeltaFunction<T>): DeltaTrigger<T> {
    if (typeof threshold !== "number" || Number.isNaN(threshold)) {
      throw new InvalidArgumentError(`DeltaTrigger.of() needs a numeric threshold, got ${String(threshold)}`);
    }
    if (typeof delta !== "function") {
      throw new InvalidArgumentError(
        "DeltaTrigger.of() needs a delta function (oldPoint, newPoint) => number as its second argument",
      );
    }
    return new DeltaTrigger(threshold, delta);
  }
  onElement(element: T, _t: number, _w: Window, ctx: TriggerContext): TriggerResult {
    const last = ctx.getPartitionedState(this.state);
    const reference = last.value();
    if (reference === undefined) {
      last.update(element);
      return TriggerResult.CONTINUE;
    }
    if (this.delta(reference, element) > this.threshold) {
      last.update(element);
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(_w: Window, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.state).clear();
  }
  toString(): string {
    return `DeltaTrigger(${this.threshold})`;
  }
}

/**
 * Wraps a trigger with a processing-time timeout: the first element of a window (every element,
 * with `resetTimerOnNewRecord`) sets a timer `timeout` ms of processing time ahead; when it, or any
 * other timer of the window, fires, the window fires (and purges if the nested trigger said to
 * purge), and with `clearOnTimeout` (the default) the nested trigger is cleared and the timeout
 * forgotten, so the next element starts a new one. A FIRE of the nested trigger on an element
 * clears the timeout too. "Fire every 100 elements, or 5 s after the first of them":
 * `ProcessingTimeoutTrigger.of(CountTrigger.of(100), 5_000)`.
 */
export class ProcessingTimeoutTrigger<T, W extends Window> implements Trigger<T, W> {
  private readonly state = new ValueStateDescriptor<number>("__processing-timeout");
  private constructor(
    readonly nested: Trigger<T, W>,
    readonly timeout: number,
    readonly resetTimerOnNewRecord: boolean,
    readonly clearOnTimeout: boolean,
  ) {}
  static of<T, W extends Window>(
    nested: Trigger<T, W>,
    timeout: number,
    resetTimerOnNewRecord = false,
    clearOnTimeout = true,
  ): ProcessingTimeoutTrigger<T, W> {
    checkTrigger(nested, "ProcessingTimeoutTrigger.of()");
    return new ProcessingTimeoutTrigger(
      nested,
      checkDuration(timeout, "ProcessingTimeoutTrigger timeout"),
      resetTimerOnNewRecord === true,
      clearOnTimeout !== false,
    );
  }
  onElement(e: T, t: number, w: W, ctx: TriggerContext): TriggerResult {
    const result = this.nested.onElement(e, t, w, ctx);
    if (result.fire) {
      this.clear(w, ctx);
      return result;
    }
    const deadline = ctx.getPartitionedState(this.state);
    let current = deadline.value();
    if (current !== undefined && this.resetTimerOnNewRecord) {
      ctx.deleteProcessingTimeTimer(current);
      current = undefined;
    }
    if (current === undefined) {
      const at = ctx.getCurrentProcessingTime() + this.timeout;
      deadline.update(at);
      ctx.registerProcessingTimeTimer(at);
    }
    return result;
  }
  onEventTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return this.timedOut(this.nested.onEventTime(time, w, ctx), w, ctx);
  }
  onProcessingTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return this.timedOut(this.nested.onProcessingTime(time, w, ctx), w, ctx);
  }
  private timedOut(nested: TriggerResult, w: W, ctx: TriggerContext): TriggerResult {
    if (this.clearOnTimeout) this.clear(w, ctx);
    return nested.purge ? TriggerResult.FIRE_AND_PURGE : TriggerResult.FIRE;
  }
  clear(w: W, ctx: TriggerContext): void {
    const deadline = ctx.getPartitionedState(this.state);
    const at = deadline.value();
    if (at !== undefined) {
      ctx.deleteProcessingTimeTimer(at);
      deadline.clear();
    }
    this.nested.clear(w, ctx);
  }
  toString(): string {
    return `ProcessingTimeoutTrigger(${String(this.nested)}, ${this.timeout})`;
  }
}

/** Never fires: the default of GlobalWindows, which needs a trigger of your choice. */
export class NeverTrigger implements Trigger<unknown, Window> {
  private constructor() {}
  static create(): NeverTrigger {
    return new NeverTrigger();
  }
  onElement(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  canMerge(): boolean {
    return true;
  }
  onMerge(): void {}
  clear(): void {}
  toString(): string {
    return "NeverTrigger()";
  }
}

/** Floor modulo: the result has the sign of the divisor (correct interval starts for negative times). */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
