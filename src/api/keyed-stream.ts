// KeyedStream: a stream partitioned by key, with per-key state: reduce, the built-in
// aggregations, and KeyedProcessFunction.

import { InvalidArgumentError } from "../core/errors.ts";
import type { KeySelector, ReduceFn, ReduceFunction } from "../core/functions.ts";
import type { KeyedProcessFunction } from "../core/process.ts";
import type { Transformation } from "../graph/transformation.ts";
import { KeyedReduceOperator } from "../runtime/operators/keyed-reduce.ts";
import { KeyedProcessOperator } from "../runtime/operators/process.ts";
import { DataStream, type SingleOutputStreamOperator } from "./data-stream.ts";
import { type FieldRef, byReducer } from "./field-ref.ts";
import { fieldReplacer } from "./field-replacer.ts";
import type { StreamExecutionEnvironment } from "./environment.ts";
import { instanceOf, normalize, requireMethods } from "./function-forms.ts";
import { IntervalJoin } from "./joins/interval-join.ts";
import { GlobalWindows } from "./windowing/assigners.ts";
import { CountEvictor } from "./windowing/evictors.ts";
import { CountTrigger, PurgingTrigger } from "./windowing/triggers.ts";
import { WindowedStream } from "./windowing/windowed-stream.ts";
import type { GlobalWindow, Window, WindowAssigner } from "../runtime/operators/window/window-contracts.ts";

export type { FieldRef };

export class KeyedStream<T, K> extends DataStream<T> {
  constructor(
    env: StreamExecutionEnvironment,
    transformation: Transformation,
    /** @internal */ readonly keySelector: KeySelector<T, K>,
  ) {
    super(env, transformation);
  }

  /** Rolling reduce: emits the running value of the key after every record. */
  reduce(fn: ReduceFn<T> | ReduceFunction<T>, name = "Keyed Reduce"): SingleOutputStreamOperator<T> {
    normalize(fn, "reduce", "reduce()");
    const make = () =>
      new KeyedReduceOperator(...normalize<ReduceFn<unknown>>(instanceOf(fn), "reduce", "reduce()"));
    return this.transform(name, make, this.transformation.type, [
      this.keySelector as KeySelector<unknown, unknown>,
    ]);
  }

  /** Rolling sum of a field (or of the values, for a stream of numbers); other fields from the first record. */
  sum(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.aggregate("Sum", field, (a, b) => a + b);
  }

  min(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.aggregate("Min", field, (a, b) => Math.min(b, a));
  }

  max(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.aggregate("Max", field, (a, b) => Math.max(b, a));
  }

  /** The whole record with the smallest value of the field (the first one, on ties). */
  minBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, false, "minBy()"), "MinBy");
  }

  /** The whole record with the largest value of the field (the first one, on ties). */
  maxBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, true, "maxBy()"), "MaxBy");
  }

  /** Cut each key's records into windows: then trigger/evictor/allowedLateness, and a window function. */
  window<W extends Window>(assigner: WindowAssigner<T, W>): WindowedStream<T, K, W> {
    return new WindowedStream<T, K, W>(this, this.keySelector, assigner);
  }

  /**
   * Count windows: every `size` records of a key (tumbling); with `slide`, the last `size` records
   * every `slide` records. Incomplete windows are not emitted at the end of input (as in Flink).
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    const w = this.window(GlobalWindows.create() as WindowAssigner<T, GlobalWindow>);
    if (slide === undefined) return w.trigger(PurgingTrigger.of(CountTrigger.of(size)));
    return w.evictor(CountEvictor.of(size)).trigger(CountTrigger.of(slide));
  }

  override process<O>(
    fn: KeyedProcessFunction<K, T, O>,
    name = "KeyedProcess",
  ): SingleOutputStreamOperator<O> {
    requireMethods(fn, ["processElement"], "process()");
    return this.transform(
      name,
      () => new KeyedProcessOperator(instanceOf(fn) as KeyedProcessFunction<unknown, unknown, unknown>),
      this.env.genericType(),
      [this.keySelector as KeySelector<unknown, unknown>],
    );
  }

  /** Join with another keyed stream in event time: `.between(lower, upper).process(fn)`. */
  intervalJoin<R>(other: KeyedStream<R, K>): IntervalJoin<T, R, K> {
    if (!(other instanceof KeyedStream)) {
      throw new InvalidArgumentError(
        "intervalJoin() needs a KeyedStream: call keyBy(...) on the other stream first",
      );
    }
    return new IntervalJoin<T, R, K>(this, other);
  }

  private aggregate(
    name: string,
    field: (keyof T & string) | undefined,
    combine: (a: number, b: number) => number,
  ): SingleOutputStreamOperator<T> {
    if (field === undefined) {
      return this.reduce((a, b) => {
        if (typeof a !== "number" || typeof b !== "number") {
          throw new InvalidArgumentError(`${name.toLowerCase()}() without a field needs a stream of numbers`);
        }
        return combine(a, b) as T;
      }, name);
    }
    if (typeof field !== "string")
      throw new InvalidArgumentError(`${name.toLowerCase()}() needs a field name`);
    // A copy, not a mutation: the previous value may still be referenced downstream.
    const replace = fieldReplacer(field);
    return this.reduce((a, b) => {
      const x = (a as Record<string, unknown>)[field];
      const y = (b as Record<string, unknown>)[field];
      if (typeof x !== "number" || typeof y !== "number") {
        throw new InvalidArgumentError(
          `${name.toLowerCase()}('${field}'): field '${field}' must be a number, got ${typeof y === "number" ? typeof x : typeof y}`,
        );
      }
      return replace(a as object, combine(x, y)) as T;
    }, name);
  }
}
