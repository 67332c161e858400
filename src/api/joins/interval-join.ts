// The interval join API: keyedA.intervalJoin(keyedB).between(lower, upper).process(fn). Joins each
// left element at time t with the right elements of the same key in [t + lower, t + upper], in
// event time. See runtime/operators/interval-join.ts for buffering, cleanup and late elements.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { Collector, KeySelector, OutputTag } from "../../core/functions.ts";
import {
  IntervalJoinOperator,
  type IntervalJoinSpec,
  type ProcessJoinContext,
  type ProcessJoinFunction,
} from "../../runtime/operators/interval-join.ts";
import { SingleOutputStreamOperator } from "../data-stream.ts";
import type { KeyedStream } from "../keyed-stream.ts";

export type { ProcessJoinContext, ProcessJoinFunction };

/** A ProcessJoinFunction, or just its processElement as a plain function. */
export type ProcessJoinFn<L, R, O> =
  | ProcessJoinFunction<L, R, O>
  | ((left: L, right: R, ctx: ProcessJoinContext, out: Collector<O>) => void);

export class IntervalJoin<L, R, K> {
  constructor(
    private readonly left: KeyedStream<L, K>,
    private readonly right: KeyedStream<R, K>,
  ) {}

  /**
   * Join a left element at time t with the right elements at times in [t + lowerMs, t + upperMs]
   * (both bounds inclusive unless made exclusive). Bounds may be negative; lowerMs <= upperMs.
   */
  between(lowerMs: number, upperMs: number): IntervalJoined<L, R, K> {
    if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs)) {
      throw new InvalidArgumentError(
        `intervalJoin().between() needs finite bounds in ms, got ${lowerMs}, ${upperMs}`,
      );
    }
    if (lowerMs > upperMs) {
      throw new InvalidArgumentError(
        `intervalJoin().between(${lowerMs}, ${upperMs}): the lower bound must be <= the upper bound`,
      );
    }
    return new IntervalJoined(this.left, this.right, {
      lower: lowerMs,
      upper: upperMs,
      lowerExclusive: false,
      upperExclusive: false,
      leftLateTag: undefined,
      rightLateTag: undefined,
    });
  }
}

export class IntervalJoined<L, R, K> {
  constructor(
    private readonly left: KeyedStream<L, K>,
    private readonly right: KeyedStream<R, K>,
    private readonly spec: IntervalJoinSpec,
  ) {}

  /** Right elements exactly at t + lower do not join. */
  lowerBoundExclusive(): this {
    this.spec.lowerExclusive = true;
    return this;
  }

  /** Right elements exactly at t + upper do not join. */
  upperBoundExclusive(): this {
    this.spec.upperExclusive = true;
    return this;
  }

  /** Left elements behind the watermark (timestamp < watermark) go to this side output (instead of being dropped). */
  sideOutputLeftLateData(tag: OutputTag<L>): this {
    this.spec.leftLateTag = checkTag(tag, "sideOutputLeftLateData()");
    return this;
  }

  /** Right elements behind the watermark (timestamp < watermark) go to this side output (instead of being dropped). */
  sideOutputRightLateData(tag: OutputTag<R>): this {
    this.spec.rightLateTag = checkTag(tag, "sideOutputRightLateData()");
    return this;
  }

  process<O>(fn: ProcessJoinFn<L, R, O>, name = "IntervalJoin"): SingleOutputStreamOperator<O> {
    const f: ProcessJoinFunction<L, R, O> =
      typeof fn === "function" ? { processElement: fn } : (fn as ProcessJoinFunction<L, R, O>);
    if (typeof f !== "object" || f === null || typeof f.processElement !== "function") {
      throw new InvalidArgumentError(
        "intervalJoin().process() needs a ProcessJoinFunction: an object with processElement(left, right, ctx, out), or that function",
      );
    }
    const { lower, upper, lowerExclusive, upperExclusive } = this.spec;
    if (lower === upper && (lowerExclusive || upperExclusive)) {
      throw new InvalidArgumentError(
        `intervalJoin().between(${lower}, ${upper}) with an exclusive bound can never join anything`,
      );
    }
    const spec = { ...this.spec };
    const env = this.left.env;
    if (this.right.env !== env)
      throw new InvalidArgumentError("intervalJoin() takes a stream of the same environment");
    const t = env.addOperator({
      name,
      inputs: [this.left.transformation, this.right.transformation],
      factory: () => new IntervalJoinOperator(f as ProcessJoinFunction<unknown, unknown, unknown>, spec),
      type: env.genericType(),
      keySelectors: [
        this.left.keySelector as KeySelector<unknown, unknown>,
        this.right.keySelector as KeySelector<unknown, unknown>,
      ],
      isSink: false,
    });
    return new SingleOutputStreamOperator<O>(env, t);
  }
}

function checkTag(tag: OutputTag<unknown>, what: string): string {
  if (typeof tag !== "object" || tag === null || typeof tag.id !== "string") {
    throw new InvalidArgumentError(`${what} needs an OutputTag, e.g. new OutputTag<T>('late-left')`);
  }
  return tag.id;
}
