// WindowedStream (keyBy(...).window(assigner)) and AllWindowedStream (windowAll(assigner)): set
// the trigger, evictor, allowed lateness and late-data side output, then give the window
// function: reduce / aggregate (incremental), process / apply (all elements), or both.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { Collector, OutputTag, ReduceFn, ReduceFunction } from "../../core/functions.ts";
import {
  type AggregateFunction,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  ReducingStateDescriptor,
} from "../../core/state.ts";
import { Types } from "../../core/types/types.ts";
import type { TypeInformation } from "../../core/types/type-info.ts";
import {
  CONTENTS_STATE,
  type WindowContentsDescriptor,
  WindowOperator,
} from "../../runtime/operators/window/window-operator.ts";
import {
  checkTrigger,
  type Evictor,
  isMergingAssigner,
  type Trigger,
  type Window,
  type WindowAssigner,
} from "../../runtime/operators/window/window-contracts.ts";
import {
  type AllWindowFunction,
  aggregateOverElements,
  type InternalWindowFunction,
  iterableProcess,
  passThrough,
  type ProcessAllWindowFunction,
  type ProcessWindowFunction,
  reduceOverElements,
  singleValueProcess,
  type WindowFunction,
  withRich,
} from "../../runtime/operators/window/window-functions.ts";
import type { DataStream, SingleOutputStreamOperator } from "../data-stream.ts";
import { type FieldRef, byReducer } from "../field-ref.ts";
import { checkDuration } from "./time.ts";

type AnyFn = InternalWindowFunction<any, unknown, unknown, Window>;
type AnyPwf = ProcessWindowFunction<unknown, unknown, unknown, Window>;

/** What both windowed streams build on: the settings and the operator they describe. */
abstract class WindowSettings<T, W extends Window> {
  protected triggerValue: Trigger<T, W>;
  protected evictorValue: Evictor<T, W> | undefined;
  protected lateness = 0;
  protected lateTag: OutputTag<T> | undefined;

  protected constructor(
    /** The (keyed) input. */
    protected readonly input: DataStream<T>,
    protected readonly assigner: WindowAssigner<T, W>,
    private readonly keySelector: (value: T) => unknown,
    private readonly what: string,
  ) {
    if (
      typeof assigner !== "object" ||
      assigner === null ||
      typeof (assigner as Partial<WindowAssigner<T, W>>).assignWindows !== "function" ||
      typeof (assigner as Partial<WindowAssigner<T, W>>).isEventTime !== "function"
    ) {
      throw new InvalidArgumentError(
        `${what}() needs a WindowAssigner, e.g. TumblingEventTimeWindows.of(Time.seconds(10))`,
      );
    }
    this.triggerValue = assigner.getDefaultTrigger();
  }

  protected setTrigger(trigger: Trigger<T, W>): void {
    checkTrigger(trigger, "trigger()");
    if (isMergingAssigner(this.assigner) && trigger.canMerge?.() !== true) {
      throw new InvalidArgumentError(
        `trigger(): ${String(trigger)} cannot merge, but ${String(this.assigner)} merges windows; give the trigger canMerge() returning true and an onMerge(window, ctx)`,
      );
    }
    this.triggerValue = trigger;
  }

  protected setEvictor(evictor: Evictor<T, W>): void {
    const e = evictor as Partial<Evictor<T, W>> | null;
    if (
      typeof e !== "object" ||
      e === null ||
      typeof e.evictBefore !== "function" ||
      typeof e.evictAfter !== "function"
    ) {
      throw new InvalidArgumentError(
        "evictor() needs an Evictor (e.g. CountEvictor.of(10)): evictBefore and evictAfter",
      );
    }
    this.evictorValue = evictor;
  }

  protected setLateness(ms: number): void {
    checkDuration(ms, "allowedLateness()", true);
    if (ms > 0 && !this.assigner.isEventTime()) {
      throw new InvalidArgumentError(
        `allowedLateness(${ms}) on ${String(this.assigner)}: lateness applies to event-time windows only; processing-time and global windows are never late. Remove allowedLateness() or use an event-time assigner`,
      );
    }
    this.lateness = ms;
  }

  protected setLateTag(tag: OutputTag<T>): void {
    if (typeof tag !== "object" || tag === null || typeof tag.id !== "string") {
      throw new InvalidArgumentError(
        "sideOutputLateData() needs an OutputTag, e.g. new OutputTag<Event>('late')",
      );
    }
    this.lateTag = tag;
  }

  protected build<O>(
    fnName: string,
    contents: WindowContentsDescriptor,
    fn: AnyFn,
    type: TypeInformation<unknown>,
  ): SingleOutputStreamOperator<O> {
    const spec = {
      assigner: this.assigner as WindowAssigner<unknown, Window>,
      trigger: this.triggerValue as Trigger<unknown, Window>,
      evictor: this.evictorValue as Evictor<unknown, Window> | undefined,
      allowedLateness: this.lateness,
      lateDataTag: this.lateTag as OutputTag<unknown> | undefined,
      contents,
      fn,
    };
    const parts = [String(this.assigner), String(this.triggerValue)];
    if (this.evictorValue !== undefined) parts.push(String(this.evictorValue));
    parts.push(fnName);
    return this.input.transform<O>(
      `${this.what === "windowAll" ? "AllWindow" : "Window"}(${parts.join(", ")})`,
      () => new WindowOperator(spec),
      type,
      [this.keySelector as (v: unknown) => unknown],
    );
  }

  protected buildReduce<O>(
    reduce: ReduceFn<T> | ReduceFunction<T>,
    then: AnyPwf | undefined,
    type: TypeInformation<unknown>,
  ): SingleOutputStreamOperator<O> {
    const [f, richObj] = reduceForm(reduce);
    const desc = new ReducingStateDescriptor<unknown>(CONTENTS_STATE, f as ReduceFn<unknown>);
    const after = then === undefined ? passThrough() : singleValueProcess(then);
    const fn: AnyFn =
      this.evictorValue === undefined
        ? withRich(after, [richObj])
        : reduceOverElements(f as (a: unknown, b: unknown) => unknown, after, [richObj]);
    return this.build<O>(then === undefined ? "Reduce" : "Reduce+Process", desc, fn, type);
  }

  protected buildAggregate<O>(
    agg: AggregateFunction<T, any, any>,
    then: AnyPwf | undefined,
  ): SingleOutputStreamOperator<O> {
    const a = agg as Partial<AggregateFunction<T, unknown, unknown>> | null;
    if (
      typeof a !== "object" ||
      a === null ||
      typeof a.createAccumulator !== "function" ||
      typeof a.add !== "function" ||
      typeof a.getResult !== "function"
    ) {
      throw new InvalidArgumentError(
        "aggregate() needs an AggregateFunction: { createAccumulator(), add(value, acc), getResult(acc), merge(a, b) }",
      );
    }
    if (isMergingAssigner(this.assigner) && typeof a.merge !== "function") {
      throw new InvalidArgumentError(
        `aggregate() on ${String(this.assigner)}: session windows merge, so the AggregateFunction needs merge(a, b)`,
      );
    }
    const anyAgg = agg as AggregateFunction<unknown, unknown, unknown>;
    const desc = new AggregatingStateDescriptor<unknown, unknown, unknown>(CONTENTS_STATE, anyAgg);
    const after = then === undefined ? passThrough() : singleValueProcess(then);
    const fn: AnyFn =
      this.evictorValue === undefined ? withRich(after, [agg]) : aggregateOverElements(anyAgg, after);
    return this.build<O>(then === undefined ? "Aggregate" : "Aggregate+Process", desc, fn, Types.GENERIC);
  }

  protected buildProcess<O>(pwf: AnyPwf, name: string): SingleOutputStreamOperator<O> {
    return this.build<O>(
      name,
      new ListStateDescriptor<unknown>(CONTENTS_STATE),
      iterableProcess(pwf),
      Types.GENERIC,
    );
  }
}

function reduceForm<T>(
  reduce: ReduceFn<T> | ReduceFunction<T>,
): [ReduceFn<T>, ReduceFunction<T> | undefined] {
  if (typeof reduce === "function") return [reduce, undefined];
  if (typeof reduce === "object" && reduce !== null && typeof reduce.reduce === "function") {
    return [(a, b) => reduce.reduce(a, b), reduce];
  }
  throw new InvalidArgumentError("reduce() needs a function (a, b) => c or an object with reduce(a, b)");
}

/** A ProcessWindowFunction or a WindowFunction, as the internal ProcessWindowFunction form. */
function toPwf(f: unknown, what: string): AnyPwf {
  const o = f as Record<string, unknown> | null;
  if (typeof o === "object" && o !== null) {
    if (typeof o.process === "function") return f as AnyPwf;
    if (typeof o.apply === "function") {
      const wf = f as WindowFunction<unknown, unknown, unknown, Window>;
      return forward(wf, { process: (key, ctx, elements, out) => wf.apply(key, ctx.window, elements, out) });
    }
  }
  throw new InvalidArgumentError(
    `${what} needs a ProcessWindowFunction { process(key, context, elements, out) } or a WindowFunction { apply(key, window, elements, out) }`,
  );
}

/** The same, for windowAll: functions without a key. */
function toAllPwf(f: unknown, what: string): AnyPwf {
  const o = f as Record<string, unknown> | null;
  if (typeof o === "object" && o !== null) {
    if (typeof o.process === "function") {
      const p = f as ProcessAllWindowFunction<unknown, unknown, Window>;
      return forward(p, {
        process: (_k, ctx, elements, out) => p.process(ctx, elements, out),
        clear: (ctx) => p.clear?.(ctx),
      });
    }
    if (typeof o.apply === "function") {
      const wf = f as AllWindowFunction<unknown, unknown, Window>;
      return forward(wf, { process: (_k, ctx, elements, out) => wf.apply(ctx.window, elements, out) });
    }
  }
  throw new InvalidArgumentError(
    `${what} needs a ProcessAllWindowFunction { process(context, elements, out) } or an AllWindowFunction { apply(window, elements, out) }`,
  );
}

/** An adapter that keeps the user object's open/close. */
function forward(user: object, adapter: AnyPwf): AnyPwf {
  const u = user as AnyPwf;
  if (typeof u.open === "function") adapter.open = (ctx) => u.open!(ctx);
  if (typeof u.close === "function") adapter.close = () => u.close!();
  return adapter;
}

/** A keyed stream cut into windows: `keyBy(...).window(assigner)`. */
export class WindowedStream<T, K, W extends Window> extends WindowSettings<T, W> {
  constructor(input: DataStream<T>, keySelector: (value: T) => K, assigner: WindowAssigner<T, W>) {
    super(input, assigner, keySelector, "window");
  }

  /** Replace the assigner's default trigger. */
  trigger(trigger: Trigger<T, W>): this {
    this.setTrigger(trigger);
    return this;
  }

  /** Remove elements before/after the window function runs (the window then keeps all elements). */
  evictor(evictor: Evictor<T, W>): this {
    this.setEvictor(evictor);
    return this;
  }

  /** Keep windows `ms` after their end: late elements within it fire the window again. Event time only. */
  allowedLateness(ms: number): this {
    this.setLateness(ms);
    return this;
  }

  /** Elements too late for every window they belong to go to this side output (getSideOutput(tag)). */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.setLateTag(tag);
    return this;
  }

  /** Incremental: one reduced value per window. */
  reduce(fn: ReduceFn<T> | ReduceFunction<T>): SingleOutputStreamOperator<T>;
  /** Incremental, then the window function gets the single reduced value with the window's metadata. */
  reduce<O>(
    fn: ReduceFn<T> | ReduceFunction<T>,
    windowFunction: ProcessWindowFunction<T, O, K, W> | WindowFunction<T, O, K, W>,
  ): SingleOutputStreamOperator<O>;
  reduce(fn: ReduceFn<T> | ReduceFunction<T>, windowFunction?: unknown): SingleOutputStreamOperator<any> {
    const then =
      windowFunction === undefined ? undefined : toPwf(windowFunction, "reduce(fn, windowFunction)");
    return this.buildReduce(fn, then, then === undefined ? this.input.getType() : Types.GENERIC);
  }

  /** Incremental: an accumulator per window; emits getResult(acc). */
  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, O>(
    agg: AggregateFunction<T, ACC, V>,
    windowFunction: ProcessWindowFunction<V, O, K, W> | WindowFunction<V, O, K, W>,
  ): SingleOutputStreamOperator<O>;
  aggregate(agg: AggregateFunction<T, any, any>, windowFunction?: unknown): SingleOutputStreamOperator<any> {
    const then =
      windowFunction === undefined ? undefined : toPwf(windowFunction, "aggregate(agg, windowFunction)");
    return this.buildAggregate(agg, then);
  }

  /** All elements of the window at once, with window metadata and state. */
  process<O>(fn: ProcessWindowFunction<T, O, K, W>): SingleOutputStreamOperator<O> {
    return this.buildProcess(toPwf(fn, "process()"), "Process");
  }

  /** All elements of the window at once: apply(key, window, elements, out). */
  apply<O>(fn: WindowFunction<T, O, K, W>): SingleOutputStreamOperator<O> {
    return this.buildProcess(toPwf(fn, "apply()"), "Apply");
  }

  /** Per window: the sum of a field (or of the values), other fields from the first element. */
  sum(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("sum", field, (a, b) => a + b));
  }
  min(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("min", field, (a, b) => Math.min(a, b)));
  }
  max(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("max", field, (a, b) => Math.max(a, b)));
  }
  /** Per window: the whole element with the smallest value of the field (the first one, on ties). */
  minBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, false, "window minBy()"));
  }
  /** Per window: the whole element with the largest value of the field (the first one, on ties). */
  maxBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, true, "window maxBy()"));
  }
}

/** A non-keyed stream cut into windows: `windowAll(assigner)`; runs with parallelism 1. */
export class AllWindowedStream<T, W extends Window> extends WindowSettings<T, W> {
  constructor(input: DataStream<T>, assigner: WindowAssigner<T, W>) {
    super(input.keyBy(ALL_KEY), assigner, ALL_KEY, "windowAll");
  }

  trigger(trigger: Trigger<T, W>): this {
    this.setTrigger(trigger);
    return this;
  }
  evictor(evictor: Evictor<T, W>): this {
    this.setEvictor(evictor);
    return this;
  }
  allowedLateness(ms: number): this {
    this.setLateness(ms);
    return this;
  }
  sideOutputLateData(tag: OutputTag<T>): this {
    this.setLateTag(tag);
    return this;
  }

  reduce(fn: ReduceFn<T> | ReduceFunction<T>): SingleOutputStreamOperator<T>;
  reduce<O>(
    fn: ReduceFn<T> | ReduceFunction<T>,
    windowFunction: ProcessAllWindowFunction<T, O, W> | AllWindowFunction<T, O, W>,
  ): SingleOutputStreamOperator<O>;
  reduce(fn: ReduceFn<T> | ReduceFunction<T>, windowFunction?: unknown): SingleOutputStreamOperator<any> {
    const then =
      windowFunction === undefined ? undefined : toAllPwf(windowFunction, "reduce(fn, windowFunction)");
    return nonParallel(this.buildReduce(fn, then, then === undefined ? this.input.getType() : Types.GENERIC));
  }

  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, O>(
    agg: AggregateFunction<T, ACC, V>,
    windowFunction: ProcessAllWindowFunction<V, O, W> | AllWindowFunction<V, O, W>,
  ): SingleOutputStreamOperator<O>;
  aggregate(agg: AggregateFunction<T, any, any>, windowFunction?: unknown): SingleOutputStreamOperator<any> {
    const then =
      windowFunction === undefined ? undefined : toAllPwf(windowFunction, "aggregate(agg, windowFunction)");
    return nonParallel(this.buildAggregate(agg, then));
  }

  process<O>(fn: ProcessAllWindowFunction<T, O, W>): SingleOutputStreamOperator<O> {
    return nonParallel(this.buildProcess(toAllPwf(fn, "process()"), "Process"));
  }

  apply<O>(fn: AllWindowFunction<T, O, W>): SingleOutputStreamOperator<O> {
    return nonParallel(this.buildProcess(toAllPwf(fn, "apply()"), "Apply"));
  }

  sum(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("sum", field, (a, b) => a + b));
  }
  min(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("min", field, (a, b) => Math.min(a, b)));
  }
  max(field?: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>("max", field, (a, b) => Math.max(a, b)));
  }
  /** Per window: the whole element with the smallest value of the field (the first one, on ties). */
  minBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, false, "window minBy()"));
  }
  /** Per window: the whole element with the largest value of the field (the first one, on ties). */
  maxBy(field: FieldRef<T>): SingleOutputStreamOperator<T> {
    return this.reduce(byReducer(field, true, "window maxBy()"));
  }
}

/** windowAll: every element has the same key, so one subtask holds all windows. */
const ALL_KEY = (): number => 0;

/** A windowAll operator runs with parallelism 1 and refuses another (as Flink's non-parallel operators). */
function nonParallel<O>(op: SingleOutputStreamOperator<O>): SingleOutputStreamOperator<O> {
  op.setParallelism(1);
  const original = op.setParallelism.bind(op);
  op.setParallelism = (p: number) => {
    if (p !== 1) {
      throw new InvalidArgumentError(
        `setParallelism(${p}) on '${op.transformation.name}': a windowAll operator is not parallel; its parallelism is 1`,
      );
    }
    return original(p);
  };
  return op;
}

function fieldReducer<T>(
  name: string,
  field: string | undefined,
  combine: (a: number, b: number) => number,
): ReduceFn<T> {
  if (field === undefined) {
    return (a, b) => {
      if (typeof a !== "number" || typeof b !== "number") {
        throw new InvalidArgumentError(`window ${name}() without a field needs a stream of numbers`);
      }
      return combine(a, b) as T;
    };
  }
  return (a, b) => {
    const x = (a as Record<string, unknown>)[field];
    const y = (b as Record<string, unknown>)[field];
    if (typeof x !== "number" || typeof y !== "number") {
      throw new InvalidArgumentError(`window ${name}('${field}'): field '${field}' must be a number`);
    }
    return { ...(a as object), [field]: combine(x, y) } as T;
  };
}

export type { Collector };
