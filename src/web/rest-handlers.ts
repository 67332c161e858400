// The REST API's answers, in Flink's endpoint shapes (field names as Flink's REST API has them),
// built from the jobs' JobMetrics. Plain functions from a request path to a status and JSON, so
// that the HTTP server stays small.

import { type AccumulatorReport, mergeAccumulators } from "../runtime/accumulators.ts";
import type { JobMetrics, JobVertexInfo } from "../runtime/metrics/job-metrics.ts";
import { latencyMetricValues } from "../runtime/metrics/latency-metrics.ts";
import type { TaskMetricsSnapshot } from "../runtime/metrics/task-metrics-snapshot.ts";
import { diagnoseWatermarks } from "../runtime/metrics/watermark-doctor.ts";
import { checkpointDetailsRoute, checkpointOverview } from "./checkpoint-handlers.ts";
import { openApiDescription } from "./openapi.ts";

export interface RestAnswer {
  status: number;
  body: unknown;
}

const notFound = (what: string): RestAnswer => ({ status: 404, body: { errors: [what] } });
const badRequest = (what: string): RestAnswer => ({ status: 400, body: { errors: [what] } });
/** Flink reports "no watermark" as Long.MIN_VALUE; metric values are strings in its REST API. */
const LONG_MIN = "-9223372036854775808";

/** Answer a GET of `path` (without the query) with `query`; undefined when no route matches. */
export function answer(
  jobs: readonly JobMetrics[],
  path: string,
  query: URLSearchParams,
): RestAnswer | undefined {
  const parts = path.split("/").filter((p) => p.length > 0);
  if (parts.length === 1 && parts[0] === "overview") return { status: 200, body: overview(jobs) };
  if (parts.length === 1 && parts[0] === "openapi.json") return { status: 200, body: openApiDescription() };
  if (parts[0] !== "jobs") return undefined;
  if (parts.length === 1 || (parts.length === 2 && parts[1] === "overview")) {
    return { status: 200, body: { jobs: jobs.map(jobSummary) } };
  }
  const job = jobs.find((j) => j.jobId === parts[1]);
  if (job === undefined) return notFound(`Job ${parts[1]} not found`);
  if (parts.length === 2) return { status: 200, body: jobDetails(job) };
  switch (parts[2]) {
    case "metrics":
      if (parts.length !== 3) return undefined;
      return {
        status: 200,
        body: metricList({ ...job.jobMetrics(), ...latencyMetricValues(job.tasks()) }, query),
      };
    case "plan":
      return parts.length === 3 ? { status: 200, body: { plan: plan(job) } } : undefined;
    case "checkpoints":
      if (parts.length === 3) return { status: 200, body: checkpointOverview(job) };
      if (parts.length === 4 && parts[3] === "config") return checkpointConfig(job);
      return parts[3] === "details" ? checkpointDetailsRoute(job, parts.slice(4)) : undefined;
    case "exceptions":
      return parts.length === 3 ? exceptions(job, query) : undefined;
    case "accumulators":
      return parts.length === 3 ? { status: 200, body: accumulators(job) } : undefined;
    case "vertices":
      return vertexRoute(job, parts.slice(3), query);
    case "watermarks":
      return parts.length === 4 && parts[3] === "doctor" ? watermarkDoctor(job, query) : undefined;
    default:
      return undefined;
  }
}

/** `GET /jobs/:jid/checkpoints/config`: Flink's 404 when the job does not checkpoint. */
function checkpointConfig(job: JobMetrics): RestAnswer {
  const config = job.checkpointConfig;
  if (config === undefined) return notFound("Checkpointing is not enabled for this job.");
  return { status: 200, body: config };
}

/** Flink's names of the accumulator kinds. */
const ACCUMULATOR_TYPES: Record<AccumulatorReport["kind"], string> = {
  counter: "LongCounter",
  max: "MaxAccumulator",
  list: "ListAccumulator",
  custom: "Accumulator",
};

/**
 * `GET /jobs/:jid/accumulators`, Flink's shape: the user accumulators of the current attempt's
 * subtasks, merged as the job's result merges them (values as strings, as Flink shows them).
 */
function accumulators(job: JobMetrics): unknown {
  const reports = job.tasks().flatMap((t) => t.accumulators ?? []);
  const kinds = new Map(reports.map((r) => [r.name, r.kind]));
  const merged = mergeAccumulators(reports);
  return {
    "job-accumulators": [],
    "user-task-accumulators": Object.entries(merged).map(([name, value]) => ({
      name,
      type: ACCUMULATOR_TYPES[kinds.get(name) ?? "custom"],
      value: typeof value === "string" ? value : JSON.stringify(value),
    })),
    "serialized-user-task-accumulators": {},
  };
}

function vertexRoute(job: JobMetrics, rest: string[], query: URLSearchParams): RestAnswer | undefined {
  if (rest.length === 0) return undefined;
  const vertex = job.vertices.find((v) => String(v.id) === rest[0]);
  if (vertex === undefined) return notFound(`Vertex ${rest[0]} of job ${job.jobId} not found`);
  const tasks = job.tasks().filter((t) => t.vertexId === vertex.id);
  if (rest.length === 1) return { status: 200, body: vertexDetails(job, vertex, tasks) };
  if (rest.length === 2) {
    switch (rest[1]) {
      case "metrics": {
        const values: Record<string, number> = {};
        for (const t of tasks) {
          for (const [name, v] of Object.entries(subtaskMetricValues(t))) values[`${t.subtask}.${name}`] = v;
        }
        return { status: 200, body: metricList(values, query) };
      }
      case "watermarks":
        return {
          status: 200,
          body: tasks.map((t) => ({
            id: `${t.subtask}.currentInputWatermark`,
            value: watermarkString(t.metrics.currentInputWatermark),
          })),
        };
      case "backpressure":
        return { status: 200, body: backPressure(tasks) };
      default:
        return undefined;
    }
  }
  if (rest[1] !== "subtasks" || rest[rest.length - 1] !== "metrics") return undefined;
  if (rest.length === 3) return aggregatedSubtaskMetrics(tasks, query);
  if (rest.length !== 4) return undefined;
  const task = tasks.find((t) => String(t.subtask) === rest[2]);
  if (task === undefined)
    return notFound(`Subtask ${rest[2]} of vertex ${vertex.id} of job ${job.jobId} not found`);
  return { status: 200, body: metricList(subtaskMetricValues(task), query) };
}

/** A subtask's metrics under Flink's ids: the task's by name, its operators' as `<operator>.<name>`. */
function subtaskMetricValues(t: TaskMetricsSnapshot): Record<string, number> {
  const values: Record<string, number> = { ...t.metrics };
  for (const o of t.operators) {
    for (const [name, v] of Object.entries(o.metrics)) values[`${o.name}.${name}`] = v;
    for (const u of o.user) values[`${o.name}.${u.name}`] = u.value;
    for (const s of o.splits ?? []) {
      for (const [name, v] of Object.entries(s.metrics)) values[`${o.name}.source.${s.splitId}.${name}`] = v;
    }
  }
  return values;
}

const AGGREGATIONS = ["min", "max", "avg", "sum", "skew"] as const;
type Aggregation = (typeof AGGREGATIONS)[number];

/**
 * `GET …/vertices/:vid/subtasks/metrics[?get=a,b&agg=min,max,avg,sum,skew&subtasks=0,2-3]`, Flink's
 * on-demand aggregation over subtasks: without `get`, the ids any chosen subtask has; with it,
 * `[{id, min, max, avg, sum, skew}]` (numbers; only the aggregations asked for, all by default).
 * Skew is the mean absolute deviation from the average, in percent of the average (0 when the
 * average is 0), as Flink's dashboard shows it. A metric no chosen subtask has is left out.
 */
function aggregatedSubtaskMetrics(tasks: TaskMetricsSnapshot[], query: URLSearchParams): RestAnswer {
  const aggParam = query.get("agg");
  const aggs = aggParam === null ? [...AGGREGATIONS] : aggParam.split(",").map((a) => a.trim().toLowerCase());
  const unknown = aggs.filter((a) => !(AGGREGATIONS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    return badRequest(`agg: unknown aggregation '${unknown[0]}'; use any of ${AGGREGATIONS.join(", ")}`);
  }
  const wanted = query.get("subtasks");
  const chosen = wanted === null ? undefined : subtaskSet(wanted);
  if (chosen instanceof Error) return badRequest(chosen.message);
  const rows = tasks.filter((t) => chosen === undefined || chosen.has(t.subtask)).map(subtaskMetricValues);
  const get = query.get("get");
  if (get === null) {
    return { status: 200, body: [...new Set(rows.flatMap((r) => Object.keys(r)))].map((id) => ({ id })) };
  }
  const out: Array<Record<string, string | number>> = [];
  for (const id of get.split(",")) {
    const values = rows.map((r) => r[id]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) continue;
    const sum = values.reduce((a, b) => a + b, 0);
    const avg = sum / values.length;
    const all: Record<Aggregation, number> = {
      min: Math.min(...values),
      max: Math.max(...values),
      avg,
      sum,
      skew:
        avg === 0
          ? 0
          : (values.reduce((a, v) => a + Math.abs(v - avg), 0) / values.length / Math.abs(avg)) * 100,
    };
    const row: Record<string, string | number> = { id };
    for (const a of aggs as Aggregation[]) row[a] = all[a];
    out.push(row);
  }
  return { status: 200, body: out };
}

/** Flink's `subtasks` parameter: indexes and ranges, `0,2-4`. */
function subtaskSet(spec: string): Set<number> | Error {
  const out = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) return new Error(`subtasks: '${part}' is not an index or a range like 2-4`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return new Error(`subtasks: the range '${part}' ends before it starts`);
    for (let i = from; i <= to && i - from < 65_536; i++) out.add(i);
  }
  return out;
}

/**
 * `GET …/vertices/:vid/backpressure`, Flink's shape since it measures backpressure by time (1.13):
 * the vertex's level is its worst subtask's; ratios are of the last second.
 */
function backPressure(tasks: TaskMetricsSnapshot[]) {
  const subtasks = tasks.map((t) => {
    const ratio = (t.metrics.backPressuredTimeMsPerSecond ?? 0) / 1000;
    return {
      subtask: t.subtask,
      "attempt-number": t.attempt,
      backpressureLevel: backPressureLevel(ratio * 1000),
      ratio,
      idleRatio: (t.metrics.idleTimeMsPerSecond ?? 0) / 1000,
      busyRatio: (t.metrics.busyTimeMsPerSecond ?? 0) / 1000,
    };
  });
  const worst = Math.max(0, ...subtasks.map((s) => s.ratio));
  return {
    status: "ok",
    backpressureLevel: backPressureLevel(worst * 1000),
    "end-timestamp": Date.now(),
    subtasks,
  };
}

function watermarkString(w: number | undefined): string {
  return w === undefined || w === Number.NEGATIVE_INFINITY ? LONG_MIN : String(w);
}

/** Flink's metric query: without `get`, the ids available; with it, `[{id, value}]` of those asked. */
function metricList(
  values: Record<string, number>,
  query: URLSearchParams,
): Array<{ id: string; value?: string }> {
  const get = query.get("get");
  if (get === null) return Object.keys(values).map((id) => ({ id }));
  const out: Array<{ id: string; value: string }> = [];
  for (const id of get.split(",")) {
    const v = values[id];
    if (v !== undefined) out.push({ id, value: v === Number.NEGATIVE_INFINITY ? LONG_MIN : String(v) });
  }
  return out;
}

/** `GET /jobs/:jid/watermarks/doctor[?min-lag=ms]`: the subtasks whose watermark lags, and why. */
function watermarkDoctor(job: JobMetrics, query: URLSearchParams): RestAnswer {
  const given = query.get("min-lag");
  const minLagMs = given === null ? undefined : Number(given);
  if (minLagMs !== undefined && !(minLagMs >= 0)) {
    return { status: 400, body: { errors: [`min-lag must be a number of ms >= 0, got '${given}'`] } };
  }
  return {
    status: 200,
    body: { now: Date.now(), ...diagnoseWatermarks(job.vertices, job.tasks(), { minLagMs }) },
  };
}

function overview(jobs: readonly JobMetrics[]) {
  const count = (s: string) => jobs.filter((j) => j.status === s).length;
  return {
    taskmanagers: 1,
    "jobs-running": count("RUNNING") + count("RESTARTING"),
    "jobs-finished": count("FINISHED"),
    "jobs-cancelled": count("CANCELED"),
    "jobs-failed": count("FAILED"),
  };
}

function taskCounts(job: JobMetrics, vertex?: JobVertexInfo) {
  const tasks = job.tasks().filter((t) => vertex === undefined || t.vertexId === vertex.id);
  const total = vertex?.parallelism ?? job.vertices.reduce((s, v) => s + v.parallelism, 0);
  const by = (s: string) => tasks.filter((t) => t.state === s).length;
  const finished = by("finished");
  const failed = by("failed");
  const canceled = by("cancelled");
  return { total, running: total - finished - failed - canceled, finished, canceled, failed };
}

function jobSummary(job: JobMetrics) {
  const end = job.endTime ?? -1;
  return {
    jid: job.jobId,
    name: job.jobName,
    state: job.status,
    "start-time": job.startTime,
    "end-time": end,
    duration: (job.endTime ?? Date.now()) - job.startTime,
    "last-modification": job.endTime ?? job.startTime,
    tasks: taskCounts(job),
  };
}

function ioOf(tasks: TaskMetricsSnapshot[]) {
  const sum = (name: string) => tasks.reduce((s, t) => s + (t.metrics[name] ?? 0), 0);
  return {
    "read-bytes": sum("numBytesIn"),
    "write-bytes": sum("numBytesOut"),
    "read-records": sum("numRecordsIn"),
    "write-records": sum("numRecordsOut"),
  };
}

function jobDetails(job: JobMetrics) {
  const tasks = job.tasks();
  return {
    ...jobSummary(job),
    now: Date.now(),
    vertices: job.vertices.map((v) => {
      const mine = tasks.filter((t) => t.vertexId === v.id);
      return {
        id: String(v.id),
        name: v.name,
        parallelism: v.parallelism,
        operators: v.operators,
        status: vertexStatus(mine, v.parallelism),
        metrics: ioOf(mine),
        tasks: taskCounts(job, v),
      };
    }),
    plan: plan(job),
  };
}

/** Flink's job plan: one node per vertex, each naming its inputs and their ship strategy. */
function plan(job: JobMetrics) {
  return {
    jid: job.jobId,
    name: job.jobName,
    type: "STREAMING",
    nodes: job.vertices.map((v) => ({
      id: String(v.id),
      parallelism: v.parallelism,
      operator: "",
      operator_strategy: "",
      description: v.operators.map((o) => o.name).join(" -> "),
      inputs: (v.inputs ?? []).map((input, num) => ({
        num,
        id: String(input.id),
        ship_strategy: input.shipStrategy,
        exchange: "pipelined_bounded",
      })),
    })),
  };
}

function vertexStatus(tasks: TaskMetricsSnapshot[], parallelism: number): string {
  if (tasks.some((t) => t.state === "failed")) return "FAILED";
  if (tasks.length === parallelism && tasks.every((t) => t.state === "finished")) return "FINISHED";
  if (tasks.some((t) => t.state === "cancelled")) return "CANCELED";
  return "RUNNING";
}

function vertexDetails(job: JobMetrics, vertex: JobVertexInfo, tasks: TaskMetricsSnapshot[]) {
  return {
    id: String(vertex.id),
    name: vertex.name,
    parallelism: vertex.parallelism,
    now: Date.now(),
    subtasks: tasks.map((t) => ({
      subtask: t.subtask,
      status: t.state.toUpperCase(),
      attempt: t.attempt,
      "status-duration": Date.now() - job.startTime,
      metrics: ioOf([t]),
      backPressureLevel: backPressureLevel(t.metrics.backPressuredTimeMsPerSecond ?? 0),
    })),
  };
}

/** Flink's levels: ok below 10% of the time backpressured, high above 50%. */
function backPressureLevel(msPerSecond: number): "ok" | "low" | "high" {
  return msPerSecond > 500 ? "high" : msPerSecond > 100 ? "low" : "ok";
}

/** Flink's default number of exceptions in one answer (`?maxExceptions=N` asks for another). */
const DEFAULT_MAX_EXCEPTIONS = 20;

/** `GET /jobs/:jid/exceptions[?maxExceptions=N]`: the newest failures first; `truncated` when some are left out. */
function exceptions(job: JobMetrics, query: URLSearchParams): RestAnswer {
  const given = query.get("maxExceptions");
  const max = given === null ? DEFAULT_MAX_EXCEPTIONS : Number(given);
  if (!Number.isInteger(max) || max < 0) {
    return { status: 400, body: { errors: [`maxExceptions must be a whole number >= 0, got '${given}'`] } };
  }
  const all = [...job.exceptions].reverse();
  const truncated = job.exceptionsDropped > 0 || all.length > max;
  const entries = all.slice(0, max).map((e) => ({
    exceptionName: e.name,
    stacktrace: e.stack ?? `${e.name}: ${e.message}`,
    message: e.message,
    timestamp: e.timestamp,
    taskName: e.location ?? null,
    attempt: e.attempt,
  }));
  const root = all[0];
  return {
    status: 200,
    body: {
      "root-exception": root === undefined ? null : (root.stack ?? `${root.name}: ${root.message}`),
      timestamp: root?.timestamp ?? null,
      "all-exceptions": entries.map((e) => ({
        exception: e.stacktrace,
        task: e.taskName,
        timestamp: e.timestamp,
      })),
      truncated,
      exceptionHistory: { entries, truncated },
    },
  };
}
