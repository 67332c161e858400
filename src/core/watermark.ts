// Watermarks as user code declares them: a WatermarkStrategy makes a timestamp assigner and a
// watermark generator (per source split, or per parallel instance of an assigner operator).

import { InvalidArgumentError } from "./errors.ts";

/** No watermark yet. */
export const MIN_WATERMARK = Number.NEGATIVE_INFINITY;
/** The watermark at the end of a bounded input: every event-time timer fires. */
export const MAX_WATERMARK = Number.POSITIVE_INFINITY;

export interface WatermarkOutput {
  emitWatermark(watermark: number): void;
  /** No events for a while: stop holding back downstream watermarks. */
  markIdle(): void;
  /** Events again. */
  markActive(): void;
}

export interface WatermarkGenerator<T> {
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void;
  /** Called every auto-watermark interval (config `autoWatermarkInterval`, default 200 ms). */
  onPeriodicEmit(output: WatermarkOutput): void;
}

export type TimestampAssigner<T> = (event: T, recordTimestamp: number | undefined) => number;

export class WatermarkStrategy<T> {
  private constructor(
    readonly createGenerator: (() => WatermarkGenerator<T>) | undefined,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly idleTimeout: number | undefined,
  ) {}

  /** No watermarks: processing-time jobs, or timestamps only. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(undefined, undefined, undefined);
  }

  /** Timestamps never decrease: the watermark is the highest timestamp seen minus 1 ms. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return WatermarkStrategy.forBoundedOutOfOrderness<T>(0);
  }

  /** Events arrive at most `maxOutOfOrdernessMs` late: watermark = max timestamp − bound − 1. */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new InvalidArgumentError(
        `forBoundedOutOfOrderness() needs a bound >= 0 ms, got ${maxOutOfOrdernessMs}`,
      );
    }
    return new WatermarkStrategy<T>(
      () => new BoundedOutOfOrdernessGenerator<T>(maxOutOfOrdernessMs),
      undefined,
      undefined,
    );
  }

  /** Your own generator. */
  static forGenerator<T>(create: () => WatermarkGenerator<T>): WatermarkStrategy<T> {
    if (typeof create !== "function") {
      throw new InvalidArgumentError("forGenerator() needs a function returning a WatermarkGenerator");
    }
    return new WatermarkStrategy<T>(create, undefined, undefined);
  }

  /** Take event timestamps from the records (otherwise the source's timestamps are used). */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    if (typeof assigner !== "function") {
      throw new InvalidArgumentError(
        "withTimestampAssigner() needs a function (event, recordTimestamp) => ms",
      );
    }
    return new WatermarkStrategy<T>(this.createGenerator, assigner, this.idleTimeout);
  }

  /** Mark a split/input idle after `ms` of processing time without events. */
  withIdleness(ms: number): WatermarkStrategy<T> {
    if (!Number.isFinite(ms) || ms <= 0)
      throw new InvalidArgumentError(`withIdleness() needs a timeout > 0 ms, got ${ms}`);
    return new WatermarkStrategy<T>(this.createGenerator, this.timestampAssigner, ms);
  }

  /** True when this strategy produces event-time watermarks. */
  get isEventTime(): boolean {
    return this.createGenerator !== undefined;
  }
}

export class BoundedOutOfOrdernessGenerator<T> implements WatermarkGenerator<T> {
  private maxTimestamp: number;
  constructor(private readonly bound: number) {
    this.maxTimestamp = Number.NEGATIVE_INFINITY;
  }
  onEvent(_event: T, timestamp: number): void {
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.maxTimestamp !== Number.NEGATIVE_INFINITY)
      output.emitWatermark(this.maxTimestamp - this.bound - 1);
  }
}
