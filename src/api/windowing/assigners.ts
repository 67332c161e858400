// Window assigners: tumbling, sliding and session windows in event and processing time (with
// offsets, and dynamic session gaps), and the global window of count windows.

import { InvalidArgumentError } from "../../core/errors.ts";
import {
  GlobalWindow,
  MergingWindowAssigner,
  TimeWindow,
  type Trigger,
  WindowAssigner,
  type WindowAssignerContext,
} from "../../runtime/operators/window/window-contracts.ts";
import { checkDuration } from "./time.ts";
import { EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger } from "./triggers.ts";

function checkOffset(offset: number, limit: number, what: string, limitName: string): number {
  if (typeof offset !== "number" || !Number.isFinite(offset) || Math.abs(offset) >= limit) {
    throw new InvalidArgumentError(
      `${what}: the offset must satisfy |offset| < ${limitName} (${limit} ms), got ${String(offset)}`,
    );
  }
  return offset;
}

/** Fixed-size windows that do not overlap; each element is in exactly one. */
abstract class TumblingWindows extends WindowAssigner<unknown, TimeWindow> {
  protected constructor(
    readonly size: number,
    readonly offset: number,
  ) {
    super();
  }
  /** The windows last assigned, by their start: consecutive elements mostly fall in the same. */
  private lastStart = Number.NaN;
  private lastWindows: readonly TimeWindow[] = [];
  /** A frozen array, the same one while elements fall in the same window (no allocation per element). */
  protected windowFor(t: number): TimeWindow[] {
    const start = TimeWindow.getWindowStartWithOffset(t, this.offset, this.size);
    if (start !== this.lastStart) {
      this.lastStart = start;
      this.lastWindows = Object.freeze([new TimeWindow(start, start + this.size)]);
    }
    return this.lastWindows as TimeWindow[];
  }
  /** All windows have the same size: the start identifies one. */
  override stateNamespace(w: TimeWindow): number {
    return w.start;
  }
  override toString(): string {
    return `${this.constructor.name}(${this.size}${this.offset !== 0 ? `, ${this.offset}` : ""})`;
  }
}

export class TumblingEventTimeWindows extends TumblingWindows {
  /** Windows of `size` ms, starting at multiples of size (shifted by `offset`, e.g. for time zones). */
  static of(size: number, offset = 0): TumblingEventTimeWindows {
    checkDuration(size, "TumblingEventTimeWindows size");
    return new TumblingEventTimeWindows(size, checkOffset(offset, size, "TumblingEventTimeWindows", "size"));
  }
  assignWindows(_e: unknown, timestamp: number, _ctx?: WindowAssignerContext): TimeWindow[] {
    return this.windowFor(timestamp);
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }
  isEventTime(): boolean {
    return true;
  }
}

export class TumblingProcessingTimeWindows extends TumblingWindows {
  static of(size: number, offset = 0): TumblingProcessingTimeWindows {
    checkDuration(size, "TumblingProcessingTimeWindows size");
    return new TumblingProcessingTimeWindows(
      size,
      checkOffset(offset, size, "TumblingProcessingTimeWindows", "size"),
    );
  }
  assignWindows(_e: unknown, _t: number, ctx: WindowAssignerContext): TimeWindow[] {
    return this.windowFor(ctx.getCurrentProcessingTime());
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }
  isEventTime(): boolean {
    return false;
  }
}

/** Windows of `size` ms starting every `slide` ms; an element is in about size/slide of them. */
abstract class SlidingWindows extends WindowAssigner<unknown, TimeWindow> {
  protected constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
  ) {
    super();
  }
  /** The windows last assigned (see windowsFor). */
  private lastStart = Number.NaN;
  private lastWindows: readonly TimeWindow[] = [];
  /**
   * A frozen array, the same one while elements fall in the same windows (no allocation per
   * element). The windows are the starts lastStart, lastStart - slide, ... after the element's
   * time minus the size: the latest start and their number identify them.
   */
  protected windowsFor(t: number): TimeWindow[] {
    const lastStart = TimeWindow.getWindowStartWithOffset(t, this.offset, this.slide);
    let n = 0;
    for (let start = lastStart; start > t - this.size; start -= this.slide) n++;
    if (lastStart !== this.lastStart || n !== this.lastWindows.length) {
      const out: TimeWindow[] = [];
      for (let start = lastStart; start > t - this.size; start -= this.slide) {
        out.push(new TimeWindow(start, start + this.size));
      }
      this.lastStart = lastStart;
      this.lastWindows = Object.freeze(out);
    }
    return this.lastWindows as TimeWindow[];
  }
  override stateNamespace(w: TimeWindow): number {
    return w.start;
  }
  override toString(): string {
    return `${this.constructor.name}(${this.size}, ${this.slide}${this.offset !== 0 ? `, ${this.offset}` : ""})`;
  }
  protected static check(name: string, size: number, slide: number, offset: number): void {
    checkDuration(size, `${name} size`);
    checkDuration(slide, `${name} slide`);
    checkOffset(offset, slide, name, "slide");
  }
}

export class SlidingEventTimeWindows extends SlidingWindows {
  /** A slide larger than the size samples: elements between windows belong to none (as in Flink). */
  static of(size: number, slide: number, offset = 0): SlidingEventTimeWindows {
    SlidingWindows.check("SlidingEventTimeWindows", size, slide, offset);
    return new SlidingEventTimeWindows(size, slide, offset);
  }
  assignWindows(_e: unknown, timestamp: number, _ctx?: WindowAssignerContext): TimeWindow[] {
    return this.windowsFor(timestamp);
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }
  isEventTime(): boolean {
    return true;
  }
}

export class SlidingProcessingTimeWindows extends SlidingWindows {
  static of(size: number, slide: number, offset = 0): SlidingProcessingTimeWindows {
    SlidingWindows.check("SlidingProcessingTimeWindows", size, slide, offset);
    return new SlidingProcessingTimeWindows(size, slide, offset);
  }
  assignWindows(_e: unknown, _t: number, ctx: WindowAssignerContext): TimeWindow[] {
    return this.windowsFor(ctx.getCurrentProcessingTime());
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }
  isEventTime(): boolean {
    return false;
  }
}

/** Extracts a session gap (ms > 0) from an element. */
export type SessionWindowTimeGapExtractor<T> = (element: T) => number;

/** Sessions: an element opens [t, t + gap); overlapping windows merge. */
abstract class SessionWindows<T> extends MergingWindowAssigner<T> {
  protected constructor(
    private readonly gap: number | SessionWindowTimeGapExtractor<T>,
    private readonly name: string,
  ) {
    super();
  }
  protected windowFor(element: T, t: number): TimeWindow[] {
    let gap = this.gap;
    if (typeof gap === "function") {
      gap = gap(element);
      if (typeof gap !== "number" || !(gap > 0) || !Number.isFinite(gap)) {
        throw new InvalidArgumentError(
          `${this.name}: the dynamic gap extractor returned ${String(gap)} for ${safeJson(element)}; a session gap must be a finite number of ms > 0`,
        );
      }
    }
    return [new TimeWindow(t, t + gap)];
  }
  mergeWindows(
    windows: readonly TimeWindow[],
    callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void,
  ): void {
    TimeWindow.mergeWindows(windows, callback);
  }
  override toString(): string {
    return `${this.name}(${typeof this.gap === "number" ? this.gap : "dynamic gap"})`;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function checkExtractor(f: unknown, name: string): void {
  if (typeof f !== "function") {
    throw new InvalidArgumentError(`${name}.withDynamicGap() needs a function (element) => gap in ms`);
  }
}

export class EventTimeSessionWindows<T = unknown> extends SessionWindows<T> {
  static withGap<T = unknown>(gap: number): EventTimeSessionWindows<T> {
    return new EventTimeSessionWindows<T>(
      checkDuration(gap, "EventTimeSessionWindows gap"),
      "EventTimeSessionWindows",
    );
  }
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): EventTimeSessionWindows<T> {
    checkExtractor(extractor, "EventTimeSessionWindows");
    return new EventTimeSessionWindows<T>(extractor, "EventTimeSessionWindows");
  }
  assignWindows(element: T, timestamp: number, _ctx?: WindowAssignerContext): TimeWindow[] {
    return this.windowFor(element, timestamp);
  }
  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return EventTimeTrigger.create();
  }
  isEventTime(): boolean {
    return true;
  }
}

export class ProcessingTimeSessionWindows<T = unknown> extends SessionWindows<T> {
  static withGap<T = unknown>(gap: number): ProcessingTimeSessionWindows<T> {
    return new ProcessingTimeSessionWindows<T>(
      checkDuration(gap, "ProcessingTimeSessionWindows gap"),
      "ProcessingTimeSessionWindows",
    );
  }
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): ProcessingTimeSessionWindows<T> {
    checkExtractor(extractor, "ProcessingTimeSessionWindows");
    return new ProcessingTimeSessionWindows<T>(extractor, "ProcessingTimeSessionWindows");
  }
  assignWindows(element: T, _t: number, ctx: WindowAssignerContext): TimeWindow[] {
    return this.windowFor(element, ctx.getCurrentProcessingTime());
  }
  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }
  isEventTime(): boolean {
    return false;
  }
}

/** One window per key holding every element; its default trigger never fires (give it one). */
export class GlobalWindows extends WindowAssigner<unknown, GlobalWindow> {
  private static readonly WINDOWS = [GlobalWindow.INSTANCE];
  private constructor() {
    super();
  }
  static create(): GlobalWindows {
    return new GlobalWindows();
  }
  assignWindows(): GlobalWindow[] {
    return GlobalWindows.WINDOWS;
  }
  getDefaultTrigger(): Trigger<unknown, GlobalWindow> {
    return NeverTrigger.create();
  }
  isEventTime(): boolean {
    return false;
  }
  override stateNamespace(): number {
    return 0;
  }
  override toString(): string {
    return "GlobalWindows()";
  }
}
