// The JobManager's REST API (started by `weir jobmanager`, which sits above both the cluster and
// the web layer): the REST server of `weir run --rest-port` (src/web/: the jobs' endpoints in
// Flink's shapes, cancel, savepoints and stop, Prometheus /metrics, the dashboard) for every job of
// the cluster, plus what only a cluster has: job submission as in Flink (POST /jars/upload, then
// POST /jars/:jarid/run; src/cli/jobmanager-jars.ts), a job's end at GET
// /jobs/:jobid/execution-result, and Flink's TaskManager endpoints: GET /taskmanagers,
// /taskmanagers/:id, /taskmanagers/:id/logs and /taskmanagers/:id/stdout (the last MiB of the
// TaskManager's log file and of what its tasks printed), and GET /jobmanager/log (the last MiB of
// the JobManager's own log file, with --log-file). This is what clients (`weir run -m`,
// `weir list -m`, ...) speak to. On loopback by default; any other address needs the cluster
// token, which every request must then carry as a Bearer token. With --tls-cert and --tls-key it
// serves https.

import type { IncomingMessage } from "node:http";
import type { JobManager } from "../cluster/jobmanager/job-manager.ts";
import type { TaskManagerInfo } from "../cluster/rpc/messages.ts";
import { fileTail } from "../cluster/taskmanager/output-tail.ts";
import { openApiDescription } from "../web/openapi.ts";
import {
  type RestServer,
  type RestServerOptions,
  type RestTls,
  type RouteAnswer,
  startRestServer,
} from "../web/rest-server.ts";
import { executionResult, jarRoutes } from "./jobmanager-jars.ts";

export interface JobManagerRestOptions {
  port: number;
  address: string;
  token: string;
  /** The JobManager's log file (--log-file), served at GET /jobmanager/log. */
  logFile?: string;
  /** Serve https. */
  tls?: RestTls;
  /** Serve flame graphs (profiles of the TaskManagers' worker threads; Flink's rest.flamegraph.enabled). */
  flameGraph?: boolean;
}

/**
 * The REST API of `jm`, or of whichever JobManager this process runs while it leads (a highly
 * available JobManager serves its REST API whether it leads or not; `o.forward` answers for the
 * leader while it stands by: src/cli/cluster-ha.ts).
 */
export function startJobManagerRest(
  jm: JobManager | (() => JobManager | undefined),
  o: JobManagerRestOptions & { forward?: RestServerOptions["forward"] },
): Promise<RestServer> {
  const current = typeof jm === "function" ? jm : () => jm;
  return startRestServer({
    port: o.port,
    address: o.address,
    token: o.token,
    jobs: () => current()?.jobMetrics() ?? [],
    control: (jobId) => current()?.jobs.get(jobId)?.client,
    routes: (req, url) => {
      const leader = current();
      if (leader !== undefined) return clusterRoutes(leader, req, url, o.logFile);
      // A standby's own Prometheus exposition: no jobs.
      if (url.pathname === "/metrics") return Promise.resolve(undefined);
      return Promise.resolve({
        status: 503,
        body: { errors: ["this JobManager does not lead (leadership is changing); retry"] },
      });
    },
    forward: o.forward,
    tls: o.tls,
    flameGraph: o.flameGraph,
  });
}

async function clusterRoutes(
  jm: JobManager,
  req: IncomingMessage,
  url: URL,
  logFile: string | undefined,
): Promise<RouteAnswer | undefined> {
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  if (url.pathname === "/jobmanager/log" && req.method === "GET") {
    if (logFile === undefined) {
      return {
        status: 404,
        body: { errors: ["the JobManager logs to stderr only: start it with --log-file"] },
      };
    }
    return { status: 200, text: await fileTail(logFile), contentType: "text/plain; charset=utf-8" };
  }
  if (parts[0] === "jars") return jarRoutes(jm, req, url, parts);
  if (url.pathname === "/openapi.json" && req.method === "GET") {
    return { status: 200, body: openApiDescription(undefined, true) };
  }
  if (parts[0] === "jobs" && parts.length === 3 && parts[2] === "execution-result" && req.method === "GET") {
    return executionResult(jm, parts[1]!);
  }
  if (parts[0] !== "taskmanagers" || req.method !== "GET") return undefined;
  const all = jm.resources.info();
  if (parts.length === 1) return { status: 200, body: { taskmanagers: all.map(summary) } };
  const tm = all.find((t) => t.id === parts[1]);
  if (tm === undefined) return { status: 404, body: { errors: [`TaskManager ${parts[1]} not found`] } };
  if (parts.length === 2) return { status: 200, body: { ...summary(tm), metrics: tm.metrics } };
  if (parts.length === 3 && (parts[2] === "logs" || parts[2] === "stdout")) {
    const text = await jm.fetchFile(tm.id, parts[2]);
    if (text === undefined) return { status: 404, body: { errors: [`TaskManager ${tm.id} did not answer`] } };
    return { status: 200, text, contentType: "text/plain; charset=utf-8" };
  }
  return { status: 404, body: { errors: [`Not found: ${url.pathname}`] } };
}

/** Flink's TaskManager summary fields. */
function summary(tm: TaskManagerInfo): Record<string, unknown> {
  return {
    id: tm.id,
    path: `${tm.host}:${tm.pid}`,
    dataPort: tm.dataPort,
    timeSinceLastHeartbeat: tm.timeSinceLastHeartbeat,
    slotsNumber: tm.slotsNumber,
    freeSlots: tm.freeSlots,
  };
}
