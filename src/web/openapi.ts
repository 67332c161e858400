// The REST API's OpenAPI 3.0 description, served at GET /openapi.json: every route the server
// answers (src/web/rest-handlers.ts, job-operations.ts, Prometheus /metrics), with its parameters
// and the shape of its answer in outline. A test walks it against a live server.

import { readFileSync } from "node:fs";

type Schema = Record<string, unknown>;

/** The package's version (src/ and dist/ sit two levels below package.json alike). */
function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
}

const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: "object",
  properties,
  ...extra,
});
const str: Schema = { type: "string" };
const num: Schema = { type: "number" };
const int: Schema = { type: "integer" };
const bool: Schema = { type: "boolean" };
const arr = (items: Schema): Schema => ({ type: "array", items });

const jobId = { name: "jobid", in: "path", required: true, schema: str, description: "the job's id" };
const vertexId = { name: "vertexid", in: "path", required: true, schema: str, description: "a vertex id" };
const subtaskIndex = {
  name: "subtaskindex",
  in: "path",
  required: true,
  schema: int,
  description: "a subtask's index, from 0",
};
const triggerId = { name: "triggerid", in: "path", required: true, schema: str };
const checkpointId = { name: "checkpointid", in: "path", required: true, schema: int };
const getQuery = {
  name: "get",
  in: "query",
  required: false,
  schema: str,
  description: "comma-separated metric ids; without it, the ids available",
};

const errors: Schema = obj({ errors: arr(str) });
const json = (schema: Schema, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const notFound = { "404": json(errors, "unknown job, vertex or trigger") };
const metricList = json(arr(obj({ id: str, value: str })), "metric ids, or [{id, value}] with ?get=");
const tasks = obj({ total: int, running: int, finished: int, canceled: int, failed: int });
const jobSummary = obj({
  jid: str,
  name: str,
  state: { type: "string", enum: ["RUNNING", "RESTARTING", "FINISHED", "FAILED", "CANCELED"] },
  "start-time": int,
  "end-time": int,
  duration: int,
  tasks,
});
const requestId = json(obj({ "request-id": str }), "accepted: poll GET /jobs/{jobid}/savepoints/{triggerid}");
const conflict = { "409": json(errors, "the job is not running") };
const unauthorized = { "401": json(errors, "a token is required (non-loopback bind)") };
const badRequest = { "400": json(errors, "a bad body or parameter") };

const text = (description = "OK") => ({ description, content: { "text/plain": { schema: str } } });
const jarId = {
  name: "jarid",
  in: "path",
  required: true,
  schema: str,
  description: "an artifact's id (its sha256)",
};
const tmId = { name: "taskmanagerid", in: "path", required: true, schema: str };
const tmSummary = obj({
  id: str,
  path: str,
  dataPort: int,
  timeSinceLastHeartbeat: int,
  slotsNumber: int,
  freeSlots: int,
});

/** The JobManager's own routes (src/cli/jobmanager-rest.ts): job submission, job ends, TaskManagers. */
export const CLUSTER_PATHS: Record<string, Schema> = {
  "/jars": {
    get: {
      summary: "The stored job artifacts, with the jobs running each",
      responses: {
        "200": json(
          obj({
            address: str,
            files: arr(obj({ id: str, name: str, uploaded: int, size: int, jobs: arr(str) })),
          }),
        ),
      },
    },
  },
  "/jars/upload": {
    post: {
      summary:
        "Upload a job artifact (the job's esbuild bundle): multipart field 'jarfile', or the raw body with ?name=",
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": { schema: obj({ jarfile: { type: "string", format: "binary" } }) },
          "application/octet-stream": { schema: { type: "string", format: "binary" } },
        },
      },
      responses: {
        "200": json(obj({ filename: str, status: str }), "stored; the file name's last part is the jar id"),
        ...badRequest,
        ...unauthorized,
        "413": json(errors, "too large"),
      },
    },
  },
  "/jars/{jarid}": {
    delete: {
      summary: "Delete an artifact no running job uses (one is deleted by itself when its last job ends)",
      parameters: [jarId],
      responses: {
        "200": json(obj({})),
        ...unauthorized,
        "404": json(errors, "unknown artifact"),
        "409": json(errors, "a running job uses it"),
      },
    },
  },
  "/jars/{jarid}/run": {
    post: {
      summary: "Run an uploaded artifact as a new job",
      parameters: [jarId],
      requestBody: {
        required: false,
        content: {
          "application/json": {
            schema: obj({
              parallelism: int,
              savepointPath: str,
              allowNonRestoredState: bool,
              programArgsList: arr(str),
              programArgs: str,
              configuration: obj(
                {},
                { description: "the job's options, those of a local run (EnvironmentConfig)" },
              ),
            }),
          },
        },
      },
      responses: {
        "200": json(obj({ jobid: str, name: str, slots: int })),
        ...badRequest,
        ...unauthorized,
        "404": json(errors, "unknown artifact"),
      },
    },
  },
  "/jobs/{jobid}/execution-result": {
    get: {
      summary: "IN_PROGRESS until the job ends, then how it ended; with the attempts that failed",
      parameters: [jobId],
      responses: {
        "200": json(
          obj({
            status: obj({ id: { type: "string", enum: ["IN_PROGRESS", "COMPLETED"] } }),
            "job-execution-result": obj({
              id: str,
              "application-status": { type: "string", enum: ["SUCCEEDED", "FAILED", "CANCELED"] },
              "accumulator-results": obj({}),
              "net-runtime": int,
              "failure-cause": obj({ class: str, "stack-trace": str, error: obj({}) }),
              result: obj({}, { nullable: true }),
              collected: obj({}, { nullable: true }),
            }),
            "attempt-failures": arr(
              obj({ attempt: int, error: obj({}), restartDelayMs: { type: "integer", nullable: true } }),
            ),
            "attempt-failures-dropped": {
              type: "integer",
              description: "failures no longer kept, before the list (the last 100 are)",
            },
          }),
        ),
        ...notFound,
      },
    },
  },
  "/taskmanagers": {
    get: {
      summary: "The registered TaskManagers",
      responses: { "200": json(obj({ taskmanagers: arr(tmSummary) })) },
    },
  },
  "/taskmanagers/{taskmanagerid}": {
    get: {
      summary: "A TaskManager with its memory (as of its last heartbeat)",
      parameters: [tmId],
      responses: { "200": json(tmSummary), "404": json(errors, "unknown TaskManager") },
    },
  },
  "/taskmanagers/{taskmanagerid}/logs": {
    get: {
      summary: "The last MiB of the TaskManager's log (its --log-file, JSON lines)",
      parameters: [tmId],
      responses: { "200": text(), "404": json(errors, "unknown TaskManager") },
    },
  },
  "/taskmanagers/{taskmanagerid}/stdout": {
    get: {
      summary: "The last MiB of what its tasks printed",
      parameters: [tmId],
      responses: { "200": text(), "404": json(errors, "unknown TaskManager") },
    },
  },
  "/jobmanager/log": {
    get: {
      summary: "The last MiB of the JobManager's log (its --log-file)",
      responses: { "200": text(), "404": json(errors, "no log file") },
    },
  },
};

/** The description (OpenAPI 3.0.3); with `cluster`, the JobManager's: its own routes too. */
export function openApiDescription(version: string = packageVersion(), cluster = false): Schema {
  const d = localDescription(version);
  if (!cluster) return d;
  return { ...d, paths: { ...(d.paths as Schema), ...CLUSTER_PATHS } };
}

function localDescription(version: string): Schema {
  return {
    openapi: "3.0.3",
    info: {
      title: "Weir REST API",
      version,
      description:
        "Flink-shaped endpoints of a Weir job (docs/metrics.md). With a token (required on a non-loopback bind) every request carries 'Authorization: Bearer <token>'.",
    },
    components: { securitySchemes: { token: { type: "http", scheme: "bearer" } } },
    paths: {
      "/overview": {
        get: {
          summary: "Counts of jobs by state",
          responses: {
            "200": json(
              obj({ "jobs-running": int, "jobs-finished": int, "jobs-cancelled": int, "jobs-failed": int }),
            ),
          },
        },
      },
      "/jobs/overview": {
        get: { summary: "Every job in outline", responses: { "200": json(obj({ jobs: arr(jobSummary) })) } },
      },
      "/jobs/{jobid}": {
        get: {
          summary: "A job with its vertices",
          parameters: [jobId],
          responses: { "200": json(jobSummary), ...notFound },
        },
        patch: {
          summary: "Cancel the job (mode=cancel)",
          parameters: [
            jobId,
            { name: "mode", in: "query", required: false, schema: { type: "string", enum: ["cancel"] } },
          ],
          responses: { "202": json(obj({})), ...badRequest, ...unauthorized, ...notFound, ...conflict },
        },
      },
      "/jobs/{jobid}/metrics": {
        get: {
          summary: "Job metrics (numRestarts, uptime, checkpoints)",
          parameters: [jobId, getQuery],
          responses: { "200": metricList, ...notFound },
        },
      },
      "/jobs/{jobid}/checkpoints": {
        get: {
          summary: "Checkpoint counts, summary and history",
          parameters: [jobId],
          responses: {
            "200": json(obj({ counts: obj({}), summary: obj({}), latest: obj({}), history: arr(obj({})) })),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/checkpoints/details/{checkpointid}": {
        get: {
          summary: "One checkpoint of the history, per vertex",
          parameters: [jobId, checkpointId],
          responses: {
            "200": json(
              obj({
                id: int,
                status: str,
                trigger_timestamp: int,
                num_subtasks: int,
                num_acknowledged_subtasks: int,
                tasks: obj({}),
              }),
            ),
            "404": json(errors, "unknown job, or a checkpoint not (or no longer) in the history"),
          },
        },
      },
      "/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}": {
        get: {
          summary: "One checkpoint at one vertex: each subtask's start delay, alignment, acknowledgement",
          parameters: [jobId, checkpointId, vertexId],
          responses: {
            "200": json(
              obj({
                id: str,
                status: str,
                summary: obj({}),
                subtasks: arr(
                  obj({
                    index: int,
                    status: str,
                    ack_timestamp: int,
                    start_delay: num,
                    start_delay_nanos: num,
                    alignment: obj({ duration: num }),
                    checkpoint: obj({ sync: num }),
                  }),
                ),
              }),
            ),
            "404": json(errors, "unknown job or vertex, or a checkpoint not in the history"),
          },
        },
      },
      "/jobs/{jobid}/accumulators": {
        get: {
          summary: "The user accumulators of the current attempt, merged over subtasks (values as strings)",
          parameters: [jobId],
          responses: {
            "200": json(
              obj({
                "job-accumulators": arr(obj({})),
                "user-task-accumulators": arr(obj({ name: str, type: str, value: str })),
                "serialized-user-task-accumulators": obj({}),
              }),
            ),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/checkpoints/config": {
        get: {
          summary: "The job's checkpoint settings (404 when it does not checkpoint)",
          parameters: [jobId],
          responses: {
            "200": json(
              obj({
                mode: str,
                interval: num,
                timeout: num,
                min_pause: num,
                max_concurrent: num,
                externalization: obj({ enabled: bool, delete_on_cancellation: bool }),
                checkpoint_storage: str,
                unaligned_checkpoints: bool,
                aligned_checkpoint_timeout: num,
                tolerable_failed_checkpoints: num,
              }),
            ),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/exceptions": {
        get: {
          summary: "Root exception and exception history, newest first",
          parameters: [
            jobId,
            {
              name: "maxExceptions",
              in: "query",
              required: false,
              schema: int,
              description: "entries in the answer (default 20; the job keeps its last 100)",
            },
          ],
          responses: {
            "200": json(
              obj({ "root-exception": str, truncated: { type: "boolean" }, exceptionHistory: obj({}) }),
            ),
            "400": json(obj({ errors: { type: "array", items: str } })),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/watermarks/doctor": {
        get: {
          summary: "The watermark doctor: lagging subtasks, the input holding each back, and why",
          parameters: [
            jobId,
            { name: "min-lag", in: "query", required: false, schema: num, description: "ms (default 1000)" },
          ],
          responses: {
            "200": json(
              obj({
                now: int,
                frontier: { type: "number", nullable: true },
                findings: arr(
                  obj({
                    vertexName: str,
                    subtask: int,
                    watermark: { type: "number", nullable: true },
                    lagMs: { type: "number", nullable: true },
                    pendingEventTimeTimers: int,
                    path: arr(obj({})),
                    cause: str,
                    message: str,
                  }),
                ),
              }),
            ),
            ...badRequest,
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/savepoints": {
        post: {
          summary: "Trigger a savepoint (cancel-job: then stop the job)",
          parameters: [jobId],
          requestBody: {
            required: false,
            content: {
              "application/json": {
                schema: obj({ "target-directory": str, "cancel-job": bool, triggerId: str }),
              },
            },
          },
          responses: { "202": requestId, ...badRequest, ...unauthorized, ...notFound, ...conflict },
        },
      },
      "/jobs/{jobid}/savepoints/{triggerid}": {
        get: {
          summary: "A savepoint's (or a stop's) status",
          parameters: [jobId, triggerId],
          responses: {
            "200": json(
              obj({
                status: obj({ id: { type: "string", enum: ["IN_PROGRESS", "COMPLETED"] } }),
                operation: {
                  type: "object",
                  nullable: true,
                  properties: { location: str, "failure-cause": obj({ class: str, "stack-trace": str }) },
                },
              }),
            ),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/stop": {
        post: {
          summary: "Stop the job with a savepoint",
          parameters: [jobId],
          requestBody: {
            required: false,
            content: {
              "application/json": { schema: obj({ targetDirectory: str, drain: bool, triggerId: str }) },
            },
          },
          responses: { "202": requestId, ...badRequest, ...unauthorized, ...notFound, ...conflict },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}": {
        get: {
          summary: "A vertex's subtasks with their metrics and backpressure level",
          parameters: [jobId, vertexId],
          responses: {
            "200": json(obj({ id: str, name: str, parallelism: int, subtasks: arr(obj({})) })),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/metrics": {
        get: {
          summary: "A vertex's task, operator, source split and user metrics",
          parameters: [jobId, vertexId, getQuery],
          responses: { "200": metricList, ...notFound },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics": {
        get: {
          summary:
            "A vertex's metrics aggregated over its subtasks (Flink's on-demand aggregation; skew: mean absolute deviation in % of the average)",
          parameters: [
            jobId,
            vertexId,
            getQuery,
            {
              name: "agg",
              in: "query",
              required: false,
              schema: str,
              description: "comma-separated: min, max, avg, sum, skew (default all)",
            },
            {
              name: "subtasks",
              in: "query",
              required: false,
              schema: str,
              description: "subtask indexes and ranges, e.g. 0,2-3 (default all)",
            },
          ],
          responses: {
            "200": json(
              arr(obj({ id: str, min: num, max: num, avg: num, sum: num, skew: num })),
              "metric ids, or [{id, min, max, avg, sum, skew}] with ?get=",
            ),
            ...badRequest,
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics": {
        get: {
          summary: "One subtask's task, operator, source split and user metrics",
          parameters: [jobId, vertexId, subtaskIndex, getQuery],
          responses: { "200": metricList, ...notFound },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/watermarks": {
        get: {
          summary: "Each subtask's current input watermark (Long.MIN_VALUE when it has none)",
          parameters: [jobId, vertexId],
          responses: { "200": metricList, ...notFound },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/backpressure": {
        get: {
          summary:
            "The vertex's backpressure by time: level (ok, low, high) and the last second's ratios per subtask",
          parameters: [jobId, vertexId],
          responses: {
            "200": json(
              obj({
                status: str,
                backpressureLevel: str,
                "end-timestamp": int,
                subtasks: arr(
                  obj({
                    subtask: int,
                    "attempt-number": int,
                    backpressureLevel: str,
                    ratio: num,
                    idleRatio: num,
                    busyRatio: num,
                  }),
                ),
              }),
            ),
            ...notFound,
          },
        },
      },
      "/jobs/{jobid}/vertices/{vertexid}/flamegraph": {
        get: {
          summary:
            "A CPU flame graph of the threads running the vertex (off unless the server has flame graphs on: then data is null)",
          parameters: [
            jobId,
            vertexId,
            { name: "duration", in: "query", required: false, schema: int, description: "ms (default 1000)" },
          ],
          responses: {
            "200": json(
              obj({
                endTimestamp: int,
                data: {
                  type: "object",
                  nullable: true,
                  properties: { name: str, value: int, children: arr(obj({})) },
                },
              }),
            ),
            ...badRequest,
            ...notFound,
            ...conflict,
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus text exposition (format 0.0.4)",
          responses: { "200": { description: "OK", content: { "text/plain": { schema: str } } } },
        },
      },
      "/openapi.json": {
        get: { summary: "This description", responses: { "200": json(obj({ openapi: str })) } },
      },
    },
  };
}
