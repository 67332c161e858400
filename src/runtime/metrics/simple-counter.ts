// The counter metric: one number field, incremented in place (no allocation on the record path).

import type { MetricCounter } from "../../core/metrics.ts";

export class SimpleCounter implements MetricCounter {
  count = 0;

  inc(n = 1): void {
    this.count += n;
  }

  dec(n = 1): void {
    this.count -= n;
  }

  getCount(): number {
    return this.count;
  }
}
