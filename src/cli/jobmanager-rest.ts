// The JobManager's REST API (started by `weir jobmanager`, which sits above both the cluster and
// the web layer): the jobs' endpoints of `weir run --rest-port` (src/web/, Flink's
// shapes) for every job of the cluster, Prometheus /metrics, and Flink's TaskManager endpoints:
// GET /taskmanagers, /taskmanagers/:id, /taskmanagers/:id/logs and /taskmanagers/:id/stdout (the
// last MiB of the TaskManager's log and of what its tasks printed), and the web dashboard at `/`
// (read-only here: its cancel and savepoint buttons need `weir cancel|savepoint -m`). On loopback by default; any
// other address needs the token, which every request must then carry as a Bearer token. With
// --tls-cert and --tls-key it serves https.

import type { IncomingMessage, ServerResponse } from "node:http";
import { tokensEqual } from "../cluster/rpc/frame-socket.ts";
import type { TaskManagerInfo } from "../cluster/rpc/messages.ts";
import type { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import { renderPrometheus } from "../web/prometheus.ts";
import { answer } from "../web/rest-handlers.ts";
import {
  type RestServer,
  RestServerError,
  type RestTls,
  createRestListener,
  isLoopback,
  restUrl,
} from "../web/rest-server.ts";
import { findDashboardDir, serveDashboard } from "../web/static-files.ts";

export interface JobManagerRestOptions {
  port: number;
  address: string;
  token: string;
  jobs: () => readonly JobMetrics[];
  taskManagers: () => TaskManagerInfo[];
  /** The tail of a TaskManager's log or stdout; undefined when it is not registered. */
  taskManagerFile: (id: string, file: "logs" | "stdout") => Promise<string | undefined>;
  /** Serve https. */
  tls?: RestTls;
}

export async function startJobManagerRest(o: JobManagerRestOptions): Promise<RestServer> {
  if (!isLoopback(o.address) && o.token.length === 0) {
    throw new RestServerError(
      `the JobManager's REST API would listen on ${o.address}, beyond this machine, without a token; pass --token, or leave the address at 127.0.0.1`,
    );
  }
  const dashboard = findDashboardDir();
  const server = createRestListener((req, res) => {
    handle(req, res, o, dashboard).catch((e: unknown) =>
      json(res, 500, { errors: [e instanceof Error ? e.message : String(e)] }),
    );
  }, o.tls);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new RestServerError(
          e.code === "EADDRINUSE"
            ? `REST port ${o.port} on ${o.address} is in use; pick another with --rest-port (0 picks a free one)`
            : `the REST API cannot listen on ${o.address}:${o.port}: ${e.message}`,
        ),
      ),
    );
    server.listen(o.port, o.address, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: restUrl(o.address, port, o.tls),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  o: JobManagerRestOptions,
  dashboard: string | undefined,
): Promise<void> {
  // The web dashboard's files (docs/dashboard.md) hold no job data: served without the token.
  if (await serveDashboard(req, res, dashboard)) return;
  if (o.token.length > 0) {
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (given === undefined || !tokensEqual(given, o.token)) {
      json(res, 401, { errors: ["a token is required: send 'Authorization: Bearer <token>'"] });
      return;
    }
  }
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method !== "GET") {
    json(res, 405, { errors: [`${req.method} ${url.pathname} is not supported; the REST API is read-only`] });
    return;
  }
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  if (parts[0] === "taskmanagers") {
    const all = o.taskManagers();
    if (parts.length === 1) {
      json(res, 200, { taskmanagers: all.map(summary) });
      return;
    }
    const tm = all.find((t) => t.id === parts[1]);
    if (tm === undefined) {
      json(res, 404, { errors: [`TaskManager ${parts[1]} not found`] });
      return;
    }
    if (parts.length === 2) {
      json(res, 200, { ...summary(tm), metrics: tm.metrics });
      return;
    }
    if (parts.length === 3 && (parts[2] === "logs" || parts[2] === "stdout")) {
      const text = await o.taskManagerFile(tm.id, parts[2]);
      if (text === undefined) json(res, 404, { errors: [`TaskManager ${tm.id} did not answer`] });
      else {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end(text);
      }
      return;
    }
    json(res, 404, { errors: [`Not found: ${url.pathname}`] });
    return;
  }
  if (url.pathname === "/metrics") {
    const { contentType, body } = await renderPrometheus(o.jobs());
    res.writeHead(200, { "content-type": contentType });
    res.end(body);
    return;
  }
  const a = answer(o.jobs(), url.pathname, url.searchParams);
  if (a === undefined) json(res, 404, { errors: [`Not found: ${url.pathname}`] });
  else json(res, a.status, a.body);
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

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
