// Process functions: the lowest-level user functions, with access to timestamps, side outputs,
// the current key and keyed state.

import type { Collector, OutputTag, RichFunction, RuntimeContext } from "./functions.ts";

export interface ProcessContext {
  /** The timestamp of the current record, or undefined when it has none. */
  timestamp(): number | undefined;
  /** Emit to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
  readonly runtime: RuntimeContext;
}

export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

export interface ProcessFunction<I, O> extends RichFunction {
  processElement(value: I, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedProcessFunction<K, I, O> extends RichFunction {
  processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
}

export interface CoProcessFunction<I1, I2, O> extends RichFunction {
  processElement1(value: I1, ctx: ProcessContext, out: Collector<O>): void;
  processElement2(value: I2, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedCoProcessFunction<K, I1, I2, O> extends RichFunction {
  processElement1(value: I1, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  processElement2(value: I2, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
}

export interface CoMapFunction<I1, I2, O> extends RichFunction {
  map1(value: I1): O;
  map2(value: I2): O;
}

export interface CoFlatMapFunction<I1, I2, O> extends RichFunction {
  flatMap1(value: I1, out: Collector<O>): void;
  flatMap2(value: I2, out: Collector<O>): void;
}
