// Window join and coGroup, built on windows as Flink builds them: both inputs are tagged and
// unioned, keyed by their join keys, cut into windows by the given assigner, and a window
// function splits each window's elements back into the left and the right side.
//
//   a.join(b).where(keyA).equalTo(keyB).window(assigner).apply((l, r) => ...)       every pair
//   a.coGroup(b).where(keyA).equalTo(keyB).window(assigner).apply(coGroupFn)        both groups
//
// The assigner, trigger and evictor see the tagged elements ({ side, value }), as in Flink:
// assigners that look only at timestamps (tumbling, sliding, sessions with a static gap, global)
// are unaffected.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { Collector, KeySelector, RichFunction, RuntimeContext } from "../../core/functions.ts";
import type {
  Evictor,
  Trigger,
  Window,
  WindowAssigner,
} from "../../runtime/operators/window/window-contracts.ts";
import type { WindowFunction } from "../../runtime/operators/window/window-functions.ts";
import type { DataStream, SingleOutputStreamOperator } from "../data-stream.ts";

/** An element of either input inside a join's windows. */
export interface TaggedUnion<L, R> {
  /** 0 = left (first) input, 1 = right (second) input. */
  readonly side: 0 | 1;
  readonly value: L | R;
}

export interface CoGroupFunction<L, R, O> extends RichFunction {
  /** All elements of one key and window: either side may be empty (never both). */
  coGroup(left: readonly L[], right: readonly R[], out: Collector<O>): void;
}

export interface JoinFunction<L, R, O> extends RichFunction {
  join(left: L, right: R): O;
}

/** A join function with a collector: zero or more results per pair. */
export interface FlatJoinFunction<L, R, O> extends RichFunction {
  join(left: L, right: R, out: Collector<O>): void;
}

export type CoGroupFn<L, R, O> =
  | CoGroupFunction<L, R, O>
  | ((left: readonly L[], right: readonly R[], out: Collector<O>) => void);

/**
 * A JoinFunction (returns the joined value) or a FlatJoinFunction (takes a collector as its third
 * parameter: a function or `join` method declared with three parameters is a flat join).
 */
export type JoinFn<L, R, O> =
  | JoinFunction<L, R, O>
  | FlatJoinFunction<L, R, O>
  | ((left: L, right: R) => O)
  | ((left: L, right: R, out: Collector<O>) => void);

type Kind = "join" | "coGroup";

/** `a.coGroup(b)` / `a.join(b)`: name the key of the left input next. */
export class TwoInputWindowBuilder<L, R, J> {
  constructor(
    private readonly kind: Kind,
    private readonly left: DataStream<L>,
    private readonly right: DataStream<R>,
  ) {
    if (typeof right !== "object" || right === null || right.env !== left.env) {
      throw new InvalidArgumentError(`${kind}() takes a DataStream of the same environment`);
    }
  }

  /** The key of the left input. */
  where<K>(keyLeft: KeySelector<L, K>): Where<L, R, K, J> {
    checkKey(keyLeft, `${this.kind}().where()`);
    return new Where<L, R, K, J>(this.kind, this.left, this.right, keyLeft);
  }
}

export class Where<L, R, K, J> {
  constructor(
    private readonly kind: Kind,
    private readonly left: DataStream<L>,
    private readonly right: DataStream<R>,
    private readonly keyLeft: KeySelector<L, K>,
  ) {}

  /** The key of the right input: elements with equal keys meet. */
  equalTo(keyRight: KeySelector<R, K>): EqualTo<L, R, K, J> {
    checkKey(keyRight, `${this.kind}().equalTo()`);
    return new EqualTo<L, R, K, J>(this.kind, this.left, this.right, this.keyLeft, keyRight);
  }
}

export class EqualTo<L, R, K, J> {
  constructor(
    private readonly kind: Kind,
    private readonly left: DataStream<L>,
    private readonly right: DataStream<R>,
    private readonly keyLeft: KeySelector<L, K>,
    private readonly keyRight: KeySelector<R, K>,
  ) {}

  window<W extends Window>(
    assigner: WindowAssigner<TaggedUnion<L, R>, W>,
  ): J extends "join" ? JoinedWindow<L, R, K, W> : CoGroupedWindow<L, R, K, W> {
    const args = [this.left, this.right, this.keyLeft, this.keyRight, assigner] as const;
    return (this.kind === "join" ? new JoinedWindow(...args) : new CoGroupedWindow(...args)) as never;
  }
}

/** The join or coGroup with its windows; `apply` makes the operator. */
abstract class WithWindow<L, R, K, W extends Window> {
  private triggerValue: Trigger<TaggedUnion<L, R>, W> | undefined;
  private evictorValue: Evictor<TaggedUnion<L, R>, W> | undefined;
  private lateness: number | undefined;
  protected abstract readonly kind: Kind;

  constructor(
    private readonly left: DataStream<L>,
    private readonly right: DataStream<R>,
    private readonly keyLeft: KeySelector<L, K>,
    private readonly keyRight: KeySelector<R, K>,
    private readonly assigner: WindowAssigner<TaggedUnion<L, R>, W>,
  ) {}

  trigger(trigger: Trigger<TaggedUnion<L, R>, W>): this {
    this.triggerValue = trigger;
    return this;
  }

  evictor(evictor: Evictor<TaggedUnion<L, R>, W>): this {
    this.evictorValue = evictor;
    return this;
  }

  allowedLateness(ms: number): this {
    this.lateness = ms;
    return this;
  }

  protected build<O>(wf: WindowFunction<TaggedUnion<L, R>, O, K, W>): SingleOutputStreamOperator<O> {
    const { keyLeft, keyRight } = this;
    const tagLeft = this.left.map(
      (value: L): TaggedUnion<L, R> => ({ side: 0, value }),
      `${this.kind}: tag left`,
    );
    const tagRight = this.right.map(
      (value: R): TaggedUnion<L, R> => ({ side: 1, value }),
      `${this.kind}: tag right`,
    );
    let windowed = tagLeft
      .union(tagRight)
      .keyBy((t: TaggedUnion<L, R>) => (t.side === 0 ? keyLeft(t.value as L) : keyRight(t.value as R)))
      .window(this.assigner);
    if (this.triggerValue !== undefined) windowed = windowed.trigger(this.triggerValue);
    if (this.evictorValue !== undefined) windowed = windowed.evictor(this.evictorValue);
    if (this.lateness !== undefined) windowed = windowed.allowedLateness(this.lateness);
    return windowed.apply(wf).name(this.kind === "join" ? "Window Join" : "Window CoGroup");
  }
}

export class JoinedWindow<L, R, K, W extends Window> extends WithWindow<L, R, K, W> {
  protected readonly kind = "join";
  /** Every (left, right) pair of a key and window: one result per pair. */
  apply<O>(fn: (left: L, right: R) => O): SingleOutputStreamOperator<O>;
  apply<O>(fn: JoinFunction<L, R, O>): SingleOutputStreamOperator<O>;
  /** Every pair, with a collector: zero or more results per pair. */
  apply<O>(
    fn: FlatJoinFunction<L, R, O> | ((left: L, right: R, out: Collector<O>) => void),
  ): SingleOutputStreamOperator<O>;
  apply<O>(fn: JoinFn<L, R, O>): SingleOutputStreamOperator<O> {
    return this.build(joinWindowFunction<L, R, K, W, O>(fn));
  }
}

export class CoGroupedWindow<L, R, K, W extends Window> extends WithWindow<L, R, K, W> {
  protected readonly kind = "coGroup";
  /** Both groups of a key and window (one of them may be empty). */
  apply<O>(fn: CoGroupFn<L, R, O>): SingleOutputStreamOperator<O> {
    return this.build(coGroupWindowFunction<L, R, K, W, O>(fn));
  }
}

function split<L, R>(input: readonly TaggedUnion<L, R>[]): [L[], R[]] {
  const left: L[] = [];
  const right: R[] = [];
  for (const t of input) {
    if (t.side === 0) left.push(t.value as L);
    else right.push(t.value as R);
  }
  return [left, right];
}

/** A WindowFunction that carries the user function's open/close. */
function withLifecycle<T extends object>(user: RichFunction | undefined, wf: T): T & RichFunction {
  const f = wf as T & RichFunction;
  if (typeof user?.open === "function") f.open = (ctx: RuntimeContext) => user.open!(ctx);
  if (typeof user?.close === "function") f.close = () => user.close!();
  return f;
}

function coGroupWindowFunction<L, R, K, W extends Window, O>(
  fn: CoGroupFn<L, R, O>,
): WindowFunction<TaggedUnion<L, R>, O, K, W> {
  const user = typeof fn === "object" && fn !== null ? fn : undefined;
  const coGroup =
    typeof fn === "function" ? fn : typeof user?.coGroup === "function" ? user.coGroup.bind(user) : undefined;
  if (coGroup === undefined) {
    throw new InvalidArgumentError(
      "coGroup().apply() needs a CoGroupFunction: an object with coGroup(left, right, out), or that function",
    );
  }
  return withLifecycle(user, {
    apply(_key: K, _window: W, input: readonly TaggedUnion<L, R>[], out: Collector<O>): void {
      const [left, right] = split(input);
      coGroup(left, right, out);
    },
  });
}

function joinWindowFunction<L, R, K, W extends Window, O>(
  fn: JoinFn<L, R, O>,
): WindowFunction<TaggedUnion<L, R>, O, K, W> {
  const user = typeof fn === "object" && fn !== null ? fn : undefined;
  const join =
    typeof fn === "function"
      ? fn
      : typeof user?.join === "function"
        ? (user.join.bind(user) as (l: L, r: R, out?: Collector<O>) => O | undefined)
        : undefined;
  if (join === undefined) {
    throw new InvalidArgumentError(
      "join().apply() needs a JoinFunction (join(left, right) returns the result), a FlatJoinFunction (join(left, right, out)), or such a function",
    );
  }
  // The declared arity of the user's function tells a flat join (with a collector) from a plain one.
  const flat =
    (typeof fn === "function" ? fn.length : (user!.join as (...a: unknown[]) => unknown).length) >= 3;
  const call = join as (l: L, r: R, out?: Collector<O>) => O | undefined;
  return withLifecycle(user, {
    apply(_key: K, _window: W, input: readonly TaggedUnion<L, R>[], out: Collector<O>): void {
      const [left, right] = split(input);
      if (left.length === 0 || right.length === 0) return;
      for (const l of left) {
        for (const r of right) {
          if (flat) call(l, r, out);
          else out.collect(call(l, r) as O);
        }
      }
    },
  });
}

function checkKey(key: unknown, what: string): void {
  if (typeof key !== "function") {
    throw new InvalidArgumentError(`${what} needs a key selector function, e.g. (e) => e.id`);
  }
}
