// The job's latency metrics (Flink's `latency`, at its default "operator" granularity): for every
// operator subtask and every source whose latency markers reached it, the histogram of the
// source-to-operator time. Named as Flink names them in the job scope:
// `latency.source_id.<source uid>.operator_id.<operator uid>.operator_subtask_index.<n>.latency_<stat>`.

import type { HistogramStatistics } from "../../core/metrics.ts";
import type { TaskMetricsSnapshot } from "./task-metrics-snapshot.ts";

export interface OperatorLatency {
  sourceUid: string;
  operatorUid: string;
  operatorName: string;
  operatorSubtask: number;
  stats: HistogramStatistics;
}

/** Every operator subtask's latency from each source, from the subtasks' snapshots. */
export function operatorLatencies(tasks: readonly TaskMetricsSnapshot[]): OperatorLatency[] {
  const out: OperatorLatency[] = [];
  for (const t of tasks) {
    for (const o of t.operators) {
      for (const l of o.latency ?? []) {
        out.push({
          sourceUid: l.sourceUid,
          operatorUid: o.uid,
          operatorName: o.name,
          operatorSubtask: t.subtask,
          stats: l.stats,
        });
      }
    }
  }
  return out;
}

const STATS: Array<keyof HistogramStatistics> = [
  "count",
  "min",
  "max",
  "mean",
  "stddev",
  "p50",
  "p75",
  "p95",
  "p98",
  "p99",
  "p999",
];

/** The same as job-scope metric values, by Flink's metric id. */
export function latencyMetricValues(tasks: readonly TaskMetricsSnapshot[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const l of operatorLatencies(tasks)) {
    const id = `latency.source_id.${l.sourceUid}.operator_id.${l.operatorUid}.operator_subtask_index.${l.operatorSubtask}`;
    for (const s of STATS) values[`${id}.latency_${s}`] = l.stats[s];
  }
  return values;
}
