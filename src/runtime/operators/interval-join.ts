// The interval join operator (Flink's IntervalJoinOperator): two keyed inputs; a left element at
// time t joins every right element of the same key at a time in [t + lower, t + upper]. Each side
// is buffered in keyed state by timestamp, and an event-time timer drops a buffered element once
// the watermark shows that no element of the other side can join it any more. Elements behind
// the watermark (timestamp < watermark, as in Flink) are late: dropped and counted, or sent to a
// side output.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { Collector, Counter, OutputTag, RichFunction, RuntimeContext } from "../../core/functions.ts";
import { type ValueState, ValueStateDescriptor } from "../../core/state.ts";
import type { InternalTimer, InternalTimerService } from "../time/internal-timer-service.ts";
import { type Output, StreamOperator } from "./stream-operator.ts";

/** What a ProcessJoinFunction sees of a joined pair. */
export interface ProcessJoinContext {
  readonly leftTimestamp: number;
  readonly rightTimestamp: number;
  /** The timestamp of the result: the larger of the two. */
  readonly timestamp: number;
  output<X>(tag: OutputTag<X>, value: X): void;
  readonly runtime: RuntimeContext;
}

export interface ProcessJoinFunction<L, R, O> extends RichFunction {
  processElement(left: L, right: R, ctx: ProcessJoinContext, out: Collector<O>): void;
}

export interface IntervalJoinSpec {
  lower: number;
  upper: number;
  lowerExclusive: boolean;
  upperExclusive: boolean;
  leftLateTag: string | undefined;
  rightLateTag: string | undefined;
}

/** Input index (and timer namespace) of the left side; the right side is 1. */
const LEFT = 0;

/** One side's buffer of the current key: timestamp → elements at that timestamp. */
type Buffer = Map<number, unknown[]>;

/** The context of one joined pair; one per operator, reused. */
class JoinContext implements ProcessJoinContext {
  leftTimestamp = 0;
  rightTimestamp = 0;
  timestamp = 0;
  constructor(
    readonly runtime: RuntimeContext,
    private readonly out: Output,
  ) {}
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value);
  }
}

export class IntervalJoinOperator extends StreamOperator {
  private ctx!: JoinContext;
  /** Late elements dropped (not sent to a side output); accumulator `<operator name>.numLateRecordsDropped`. */
  private lateDropped!: Counter;
  private buffers!: [ValueState<Buffer>, ValueState<Buffer>];
  private timers!: InternalTimerService<number>;
  private collector!: Collector<unknown>;

  constructor(
    private readonly fn: ProcessJoinFunction<unknown, unknown, unknown>,
    private readonly spec: IntervalJoinSpec,
  ) {
    super(fn);
  }

  override async open(): Promise<void> {
    const keyed = this.keyed[0];
    if (keyed === undefined || this.keyed[1] === undefined) {
      throw new InvalidArgumentError(
        `interval join '${this.opName()}' needs two keyed inputs: keyedA.intervalJoin(keyedB)`,
      );
    }
    this.buffers = [
      keyed.backend.getState(new ValueStateDescriptor<Buffer>("interval-join-left-buffer")),
      keyed.backend.getState(new ValueStateDescriptor<Buffer>("interval-join-right-buffer")),
    ];
    this.timers = this.getInternalTimerService<number>("interval-join-cleanup", {
      onEventTime: (t) => this.cleanup(t),
      onProcessingTime: () => {},
    });
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    this.ctx = new JoinContext(this.runtime, output);
    this.lateDropped = this.runtime.getCounter(`${this.runtime.operatorName}.numLateRecordsDropped`);
    await super.open();
  }

  processElement(value: unknown, input: number): void {
    const ts = this.element.timestamp;
    if (Number.isNaN(ts)) {
      throw new InvalidArgumentError(
        `interval join '${this.opName()}': a record of the ${input === LEFT ? "left" : "right"} input has no timestamp; the interval join works in event time: assign timestamps with a WatermarkStrategy (at the source or with assignTimestampsAndWatermarks)`,
      );
    }
    const keyed = this.keyed[input]!;
    const key = keyed.keySelector(value);
    keyed.backend.setCurrentKey(key, this.keyGroupOf(keyed, key));
    // Late means behind the watermark (Flink's rule): an element at the watermark still joins.
    if (ts < this.currentWatermark) {
      const tag = input === LEFT ? this.spec.leftLateTag : this.spec.rightLateTag;
      if (tag !== undefined) this.output.collectSide(tag, value);
      else this.lateDropped.add(1);
      return;
    }
    const own = this.buffers[input]!;
    let buffer = own.value();
    if (buffer === undefined) {
      buffer = new Map();
      own.update(buffer);
    }
    const list = buffer.get(ts);
    if (list === undefined) buffer.set(ts, [value]);
    else list.push(value);

    const other = this.buffers[1 - input]!.value();
    if (other !== undefined && other.size > 0) {
      const { lower, upper, lowerExclusive, upperExclusive } = this.spec;
      for (const [otherTs, values] of other) {
        // left at l joins right at r when l + lower <= r <= l + upper (or strictly)
        const l = input === LEFT ? ts : otherTs;
        const r = input === LEFT ? otherTs : ts;
        const from = l + lower;
        const to = l + upper;
        if (lowerExclusive ? r <= from : r < from) continue;
        if (upperExclusive ? r >= to : r > to) continue;
        for (const v of values) {
          if (input === LEFT) this.emit(value, v, ts, otherTs);
          else this.emit(v, value, otherTs, ts);
        }
      }
    }
    // Once the watermark passes this time, no element of the other side can join this one.
    const cleanupAt = input === LEFT ? ts + Math.max(0, this.spec.upper) : ts + Math.max(0, -this.spec.lower);
    this.timers.registerEventTimeTimer(input, cleanupAt);
    this.element.timestamp = ts;
  }

  private emit(left: unknown, right: unknown, leftTs: number, rightTs: number): void {
    const ctx = this.ctx;
    ctx.leftTimestamp = leftTs;
    ctx.rightTimestamp = rightTs;
    ctx.timestamp = Math.max(leftTs, rightTs);
    this.element.timestamp = ctx.timestamp;
    this.fn.processElement(left, right, ctx, this.collector);
  }

  private cleanup(timer: InternalTimer<number>): void {
    const side = timer.namespace;
    const ts =
      side === LEFT ? timer.time - Math.max(0, this.spec.upper) : timer.time - Math.max(0, -this.spec.lower);
    const state = this.buffers[side]!;
    const buffer = state.value();
    if (buffer === undefined) return;
    buffer.delete(ts);
    if (buffer.size === 0) state.clear();
  }

  private opName(): string {
    return this.runtime.operatorName;
  }
}
