// Process functions: the lowest-level user functions, with access to timestamps, side outputs,
// timers, the current key and keyed state.

import type { Collector, OutputTag, RichFunction, RuntimeContext } from "./functions.ts";

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
