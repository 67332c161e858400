// A histogram over a bounded reservoir: the most recent `size` values (Flink's
// DescriptiveStatisticsHistogram keeps a sliding window the same way). Adding a value writes one
// slot of a typed array; statistics are computed when metrics are reported.

import type { Histogram, HistogramStatistics } from "../../core/metrics.ts";

export const DEFAULT_RESERVOIR_SIZE = 1024;

export class ReservoirHistogram implements Histogram {
  private readonly values: Float64Array;
  private count = 0;

  constructor(readonly size: number = DEFAULT_RESERVOIR_SIZE) {
    this.values = new Float64Array(size);
  }

  update(value: number): void {
    this.values[this.count % this.size] = value;
    this.count++;
  }

  getCount(): number {
    return this.count;
  }

  getStatistics(): HistogramStatistics {
    const n = Math.min(this.count, this.size);
    if (n === 0) {
      return {
        count: 0,
        min: 0,
        max: 0,
        mean: 0,
        stddev: 0,
        p50: 0,
        p75: 0,
        p95: 0,
        p98: 0,
        p99: 0,
        p999: 0,
      };
    }
    const sorted = this.values.slice(0, n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    const mean = sum / n;
    let sq = 0;
    for (const v of sorted) sq += (v - mean) * (v - mean);
    const q = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
    return {
      count: this.count,
      min: sorted[0]!,
      max: sorted[n - 1]!,
      mean,
      stddev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
      p50: q(0.5),
      p75: q(0.75),
      p95: q(0.95),
      p98: q(0.98),
      p99: q(0.99),
      p999: q(0.999),
    };
  }
}
