// The harnesses users create, one per operator shape (as Flink's OneInput-, KeyedOneInput-,
// TwoInput-, KeyedTwoInput- and (Keyed)BroadcastOperatorTestHarness): each builds its operator with
// the DataStream API calls of the job (`of(build)`), or from a function (`for...Function`), and
// names its inputs as the function does (processElement1/2, processBroadcastElement).

import type { DataStream } from "../api/streams.ts";
import type { KeySelector } from "../core/functions.ts";
import type {
  BroadcastProcessFunction,
  CoProcessFunction,
  KeyedBroadcastProcessFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  ProcessFunction,
} from "../core/process.ts";
import type { KeyedStateStore, MapStateDescriptor } from "../core/state.ts";
import type { HarnessOptions } from "./harness-subtask.ts";
import { OperatorHarness } from "./operator-harness.ts";

type Build1<IN, OUT> = (input: DataStream<IN>) => DataStream<OUT>;
type Build2<IN1, IN2, OUT> = (first: DataStream<IN1>, second: DataStream<IN2>) => DataStream<OUT>;
type AnyBuild = (...inputs: DataStream<any>[]) => unknown;

/** A non-keyed one-input operator: ProcessFunction, map, flatMap, filter, a sink... */
export class OneInputHarness<IN, OUT> extends OperatorHarness<OUT> {
  /** The operator `build` makes of its input: `OneInputHarness.of((s) => s.process(fn))`. */
  static of<IN, OUT>(build: Build1<IN, OUT>, options: HarnessOptions = {}): OneInputHarness<IN, OUT> {
    return new OneInputHarness<IN, OUT>(build, options);
  }

  static forProcessFunction<IN, OUT>(
    fn: ProcessFunction<IN, OUT>,
    options: HarnessOptions = {},
  ): OneInputHarness<IN, OUT> {
    return OneInputHarness.of<IN, OUT>((s) => s.process(fn), options);
  }

  private constructor(build: Build1<IN, OUT>, options: HarnessOptions) {
    super("OneInputHarness", 1, build as AnyBuild, options, false);
  }

  /** One element, with its event timestamp (ms) if it has one. */
  processElement(value: IN, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }
}

/** A keyed one-input operator: KeyedProcessFunction, windows, keyed reduce... */
export class KeyedOneInputHarness<K, IN, OUT> extends OperatorHarness<OUT> {
  /** The operator `build` makes of its input, which it keys: `(s) => s.keyBy(k).window(w).reduce(f)`. */
  static of<IN, OUT, K = unknown>(
    build: Build1<IN, OUT>,
    options: HarnessOptions = {},
  ): KeyedOneInputHarness<K, IN, OUT> {
    return new KeyedOneInputHarness<K, IN, OUT>(build, options);
  }

  static forKeyedProcessFunction<K, IN, OUT>(
    fn: KeyedProcessFunction<K, IN, OUT>,
    keySelector: KeySelector<IN, K>,
    options: HarnessOptions = {},
  ): KeyedOneInputHarness<K, IN, OUT> {
    return KeyedOneInputHarness.of<IN, OUT, K>((s) => s.keyBy(keySelector).process(fn), options);
  }

  private constructor(build: Build1<IN, OUT>, options: HarnessOptions) {
    super("KeyedOneInputHarness", 1, build as AnyBuild, options, true);
  }

  /** One element, with its event timestamp (ms) if it has one; its key must belong to this subtask. */
  processElement(value: IN, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }

  /** Read or set `key`'s state (not window contents) as the operator would see it. */
  withKey<R>(key: K, fn: (state: KeyedStateStore) => R): R {
    return this.inKeyContext(key, fn);
  }
}

/** A non-keyed two-input operator: CoProcessFunction, CoMap, CoFlatMap. */
export class TwoInputHarness<IN1, IN2, OUT> extends OperatorHarness<OUT> {
  /** The operator `build` makes of its two inputs: `(a, b) => a.connect(b).process(fn)`. */
  static of<IN1, IN2, OUT>(
    build: Build2<IN1, IN2, OUT>,
    options: HarnessOptions = {},
  ): TwoInputHarness<IN1, IN2, OUT> {
    return new TwoInputHarness<IN1, IN2, OUT>(build, options);
  }

  static forCoProcessFunction<IN1, IN2, OUT>(
    fn: CoProcessFunction<IN1, IN2, OUT>,
    options: HarnessOptions = {},
  ): TwoInputHarness<IN1, IN2, OUT> {
    return TwoInputHarness.of<IN1, IN2, OUT>((a, b) => a.connect(b).process(fn), options);
  }

  private constructor(build: Build2<IN1, IN2, OUT>, options: HarnessOptions) {
    super("TwoInputHarness", 2, build as AnyBuild, options, false);
  }

  processElement1(value: IN1, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }
  processElement2(value: IN2, timestamp?: number): void {
    this.elementOf(1, value, timestamp);
  }
  /** The first input's watermark; the operator's is the minimum of both. */
  processWatermark1(watermark: number): void {
    this.watermarkOf(0, watermark);
  }
  processWatermark2(watermark: number): void {
    this.watermarkOf(1, watermark);
  }
}

/** A keyed two-input operator: KeyedCoProcessFunction, an interval join... */
export class KeyedTwoInputHarness<K, IN1, IN2, OUT> extends OperatorHarness<OUT> {
  /** `(a, b) => a.connect(b).keyBy(k1, k2).process(fn)`, or `a.keyBy(k).intervalJoin(b.keyBy(k))...`. */
  static of<IN1, IN2, OUT, K = unknown>(
    build: Build2<IN1, IN2, OUT>,
    options: HarnessOptions = {},
  ): KeyedTwoInputHarness<K, IN1, IN2, OUT> {
    return new KeyedTwoInputHarness<K, IN1, IN2, OUT>(build, options);
  }

  static forKeyedCoProcessFunction<K, IN1, IN2, OUT>(
    fn: KeyedCoProcessFunction<K, IN1, IN2, OUT>,
    keySelector1: KeySelector<IN1, K>,
    keySelector2: KeySelector<IN2, K>,
    options: HarnessOptions = {},
  ): KeyedTwoInputHarness<K, IN1, IN2, OUT> {
    return KeyedTwoInputHarness.of<IN1, IN2, OUT, K>(
      (a, b) =>
        a
          .connect(b)
          .keyBy(keySelector1, keySelector2)
          .process(fn as KeyedCoProcessFunction<unknown, IN1, IN2, OUT>),
      options,
    );
  }

  private constructor(build: Build2<IN1, IN2, OUT>, options: HarnessOptions) {
    super("KeyedTwoInputHarness", 2, build as AnyBuild, options, true);
  }

  processElement1(value: IN1, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }
  processElement2(value: IN2, timestamp?: number): void {
    this.elementOf(1, value, timestamp);
  }
  processWatermark1(watermark: number): void {
    this.watermarkOf(0, watermark);
  }
  processWatermark2(watermark: number): void {
    this.watermarkOf(1, watermark);
  }
  withKey<R>(key: K, fn: (state: KeyedStateStore) => R): R {
    return this.inKeyContext(key, fn);
  }
}

/** A BroadcastProcessFunction: a non-keyed stream and a broadcast stream. */
export class BroadcastHarness<IN, BC, OUT> extends OperatorHarness<OUT> {
  /** `(events, rules) => events.connect(rules.broadcast(descriptor)).process(fn)`. */
  static of<IN, BC, OUT>(
    build: Build2<IN, BC, OUT>,
    options: HarnessOptions = {},
  ): BroadcastHarness<IN, BC, OUT> {
    return new BroadcastHarness<IN, BC, OUT>(build, options);
  }

  static forBroadcastProcessFunction<IN, BC, OUT>(
    fn: BroadcastProcessFunction<IN, BC, OUT>,
    descriptors: MapStateDescriptor<any, any>[],
    options: HarnessOptions = {},
  ): BroadcastHarness<IN, BC, OUT> {
    return BroadcastHarness.of<IN, BC, OUT>(
      (a, b) => a.connect(b.broadcast(...descriptors)).process(fn),
      options,
    );
  }

  private constructor(build: Build2<IN, BC, OUT>, options: HarnessOptions) {
    super("BroadcastHarness", 2, build as AnyBuild, options, false);
  }

  processElement(value: IN, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }
  processBroadcastElement(value: BC, timestamp?: number): void {
    this.elementOf(1, value, timestamp);
  }
  /** This subtask's broadcast state of `descriptor` (a copy). */
  broadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): Map<K, V> {
    return this.broadcastEntries(descriptor);
  }
}

/** A KeyedBroadcastProcessFunction: a keyed stream and a broadcast stream. */
export class KeyedBroadcastHarness<K, IN, BC, OUT> extends OperatorHarness<OUT> {
  /** `(events, rules) => events.keyBy(k).connect(rules.broadcast(descriptor)).process(fn)`. */
  static of<IN, BC, OUT, K = unknown>(
    build: Build2<IN, BC, OUT>,
    options: HarnessOptions = {},
  ): KeyedBroadcastHarness<K, IN, BC, OUT> {
    return new KeyedBroadcastHarness<K, IN, BC, OUT>(build, options);
  }

  static forKeyedBroadcastProcessFunction<K, IN, BC, OUT>(
    fn: KeyedBroadcastProcessFunction<K, IN, BC, OUT>,
    keySelector: KeySelector<IN, K>,
    descriptors: MapStateDescriptor<any, any>[],
    options: HarnessOptions = {},
  ): KeyedBroadcastHarness<K, IN, BC, OUT> {
    return KeyedBroadcastHarness.of<IN, BC, OUT, K>(
      (a, b) =>
        a
          .keyBy(keySelector)
          .connect(b.broadcast(...descriptors))
          .process(fn),
      options,
    );
  }

  private constructor(build: Build2<IN, BC, OUT>, options: HarnessOptions) {
    super("KeyedBroadcastHarness", 2, build as AnyBuild, options, true);
  }

  processElement(value: IN, timestamp?: number): void {
    this.elementOf(0, value, timestamp);
  }
  processBroadcastElement(value: BC, timestamp?: number): void {
    this.elementOf(1, value, timestamp);
  }
  broadcastState<K2, V>(descriptor: MapStateDescriptor<K2, V>): Map<K2, V> {
    return this.broadcastEntries(descriptor);
  }
  withKey<R>(key: K, fn: (state: KeyedStateStore) => R): R {
    return this.inKeyContext(key, fn);
  }
}
