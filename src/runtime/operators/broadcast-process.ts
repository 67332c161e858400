// The broadcast process operator: input 0 is the non-broadcast stream (keyed or not), input 1 the
// broadcast stream, which reaches every subtask. Broadcast state lives in the operator state store
// (checkpointed with mode "broadcast", restored on every subtask); only input 1 may write it.

import { InvalidArgumentError, InvalidJobError } from "../../core/errors.ts";
import type { Collector, OutputTag, RuntimeContext } from "../../core/functions.ts";
import type {
  BroadcastProcessFunction,
  KeyedBroadcastContext,
  KeyedBroadcastOnTimerContext,
  KeyedBroadcastProcessFunction,
  KeyedStateOf,
  TimeDomain,
  TimerService,
} from "../../core/process.ts";
import type {
  BroadcastState,
  MapStateDescriptor,
  ReadOnlyBroadcastState,
  StateDescriptor,
} from "../../core/state.ts";
import type { InternalTimer, InternalTimerService } from "../time/internal-timer-service.ts";
import { checkTimerTime } from "../time/timer-time.ts";
import { StreamOperator } from "./stream-operator.ts";

const VOID = 0;

type AnyBroadcastFunction =
  | BroadcastProcessFunction<unknown, unknown, unknown>
  | KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>;

/** What both contexts share: times, side outputs, the runtime. */
abstract class BaseContext {
  constructor(protected readonly op: BroadcastProcessOperator) {}
  get runtime(): RuntimeContext {
    return this.op.runtimeContext();
  }
  timestamp(): number | undefined {
    const ts = this.op.contextTimestamp();
    return Number.isNaN(ts) ? undefined : ts;
  }
  currentProcessingTime(): number {
    return this.op.processingTimeNow();
  }
  currentWatermark(): number {
    return this.op.watermark();
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.op.emitSide(tag.id, value);
  }
}

/** processElement and onTimer: broadcast state read-only, current key and timers (keyed). */
class ReadOnlyContext extends BaseContext implements KeyedBroadcastOnTimerContext<unknown>, TimerService {
  domain: TimeDomain = "EVENT_TIME";
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    return this.op.readOnlyBroadcastState(descriptor);
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

/** processBroadcastElement: broadcast state writable; keyed state of every key via applyToKeyedState. */
class WritableContext extends BaseContext implements KeyedBroadcastContext<unknown> {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    return this.op.broadcastState(descriptor);
  }
  applyToKeyedState<D extends StateDescriptor<any>>(
    descriptor: D,
    fn: (key: unknown, state: KeyedStateOf<D>) => void,
  ): void {
    this.op.applyToKeyedState(descriptor, fn);
  }
}

export class BroadcastProcessOperator extends StreamOperator {
  private readonly readOnlyCtx = new ReadOnlyContext(this);
  private readonly writableCtx = new WritableContext(this);
  private collector!: Collector<unknown>;
  private timerService: InternalTimerService<number> | undefined;
  private readonly declared: Map<string, MapStateDescriptor<unknown, unknown>>;
  private readonly writable = new Map<MapStateDescriptor<any, any>, BroadcastState<any, any>>();
  /** The time of the timer being fired (NaN outside onTimer): ctx.timestamp() there, in both domains, as Flink. */
  private firingTimerTime = Number.NaN;
  private readonly readOnly = new Map<MapStateDescriptor<any, any>, ReadOnlyBroadcastState<any, any>>();

  constructor(
    private readonly fn: AnyBroadcastFunction,
    /** The descriptors given to broadcast(...): the only broadcast states this operator has. */
    descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    super(fn);
    this.declared = new Map(descriptors.map((d) => [d.name, d]));
  }

  override async open(): Promise<void> {
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    // Register every declared state, so that it is in the snapshots even while empty.
    const store = this.runtime.getOperatorStateStore();
    for (const d of this.declared.values()) store.getBroadcastState(d);
    if (this.keyed[0] !== undefined) {
      this.timerService = this.getInternalTimerService<number>("user-timers", {
        onEventTime: (t) => this.fire(t, "EVENT_TIME"),
        onProcessingTime: (t) => this.fire(t, "PROCESSING_TIME"),
      });
    }
    await super.open();
  }

  processElement(value: unknown, input: number): void {
    if (input === 0) {
      const keyed = this.keyed[0];
      if (keyed !== undefined) {
        const key = keyed.keySelector(value);
        keyed.backend.setCurrentKey(key, this.keyGroupOf(keyed, key));
      }
      this.fn.processElement(value, this.readOnlyCtx, this.collector);
    } else {
      this.fn.processBroadcastElement(value, this.writableCtx, this.collector);
    }
  }

  private fire(timer: InternalTimer<number>, domain: TimeDomain): void {
    this.readOnlyCtx.domain = domain;
    // Records emitted from a processing-time timer carry no timestamp; the context still tells the timer's time.
    this.element.timestamp = domain === "EVENT_TIME" ? timer.time : Number.NaN;
    this.firingTimerTime = timer.time;
    try {
      (this.fn as KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>).onTimer?.(
        timer.time,
        this.readOnlyCtx,
        this.collector,
      );
    } finally {
      this.firingTimerTime = Number.NaN;
    }
  }

  // ---- for the contexts ----------------------------------------------------------------

  broadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    let state = this.writable.get(descriptor);
    if (state === undefined) {
      this.checkDeclared(descriptor);
      state = this.runtime.getOperatorStateStore().getBroadcastState(descriptor);
      this.writable.set(descriptor, state);
    }
    return state;
  }

  readOnlyBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    let state = this.readOnly.get(descriptor);
    if (state === undefined) {
      this.checkDeclared(descriptor);
      state = this.runtime.getOperatorStateStore().getReadOnlyBroadcastState(descriptor);
      this.readOnly.set(descriptor, state);
    }
    return state;
  }

  applyToKeyedState(descriptor: StateDescriptor<any>, fn: (key: unknown, state: any) => void): void {
    const keyed = this.keyed[0];
    if (keyed === undefined) {
      throw new InvalidJobError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}): applyToKeyedState needs a keyed non-broadcast input; connect a KeyedStream to the broadcast stream`,
      );
    }
    keyed.backend.applyToAllKeys(descriptor, fn);
  }

  runtimeContext(): RuntimeContext {
    return this.runtime;
  }
  /** What ctx.timestamp() tells: the firing timer's time in onTimer, else the record's timestamp. */
  contextTimestamp(): number {
    return Number.isNaN(this.firingTimerTime) ? this.element.timestamp : this.firingTimerTime;
  }
  processingTimeNow(): number {
    return this.processingTime.now();
  }
  watermark(): number {
    return this.currentWatermark;
  }
  emitSide(tagId: string, value: unknown): void {
    this.output.collectSide(tagId, value);
  }
  currentKey(): unknown {
    const keyed = this.keyed[0];
    if (keyed === undefined) {
      throw new InvalidJobError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}): getCurrentKey() needs a keyed non-broadcast input; connect a KeyedStream to the broadcast stream`,
      );
    }
    return keyed.backend.getCurrentKey();
  }
  describe(): string {
    return `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid})`;
  }
  timers(): InternalTimerService<number> {
    if (this.timerService === undefined) {
      throw new InvalidJobError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) set a timer, but timers are only supported with a keyed non-broadcast input: connect a KeyedStream to the broadcast stream`,
      );
    }
    return this.timerService;
  }

  private checkDeclared(descriptor: MapStateDescriptor<any, any>): void {
    if (!this.declared.has(descriptor.name)) {
      const names = [...this.declared.keys()].map((n) => `'${n}'`).join(", ");
      throw new InvalidArgumentError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) asked for broadcast state '${descriptor.name}', which the broadcast stream does not declare (it declares ${names}); pass its MapStateDescriptor to broadcast(...)`,
      );
    }
  }
}
