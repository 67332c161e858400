// assignTimestampsAndWatermarks(): assigns event timestamps mid-stream and generates watermarks
// per parallel instance; upstream watermarks are dropped, except the final one at end of input.

import {
  MAX_WATERMARK,
  type WatermarkGenerator,
  type WatermarkOutput,
  type WatermarkStrategy,
} from "../../core/watermark.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import { StreamOperator } from "./stream-operator.ts";

export class TimestampsAndWatermarksOperator extends StreamOperator implements WatermarkOutput {
  private generator: WatermarkGenerator<unknown> | undefined;
  private emitted = Number.NEGATIVE_INFINITY;
  private idle = false;
  private lastEventAt = 0;
  /** Records assigned a timestamp (for the watermark doctor). */
  private records = 0;
  private readonly tracksIdleness: boolean;

  constructor(private readonly strategy: WatermarkStrategy<unknown>) {
    super(undefined);
    this.tracksIdleness = strategy.idleTimeout !== undefined;
  }

  override async open(): Promise<void> {
    await super.open();
    this.generator = this.strategy.createGenerator?.();
    this.lastEventAt = this.processingTime.now();
    if (this.generator !== undefined) {
      const idleTimeout = this.strategy.idleTimeout;
      this.processingTime.scheduleAtFixedRate(this.autoWatermarkInterval, (now) => {
        this.generator!.onPeriodicEmit(this);
        if (idleTimeout !== undefined && now - this.lastEventAt >= idleTimeout) this.markIdle();
      });
    }
  }

  processElement(value: unknown): void {
    const assigner = this.strategy.timestampAssigner;
    const recordTs = Number.isNaN(this.element.timestamp) ? undefined : this.element.timestamp;
    const ts = assigner !== undefined ? assigner(value, recordTs) : recordTs;
    if (typeof ts !== "number" || Number.isNaN(ts)) {
      throw new InvalidArgumentError(
        `operator '${this.runtime.operatorName}': record without a usable timestamp (${String(ts)}); the timestamp assigner must return epoch milliseconds`,
      );
    }
    this.element.timestamp = ts;
    this.records++;
    if (this.generator === undefined) {
      this.output.collect(value);
      return;
    }
    // Only idleness detection reads the time of the last event: no clock read per record without it.
    if (this.tracksIdleness) this.lastEventAt = this.processingTime.now();
    this.markActive();
    // The record goes first: a watermark its generator emits must not overtake it.
    this.output.collect(value);
    this.generator.onEvent(value, ts, this);
  }

  /** What the watermark doctor reads: this instance's watermark, whether it is idle, its records. */
  watermarkAssignment(): { watermark: number; idle: boolean; records: number; idleTimeoutMs: number | null } {
    return {
      watermark: this.emitted,
      idle: this.idle,
      records: this.records,
      idleTimeoutMs: this.strategy.idleTimeout ?? null,
    };
  }

  override processWatermark(watermark: number): void {
    if (watermark === MAX_WATERMARK) this.emitWatermark(MAX_WATERMARK);
  }

  override processWatermarkStatus(_idle: boolean): void {}

  emitWatermark(watermark: number): void {
    if (watermark > this.emitted) {
      this.emitted = watermark;
      super.processWatermark(watermark);
    }
  }

  markIdle(): void {
    if (!this.idle) {
      this.idle = true;
      this.output.emitWatermarkStatus(true);
    }
  }

  markActive(): void {
    if (this.idle) {
      this.idle = false;
      this.output.emitWatermarkStatus(false);
    }
  }
}
