// The REST API's checkpoint statistics, in Flink's shapes: `GET /jobs/:jid/checkpoints` (counts,
// summary, latest, history), `…/checkpoints/details/:id` (one checkpoint, per vertex) and
// `…/checkpoints/details/:id/subtasks/:vid` (per subtask: acknowledgement, synchronous part,
// alignment, start delay). The history comes from the coordinator's events (src/runtime/metrics/
// checkpoint-history.ts); the per-subtask figures from the tasks' own accounts.

import type { CheckpointHistoryEntry } from "../runtime/metrics/checkpoint-history.ts";
import type { JobMetrics, JobVertexInfo } from "../runtime/metrics/job-metrics.ts";
import type { SubtaskCheckpointStats } from "../runtime/metrics/subtask-checkpoint-stats.ts";
import type { RestAnswer } from "./rest-handlers.ts";

const notFound = (what: string): RestAnswer => ({ status: 404, body: { errors: [what] } });

function minMaxAvg(values: number[]) {
  if (values.length === 0) return { min: 0, max: 0, avg: 0 };
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    avg: values.reduce((s, v) => s + v, 0) / values.length,
  };
}

/** `GET /jobs/:jid/checkpoints`. */
export function checkpointOverview(job: JobMetrics) {
  job.tasks(); // in-thread tasks: their latest accounts
  const m = job.jobMetrics();
  const history = [...job.checkpointHistory].reverse();
  const completed = history.filter((h) => h.status === "COMPLETED");
  return {
    counts: {
      restored: 0,
      total: m.totalNumberOfCheckpoints ?? 0,
      in_progress: m.numberOfInProgressCheckpoints ?? 0,
      completed: m.numberOfCompletedCheckpoints ?? 0,
      failed: m.numberOfFailedCheckpoints ?? 0,
    },
    summary: {
      end_to_end_duration: minMaxAvg(completed.map((h) => h.end_to_end_duration)),
      state_size: minMaxAvg(completed.map((h) => h.state_size)),
    },
    latest: {
      completed: entry(completed.find((h) => !h.is_savepoint) ?? null),
      savepoint: entry(completed.find((h) => h.is_savepoint) ?? null),
      failed: entry(history.find((h) => h.status === "FAILED") ?? null),
      restored: null,
    },
    history: history.map((h) => entry(h)),
  };
}

function entry(h: CheckpointHistoryEntry | null) {
  if (h === null) return null;
  return { ...h, checkpoint_type: h.is_savepoint ? "SAVEPOINT" : "CHECKPOINT" };
}

/** `…/checkpoints/details/:id[/subtasks/:vid]`; undefined when `rest` is no such route. */
export function checkpointDetailsRoute(job: JobMetrics, rest: string[]): RestAnswer | undefined {
  if (rest.length !== 1 && !(rest.length === 3 && rest[1] === "subtasks")) return undefined;
  job.tasks(); // in-thread tasks: their latest accounts
  const id = Number(rest[0]);
  const h = Number.isSafeInteger(id) ? job.checkpoints.find(id) : undefined;
  if (h === undefined) {
    return notFound(
      `Checkpoint ${rest[0]} of job ${job.jobId} is not in the history (the last ${job.checkpointHistory.length} are kept)`,
    );
  }
  const reports = job.checkpoints.subtasksOf(id);
  if (rest.length === 1) {
    const tasks: Record<string, unknown> = {};
    for (const v of job.vertices) tasks[String(v.id)] = vertexSummary(h, v, reports);
    return { status: 200, body: { ...entry(h), ...counts(job.vertices, reports), tasks } };
  }
  const vertex = job.vertices.find((v) => String(v.id) === rest[2]);
  if (vertex === undefined) return notFound(`Vertex ${rest[2]} of job ${job.jobId} not found`);
  return { status: 200, body: subtaskDetails(h, vertex, reports) };
}

function mine(vertex: JobVertexInfo, reports: ReadonlyMap<string, SubtaskCheckpointStats>) {
  const out: Array<SubtaskCheckpointStats | undefined> = [];
  for (let i = 0; i < vertex.parallelism; i++) out.push(reports.get(`${vertex.id}/${i}`));
  return out;
}

function counts(vertices: readonly JobVertexInfo[], reports: ReadonlyMap<string, SubtaskCheckpointStats>) {
  return {
    num_subtasks: vertices.reduce((s, v) => s + v.parallelism, 0),
    num_acknowledged_subtasks: reports.size,
  };
}

function vertexSummary(
  h: CheckpointHistoryEntry,
  vertex: JobVertexInfo,
  reports: ReadonlyMap<string, SubtaskCheckpointStats>,
) {
  const acked = mine(vertex, reports).filter((s) => s !== undefined);
  const latest = acked.reduce((m, s) => Math.max(m, s.ackTimestamp), -1);
  return {
    id: String(vertex.id),
    status: h.status,
    latest_ack_timestamp: latest,
    end_to_end_duration: latest < 0 ? -1 : latest - h.trigger_timestamp,
    num_subtasks: vertex.parallelism,
    num_acknowledged_subtasks: acked.length,
  };
}

function subtaskDetails(
  h: CheckpointHistoryEntry,
  vertex: JobVertexInfo,
  reports: ReadonlyMap<string, SubtaskCheckpointStats>,
) {
  const subtasks = mine(vertex, reports).map((s, index) => {
    if (s === undefined) return { index, status: "pending_or_failed" };
    const startDelayMs = s.startDelayNanos < 0 ? -1 : s.startDelayNanos / 1e6;
    return {
      index,
      status: "completed",
      ack_timestamp: s.ackTimestamp,
      end_to_end_duration: s.ackTimestamp - h.trigger_timestamp,
      checkpoint: { sync: round(s.syncMs), async: -1 },
      alignment: { buffered: -1, processed: -1, persisted: -1, duration: round(s.alignmentMs) },
      start_delay: round(startDelayMs),
      start_delay_nanos: s.startDelayNanos,
      unaligned_checkpoint: s.unaligned,
      aborted: false,
    };
  });
  const done = subtasks.filter((s) => s.status === "completed") as Array<{
    ack_timestamp: number;
    end_to_end_duration: number;
    checkpoint: { sync: number };
    alignment: { duration: number };
    start_delay: number;
  }>;
  return {
    ...vertexSummary(h, vertex, reports),
    summary: {
      end_to_end_duration: minMaxAvg(done.map((s) => s.end_to_end_duration)),
      checkpoint_duration: { sync: minMaxAvg(done.map((s) => s.checkpoint.sync)) },
      alignment: { duration: minMaxAvg(done.map((s) => s.alignment.duration)) },
      start_delay: minMaxAvg(done.map((s) => s.start_delay).filter((d) => d >= 0)),
    },
    subtasks,
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
