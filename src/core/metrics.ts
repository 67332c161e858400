// The metric contracts user functions see through `RuntimeContext.getMetricGroup()`: Flink's
// metric API (counter, gauge, meter, histogram, nested groups). The runtime implements them.

/** A count that goes up (and down): `inc()` is one addition, cheap enough for every record. */
export interface MetricCounter {
  inc(n?: number): void;
  dec(n?: number): void;
  getCount(): number;
}

/** A value read when metrics are reported (never on the record path). */
export interface Gauge<T = number> {
  getValue(): T;
}

/** Events and their average rate per second over a window (Flink's MeterView: 60 s). */
export interface Meter {
  markEvent(n?: number): void;
  /** Events per second over the meter's window, as of its last update. */
  getRate(): number;
  getCount(): number;
}

/** Statistics of a histogram's reservoir (the most recent values it kept). */
export interface HistogramStatistics {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p75: number;
  p95: number;
  p98: number;
  p99: number;
  p999: number;
}

/** A distribution of values, kept in a bounded reservoir. */
export interface Histogram {
  update(value: number): void;
  /** How many values were ever added (not only the ones kept). */
  getCount(): number;
  getStatistics(): HistogramStatistics;
}

/**
 * A named scope of metrics (job / task / operator / user subgroups). Registering a name twice
 * returns the metric already registered (so a function opened again keeps counting); registering
 * it as another kind of metric throws.
 */
export interface MetricGroup {
  counter(name: string, counter?: MetricCounter): MetricCounter;
  gauge<T extends number>(name: string, gauge: Gauge<T> | (() => T)): Gauge<T>;
  meter(name: string, meter?: Meter): Meter;
  histogram(name: string, histogram?: Histogram): Histogram;
  /** A subgroup: its metrics are reported as `<group>.<name>` under this group's scope. */
  addGroup(name: string): MetricGroup;
  /** The scope variables: job_id, job_name, task_name, subtask_index, operator_name... */
  getAllVariables(): Readonly<Record<string, string>>;
  /** The scope, outermost first (e.g. ["weir", "taskmanager", "job", "task", "operator"]). */
  getScopeComponents(): readonly string[];
  /** The fully qualified name of a metric of this group. */
  getMetricIdentifier(name: string): string;
}
