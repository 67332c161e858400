// Window functions as users write them (ProcessWindowFunction, WindowFunction and their
// non-keyed "All" forms), and the internal form a window operator calls: one shape for every
// combination of incremental state (reduce, aggregate) and function over the window's contents.

import type { Collector, OutputTag, RichFunction } from "../../../core/functions.ts";
import type { AggregateFunction, KeyedStateStore } from "../../../core/state.ts";
import type { Window } from "./window-contracts.ts";

/** What a ProcessWindowFunction sees besides the elements. */
export interface ProcessWindowContext<W extends Window> {
  /** The window being evaluated. */
  readonly window: W;
  currentProcessingTime(): number;
  currentWatermark(): number;
  /** Keyed state of the current key and this window (not with merging windows); clear it in clear(). */
  readonly windowState: KeyedStateStore;
  /** Keyed state of the current key, shared by all its windows. */
  readonly globalState: KeyedStateStore;
  /** Emit to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** Evaluates a window with all its elements (or the one pre-aggregated value) and window metadata. */
export interface ProcessWindowFunction<IN, OUT, K, W extends Window> extends RichFunction {
  process(key: K, context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void;
  /** The window is being removed: delete its per-window state here. */
  clear?(context: ProcessWindowContext<W>): void;
}

/** The older, simpler form: key, window, elements. */
export interface WindowFunction<IN, OUT, K, W extends Window> extends RichFunction {
  apply(key: K, window: W, input: readonly IN[], out: Collector<OUT>): void;
}

/** ProcessWindowFunction of a non-keyed (windowAll) stream. */
export interface ProcessAllWindowFunction<IN, OUT, W extends Window> extends RichFunction {
  process(context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void;
  clear?(context: ProcessWindowContext<W>): void;
}

/** WindowFunction of a non-keyed (windowAll) stream. */
export interface AllWindowFunction<IN, OUT, W extends Window> extends RichFunction {
  apply(window: W, input: readonly IN[], out: Collector<OUT>): void;
}

/** What the window operator calls: `input` is the window's state (array of elements or one value). */
export interface InternalWindowFunction<IN, OUT, K, W extends Window> {
  process(key: K, window: W, ctx: ProcessWindowContext<W>, input: IN, out: Collector<OUT>): void;
  clear(window: W, ctx: ProcessWindowContext<W>): void;
  /** The user objects with open/close, called with the operator's. */
  readonly richFunctions: RichFunction[];
}

type AnyPwf = ProcessWindowFunction<unknown, unknown, unknown, Window>;

function rich(...fs: unknown[]): RichFunction[] {
  return fs.filter(
    (f): f is RichFunction =>
      typeof f === "object" &&
      f !== null &&
      (typeof (f as RichFunction).open === "function" || typeof (f as RichFunction).close === "function"),
  );
}

/** The same function, also opening/closing `extra` user objects (a rich reduce or aggregate function). */
export function withRich<F extends InternalWindowFunction<any, unknown, unknown, Window>>(
  fn: F,
  extra: unknown[],
): F {
  const more = rich(...extra);
  return more.length === 0 ? fn : { ...fn, richFunctions: [...more, ...fn.richFunctions] };
}

/** A ProcessWindowFunction over the whole list of elements. */
export function iterableProcess(
  pwf: AnyPwf,
): InternalWindowFunction<readonly unknown[], unknown, unknown, Window> {
  return {
    process: (key, _w, ctx, input, out) => pwf.process(key, ctx, input, out),
    clear: (_w, ctx) => pwf.clear?.(ctx),
    richFunctions: rich(pwf),
  };
}

/** A ProcessWindowFunction over one pre-aggregated value (reduce/aggregate + process). */
export function singleValueProcess(pwf: AnyPwf): InternalWindowFunction<unknown, unknown, unknown, Window> {
  return {
    process: (key, _w, ctx, input, out) => pwf.process(key, ctx, [input], out),
    clear: (_w, ctx) => pwf.clear?.(ctx),
    richFunctions: rich(pwf),
  };
}

/** Emits the pre-aggregated value itself (reduce/aggregate alone). */
export function passThrough(
  extra: unknown[] = [],
): InternalWindowFunction<unknown, unknown, unknown, Window> {
  return {
    process: (_k, _w, _ctx, input, out) => out.collect(input),
    clear: () => {},
    richFunctions: rich(...extra),
  };
}

/**
 * With an evictor the window keeps every element; reduce/aggregate then run when the window fires,
 * over what the evictor left, and `then` gets the one result.
 */
export function reduceOverElements(
  reduce: (a: unknown, b: unknown) => unknown,
  then: InternalWindowFunction<unknown, unknown, unknown, Window>,
  extra: unknown[] = [],
): InternalWindowFunction<readonly unknown[], unknown, unknown, Window> {
  return {
    process: (key, w, ctx, input, out) => {
      if (input.length === 0) return;
      let acc = input[0];
      for (let i = 1; i < input.length; i++) acc = reduce(acc, input[i]);
      then.process(key, w, ctx, acc, out);
    },
    clear: (w, ctx) => then.clear(w, ctx),
    richFunctions: [...rich(...extra), ...then.richFunctions],
  };
}

export function aggregateOverElements(
  agg: AggregateFunction<unknown, unknown, unknown>,
  then: InternalWindowFunction<unknown, unknown, unknown, Window>,
): InternalWindowFunction<readonly unknown[], unknown, unknown, Window> {
  return {
    process: (key, w, ctx, input, out) => {
      let acc = agg.createAccumulator();
      for (const v of input) acc = agg.add(v, acc);
      then.process(key, w, ctx, agg.getResult(acc), out);
    },
    clear: (w, ctx) => then.clear(w, ctx),
    richFunctions: [...rich(agg), ...then.richFunctions],
  };
}

/** One RichFunction opening and closing all of `fns` in order (undefined when there are none). */
export function compositeRich(fns: RichFunction[]): RichFunction | undefined {
  if (fns.length === 0) return undefined;
  return {
    open: async (ctx) => {
      for (const f of fns) await f.open?.(ctx);
    },
    close: async () => {
      for (const f of fns) await f.close?.();
    },
  };
}
