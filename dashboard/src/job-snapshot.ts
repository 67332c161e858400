// What the job page loads on every poll (the job, every vertex's subtask metrics, checkpoints,
// exceptions, the watermark doctor) and what it derives from it: each vertex's load for the graph,
// the records read by sources and reaching sinks, the watermark lag.

import {
  type Checkpoints,
  type Exceptions,
  type JobDetails,
  type SubtaskInfo,
  type SubtaskMetrics,
  get,
  subtaskMetrics,
} from "./api.ts";
import { hasWatermark } from "./format.ts";
import type { VertexLoad } from "./job-graph.tsx";

export interface JobSnapshot {
  details: JobDetails;
  jobMetrics: Record<string, number>;
  /** per vertex id, per subtask */
  metrics: Map<string, SubtaskMetrics[]>;
  checkpoints: Checkpoints | undefined;
  exceptions: Exceptions | undefined;
  subtasks: { vid: string; list: SubtaskInfo[] } | undefined;
  doctor: unknown;
}

const JOB_METRICS = ["numRestarts", "uptime", "lastCheckpointDuration", "lastCompletedCheckpointId"];

const optional = <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);

export async function loadJob(jid: string, selected: string | undefined): Promise<JobSnapshot> {
  const details = await get<JobDetails>(`/jobs/${jid}`);
  const vid = selected ?? details.vertices[0]?.id;
  const [metrics, jobMetrics, checkpoints, exceptions, subtasks, doctor] = await Promise.all([
    Promise.all(details.vertices.map((v) => optional(subtaskMetrics(jid, v.id, v.parallelism)))),
    optional(get<Array<{ id: string; value: string }>>(`/jobs/${jid}/metrics?get=${JOB_METRICS.join(",")}`)),
    optional(get<Checkpoints>(`/jobs/${jid}/checkpoints`)),
    optional(get<Exceptions>(`/jobs/${jid}/exceptions`)),
    vid === undefined
      ? undefined
      : optional(get<{ subtasks: SubtaskInfo[] }>(`/jobs/${jid}/vertices/${vid}`)),
    optional(get<unknown>(`/jobs/${jid}/watermarks/doctor`)),
  ]);
  return {
    details,
    jobMetrics: Object.fromEntries((jobMetrics ?? []).map((m) => [m.id, Number(m.value)])),
    metrics: new Map(details.vertices.map((v, i) => [v.id, metrics[i] ?? []])),
    checkpoints,
    exceptions,
    subtasks: vid === undefined || subtasks === undefined ? undefined : { vid, list: subtasks.subtasks },
    doctor,
  };
}

export function loadOf(rows: SubtaskMetrics[], isSource: boolean): VertexLoad | undefined {
  if (rows.length === 0) return undefined;
  const max = (f: (r: SubtaskMetrics) => number) => Math.max(...rows.map(f));
  const sum = (f: (r: SubtaskMetrics) => number) =>
    rows.reduce((s, r) => s + (Number.isFinite(f(r)) ? f(r) : 0), 0);
  const marks = rows
    .map((r) => (isSource ? r.currentOutputWatermark : r.currentInputWatermark))
    .filter(hasWatermark);
  return {
    busy: max((r) => r.busyTimeMsPerSecond),
    backPressured: max((r) => r.backPressuredTimeMsPerSecond),
    inPerSecond: sum((r) => r.numRecordsInPerSecond),
    outPerSecond: sum((r) => r.numRecordsOutPerSecond),
    recordsIn: sum((r) => r.numRecordsIn),
    recordsOut: sum((r) => r.numRecordsOut),
    watermark: marks.length === rows.length ? Math.min(...marks) : Number.NaN,
  };
}

/** The longest last checkpoint alignment of any subtask (NaN while the metric is not reported). */
export function maxAlignment(metrics: Map<string, SubtaskMetrics[]>): number {
  const values = [...metrics.values()]
    .flat()
    .map((r) => r.checkpointAlignmentTime)
    .filter(Number.isFinite);
  // Reported in nanoseconds, as Flink does.
  return values.length === 0 ? Number.NaN : Math.max(...values) / 1e6;
}

export { type Totals, totalsOf } from "./job-totals.ts";
