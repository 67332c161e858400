// Process functions: the lowest-level user functions, with access to timestamps, side outputs,
// timers, the current key and keyed state.

import type { Collector, OutputTag, RichFunction, RuntimeContext } from "./functions.ts";
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  BroadcastState,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReadOnlyBroadcastState,
  ReducingState,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from "./state.ts";

export type TimeDomain = "EVENT_TIME" | "PROCESSING_TIME";

/** Timers of the current key (keyed streams only) and the current times. */
export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  /** One timer per key and timestamp: registering the same time again is a no-op. */
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

export interface ProcessContext {
  /** The timestamp of the current record, or undefined when it has none. */
  timestamp(): number | undefined;
  /** Emit to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
  timerService(): TimerService;
  readonly runtime: RuntimeContext;
}

export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

/**
 * The context of onTimer. Its timestamp() is the firing timer's time in both domains (as Flink's);
 * what a processing-time timer emits still carries no timestamp, what an event-time one emits
 * carries the timer's time.
 */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): TimeDomain;
}

export interface ProcessFunction<I, O> extends RichFunction {
  processElement(value: I, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedProcessFunction<K, I, O> extends RichFunction {
  processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  /** A timer of this key fired. */
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

export interface CoProcessFunction<I1, I2, O> extends RichFunction {
  processElement1(value: I1, ctx: ProcessContext, out: Collector<O>): void;
  processElement2(value: I2, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedCoProcessFunction<K, I1, I2, O> extends RichFunction {
  processElement1(value: I1, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  processElement2(value: I2, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

export interface CoMapFunction<I1, I2, O> extends RichFunction {
  map1(value: I1): O;
  map2(value: I2): O;
}

export interface CoFlatMapFunction<I1, I2, O> extends RichFunction {
  flatMap1(value: I1, out: Collector<O>): void;
  flatMap2(value: I2, out: Collector<O>): void;
}

// ---------------------------------------------------------------------------------------------
// Broadcast state pattern: a non-broadcast (possibly keyed) input connected to a broadcast stream.
// Only the broadcast side writes broadcast state, so that it stays identical on every subtask.

/** What both sides of a broadcast connection see. */
export interface BroadcastBaseContext {
  /** The timestamp of the current record, or undefined when it has none. */
  timestamp(): number | undefined;
  currentProcessingTime(): number;
  currentWatermark(): number;
  /** Emit to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
  readonly runtime: RuntimeContext;
}

/** The non-broadcast side: broadcast state is read-only (writes throw ReadOnlyStateError). */
export interface BroadcastReadOnlyContext extends BroadcastBaseContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
}

/** The broadcast side: broadcast state is writable. */
export interface BroadcastContext extends BroadcastBaseContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
}

/** The keyed state handle a descriptor yields (for applyToKeyedState). */
export type KeyedStateOf<D> =
  D extends ValueStateDescriptor<infer T>
    ? ValueState<T>
    : D extends ListStateDescriptor<infer T>
      ? ListState<T>
      : D extends MapStateDescriptor<infer UK, infer UV>
        ? MapState<UK, UV>
        : D extends ReducingStateDescriptor<infer T>
          ? ReducingState<T>
          : D extends AggregatingStateDescriptor<infer IN, any, infer OUT>
            ? AggregatingState<IN, OUT>
            : never;

export interface KeyedBroadcastReadOnlyContext<K> extends BroadcastReadOnlyContext {
  getCurrentKey(): K;
  timerService(): TimerService;
}

/** As OnTimerContext: timestamp() is the firing timer's time in both domains. */
export interface KeyedBroadcastOnTimerContext<K> extends KeyedBroadcastReadOnlyContext<K> {
  timeDomain(): TimeDomain;
}

export interface KeyedBroadcastContext<K> extends BroadcastContext {
  /**
   * Calls `fn` for every key that has this keyed state, with that key current and its state handle.
   * The broadcast side has no current key: this is how it reaches keyed state.
   */
  applyToKeyedState<D extends StateDescriptor<any>>(
    descriptor: D,
    fn: (key: K, state: KeyedStateOf<D>) => void,
  ): void;
}

/** `nonKeyed.connect(broadcastStream).process(fn)`. */
export interface BroadcastProcessFunction<IN1, IN2, OUT> extends RichFunction {
  processElement(value: IN1, ctx: BroadcastReadOnlyContext, out: Collector<OUT>): void;
  processBroadcastElement(value: IN2, ctx: BroadcastContext, out: Collector<OUT>): void;
}

/** `keyed.connect(broadcastStream).process(fn)`: keyed state and timers on the keyed side. */
export interface KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> extends RichFunction {
  processElement(value: IN1, ctx: KeyedBroadcastReadOnlyContext<K>, out: Collector<OUT>): void;
  processBroadcastElement(value: IN2, ctx: KeyedBroadcastContext<K>, out: Collector<OUT>): void;
  /** A timer of this key fired. */
  onTimer?(timestamp: number, ctx: KeyedBroadcastOnTimerContext<K>, out: Collector<OUT>): void;
}
