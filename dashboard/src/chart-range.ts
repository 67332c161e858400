// The time axis of the throughput chart: fitted to the samples it has, so that a few seconds of
// data fill the chart instead of sitting in a corner of a fixed minute.

export interface AxisRange {
  min: number;
  max: number;
}

/** The x range for samples at `times` (seconds, ascending); undefined without samples. */
export function timeAxisRange(times: readonly number[]): AxisRange | undefined {
  const first = times[0];
  const last = times[times.length - 1];
  if (first === undefined || last === undefined) return undefined;
  // One sample (or several at one instant): a second around it, so that uPlot has a span.
  if (last - first < 1) return { min: first - 0.5, max: first + 0.5 };
  return { min: first, max: last };
}
