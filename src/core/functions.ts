// The shapes of user functions and the context they run in. Shared by the API (which accepts them)
// and the runtime (which calls them); plain functions and objects with open/close are both accepted.

import type { MetricGroup } from "./metrics.ts";
import type { KeyedStateStore, OperatorStateStore } from "./state.ts";
import type { TypeInformation } from "./types/type-info.ts";

/** Emits zero or more values. */
export interface Collector<T> {
  collect(value: T): void;
}

/** A named, typed side output of a process function. */
export class OutputTag<T> {
  readonly id: string;
  readonly type: TypeInformation<T> | undefined;
  constructor(id: string, type?: TypeInformation<T>) {
    if (typeof id !== "string" || id.length === 0) {
      throw new TypeError("OutputTag needs a non-empty id, e.g. new OutputTag<string>('late')");
    }
    this.id = id;
    this.type = type;
  }
}

/** Merges values of one name across parallel subtasks; reported in the JobResult. */
export interface Accumulator<V> {
  add(value: V): void;
  getLocalValue(): V;
  /** Merge another subtask's local value into this one. */
  merge(other: V): void;
}

export class Counter implements Accumulator<number> {
  private value = 0;
  add(value = 1): void {
    this.value += value;
  }
  getLocalValue(): number {
    return this.value;
  }
  merge(other: number): void {
    this.value += other;
  }
}

export class MaxAccumulator implements Accumulator<number> {
  private value = Number.NEGATIVE_INFINITY;
  add(value: number): void {
    if (value > this.value) this.value = value;
  }
  getLocalValue(): number {
    return this.value;
  }
  merge(other: number): void {
    this.add(other);
  }
}

export class ListAccumulator<T> implements Accumulator<T[]> {
  private readonly values: T[] = [];
  add(value: T | T[]): void {
    if (Array.isArray(value)) this.values.push(...value);
    else this.values.push(value);
  }
  getLocalValue(): T[] {
    return this.values;
  }
  merge(other: T[]): void {
    this.values.push(...other);
  }
}

/** What a running function can see of the subtask it runs in. */
export interface RuntimeContext extends KeyedStateStore {
  readonly jobId: string;
  readonly jobName: string;
  readonly operatorName: string;
  readonly operatorUid: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  /** 0 for the first execution attempt; +1 with every restart after a failure. */
  readonly attemptNumber: number;
  /** Registers (or returns the already registered) accumulator of this name. */
  addAccumulator<V>(name: string, accumulator: Accumulator<V>): Accumulator<V>;
  getAccumulator<V>(name: string): Accumulator<V> | undefined;
  /** Shorthand: a Counter accumulator of this name, created on first use. */
  getCounter(name: string): Counter;
  /** Non-keyed state of this operator subtask (list, union list, broadcast). */
  getOperatorStateStore(): OperatorStateStore;
  /**
   * This operator subtask's metric group (Flink's operator scope): register counters, gauges,
   * meters and histograms here, in open(); they are reported with the runtime's metrics.
   */
  getMetricGroup(): MetricGroup;
}

/** Optional lifecycle of a user function object. */
export interface RichFunction {
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export type MapFn<I, O> = (value: I, ctx: RuntimeContext) => O;
/**
 * Emits through `out` (as Flink's flatMap does), or returns the elements as an array or other
 * iterable (as `Array.prototype.flatMap` does); both may be used together.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a function that only calls out.collect() returns void
export type FlatMapFn<I, O> = (value: I, out: Collector<O>, ctx: RuntimeContext) => void | Iterable<O>;
export type FilterFn<I> = (value: I, ctx: RuntimeContext) => boolean;
export type ReduceFn<T> = (acc: T, value: T) => T;
export type KeySelector<T, K> = (value: T) => K;

export interface MapFunction<I, O> extends RichFunction {
  map(value: I): O;
}
export interface FlatMapFunction<I, O> extends RichFunction {
  // biome-ignore lint/suspicious/noConfusingVoidType: as FlatMapFn
  flatMap(value: I, out: Collector<O>): void | Iterable<O>;
}
export interface FilterFunction<I> extends RichFunction {
  filter(value: I): boolean;
}
export interface ReduceFunction<T> extends RichFunction {
  reduce(acc: T, value: T): T;
}

/** Chooses the target partition of a record: `partitionCustom(partitioner, keySelector)`. */
export type Partitioner<K> = (key: K, numPartitions: number) => number;

/** Turns any accepted function form into a callable. */
export function isFunctionObject<F extends object>(f: unknown, method: string): f is F {
  return typeof f === "object" && f !== null && typeof (f as Record<string, unknown>)[method] === "function";
}
