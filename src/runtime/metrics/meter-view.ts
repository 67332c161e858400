// A meter as Flink's MeterView: a count (its own, or one read from elsewhere) and its average rate
// per second over a time window. The rate is computed from samples taken when metrics are reported
// (`update`), never per event: marking an event is one addition.

import type { Meter } from "../../core/metrics.ts";

/** Flink's default MeterView time span. */
export const DEFAULT_METER_WINDOW_MS = 60_000;
/** A sample closer than this to the one before the newest replaces the newest (frequent updates keep the ring small). */
const MIN_SAMPLE_SPACING_MS = 250;
const MAX_SAMPLES = 256;

export class MeterView implements Meter {
  private own = 0;
  private readonly times = new Float64Array(MAX_SAMPLES);
  private readonly counts = new Float64Array(MAX_SAMPLES);
  /** Ring of samples: `first` is the oldest, `size` how many. */
  private first = 0;
  private size = 0;
  private rate = 0;

  /** `source`: where the count comes from (a counter kept elsewhere); without it, markEvent counts. */
  constructor(
    private readonly source: (() => number) | undefined = undefined,
    readonly windowMs: number = DEFAULT_METER_WINDOW_MS,
  ) {}

  markEvent(n = 1): void {
    this.own += n;
  }

  getCount(): number {
    return this.source === undefined ? this.own : this.source();
  }

  getRate(): number {
    return this.rate;
  }

  /** Take a sample of the count at `nowMs` and recompute the rate over the window. */
  update(nowMs: number = performance.now()): void {
    this.sample(this.getCount(), nowMs);
  }

  /** Take a sample of a count kept elsewhere (the runtime's record counters) at `nowMs`. */
  sample(count: number, nowMs: number): void {
    if (this.size > 1) {
      // The newest sample moves to now while the one before it is less than the spacing old, so
      // the kept samples stay that far apart (the ring spans the window) and old ones still leave
      // the window (comparing with the newest instead kept only two samples, the first one for good).
      const last = (this.first + this.size - 1) % MAX_SAMPLES;
      const before = (this.first + this.size - 2) % MAX_SAMPLES;
      if (nowMs - this.times[before]! < MIN_SAMPLE_SPACING_MS) {
        this.times[last] = nowMs;
        this.counts[last] = count;
        this.recompute(nowMs);
        return;
      }
    }
    if (this.size === MAX_SAMPLES) {
      this.first = (this.first + 1) % MAX_SAMPLES;
      this.size--;
    }
    const at = (this.first + this.size) % MAX_SAMPLES;
    this.times[at] = nowMs;
    this.counts[at] = count;
    this.size++;
    this.recompute(nowMs);
  }

  private recompute(nowMs: number): void {
    // Drop samples older than the window, keeping at least two.
    while (this.size > 2 && nowMs - this.times[(this.first + 1) % MAX_SAMPLES]! >= this.windowMs) {
      this.first = (this.first + 1) % MAX_SAMPLES;
      this.size--;
    }
    if (this.size < 2) {
      this.rate = 0;
      return;
    }
    const last = (this.first + this.size - 1) % MAX_SAMPLES;
    const span = this.times[last]! - this.times[this.first]!;
    this.rate = span <= 0 ? 0 : ((this.counts[last]! - this.counts[this.first]!) * 1000) / span;
  }
}
