// The output of a source reader: assigns timestamps, runs one watermark generator per split,
// and emits the reader's watermark (the minimum over its active, non-idle splits) and idleness.

import { InvalidArgumentError } from "../core/errors.ts";
import type { ReaderOutput } from "../core/source.ts";
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from "../core/watermark.ts";
import {
  type FusableReaderOutput,
  type IndexedLoop,
  type IndexedRecords,
  compileIndexedLoop,
} from "./fused-source-loop.ts";
import type { ElementContext, Output } from "./operators/stream-operator.ts";
import type { ProcessingTimeService } from "./time/processing-time-service.ts";

/** One split's watermark state, read for metrics and the watermark doctor. */
export interface SplitWatermarkState {
  splitId: string;
  watermark: number;
  idle: boolean;
  /** Records emitted with event time (0: the split has had no data). */
  records: number;
  /** Event time of the last of them (NaN before any). */
  lastTimestamp: number;
}

/** A split's output; the loop of fused-source-loop.ts does what collect does, keep them in step. */
class SplitOutput<T> implements ReaderOutput<T>, WatermarkOutput {
  watermark = Number.NEGATIVE_INFINITY;
  idle = false;
  lastEventAt: number;
  records = 0;
  lastTimestamp = Number.NaN;
  constructor(
    private readonly parent: SourceOutput<T>,
    readonly generator: WatermarkGenerator<T> | undefined,
  ) {
    this.lastEventAt = parent.now();
  }
  collect(value: T, timestamp?: number): void {
    const ts = this.parent.timestampOf(value, timestamp);
    if (this.generator === undefined) {
      this.parent.emit(value, ts);
      return;
    }
    // Only idleness detection reads the time of the last event: no clock read per record without it.
    if (this.parent.tracksIdleness) this.lastEventAt = this.parent.now();
    this.records++;
    this.lastTimestamp = ts;
    if (this.idle) this.markActive();
    // The record goes first: a watermark its generator emits must not overtake it.
    this.parent.emit(value, ts);
    this.generator.onEvent(value, ts, this);
  }
  createOutputForSplit(splitId: string): ReaderOutput<T> {
    return this.parent.createOutputForSplit(splitId);
  }
  releaseOutputForSplit(splitId: string): void {
    this.parent.releaseOutputForSplit(splitId);
  }
  /** As Flink's WatermarkOutput: a watermark also ends the output's idleness. */
  emitWatermark(watermark: number): void {
    const advanced = watermark > this.watermark;
    if (!advanced && !this.idle) return;
    if (advanced) this.watermark = watermark;
    this.idle = false;
    this.parent.update();
  }
  markIdle(): void {
    if (!this.idle) {
      this.idle = true;
      this.parent.update();
    }
  }
  markActive(): void {
    if (this.idle) {
      this.idle = false;
      this.parent.update();
    }
  }
}

export class SourceOutput<T> implements ReaderOutput<T>, FusableReaderOutput {
  private readonly splits = new Map<string, SplitOutput<T>>();
  /** Records collected without a split (readers that do not use split outputs). */
  private readonly direct: SplitOutput<T>;
  private emitted = Number.NEGATIVE_INFINITY;
  private idle = false;
  numRecords = 0;
  /** The strategy has an idle timeout: splits note when their last event came. */
  readonly tracksIdleness: boolean;
  private readonly assigner: ((value: T, recordTimestamp: number | undefined) => number) | undefined;
  private readonly eventTime: boolean;

  constructor(
    private readonly strategy: WatermarkStrategy<T> | undefined,
    private readonly downstream: Output,
    private readonly element: ElementContext,
    private readonly pts: ProcessingTimeService,
    private readonly sourceName: string,
  ) {
    this.tracksIdleness = strategy?.idleTimeout !== undefined;
    this.assigner = strategy?.timestampAssigner;
    this.eventTime = strategy?.isEventTime === true;
    this.direct = new SplitOutput(this, strategy?.createGenerator?.());
  }

  now(): number {
    return this.pts.now();
  }

  /** Start periodic watermark emission and idleness detection. */
  start(interval: number): void {
    if (this.strategy?.isEventTime !== true) return;
    const idleTimeout = this.strategy.idleTimeout;
    this.pts.scheduleAtFixedRate(interval, (now) => {
      for (const s of this.outputs()) {
        // Idle by the timeout: the generator is not asked (Flink's WatermarksWithIdleness), so a
        // watermark it would emit again does not end the idleness; its next event does.
        if (idleTimeout !== undefined && now - s.lastEventAt >= idleTimeout) s.markIdle();
        else s.generator?.onPeriodicEmit(s);
      }
    });
  }

  timestampOf(value: T, recordTimestamp: number | undefined): number {
    const assigner = this.assigner;
    const ts = assigner !== undefined ? assigner(value, recordTimestamp) : recordTimestamp;
    if (typeof ts !== "number" || Number.isNaN(ts)) return this.unusableTimestamp(ts, value);
    return ts;
  }

  /** The timestamp of a record whose own is not a number (NaN): none, or an error with event time. */
  unusableTimestamp(ts: unknown, value: unknown): number {
    if (this.eventTime) {
      throw new InvalidArgumentError(
        `source '${this.sourceName}' produced a record without a usable timestamp (${String(ts)}): ${preview(value)}; give the WatermarkStrategy a timestamp assigner (withTimestampAssigner((event) => event.time)) that returns epoch milliseconds`,
      );
    }
    return Number.NaN;
  }

  /**
   * A loop generated for this task that emits a reader's records by index through the whole
   * chain (fused-source-loop.ts), or undefined when the chain is not one it can run. It does what
   * collect on a split output does: keep the two in step.
   */
  fuseIndexedLoop(records: IndexedRecords<unknown>): IndexedLoop | undefined {
    return compileIndexedLoop(
      {
        counter: this,
        unusableTimestamp: (ts, value) => this.unusableTimestamp(ts, value),
        now: () => this.now(),
        element: this.element,
        assigner: this.assigner as ((value: unknown, ts: number | undefined) => number) | undefined,
        eventTime: this.eventTime,
        generators: this.strategy?.createGenerator !== undefined,
        tracksIdleness: this.tracksIdleness,
        head: this.downstream,
      },
      records,
    );
  }

  emit(value: T, timestamp: number): void {
    this.element.timestamp = timestamp;
    this.numRecords++;
    this.downstream.collect(value);
  }

  collect(value: T, timestamp?: number): void {
    this.direct.collect(value, timestamp);
  }

  createOutputForSplit(splitId: string): ReaderOutput<T> {
    let s = this.splits.get(splitId);
    if (s === undefined) {
      s = new SplitOutput(this, this.strategy?.createGenerator?.());
      this.splits.set(splitId, s);
      // A new split is active: a reader that was idle is active again before its first record.
      this.update();
    }
    return s;
  }

  releaseOutputForSplit(splitId: string): void {
    const s = this.splits.get(splitId);
    if (s === undefined) return;
    // Its last watermark counts once more, unless it is idle (an idle split's does not count, and
    // a watermark would end its idleness).
    if (!s.idle) s.generator?.onPeriodicEmit(s);
    this.splits.delete(splitId);
    this.update();
  }

  /** Each split's watermark and idleness now (the source split metrics; read when reporting). */
  splitStates(): SplitWatermarkState[] {
    const out: SplitWatermarkState[] = [];
    for (const [splitId, s] of this.splits) out.push(splitState(splitId, s));
    return out;
  }

  /**
   * What the reader's watermark is the minimum of (for the watermark doctor): its splits, and the
   * output without a split when the reader has no split or has used it.
   */
  watermarkInputs(): SplitWatermarkState[] {
    const out = this.splitStates();
    if (out.length === 0 || this.direct.records > 0) out.push(splitState(NO_SPLIT, this.direct));
    return out;
  }

  /** Event time is on (a WatermarkStrategy); and its idle timeout, if any. */
  get watermarking(): { eventTime: boolean; idleTimeoutMs: number | undefined } {
    return { eventTime: this.eventTime, idleTimeoutMs: this.strategy?.idleTimeout };
  }

  private *outputs(): Generator<SplitOutput<T>> {
    yield this.direct;
    yield* this.splits.values();
  }

  /** Recompute the reader's watermark and idleness; emit what changed. */
  update(): void {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const s of this.outputs()) {
      // The direct output only counts once it has been used.
      if (s === this.direct && s.watermark === Number.NEGATIVE_INFINITY && this.splits.size > 0) continue;
      if (s.idle) continue;
      active++;
      if (s.watermark < min) min = s.watermark;
    }
    if (active === 0) {
      // Every split is idle, by the idle timeout or by its generator's markIdle(): as Flink does,
      // tell downstream either way, so that the reader stops holding watermarks back.
      if (!this.idle) {
        this.idle = true;
        this.downstream.emitWatermarkStatus(true);
      }
      return;
    }
    if (this.idle) {
      this.idle = false;
      this.downstream.emitWatermarkStatus(false);
    }
    if (min > this.emitted && min !== Number.POSITIVE_INFINITY) {
      this.emitted = min;
      this.downstream.emitWatermark(min);
    }
  }

  /** End of input: the final watermark, so that every event-time timer downstream fires. */
  endOfInput(): void {
    if (this.idle) this.downstream.emitWatermarkStatus(false);
    this.emitted = Number.POSITIVE_INFINITY;
    this.downstream.emitWatermark(Number.POSITIVE_INFINITY);
  }
}

/** The id the watermark doctor gives a reader's output without a split. */
export const NO_SPLIT = "(no split)";

function splitState<T>(splitId: string, s: SplitOutput<T>): SplitWatermarkState {
  return {
    splitId,
    watermark: s.watermark,
    idle: s.idle,
    records: s.records,
    lastTimestamp: s.lastTimestamp,
  };
}

function preview(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 120)}...` : s;
  } catch {
    return String(v);
  }
}
