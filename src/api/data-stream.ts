// DataStream: the typed, fluent API over transformations. Every method records a transformation
// in the environment; nothing runs until execute().

import { InvalidArgumentError, JobCancelledError } from "../core/errors.ts";
import type {
  FilterFn,
  FilterFunction,
  FlatMapFn,
  FlatMapFunction,
  KeySelector,
  MapFn,
  MapFunction,
  OutputTag,
  Partitioner,
} from "../core/functions.ts";
import type { ProcessFunction } from "../core/process.ts";
import type { Sink } from "../core/sink.ts";
import { MapStateDescriptor } from "../core/state.ts";
import type { TypeInformation } from "../core/types/type-info.ts";
import { Types } from "../core/types/types.ts";
import type { OperatorTransformation, Transformation, TransformationBase } from "../graph/transformation.ts";
import { FilterOperator, FlatMapOperator, MapOperator, SinkOperator } from "../runtime/operators/basic.ts";
import { ProcessOperator } from "../runtime/operators/process.ts";
import { TimestampsAndWatermarksOperator } from "../runtime/operators/timestamps-and-watermarks.ts";
import type { WatermarkStrategy } from "../core/watermark.ts";
import type { PartitionerSpec } from "../runtime/partitioners.ts";
import type {
  BroadcastConnectedStream,
  KeyedBroadcastConnectedStream,
} from "./broadcast-connected-stream.ts";
import { BroadcastStream } from "./broadcast-stream.ts";
import type { ConnectedStreams } from "./connected-streams.ts";
import type { StreamExecutionEnvironment } from "./environment.ts";
import { instanceOf, normalize, requireMethods } from "./function-forms.ts";
import { TwoInputWindowBuilder } from "./joins/co-group.ts";
import { CollectSink } from "./sinks/collect-sink.ts";
import { FileSink } from "./sinks/file-sink.ts";
import type { JobClient } from "./job-result.ts";
import type { KeyedStream } from "./keyed-stream.ts";
import { PrintSink } from "./sinks/print-sink.ts";
import { GlobalWindows } from "./windowing/assigners.ts";
import { CountEvictor } from "./windowing/evictors.ts";
import { CountTrigger, PurgingTrigger } from "./windowing/triggers.ts";
import { AllWindowedStream } from "./windowing/windowed-stream.ts";
import type { GlobalWindow, Window, WindowAssigner } from "../runtime/operators/window/window-contracts.ts";

export class DataStream<T> {
  constructor(
    readonly env: StreamExecutionEnvironment,
    /** @internal */ readonly transformation: Transformation,
  ) {}

  /** The type of this stream's records, as declared or inferred. */
  getType(): TypeInformation<T> {
    return this.transformation.type as TypeInformation<T>;
  }

  map<O>(fn: MapFn<T, O> | MapFunction<T, O>, name = "Map"): SingleOutputStreamOperator<O> {
    normalize(fn, "map", "map()");
    return this.transform(
      name,
      () => new MapOperator(...normalize<MapFn<unknown, unknown>>(instanceOf(fn), "map", "map()")),
      Types.GENERIC,
    );
  }

  flatMap<O>(fn: FlatMapFn<T, O> | FlatMapFunction<T, O>, name = "FlatMap"): SingleOutputStreamOperator<O> {
    normalize(fn, "flatMap", "flatMap()");
    return this.transform(
      name,
      () =>
        new FlatMapOperator(
          ...normalize<FlatMapFn<unknown, unknown>>(instanceOf(fn), "flatMap", "flatMap()"),
        ),
      Types.GENERIC,
    );
  }

  filter(fn: FilterFn<T> | FilterFunction<T>, name = "Filter"): SingleOutputStreamOperator<T> {
    normalize(fn, "filter", "filter()");
    return this.transform(
      name,
      () => new FilterOperator(...normalize<FilterFn<unknown>>(instanceOf(fn), "filter", "filter()")),
      this.transformation.type,
    );
  }

  process<O>(fn: ProcessFunction<T, O>, name = "Process"): SingleOutputStreamOperator<O> {
    requireMethods(fn, ["processElement"], "process()");
    return this.transform(
      name,
      () => new ProcessOperator(instanceOf(fn) as ProcessFunction<unknown, unknown>),
      Types.GENERIC,
    );
  }

  /** Assign event timestamps and generate watermarks here (instead of at the source). */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    if (typeof strategy !== "object" || strategy === null || typeof strategy.withIdleness !== "function") {
      throw new InvalidArgumentError("assignTimestampsAndWatermarks() needs a WatermarkStrategy");
    }
    return this.transform(
      "Timestamps/Watermarks",
      () => new TimestampsAndWatermarksOperator(strategy as WatermarkStrategy<unknown>),
      this.transformation.type,
    );
  }

  /** Windows over the whole (non-keyed) stream; the window operator runs with parallelism 1. */
  windowAll<W extends Window>(assigner: WindowAssigner<T, W>): AllWindowedStream<T, W> {
    return new AllWindowedStream<T, W>(this, assigner);
  }

  /** Count windows over the whole stream (parallelism 1); see KeyedStream.countWindow. */
  countWindowAll(size: number, slide?: number): AllWindowedStream<T, GlobalWindow> {
    const w = this.windowAll(GlobalWindows.create() as WindowAssigner<T, GlobalWindow>);
    if (slide === undefined) return w.trigger(PurgingTrigger.of(CountTrigger.of(size)));
    return w.evictor(CountEvictor.of(size)).trigger(CountTrigger.of(slide));
  }

  /** Partition by key: records with equal keys go to the same subtask (by key group). */
  keyBy<K>(key: KeySelector<T, K>): KeyedStream<T, K>;
  keyBy<F extends keyof T & string>(field: F): KeyedStream<T, T[F]>;
  keyBy(key: unknown, ...more: unknown[]): KeyedStream<T, unknown> {
    if (more.length > 0) {
      const fields = [key, ...more].map((f) => String(f));
      throw new InvalidArgumentError(
        `keyBy() takes one key: a field name or a key selector, got ${fields.length} arguments (${fields.join(", ")}); for a composite key return an array from a selector, e.g. keyBy((r) => [${fields.map((f) => `r.${f}`).join(", ")}])`,
      );
    }
    const selector = toKeySelector<T>(key, "keyBy()");
    const t = this.env.addVirtual({
      kind: "partition",
      input: this.transformation,
      partitioner: { kind: "hash", keySelector: selector },
      ...this.virtualBase("KeyBy"),
    });
    return new streamClasses.keyed!(this.env, t, selector);
  }

  union(...others: DataStream<T>[]): DataStream<T> {
    for (const o of others) {
      if (!(o instanceof DataStream) || o.env !== this.env) {
        throw new InvalidArgumentError("union() takes streams of the same environment");
      }
    }
    const t = this.env.addVirtual({
      kind: "union",
      inputs: [this.transformation, ...others.map((o) => o.transformation)],
      ...this.virtualBase("Union"),
    });
    return new DataStream(this.env, t);
  }

  /** With a BroadcastStream: the broadcast state pattern (keyed when this is a KeyedStream). */
  connect<K, U>(this: KeyedStream<T, K>, other: BroadcastStream<U>): KeyedBroadcastConnectedStream<K, T, U>;
  connect<U>(other: BroadcastStream<U>): BroadcastConnectedStream<T, U>;
  connect<U>(other: DataStream<U>): ConnectedStreams<T, U>;
  connect(other: DataStream<unknown> | BroadcastStream<unknown>): unknown {
    if (other instanceof BroadcastStream) {
      const keyed = this instanceof streamClasses.keyed! ? (this as KeyedStream<T, unknown>) : undefined;
      return streamClasses.broadcastConnected!(this, other, keyed?.keySelector);
    }
    if (!(other instanceof DataStream) || other.env !== this.env) {
      throw new InvalidArgumentError("connect() takes a stream of the same environment");
    }
    return new streamClasses.connected!(this.env, this, other);
  }

  /** Window join: `.where(keyA).equalTo(keyB).window(assigner).apply(joinFn)`, every pair per key and window. */
  join<U>(other: DataStream<U>): TwoInputWindowBuilder<T, U, "join"> {
    return new TwoInputWindowBuilder<T, U, "join">("join", this, other);
  }

  /** Window coGroup: `.where(keyA).equalTo(keyB).window(assigner).apply(coGroupFn)`, both groups per key and window. */
  coGroup<U>(other: DataStream<U>): TwoInputWindowBuilder<T, U, "coGroup"> {
    return new TwoInputWindowBuilder<T, U, "coGroup">("coGroup", this, other);
  }

  rebalance(): DataStream<T> {
    return this.partition({ kind: "rebalance" });
  }
  rescale(): DataStream<T> {
    return this.partition({ kind: "rescale" });
  }
  shuffle(): DataStream<T> {
    return this.partition({ kind: "shuffle" });
  }
  /** Send every record to every parallel instance of the next operator. */
  broadcast(): DataStream<T>;
  /** A broadcast stream carrying these broadcast states: connect a (keyed) stream to it. */
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): BroadcastStream<T>;
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): DataStream<T> | BroadcastStream<T> {
    if (descriptors.length === 0) return this.partition({ kind: "broadcast" });
    const names = new Set<string>();
    for (const d of descriptors) {
      if (!(d instanceof MapStateDescriptor)) {
        throw new InvalidArgumentError(
          "broadcast(...) takes MapStateDescriptors (the broadcast states), e.g. new MapStateDescriptor<string, Rule>('rules')",
        );
      }
      if (names.has(d.name)) {
        throw new InvalidArgumentError(`broadcast(...): broadcast state '${d.name}' is given twice`);
      }
      if (d.ttlConfig !== undefined) {
        throw new InvalidArgumentError(
          `broadcast state '${d.name}' has TTL enabled, but TTL is only supported for keyed state; remove enableTimeToLive`,
        );
      }
      names.add(d.name);
    }
    return new BroadcastStream<T>(
      this.env,
      this.partition({ kind: "broadcast" }).transformation,
      descriptors as MapStateDescriptor<unknown, unknown>[],
    );
  }
  global(): DataStream<T> {
    return this.partition({ kind: "global" });
  }
  forward(): DataStream<T> {
    return this.partition({ kind: "forward" });
  }
  /** Send each record to `partitioner(key, numPartitions)`. */
  partitionCustom<K>(partitioner: Partitioner<K>, key: KeySelector<T, K>): DataStream<T> {
    if (typeof partitioner !== "function") {
      throw new InvalidArgumentError("partitionCustom() needs a function (key, numPartitions) => partition");
    }
    return this.partition({
      kind: "custom",
      partitioner,
      keySelector: toKeySelector(key, "partitionCustom()"),
    });
  }

  print(prefix = ""): DataStreamSink<T> {
    return this.sinkTo(new PrintSink<T>(prefix), "Print");
  }

  printToErr(prefix = ""): DataStreamSink<T> {
    return this.sinkTo(new PrintSink<T>(prefix, "stderr"), "Print to stderr");
  }

  /** Bring the records back to the caller: read `.values` after execute(). */
  collect(name = "Collect"): CollectHandle<T> {
    return this.collectWith(new CollectSink<T>(), name);
  }

  private collectWith(sink: CollectSink<T>, name: string): CollectHandle<T> {
    const t = this.addSink(sink, name);
    const handle = new CollectHandle<T>(t);
    this.env.registerCollect(t, handle, sink);
    return handle;
  }

  /**
   * Run the job in this thread and return the records that reach this point (Flink's
   * executeAndCollect): every record of a bounded job, or, with `limit`, the first `limit` to
   * arrive, after which the job is cancelled — the way to sample an unbounded stream. With
   * checkpoints enabled, records arrive as the checkpoints covering them complete. Adds a collect
   * sink to the environment's job.
   */
  executeAndCollect(limit?: number): Promise<T[]>;
  executeAndCollect(jobName: string, limit?: number): Promise<T[]>;
  async executeAndCollect(nameOrLimit?: string | number, maybeLimit?: number): Promise<T[]> {
    const jobName = typeof nameOrLimit === "string" ? nameOrLimit : undefined;
    const limit = typeof nameOrLimit === "string" ? maybeLimit : nameOrLimit;
    if (limit === undefined) {
      const handle = this.collect();
      await this.env.execute(jobName);
      return handle.values;
    }
    checkPositive(limit, "executeAndCollect() limit");
    const handle = this.collectWith(new CollectSink<T>(1), "Collect");
    const firsts: T[] = [];
    let client: JobClient | undefined;
    let reached = false;
    const stop = () => client?.cancel().catch(() => {}); // wait() reports how the job ended
    handle.onValues = (values) => {
      for (const v of values) if (firsts.length < limit) firsts.push(v);
      if (!reached && firsts.length >= limit) {
        reached = true;
        stop();
      }
    };
    client = await this.env.executeAsync(jobName);
    if (reached) stop();
    try {
      await client.wait();
    } catch (e) {
      if (!(reached && e instanceof JobCancelledError)) throw e;
    }
    return firsts;
  }

  writeAsText(directory: string): DataStreamSink<T> {
    return this.sinkTo(FileSink.forText<T>(directory), "Text file sink");
  }

  sinkTo(sink: Sink<T>, name = "Sink"): DataStreamSink<T> {
    return new DataStreamSink<T>(this.addSink(sink, name));
  }

  private addSink(sink: Sink<T>, name: string): OperatorTransformation {
    if (typeof sink !== "object" || sink === null || typeof sink.createWriter !== "function") {
      throw new InvalidArgumentError("sinkTo() needs a Sink: an object with createWriter(context)");
    }
    return this.env.addOperator({
      name,
      inputs: [this.transformation],
      factory: () => new SinkOperator(sink as Sink<unknown>),
      type: this.transformation.type,
      keySelectors: [undefined],
      isSink: true,
    });
  }

  /** @internal */
  transform<O>(
    name: string,
    factory: OperatorTransformation["factory"],
    type: TypeInformation<unknown>,
    keySelectors: OperatorTransformation["keySelectors"] = [undefined],
  ): SingleOutputStreamOperator<O> {
    const t = this.env.addOperator({
      name,
      inputs: [this.transformation],
      factory,
      type,
      keySelectors,
      isSink: false,
    });
    return new SingleOutputStreamOperator<O>(this.env, t);
  }

  private partition(partitioner: PartitionerSpec): DataStream<T> {
    const t = this.env.addVirtual({
      kind: "partition",
      input: this.transformation,
      partitioner,
      ...this.virtualBase(partitioner.kind),
    });
    return new DataStream(this.env, t);
  }

  /** @internal */
  virtualBase(name: string): Omit<TransformationBase, "id"> {
    return {
      name,
      uid: undefined,
      parallelism: undefined,
      maxParallelism: undefined,
      slotSharingGroup: undefined,
      chaining: "default",
      type: this.transformation.type,
    };
  }
}

export function toKeySelector<T>(key: unknown, what: string): KeySelector<T, unknown> {
  if (typeof key === "function") return key as KeySelector<T, unknown>;
  if (typeof key === "string" && key.length > 0) {
    return (v: T) => {
      const k = (v as Record<string, unknown>)?.[key];
      if (k === undefined) {
        throw new InvalidArgumentError(
          `${what}: record has no field '${key}' to key by: ${JSON.stringify(v)}`,
        );
      }
      return k;
    };
  }
  throw new InvalidArgumentError(`${what} needs a key selector function or a field name, got ${typeof key}`);
}

/** A stream produced by an operator: name it, give it a uid, parallelism, chaining hints, a type. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  private get op(): TransformationBase {
    return this.transformation;
  }

  name(name: string): this {
    if (typeof name !== "string" || name.length === 0)
      throw new InvalidArgumentError("name() needs a non-empty string");
    this.op.name = name;
    return this;
  }

  /** The stable id that ties this operator's state to checkpoints and savepoints. */
  uid(uid: string): this {
    if (typeof uid !== "string" || uid.length === 0)
      throw new InvalidArgumentError("uid() needs a non-empty string");
    this.op.uid = uid;
    return this;
  }

  setParallelism(parallelism: number): this {
    this.op.parallelism = checkPositive(parallelism, `setParallelism() of '${this.op.name}'`);
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.op.maxParallelism = checkPositive(maxParallelism, `setMaxParallelism() of '${this.op.name}'`);
    return this;
  }

  slotSharingGroup(group: string): this {
    if (typeof group !== "string" || group.length === 0) {
      throw new InvalidArgumentError("slotSharingGroup() needs a non-empty name");
    }
    this.op.slotSharingGroup = group;
    return this;
  }

  /** Never chain this operator to its predecessor or successor. */
  disableChaining(): this {
    this.op.chaining = "never";
    return this;
  }

  /** Begin a new chain at this operator (it may still chain to its successors). */
  startNewChain(): this {
    this.op.chaining = "head";
    return this;
  }

  /** Declare the type of this operator's output: a fast, checked serializer instead of the generic one. */
  returns<R>(type: TypeInformation<R>): SingleOutputStreamOperator<R> {
    if (type === null || typeof type !== "object" || typeof type.createSerializer !== "function") {
      throw new InvalidArgumentError("returns() needs a type such as Types.STRING or Types.OBJECT({...})");
    }
    this.op.type = type as TypeInformation<unknown>;
    return this as unknown as SingleOutputStreamOperator<R>;
  }

  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    const t = this.env.addVirtual({
      kind: "sideOutput",
      input: this.transformation,
      tag: tag as OutputTag<unknown>,
      ...this.virtualBase(`SideOutput(${tag.id})`),
      type: (tag.type ?? Types.GENERIC) as TypeInformation<unknown>,
    });
    return new DataStream<X>(this.env, t);
  }
}

export class DataStreamSink<T> {
  constructor(/** @internal */ readonly transformation: OperatorTransformation) {}
  name(name: string): this {
    this.transformation.name = name;
    return this;
  }
  uid(uid: string): this {
    this.transformation.uid = uid;
    return this;
  }
  setParallelism(parallelism: number): this {
    this.transformation.parallelism = checkPositive(parallelism, "setParallelism() of a sink");
    return this;
  }
  slotSharingGroup(group: string): this {
    if (typeof group !== "string" || group.length === 0) {
      throw new InvalidArgumentError("slotSharingGroup() of a sink needs a non-empty name");
    }
    this.transformation.slotSharingGroup = group;
    return this;
  }
  disableChaining(): this {
    this.transformation.chaining = "never";
    return this;
  }
  /** @internal phantom for the record type */
  declare readonly __type?: T;
}

/** The result of collect(): `values` holds every record once the job has finished. */
export class CollectHandle<T> extends DataStreamSink<T> {
  /** @internal */ readonly parts = new Map<number, T[]>();
  private readonly seen = new Set<string>();

  /** All collected records, subtask 0 first (records of one subtask in arrival order). */
  get values(): T[] {
    return [...this.parts.keys()].sort((a, b) => a - b).flatMap((k) => this.parts.get(k)!);
  }

  /** @internal */
  add(subtask: number, values: T[], txn?: string): void {
    if (txn !== undefined) {
      if (this.seen.has(txn)) return; // a replayed transaction after a restart
      this.seen.add(txn);
    }
    const list = this.parts.get(subtask);
    if (list === undefined) this.parts.set(subtask, [...values]);
    else for (const v of values) list.push(v);
    this.onValues?.(values);
  }

  /** @internal Told of each batch as it arrives (executeAndCollect with a limit). */
  onValues: ((values: T[]) => void) | undefined;

  /** @internal */
  reset(): void {
    this.seen.clear();
    this.parts.clear();
  }
}

export function checkPositive(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`${what} must be a positive integer, got ${n}`);
  }
  return n;
}

/**
 * KeyedStream and ConnectedStreams build on DataStream, so their modules import this one; to keep
 * the import graph acyclic, they register their classes here (see streams.ts) instead.
 */
interface StreamClasses {
  keyed: new (
    env: StreamExecutionEnvironment,
    t: Transformation,
    key: KeySelector<any, any>,
  ) => KeyedStream<any, any>;
  connected: new (
    env: StreamExecutionEnvironment,
    a: DataStream<any>,
    b: DataStream<any>,
  ) => ConnectedStreams<any, any>;
  broadcastConnected: (
    first: DataStream<any>,
    second: BroadcastStream<any>,
    keySelector: KeySelector<any, unknown> | undefined,
  ) => BroadcastConnectedStream<any, any> | KeyedBroadcastConnectedStream<any, any, any>;
}
export const streamClasses: Partial<StreamClasses> = {};
