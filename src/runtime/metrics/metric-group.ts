// A metric group: a scope (Flink's job / task / operator, plus user subgroups) with its variables,
// and the metrics registered in it by name. Reading the group (`collect`) is what reporting does:
// meters sample their counts then, gauges are read then.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { Gauge, Histogram, Meter, MetricCounter, MetricGroup } from "../../core/metrics.ts";
import { MeterView } from "./meter-view.ts";
import type { MetricKind, MetricValue } from "./metric-value.ts";
import { ReservoirHistogram } from "./reservoir-histogram.ts";
import { SimpleCounter } from "./simple-counter.ts";

/** A metric name used twice for different kinds, or an empty name. */
export class MetricRegistrationError extends InvalidArgumentError {}

type Registered =
  | { kind: "counter"; metric: MetricCounter }
  | { kind: "gauge"; metric: Gauge<number> }
  | { kind: "meter"; metric: Meter }
  | { kind: "histogram"; metric: Histogram };

export const JOB_SCOPE = ["weir", "jobmanager", "job"] as const;
export const TASK_SCOPE = ["weir", "taskmanager", "job", "task"] as const;
export const OPERATOR_SCOPE = ["weir", "taskmanager", "job", "task", "operator"] as const;

export class MetricGroupImpl implements MetricGroup {
  private readonly metrics = new Map<string, Registered>();
  private readonly groups = new Map<string, MetricGroupImpl>();

  constructor(
    private readonly scope: readonly string[],
    private readonly variables: Readonly<Record<string, string>>,
    /** User subgroups from the scope's own group down to this one. */
    private readonly path: readonly string[] = [],
  ) {}

  counter(name: string, counter?: MetricCounter): MetricCounter {
    return this.register(name, "counter", () => counter ?? new SimpleCounter()) as MetricCounter;
  }

  gauge<T extends number>(name: string, gauge: Gauge<T> | (() => T)): Gauge<T> {
    const g = typeof gauge === "function" ? { getValue: gauge } : gauge;
    return this.register(name, "gauge", () => g) as Gauge<T>;
  }

  meter(name: string, meter?: Meter): Meter {
    return this.register(name, "meter", () => meter ?? new MeterView()) as Meter;
  }

  histogram(name: string, histogram?: Histogram): Histogram {
    return this.register(name, "histogram", () => histogram ?? new ReservoirHistogram()) as Histogram;
  }

  addGroup(name: string): MetricGroup {
    checkName(name, this.describe());
    let g = this.groups.get(name);
    if (g === undefined) {
      g = new MetricGroupImpl(this.scope, this.variables, [...this.path, name]);
      this.groups.set(name, g);
    }
    return g;
  }

  getAllVariables(): Readonly<Record<string, string>> {
    return this.variables;
  }

  getScopeComponents(): readonly string[] {
    return [...this.scope, ...this.path];
  }

  getMetricIdentifier(name: string): string {
    return [...this.scope, ...this.path, name].join(".");
  }

  /** Whether anything was registered (in this group or a subgroup). */
  get isEmpty(): boolean {
    return this.metrics.size === 0 && [...this.groups.values()].every((g) => g.isEmpty);
  }

  /** Read every metric of this group and its subgroups into `out` (meters are sampled at `nowMs`). */
  collect(out: MetricValue[], nowMs: number): void {
    const prefix = this.path.length === 0 ? "" : `${this.path.join(".")}.`;
    for (const [name, r] of this.metrics) out.push(readMetric(`${prefix}${name}`, r, nowMs));
    for (const g of this.groups.values()) g.collect(out, nowMs);
  }

  private register(name: string, kind: MetricKind, create: () => Registered["metric"]): unknown {
    checkName(name, this.describe());
    const existing = this.metrics.get(name);
    if (existing !== undefined) {
      if (existing.kind !== kind) {
        throw new MetricRegistrationError(
          `metric '${this.getMetricIdentifier(name)}' is already registered as a ${existing.kind}, not a ${kind}; use another name`,
        );
      }
      return existing.metric;
    }
    const metric = create();
    this.metrics.set(name, { kind, metric } as Registered);
    return metric;
  }

  private describe(): string {
    const v = this.variables;
    return v.operator_name !== undefined
      ? `operator '${v.operator_name}' (subtask ${v.subtask_index})`
      : this.getScopeComponents().join(".");
  }
}

function checkName(name: string, where: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new MetricRegistrationError(`a metric or group of ${where} has an empty name; give it a name`);
  }
}

function readMetric(name: string, r: Registered, nowMs: number): MetricValue {
  switch (r.kind) {
    case "counter":
      return { name, kind: "counter", value: r.metric.getCount() };
    case "gauge":
      return { name, kind: "gauge", value: Number(r.metric.getValue()) };
    case "meter":
      if (r.metric instanceof MeterView) r.metric.update(nowMs);
      return { name, kind: "meter", value: r.metric.getRate(), count: r.metric.getCount() };
    case "histogram":
      return { name, kind: "histogram", value: r.metric.getCount(), stats: r.metric.getStatistics() };
  }
}
