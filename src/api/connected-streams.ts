// ConnectedStreams: two streams of possibly different types feeding one two-input operator,
// optionally keyed on both sides (then the function sees keyed state of the shared key).

import type { CheckpointedFunction } from "../core/checkpointed-function.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import type { Collector, KeySelector, RichFunction } from "../core/functions.ts";
import type {
  CoFlatMapFunction,
  CoMapFunction,
  CoProcessFunction,
  KeyedCoProcessFunction,
} from "../core/process.ts";
import { CoProcessOperator } from "../runtime/operators/process.ts";
import type { DataStream, SingleOutputStreamOperator } from "./data-stream.ts";
import { SingleOutputStreamOperator as SOSO, toKeySelector } from "./data-stream.ts";
import type { StreamExecutionEnvironment } from "./environment.ts";
import { instanceOf, requireMethods } from "./function-forms.ts";

export class ConnectedStreams<A, B> {
  constructor(
    readonly env: StreamExecutionEnvironment,
    readonly first: DataStream<A>,
    readonly second: DataStream<B>,
    private readonly keys: [KeySelector<A, unknown>, KeySelector<B, unknown>] | undefined = undefined,
  ) {}

  /** Key both inputs: records of equal keys meet in the same subtask and share keyed state. */
  keyBy<K>(keyA: KeySelector<A, K>, keyB: KeySelector<B, K>): ConnectedStreams<A, B> {
    const ka = toKeySelector<A>(keyA, "ConnectedStreams.keyBy()");
    const kb = toKeySelector<B>(keyB, "ConnectedStreams.keyBy()");
    return new ConnectedStreams(this.env, this.first.keyBy(ka), this.second.keyBy(kb), [ka, kb]);
  }

  map<O>(fn: CoMapFunction<A, B, O>, name = "CoMap"): SingleOutputStreamOperator<O> {
    requireMethods(fn, ["map1", "map2"], "ConnectedStreams.map()");
    return this.coProcess<O>(() => {
      const f = instanceOf(fn);
      return {
        ...lifecycleOf(f),
        processElement1: (v: A, _ctx: unknown, out: Collector<O>) => out.collect(f.map1(v)),
        processElement2: (v: B, _ctx: unknown, out: Collector<O>) => out.collect(f.map2(v)),
      };
    }, name);
  }

  flatMap<O>(fn: CoFlatMapFunction<A, B, O>, name = "CoFlatMap"): SingleOutputStreamOperator<O> {
    requireMethods(fn, ["flatMap1", "flatMap2"], "ConnectedStreams.flatMap()");
    return this.coProcess<O>(() => {
      const f = instanceOf(fn);
      return {
        ...lifecycleOf(f),
        processElement1: (v: A, _ctx: unknown, out: Collector<O>) => f.flatMap1(v, out),
        processElement2: (v: B, _ctx: unknown, out: Collector<O>) => f.flatMap2(v, out),
      };
    }, name);
  }

  process<O>(
    fn: CoProcessFunction<A, B, O> | KeyedCoProcessFunction<unknown, A, B, O>,
    name = "CoProcess",
  ): SingleOutputStreamOperator<O> {
    requireMethods(fn, ["processElement1", "processElement2"], "ConnectedStreams.process()");
    return this.coProcess<O>(() => instanceOf(fn) as CoProcessFunction<A, B, O>, name);
  }

  private coProcess<O>(make: () => CoProcessFunction<A, B, O>, name: string): SingleOutputStreamOperator<O> {
    if (this.first.env !== this.second.env)
      throw new InvalidArgumentError("connected streams must share an environment");
    const t = this.env.addOperator({
      name,
      inputs: [this.first.transformation, this.second.transformation],
      factory: () => new CoProcessOperator(make() as CoProcessFunction<unknown, unknown, unknown>),
      type: this.env.genericType(),
      keySelectors: this.keys === undefined ? [undefined, undefined] : [this.keys[0], this.keys[1]],
      isSink: false,
    });
    return new SOSO<O>(this.env, t);
  }
}

/** The lifecycle methods of a wrapped user function (open/close, CheckpointedFunction), bound to it. */
function lifecycleOf(
  f: RichFunction & Partial<CheckpointedFunction>,
): RichFunction & Partial<CheckpointedFunction> {
  return {
    open: f.open?.bind(f),
    close: f.close?.bind(f),
    initializeState: f.initializeState?.bind(f),
    snapshotState: f.snapshotState?.bind(f),
  };
}
