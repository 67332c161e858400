// Prometheus text exposition of every job's metrics (prom-client's registry and format), named and
// labelled as Flink's Prometheus reporter does: `weir_jobmanager_job_<metric>` with job labels,
// `weir_taskmanager_job_task_<metric>` with task labels, `weir_taskmanager_job_task_operator_<metric>`
// with operator labels. Counters are job totals across restarts.

import { Counter, Gauge, Registry } from "prom-client";
import { COUNTER_METRICS, type JobMetrics } from "../runtime/metrics/job-metrics.ts";
import { operatorLatencies } from "../runtime/metrics/latency-metrics.ts";
import type { MetricValue } from "../runtime/metrics/metric-value.ts";

const JOB_PREFIX = "weir_jobmanager_job_";
const TASK_PREFIX = "weir_taskmanager_job_task_";
const OPERATOR_PREFIX = "weir_taskmanager_job_task_operator_";
const JOB_LABELS = ["job_id", "job_name"];
const TASK_LABELS = [...JOB_LABELS, "task_id", "task_name", "subtask_index", "task_attempt_num"];
const OPERATOR_LABELS = [...TASK_LABELS, "operator_id", "operator_name"];
const SPLIT_LABELS = [...OPERATOR_LABELS, "split_id"];
/** Flink's latency metric at "operator" granularity, in the job scope. */
const LATENCY_NAME = "weir_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency";
const LATENCY_LABELS = [...JOB_LABELS, "source_id", "operator_id", "operator_name", "operator_subtask_index"];
const QUANTILES: Array<[string, keyof NonNullable<MetricValue["stats"]>]> = [
  ["0.5", "p50"],
  ["0.75", "p75"],
  ["0.95", "p95"],
  ["0.98", "p98"],
  ["0.99", "p99"],
  ["0.999", "p999"],
];

type Labels = Record<string, string>;

/** The metric families of one exposition, created as they are first met. */
class Families {
  readonly registry = new Registry();
  private readonly byName = new Map<string, Counter | Gauge>();

  set(kind: "counter" | "gauge", name: string, labelNames: string[], labels: Labels, value: number): void {
    const metricName = sanitize(name);
    let m = this.byName.get(metricName);
    if (m === undefined) {
      const config = { name: metricName, help: name, labelNames, registers: [this.registry] };
      m = kind === "counter" ? new Counter(config) : new Gauge(config);
      this.byName.set(metricName, m);
    }
    // A user metric named like a built-in one of another kind, or with other labels: left out.
    if (kind === "counter" && m instanceof Counter) m.inc(labels, Math.max(0, value));
    else if (kind === "gauge" && m instanceof Gauge) m.set(labels, value);
  }
}

/** The content type and text of GET /metrics. */
export async function renderPrometheus(
  jobs: readonly JobMetrics[],
): Promise<{ contentType: string; body: string }> {
  const f = new Families();
  for (const job of jobs) {
    const jobLabels: Labels = { job_id: job.jobId, job_name: job.jobName };
    for (const [name, value] of Object.entries(job.jobMetrics())) {
      f.set("gauge", JOB_PREFIX + name, JOB_LABELS, jobLabels, value);
    }
    for (const t of job.totals()) {
      const taskLabels: Labels = {
        ...jobLabels,
        task_id: String(t.vertexId),
        task_name: job.vertices.find((v) => v.id === t.vertexId)?.name ?? t.taskName,
        subtask_index: String(t.subtask),
        task_attempt_num: String(t.attempt),
      };
      for (const [name, value] of Object.entries(t.metrics)) {
        f.set(kindOf(name), TASK_PREFIX + name, TASK_LABELS, taskLabels, value);
      }
      for (const o of t.operators) {
        const opLabels: Labels = { ...taskLabels, operator_id: o.uid, operator_name: o.name };
        for (const [name, value] of Object.entries(o.metrics)) {
          f.set(kindOf(name), OPERATOR_PREFIX + name, OPERATOR_LABELS, opLabels, value);
        }
        for (const u of o.user) addUserMetric(f, OPERATOR_PREFIX + u.name, opLabels, u);
        for (const s of o.splits ?? []) {
          for (const [name, value] of Object.entries(s.metrics)) {
            const labels = { ...opLabels, split_id: s.splitId };
            f.set("gauge", `${OPERATOR_PREFIX}source_split_${name}`, SPLIT_LABELS, labels, value);
          }
        }
      }
    }
  }
  for (const job of jobs) addLatencies(f, job);
  return { contentType: f.registry.contentType, body: await f.registry.metrics() };
}

function addLatencies(f: Families, job: JobMetrics): void {
  for (const l of operatorLatencies(job.tasks())) {
    const labels: Labels = {
      job_id: job.jobId,
      job_name: job.jobName,
      source_id: l.sourceUid,
      operator_id: l.operatorUid,
      operator_name: l.operatorName,
      operator_subtask_index: String(l.operatorSubtask),
    };
    for (const [q, key] of QUANTILES) {
      f.set("gauge", LATENCY_NAME, [...LATENCY_LABELS, "quantile"], { ...labels, quantile: q }, l.stats[key]);
    }
    f.set("gauge", `${LATENCY_NAME}_count`, LATENCY_LABELS, labels, l.stats.count);
  }
}

function addUserMetric(f: Families, name: string, labels: Labels, u: MetricValue): void {
  if (u.kind === "counter") f.set("counter", name, OPERATOR_LABELS, labels, u.value);
  else if (u.kind === "gauge" || u.kind === "meter") f.set("gauge", name, OPERATOR_LABELS, labels, u.value);
  else if (u.stats !== undefined) {
    // As Flink's reporter: a histogram is a summary of quantiles and a count.
    for (const [q, key] of QUANTILES) {
      f.set("gauge", name, [...OPERATOR_LABELS, "quantile"], { ...labels, quantile: q }, u.stats[key]);
    }
    f.set("gauge", `${name}_count`, OPERATOR_LABELS, labels, u.stats.count);
  }
}

function kindOf(name: string): "counter" | "gauge" {
  return COUNTER_METRICS.has(name) ? "counter" : "gauge";
}

/** Prometheus metric names: letters, digits, `_` and `:`; anything else becomes `_`. */
export function sanitize(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}
