// Process operators: ProcessFunction, KeyedProcessFunction and the two-input co-process family,
// with timers on keyed inputs.

import { InvalidJobError } from "../../core/errors.ts";
import type { Collector, OutputTag, RuntimeContext } from "../../core/functions.ts";
import type {
  CoProcessFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  OnTimerContext,
  ProcessFunction,
  TimeDomain,
  TimerService,
} from "../../core/process.ts";
import type { InternalTimer, InternalTimerService } from "../time/internal-timer-service.ts";
import { checkTimerTime } from "../time/timer-time.ts";
import { type KeyedContext, StreamOperator } from "./stream-operator.ts";

const VOID = 0;

/** The context handed to process functions; one per operator, reused for every record and timer. */
class Context implements OnTimerContext<unknown>, TimerService {
  domain: TimeDomain = "EVENT_TIME";
  constructor(private readonly op: ProcessOperatorBase) {}
  get runtime(): RuntimeContext {
    return this.op.runtimeContext();
  }
  timestamp(): number | undefined {
    const ts = this.op.contextTimestamp();
    return Number.isNaN(ts) ? undefined : ts;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.op.emitSide(tag.id, value);
  }
  getCurrentKey(): unknown {
    return this.op.currentKey();
  }
  timeDomain(): TimeDomain {
    return this.domain;
  }
  timerService(): TimerService {
    return this;
  }
  currentProcessingTime(): number {
    return this.op.processingTimeNow();
  }
  currentWatermark(): number {
    return this.op.watermark();
  }
  registerEventTimeTimer(time: number): void {
    const timers = this.op.timers();
    checkTimerTime(time, "registerEventTimeTimer", this.op.describe());
    timers.registerEventTimeTimer(VOID, time);
  }
  registerProcessingTimeTimer(time: number): void {
    const timers = this.op.timers();
    checkTimerTime(time, "registerProcessingTimeTimer", this.op.describe());
    timers.registerProcessingTimeTimer(VOID, time);
  }
  deleteEventTimeTimer(time: number): void {
    this.op.timers().deleteEventTimeTimer(VOID, time);
  }
  deleteProcessingTimeTimer(time: number): void {
    this.op.timers().deleteProcessingTimeTimer(VOID, time);
  }
}

abstract class ProcessOperatorBase extends StreamOperator {
  protected readonly ctx = new Context(this);
  protected collector!: Collector<unknown>;
  private timerService: InternalTimerService<number> | undefined;
  /** The time of the timer being fired (NaN outside onTimer): ctx.timestamp() there, in both domains, as Flink. */
  private firingTimerTime = Number.NaN;

  override async open(): Promise<void> {
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    if (this.keyed.some((k) => k !== undefined)) {
      this.timerService = this.getInternalTimerService<number>("user-timers", {
        onEventTime: (t) => this.fire(t, "EVENT_TIME"),
        onProcessingTime: (t) => this.fire(t, "PROCESSING_TIME"),
      });
    }
    await super.open();
  }
  runtimeContext(): RuntimeContext {
    return this.runtime;
  }
  /** What ctx.timestamp() tells: the firing timer's time in onTimer, else the record's timestamp. */
  contextTimestamp(): number {
    return Number.isNaN(this.firingTimerTime) ? this.element.timestamp : this.firingTimerTime;
  }
  emitSide(tagId: string, value: unknown): void {
    this.output.collectSide(tagId, value);
  }
  currentKey(): unknown {
    return this.keyed.find((k) => k !== undefined)?.backend.getCurrentKey();
  }
  processingTimeNow(): number {
    return this.processingTime.now();
  }
  watermark(): number {
    return this.currentWatermark;
  }
  describe(): string {
    return `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid})`;
  }
  timers(): InternalTimerService<number> {
    if (this.timerService === undefined) {
      throw new InvalidJobError(
        `${this.describe()} set a timer, but timers are only supported on keyed streams: call keyBy(...) before process(...)`,
      );
    }
    return this.timerService;
  }
  /** Make `value`'s key current (for state, timers and getCurrentKey) when input `input` is keyed. */
  protected selectKey(value: unknown, keyed: KeyedContext | undefined): void {
    if (keyed === undefined) return;
    const key = keyed.keySelector(value);
    keyed.backend.setCurrentKey(key, this.keyGroupOf(keyed, key));
  }
  private fire(timer: InternalTimer<number>, domain: TimeDomain): void {
    this.ctx.domain = domain;
    // Records emitted from a processing-time timer carry no timestamp; the context still tells the timer's time.
    this.element.timestamp = domain === "EVENT_TIME" ? timer.time : Number.NaN;
    this.firingTimerTime = timer.time;
    try {
      this.onTimer(timer.time);
    } finally {
      this.firingTimerTime = Number.NaN;
    }
  }
  protected onTimer(_time: number): void {}
}

export class ProcessOperator extends ProcessOperatorBase {
  constructor(private readonly fn: ProcessFunction<unknown, unknown>) {
    super(fn);
  }
  processElement(value: unknown): void {
    this.fn.processElement(value, this.ctx, this.collector);
  }
}

export class KeyedProcessOperator extends ProcessOperatorBase {
  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    super(fn);
  }
  processElement(value: unknown): void {
    this.selectKey(value, this.keyed[0]);
    this.fn.processElement(value, this.ctx, this.collector);
  }
  protected override onTimer(time: number): void {
    this.fn.onTimer?.(time, this.ctx, this.collector);
  }
}

/** Two inputs; keyed when the connected streams were keyed. */
export class CoProcessOperator extends ProcessOperatorBase {
  constructor(
    private readonly fn:
      | CoProcessFunction<unknown, unknown, unknown>
      | KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
  ) {
    super(fn);
  }
  processElement(value: unknown, input: number): void {
    this.selectKey(value, this.keyed[input]);
    if (input === 0) this.fn.processElement1(value, this.ctx, this.collector);
    else this.fn.processElement2(value, this.ctx, this.collector);
  }
  protected override onTimer(time: number): void {
    (this.fn as KeyedCoProcessFunction<unknown, unknown, unknown, unknown>).onTimer?.(
      time,
      this.ctx,
      this.collector,
    );
  }
}
