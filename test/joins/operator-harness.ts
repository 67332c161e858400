// Drives one operator directly, without a job: records, watermarks and keyed state in the test's
// hands (as Flink's KeyedTwoInputStreamOperatorTestHarness). For exact lateness and cleanup tests.

import type { Accumulator } from "../../src/core/functions.ts";
import { RuntimeContextImpl } from "../../src/runtime/runtime-context.ts";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";

const MAX_PARALLELISM = 128;

export class OperatorHarness {
  readonly output: Array<{ value: unknown; timestamp: number }> = [];
  readonly side: Array<{ tag: string; value: unknown }> = [];
  readonly watermarks: number[] = [];
  readonly backend = new HeapKeyedStateBackend({ start: 0, end: MAX_PARALLELISM - 1 });
  readonly accumulators = new Map<string, Accumulator<unknown>>();
  private readonly element = { timestamp: Number.NaN };

  constructor(
    readonly operator: StreamOperator,
    keys: Array<(v: any) => unknown>,
  ) {
    const runtime = new RuntimeContextImpl(
      {
        jobId: "test",
        jobName: "test",
        subtaskIndex: 0,
        parallelism: 1,
        maxParallelism: MAX_PARALLELISM,
        attemptNumber: 0,
        attemptTag: "test-0",
      },
      "op",
      "op-uid",
      this.accumulators,
      this.backend,
    );
    const element = this.element;
    operator.setup({
      runtime,
      element,
      output: {
        collect: (value) => this.output.push({ value, timestamp: element.timestamp }),
        collectSide: (tag, value) => this.side.push({ tag, value }),
        emitWatermark: (w) => this.watermarks.push(w),
        emitWatermarkStatus: () => {},
      },
      keyed: keys.map((keySelector) => ({
        keySelector,
        backend: this.backend,
        maxParallelism: MAX_PARALLELISM,
      })),
      processingTime: new ProcessingTimeService(new ManualClock(0)),
      autoWatermarkInterval: 200,
      mailbox: { execute: (a) => a(), drain: () => {} },
      checkpointing: false,
    });
  }

  open(): Promise<void> {
    return this.operator.open();
  }

  record(input: number, value: unknown, timestamp: number): void {
    this.element.timestamp = timestamp;
    this.operator.processElement(value, input);
  }

  watermark(w: number): void {
    this.operator.processWatermark(w);
  }

  /** Entries of a keyed state over all keys. */
  stateSize(name: string): number {
    return this.backend.size(name);
  }

  counter(name: string): number {
    return (this.accumulators.get(name)?.getLocalValue() as number | undefined) ?? 0;
  }
}
