// A sink for benchmarks: counts records and sums a checksum of them, without keeping any, and
// notes when its first and last records arrived. It reports through accumulators, so the same
// figures come back from in-thread and threaded runs.

import { MaxAccumulator, type RuntimeContext, type Sink, type SinkWriter } from "../../src/index.ts";
import { epochMs } from "./timing.ts";

export const RECORDS = "bench.records";
export const CHECKSUM = "bench.checksum";
/** Negated epoch ms of the earliest first record over all subtasks (a max of negatives is a min). */
export const FIRST_AT = "bench.firstAtNeg";
export const LAST_AT = "bench.lastAt";

/**
 * A counting writer without its write: what every counting writer keeps and reports. A pipeline
 * compared with a plain loop of its own (bench/foundation.ts's chain sections) subclasses it with
 * its own write, so that no other pipeline's records reach that method's type feedback.
 */
export abstract class CountingWriterBase<T> implements SinkWriter<T> {
  protected count = 0;
  protected sum = 0;
  private firstAt = 0;

  constructor(private readonly runtime: RuntimeContext) {}

  abstract write(value: T): void;

  /** Called by write for the first record. */
  protected firstRecord(): void {
    this.firstAt = epochMs();
  }

  finish(): void {
    const r = this.runtime;
    r.getCounter(RECORDS).add(this.count);
    r.getCounter(CHECKSUM).add(this.sum);
    if (this.count > 0) {
      r.addAccumulator(FIRST_AT, new MaxAccumulator()).add(-this.firstAt);
      r.addAccumulator(LAST_AT, new MaxAccumulator()).add(epochMs());
    }
  }
}

class CountingWriter<T> extends CountingWriterBase<T> {
  constructor(
    runtime: RuntimeContext,
    private readonly checksumOf: (value: T) => number,
  ) {
    super(runtime);
  }

  write(value: T): void {
    if (this.count === 0) this.firstRecord();
    this.count++;
    this.sum += this.checksumOf(value);
  }
}

export class CountingSink<T> implements Sink<T> {
  /** @param checksumOf the number each record adds to the checksum */
  constructor(private readonly checksumOf: (value: T) => number) {}

  createWriter(ctx: { runtime: RuntimeContext }): SinkWriter<T> {
    return new CountingWriter(ctx.runtime, this.checksumOf);
  }
}

/** What a counting sink reported, read back from a job's accumulators. */
export interface SinkFigures {
  records: number;
  checksum: number;
  /** ms from the first record reaching a sink to the last one (steady-state window). */
  activeMs: number;
}

export function sinkFigures(result: { getAccumulatorResult<V>(name: string): V | undefined }): SinkFigures {
  const records = result.getAccumulatorResult<number>(RECORDS) ?? 0;
  const checksum = result.getAccumulatorResult<number>(CHECKSUM) ?? 0;
  const first = -(result.getAccumulatorResult<number>(FIRST_AT) ?? Number.NaN);
  const last = result.getAccumulatorResult<number>(LAST_AT) ?? Number.NaN;
  return { records, checksum, activeMs: last - first };
}
