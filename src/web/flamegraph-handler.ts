// `GET /jobs/:jid/vertices/:vid/flamegraph` in Flink's shape ({endTimestamp, data: {name, value,
// children}}): a CPU profile of the threads running the vertex's subtasks, sampled for a short
// while (`?duration=ms`, default 1000, at most 10000) and merged into one tree. Off unless the
// server is started with it (Flink's rest.flamegraph.enabled): profiling costs the profiled
// threads some CPU while it runs. A request while one runs for the same vertex shares its result.

import { type FlameGraphNode, mergeFlameGraphs } from "../runtime/metrics/cpu-profiler.ts";
import type { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import type { RestAnswer } from "./rest-handlers.ts";

export const DEFAULT_FLAMEGRAPH_MS = 1000;
const MAX_FLAMEGRAPH_MS = 10_000;

const running = new Map<string, Promise<RestAnswer>>();

/** `parts`: the path's parts (`jobs`, jid, `vertices`, vid, `flamegraph`); undefined for other paths. */
export function isFlameGraphPath(parts: readonly string[]): boolean {
  return parts.length === 5 && parts[0] === "jobs" && parts[2] === "vertices" && parts[4] === "flamegraph";
}

export async function flameGraph(
  job: JobMetrics,
  vertexId: string,
  query: URLSearchParams,
  enabled: boolean,
): Promise<RestAnswer> {
  const vertex = job.vertices.find((v) => String(v.id) === vertexId);
  if (vertex === undefined) return error(404, `Vertex ${vertexId} of job ${job.jobId} not found`);
  if (!enabled) {
    return {
      status: 200,
      body: {
        endTimestamp: Date.now(),
        data: null,
        message:
          "flame graphs are off (as Flink's rest.flamegraph.enabled): start the run with --flamegraph (or startRestServer({flameGraph: true}))",
      },
    };
  }
  const given = query.get("duration");
  const durationMs = given === null ? DEFAULT_FLAMEGRAPH_MS : Number(given);
  if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs > MAX_FLAMEGRAPH_MS) {
    return error(400, `duration must be a whole number of ms from 1 to ${MAX_FLAMEGRAPH_MS}, got '${given}'`);
  }
  const profiler = job.profiler;
  if (job.status !== "RUNNING" || profiler === undefined) {
    return error(409, `Job ${job.jobId} is ${job.status}: a flame graph needs running subtasks`);
  }
  const key = `${job.jobId}/${vertex.id}`;
  let answer = running.get(key);
  if (answer === undefined) {
    answer = profiler(vertex.id, durationMs).then(
      (graphs: FlameGraphNode[]) => ({
        status: 200,
        body: { endTimestamp: Date.now(), data: mergeFlameGraphs(graphs) },
      }),
      (e: unknown) => error(500, `the CPU profile of vertex ${vertex.id} failed: ${String(e)}`),
    );
    running.set(key, answer);
    void answer.finally(() => running.delete(key));
  }
  return answer;
}

function error(status: number, message: string): RestAnswer {
  return { status, body: { errors: [message] } };
}
