// A metric's value as plain data: what crosses from a worker thread to the coordinator, and what
// reporters and the REST API read.

import type { HistogramStatistics } from "../../core/metrics.ts";

export type MetricKind = "counter" | "gauge" | "meter" | "histogram";

export interface MetricValue {
  /** The name within its scope; user subgroups are joined with dots (`myGroup.myCounter`). */
  name: string;
  kind: MetricKind;
  /** Counter: the count; gauge: the value; meter: the rate per second; histogram: the count. */
  value: number;
  /** Meter only: the count of events behind the rate. */
  count?: number;
  /** Histogram only. */
  stats?: HistogramStatistics;
}
