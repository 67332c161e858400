// The contracts between window operators and the window machinery users configure: windows
// (TimeWindow, GlobalWindow), assigners, triggers with their context, evictors, and the result
// a trigger returns. The concrete assigners, triggers and evictors live in src/api/windowing.

import { InvalidArgumentError } from "../../../core/errors.ts";
import type {
  AggregatingStateDescriptor,
  AggregatingState,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from "../../../core/state.ts";

/** The largest timestamp a window can have (Flink's Long.MAX_VALUE): "never" for cleanup. */
export const MAX_WINDOW_TIMESTAMP = Number.MAX_SAFE_INTEGER;

/** A finite group of elements: a time window or the global window. */
export interface Window {
  /** The largest timestamp that still belongs to this window. */
  maxTimestamp(): number;
}

/** A window of event or processing time: [start, end), so maxTimestamp() = end - 1. */
export class TimeWindow implements Window {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  maxTimestamp(): number {
    return this.end - 1;
  }

  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }

  /** The smallest window that covers both. */
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }

  equals(other: unknown): boolean {
    return other instanceof TimeWindow && other.start === this.start && other.end === this.end;
  }

  /** Also the window's identity for timers (one timer per key, window and time). */
  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }

  /**
   * The start of the window (of size `windowSize`, shifted by `offset`) that holds `timestamp`;
   * correct for negative timestamps (Flink's TimeWindow.getWindowStartWithOffset).
   */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize;
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder;
  }

  /**
   * Merges overlapping windows (session windows): calls `callback(merged, result)` for every group
   * of more than one window that overlap, with the window covering them.
   */
  static mergeWindows(
    windows: readonly TimeWindow[],
    callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void,
  ): void {
    const sorted = [...windows].sort((a, b) => a.start - b.start);
    let current: { cover: TimeWindow; members: TimeWindow[] } | undefined;
    const groups: Array<{ cover: TimeWindow; members: TimeWindow[] }> = [];
    for (const w of sorted) {
      if (current === undefined) current = { cover: w, members: [w] };
      else if (current.cover.intersects(w)) {
        current.cover = current.cover.cover(w);
        current.members.push(w);
      } else {
        groups.push(current);
        current = { cover: w, members: [w] };
      }
    }
    if (current !== undefined) groups.push(current);
    for (const g of groups) if (g.members.length > 1) callback(g.members, g.cover);
  }
}

/** The single window of GlobalWindows: holds every element of a key; never ends by itself. */
export class GlobalWindow implements Window {
  static readonly INSTANCE = new GlobalWindow();
  private constructor() {}
  static get(): GlobalWindow {
    return GlobalWindow.INSTANCE;
  }
  maxTimestamp(): number {
    return MAX_WINDOW_TIMESTAMP;
  }
  toString(): string {
    return "GlobalWindow";
  }
}

/** What an assigner may ask about the time while assigning windows. */
export interface WindowAssignerContext {
  getCurrentProcessingTime(): number;
}

/** Assigns each element to zero or more windows. Extend it for your own assigner. */
export abstract class WindowAssigner<T, W extends Window> {
  abstract assignWindows(element: T, timestamp: number, context: WindowAssignerContext): W[];
  abstract getDefaultTrigger(): Trigger<T, W>;
  /** True when windows are in event time (elements need timestamps; lateness applies). */
  abstract isEventTime(): boolean;
  /**
   * @internal The window as a state namespace (a primitive). Assigners whose windows all have the
   * same size override this with something cheaper than the default.
   */
  stateNamespace(window: W): string | number {
    if (window instanceof TimeWindow) return `${window.start}:${window.end}`;
    if (window instanceof GlobalWindow) return 0;
    return String(window);
  }
  /**
   * Your own window class (not TimeWindow or GlobalWindow) as plain data (numbers, strings, arrays,
   * plain objects) for checkpoints, and back: a window's timers are written with it. Without these
   * an assigner of such windows cannot be checkpointed (the checkpoint fails, naming the assigner).
   * The window read back must have the same stateNamespace (by default, the same toString()).
   */
  windowToData?(window: W): unknown;
  windowFromData?(data: unknown): W;
  toString(): string {
    return this.constructor.name;
  }
}

/** An assigner whose windows can merge (sessions); its windows are TimeWindows. */
export abstract class MergingWindowAssigner<T> extends WindowAssigner<T, TimeWindow> {
  /** Calls `callback(toBeMerged, mergeResult)` for every group of windows that should become one. */
  abstract mergeWindows(
    windows: readonly TimeWindow[],
    callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void,
  ): void;
}

export function isMergingAssigner(a: WindowAssigner<any, any>): a is MergingWindowAssigner<any> {
  return typeof (a as Partial<MergingWindowAssigner<unknown>>).mergeWindows === "function";
}

// ---- triggers --------------------------------------------------------------------------------

/** What a trigger decides: fire (evaluate the window function) and/or purge (drop the contents). */
export class TriggerResult {
  static readonly CONTINUE = new TriggerResult("CONTINUE", false, false);
  static readonly FIRE = new TriggerResult("FIRE", true, false);
  static readonly PURGE = new TriggerResult("PURGE", false, true);
  static readonly FIRE_AND_PURGE = new TriggerResult("FIRE_AND_PURGE", true, true);

  private constructor(
    readonly name: string,
    readonly fire: boolean,
    readonly purge: boolean,
  ) {}
  isFire(): boolean {
    return this.fire;
  }
  isPurge(): boolean {
    return this.purge;
  }
  toString(): string {
    return this.name;
  }
}

/** State of a trigger, scoped to the current key and window. */
export interface PartitionedStateStore {
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getPartitionedState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getPartitionedState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
}

/** What a trigger can do while it decides: timers and state of the current key and window. */
export interface TriggerContext extends PartitionedStateStore {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
  registerProcessingTimeTimer(time: number): void;
  registerEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}

export interface OnMergeContext extends TriggerContext {
  /** Merges the state of the merged windows into the new window (list, reducing or aggregating state). */
  mergePartitionedState(
    descriptor:
      | ListStateDescriptor<any>
      | ReducingStateDescriptor<any>
      | AggregatingStateDescriptor<any, any, any>,
  ): void;
}

/**
 * Decides when a window is evaluated and purged. `onElement` for each element added to the
 * window, `onEventTime`/`onProcessingTime` when a timer it set fires, `onMerge` when windows
 * merged (only for triggers with `canMerge()`), `clear` when the window is removed (delete your
 * timers and state there).
 */
export interface Trigger<T, W extends Window> {
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  canMerge?(): boolean;
  onMerge?(window: W, ctx: OnMergeContext): void;
  clear(window: W, ctx: TriggerContext): void;
  toString(): string;
}

/**
 * Prototypes of triggers that behave exactly as the default event-time trigger (EventTimeTrigger):
 * no state; on an element, FIRE when the window's end is not after the watermark, else an
 * event-time timer at the window's end; on that timer, FIRE; clear deletes that timer. The window
 * operator does their work itself (no calls through the trigger context). By prototype, so a
 * subclass that overrides something is not taken for one.
 */
const eventTimeEndTriggers = new WeakSet<object>();

/** @internal For EventTimeTrigger's module: its instances may be run inline by the operator. */
export function declareEventTimeEndTrigger(prototype: object): void {
  eventTimeEndTriggers.add(prototype);
}

/** Whether `t` is an instance of a trigger declared with declareEventTimeEndTrigger (not a subclass). */
export function isEventTimeEndTrigger(t: Trigger<unknown, Window>): boolean {
  const proto: unknown = Object.getPrototypeOf(t);
  return typeof proto === "object" && proto !== null && eventTimeEndTriggers.has(proto);
}

export function checkTrigger(t: unknown, what: string): void {
  const x = t as Partial<Trigger<unknown, Window>> | null;
  if (
    typeof x !== "object" ||
    x === null ||
    typeof x.onElement !== "function" ||
    typeof x.onEventTime !== "function" ||
    typeof x.onProcessingTime !== "function" ||
    typeof x.clear !== "function"
  ) {
    throw new InvalidArgumentError(
      `${what} needs a Trigger: an object with onElement, onEventTime, onProcessingTime and clear (e.g. CountTrigger.of(100))`,
    );
  }
}

// ---- evictors --------------------------------------------------------------------------------

/** An element in a window with its timestamp (NaN when it has none). */
export interface TimestampedValue<T> {
  value: T;
  timestamp: number;
}

export interface EvictorContext {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
}

/**
 * Removes elements from a window before and/or after the window function runs. `elements` is the
 * window's contents, oldest first: remove entries from the array in place (e.g. with splice).
 */
export interface Evictor<T, W extends Window> {
  evictBefore(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
  evictAfter(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
  toString(): string;
}
