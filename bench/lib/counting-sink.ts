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

class CountingWriter<T> implements SinkWriter<T> {
  private count = 0;
  private sum = 0;
  private firstAt = 0;

  constructor(
    private readonly runtime: RuntimeContext,
    private readonly checksumOf: (value: T) => number,
  ) {}

  write(value: T): void {
    if (this.count === 0) this.firstAt = epochMs();
    this.count++;
    this.sum += this.checksumOf(value);
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
