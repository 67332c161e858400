// The operator contract: what a task calls on each operator of its chain, and how an operator
// emits. Operators in one chain call each other directly through Outputs.

import { InvalidJobError } from "../../core/errors.ts";
import type { RichFunction } from "../../core/functions.ts";
import type { HeapKeyedStateBackend } from "../../state/heap-keyed-state-backend.ts";
import type { RuntimeContextImpl } from "../runtime-context.ts";
import { InternalTimerService, type Triggerable } from "../time/internal-timer-service.ts";
import type { ProcessingTimeService } from "../time/processing-time-service.ts";

/** The timestamp of the record being processed, shared by the operators of one task (NaN = none). */
export interface ElementContext {
  timestamp: number;
}

export interface Output {
  collect(value: unknown): void;
  collectSide(tagId: string, value: unknown): void;
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
}

export interface KeyedContext {
  keySelector: (value: any) => unknown;
  backend: HeapKeyedStateBackend;
  maxParallelism: number;
}

export interface OperatorSetup {
  runtime: RuntimeContextImpl;
  output: Output;
  element: ElementContext;
  /** One per input (index 0, 1) when that input is keyed. */
  keyed: Array<KeyedContext | undefined>;
  processingTime: ProcessingTimeService;
  /** Interval of periodic watermark emission (ms). */
  autoWatermarkInterval: number;
  /** Run an action in the task's thread between records (e.g. an async result); never re-entrant. */
  mailbox: Mailbox;
}

export interface Mailbox {
  execute(action: () => void): void;
  /** Run the pending actions now; for an operator that awaits async work in finish(). */
  drain(): void;
}

export abstract class StreamOperator {
  numRecordsIn = 0;
  protected output!: Output;
  protected runtime!: RuntimeContextImpl;
  protected element!: ElementContext;
  protected keyed: Array<KeyedContext | undefined> = [];
  protected processingTime!: ProcessingTimeService;
  protected autoWatermarkInterval = 200;
  protected mailbox!: Mailbox;
  protected currentWatermark = Number.NEGATIVE_INFINITY;
  private readonly timerServices: InternalTimerService<any>[] = [];

  /** The user function object, if any: its open/close are called with the operator's. */
  constructor(protected readonly userFunction: RichFunction | undefined) {}

  setup(s: OperatorSetup): void {
    this.output = s.output;
    this.runtime = s.runtime;
    this.element = s.element;
    this.keyed = s.keyed;
    this.processingTime = s.processingTime;
    this.autoWatermarkInterval = s.autoWatermarkInterval;
    this.mailbox = s.mailbox;
  }

  async open(): Promise<void> {
    await this.userFunction?.open?.(this.runtime);
  }

  abstract processElement(value: unknown, input: number): void;

  /** Fire the event-time timers the watermark passed, then forward it. */
  processWatermark(watermark: number): void {
    for (const s of this.timerServices) s.advanceWatermark(watermark);
    this.currentWatermark = watermark;
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }

  /** Keyed timers for this operator; only on a keyed input. */
  protected getInternalTimerService<N>(name: string, triggerable: Triggerable<N>): InternalTimerService<N> {
    const keyed = this.keyed.find((k) => k !== undefined);
    if (keyed === undefined) {
      throw new InvalidJobError(
        `operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) uses timers, but its input is not keyed; timers need a keyed stream: call keyBy(...) before this operator`,
      );
    }
    const backend = keyed.backend;
    const service = new InternalTimerService<N>(
      name,
      {
        getCurrentKey: () => backend.getCurrentKey(),
        setCurrentKey: (k, kg) => backend.setCurrentKey(k, kg),
      },
      keyed.maxParallelism,
      this.processingTime,
      triggerable,
    );
    this.timerServices.push(service);
    return service;
  }

  /**
   * False while the operator cannot take more input (Async I/O at capacity): the task stops
   * reading input until a mailbox action makes room. Input already on its way (the rest of a
   * buffer) still arrives, and the operator must buffer it.
   */
  isInputAvailable(): boolean {
    return true;
  }

  /** All records of one input have arrived. */
  endInput(_input: number): void {}

  /** The last chance to emit (bounded input ended). */
  finish(): void | Promise<void> {}

  async close(): Promise<void> {
    await this.userFunction?.close?.();
  }
}
