// Evictors: remove elements from a window before and/or after its function runs: keep the last
// N (count), the last N ms (time), or those within a delta of the last element.

import { InvalidArgumentError } from "../../core/errors.ts";
import type {
  Evictor,
  EvictorContext,
  TimestampedValue,
  Window,
} from "../../runtime/operators/window/window-contracts.ts";
import { checkDuration } from "./time.ts";

abstract class BaseEvictor<T> implements Evictor<T, Window> {
  constructor(readonly doEvictAfter: boolean) {}
  evictBefore(elements: TimestampedValue<T>[], size: number, _w: Window, ctx: EvictorContext): void {
    if (!this.doEvictAfter) this.evict(elements, size, ctx);
  }
  evictAfter(elements: TimestampedValue<T>[], size: number, _w: Window, ctx: EvictorContext): void {
    if (this.doEvictAfter) this.evict(elements, size, ctx);
  }
  protected abstract evict(elements: TimestampedValue<T>[], size: number, ctx: EvictorContext): void;
}

/** Keeps at most `maxCount` elements: the most recent ones. */
export class CountEvictor<T = unknown> extends BaseEvictor<T> {
  private constructor(
    readonly maxCount: number,
    doEvictAfter: boolean,
  ) {
    super(doEvictAfter);
  }
  static of<T = unknown>(maxCount: number, doEvictAfter = false): CountEvictor<T> {
    if (!Number.isInteger(maxCount) || maxCount < 1) {
      throw new InvalidArgumentError(`CountEvictor.of() needs a count >= 1, got ${String(maxCount)}`);
    }
    return new CountEvictor<T>(maxCount, doEvictAfter);
  }
  protected override evict(elements: TimestampedValue<T>[]): void {
    if (elements.length > this.maxCount) elements.splice(0, elements.length - this.maxCount);
  }
  override toString(): string {
    return `CountEvictor(${this.maxCount})`;
  }
}

/** Keeps the elements of the last `windowSize` ms, counted back from the newest element's timestamp. */
export class TimeEvictor<T = unknown> extends BaseEvictor<T> {
  private constructor(
    readonly windowSize: number,
    doEvictAfter: boolean,
  ) {
    super(doEvictAfter);
  }
  static of<T = unknown>(windowSize: number, doEvictAfter = false): TimeEvictor<T> {
    return new TimeEvictor<T>(checkDuration(windowSize, "TimeEvictor window size", true), doEvictAfter);
  }
  protected override evict(elements: TimestampedValue<T>[]): void {
    // Elements without timestamps cannot be evicted by time.
    if (elements.length === 0 || Number.isNaN(elements[0]!.timestamp)) return;
    let max = Number.NEGATIVE_INFINITY;
    for (const e of elements) if (e.timestamp > max) max = e.timestamp;
    const cutoff = max - this.windowSize;
    removeWhere(elements, (e) => e.timestamp <= cutoff);
  }
  override toString(): string {
    return `TimeEvictor(${this.windowSize})`;
  }
}

/** The distance between two elements. */
export type DeltaFunction<T> = (oldPoint: T, newPoint: T) => number;

/** Removes the elements whose delta to the newest element is >= `threshold`. */
export class DeltaEvictor<T = unknown> extends BaseEvictor<T> {
  private constructor(
    readonly threshold: number,
    private readonly delta: DeltaFunction<T>,
    doEvictAfter: boolean,
  ) {
    super(doEvictAfter);
  }
  static of<T>(threshold: number, delta: DeltaFunction<T>, doEvictAfter = false): DeltaEvictor<T> {
    if (typeof threshold !== "number" || Number.isNaN(threshold)) {
      throw new InvalidArgumentError(`DeltaEvictor.of() needs a numeric threshold, got ${String(threshold)}`);
    }
    if (typeof delta !== "function") {
      throw new InvalidArgumentError(
        "DeltaEvictor.of() needs a delta function (oldPoint, newPoint) => number",
      );
    }
    return new DeltaEvictor<T>(threshold, delta, doEvictAfter);
  }
  protected override evict(elements: TimestampedValue<T>[]): void {
    if (elements.length === 0) return;
    const last = elements[elements.length - 1]!.value;
    removeWhere(elements, (e) => this.delta(e.value, last) >= this.threshold);
  }
  override toString(): string {
    return `DeltaEvictor(${this.threshold})`;
  }
}

/** Removes matching entries in place, keeping the order of the others. */
function removeWhere<T>(a: T[], drop: (x: T) => boolean): void {
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (!drop(x)) a[j++] = x;
  }
  a.length = j;
}
