// The broadcast state pattern: `stream.connect(broadcastStream).process(fn)`. A non-keyed stream
// takes a BroadcastProcessFunction, a keyed stream a KeyedBroadcastProcessFunction (keyed state and
// timers on the keyed side). The broadcast input reaches every subtask of the operator.

import { InvalidArgumentError } from "../core/errors.ts";
import type { KeySelector } from "../core/functions.ts";
import type { BroadcastProcessFunction, KeyedBroadcastProcessFunction } from "../core/process.ts";
import { BroadcastProcessOperator } from "../runtime/operators/broadcast-process.ts";
import type { BroadcastStream } from "./broadcast-stream.ts";
import { type DataStream, SingleOutputStreamOperator } from "./data-stream.ts";
import { instanceOf, requireMethods } from "./function-forms.ts";

const METHODS = ["processElement", "processBroadcastElement"];

/** A non-keyed stream connected to a broadcast stream. */
export class BroadcastConnectedStream<IN1, IN2> {
  constructor(
    /** @internal */ readonly first: DataStream<IN1>,
    /** @internal */ readonly second: BroadcastStream<IN2>,
  ) {}

  process<O>(
    fn: BroadcastProcessFunction<IN1, IN2, O>,
    name = "Broadcast Process",
  ): SingleOutputStreamOperator<O> {
    requireMethods(fn, METHODS, "BroadcastConnectedStream.process()");
    return connectBroadcast(this.first, this.second, undefined, fn, name);
  }
}

/** A keyed stream connected to a broadcast stream. */
export class KeyedBroadcastConnectedStream<K, IN1, IN2> {
  constructor(
    /** @internal */ readonly first: DataStream<IN1>,
    /** @internal */ readonly second: BroadcastStream<IN2>,
    /** @internal */ readonly keySelector: KeySelector<IN1, K>,
  ) {}

  process<O>(
    fn: KeyedBroadcastProcessFunction<K, IN1, IN2, O>,
    name = "Keyed Broadcast Process",
  ): SingleOutputStreamOperator<O> {
    requireMethods(fn, METHODS, "KeyedBroadcastConnectedStream.process()");
    return connectBroadcast(this.first, this.second, this.keySelector, fn, name);
  }
}

function connectBroadcast<O>(
  first: DataStream<any>,
  second: BroadcastStream<any>,
  keySelector: KeySelector<any, unknown> | undefined,
  fn: BroadcastProcessFunction<any, any, O> | KeyedBroadcastProcessFunction<any, any, any, O>,
  name: string,
): SingleOutputStreamOperator<O> {
  const env = first.env;
  const descriptors = second.descriptors;
  const t = env.addOperator({
    name,
    inputs: [first.transformation, second.transformation],
    factory: () =>
      new BroadcastProcessOperator(
        instanceOf(fn) as BroadcastProcessFunction<unknown, unknown, unknown>,
        descriptors,
      ),
    type: env.genericType(),
    keySelectors: [keySelector, undefined],
    isSink: false,
  });
  return new SingleOutputStreamOperator<O>(env, t);
}

/** `stream.connect(broadcastStream)`: keyed when `first` is a KeyedStream (`keySelector` given). */
export function connectToBroadcast(
  first: DataStream<any>,
  second: BroadcastStream<any>,
  keySelector: KeySelector<any, unknown> | undefined,
): BroadcastConnectedStream<any, any> | KeyedBroadcastConnectedStream<any, any, any> {
  if (second.env !== first.env) {
    throw new InvalidArgumentError("connect() takes a broadcast stream of the same environment");
  }
  return keySelector === undefined
    ? new BroadcastConnectedStream(first, second)
    : new KeyedBroadcastConnectedStream(first, second, keySelector);
}
