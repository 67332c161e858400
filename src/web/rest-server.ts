// The REST server (node:http): Flink-shaped JSON endpoints (src/web/rest-handlers.ts) and the
// Prometheus exposition at GET /metrics. It listens on 127.0.0.1 by default; on any other address
// it refuses to start without a token, and with a token every request must carry it
// (`Authorization: Bearer <token>`), or it gets 401. Mutating requests (cancel, savepoints, stop:
// src/web/job-operations.ts) act through the jobs' controls, when the server is given them. The
// JobManager adds its own routes (/taskmanagers, /jars: src/cli/jobmanager-rest.ts) behind the same
// token check, and a standby JobManager forwards what it is asked to the leader (`forward`).

import { timingSafeEqual } from "node:crypto";
import {
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
  createServer,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { WeirError } from "../core/errors.ts";
import type { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import { renderPrometheus } from "./prometheus.ts";
import { type JobControl, JobOperations } from "./job-operations.ts";
import { flameGraph, isFlameGraphPath } from "./flamegraph-handler.ts";
import { type RestAnswer, answer } from "./rest-handlers.ts";
import { findDashboardDir, serveDashboard } from "./static-files.ts";

/** Flink's REST port; `weir run --rest-port 8081` uses it. */
export const FLINK_REST_PORT = 8081;
export const DEFAULT_REST_ADDRESS = "127.0.0.1";
/** Read when no token is given in the options. */
export const REST_TOKEN_ENV = "WEIR_REST_TOKEN";

export interface RestServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  address?: string;
  /** Required on a non-loopback address; default: the WEIR_REST_TOKEN environment variable. */
  token?: string;
  /** The jobs to serve (read on every request). */
  jobs: () => readonly JobMetrics[];
  /** A job's control (cancel, savepoints); without it, mutating requests get 405. */
  control?: (jobId: string) => JobControl | undefined;
  /**
   * Routes answered before the jobs' (the JobManager's /taskmanagers and /jars): called after the
   * token check, with the body unread; undefined passes the request on.
   */
  routes?: (req: IncomingMessage, url: URL) => Promise<RouteAnswer | undefined>;
  /**
   * Called after the token check, before anything else answers (a standby JobManager forwards
   * requests to the leader's REST API: src/web/rest-proxy.ts): true when it answered the request.
   */
  forward?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Serve CPU flame graphs of vertices (Flink's rest.flamegraph.enabled; default off). */
  flameGraph?: boolean;
  /** Serve https with this certificate and key. */
  tls?: RestTls;
}

/** PEM certificate (chain) and private key of an https REST server. */
export interface RestTls {
  cert?: Buffer;
  key?: Buffer;
}

/** An http server, or an https one when `tls` is given. */
export function createRestListener(handler: RequestListener, tls?: RestTls): Server {
  return tls === undefined
    ? createServer(handler)
    : createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" }, handler);
}

/** The URL a REST server listening on `address:port` is reached at. */
export function restUrl(address: string, port: number, tls?: RestTls): string {
  return `${tls === undefined ? "http" : "https"}://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/** What an added route answers: JSON, or a text of a content type. */
export type RouteAnswer = RestAnswer | { status: number; text: string; contentType: string };

/** The largest request body read (a savepoint request is a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

/** The REST server cannot start: the address needs a token, or the port is taken. */
export class RestServerError extends WeirError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

export interface RestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || /^127\.\d+\.\d+\.\d+$/.test(address);
}

export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const address = options.address ?? DEFAULT_REST_ADDRESS;
  const token = options.token ?? process.env[REST_TOKEN_ENV];
  if (!isLoopback(address) && (token === undefined || token.length === 0)) {
    throw new RestServerError(
      `the REST server would listen on ${address}, beyond this machine, without a token; pass --rest-token <secret> (or set ${REST_TOKEN_ENV}), or leave --rest-address at ${DEFAULT_REST_ADDRESS}`,
    );
  }
  const operations = new JobOperations();
  const dashboard = findDashboardDir();
  const server = createRestListener((req, res) => {
    handle(req, res, options, operations, token, dashboard).catch((e: unknown) => {
      send(res, 500, { errors: [e instanceof Error ? e.message : String(e)] });
    });
  }, options.tls);
  await listen(server, options.port, address);
  const port = (server.address() as { port: number }).port;
  return {
    url: restUrl(address, port, options.tls),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(
        e.code === "EADDRINUSE"
          ? new RestServerError(
              `port ${port} on ${address} is in use; pick another with --rest-port (0 picks a free one)`,
            )
          : new RestServerError(`the REST server cannot listen on ${address}:${port}: ${e.message}`),
      );
    });
    server.listen(port, address, () => resolve());
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: RestServerOptions,
  operations: JobOperations,
  token: string | undefined,
  dashboard: string | undefined,
): Promise<void> {
  const jobs = options.jobs;
  const url = new URL(req.url ?? "/", "http://localhost");
  // The web dashboard's files (docs/dashboard.md), without the token.
  if (await serveDashboard(req, res, dashboard)) return;
  if (token !== undefined && token.length > 0 && !authorized(req, token)) {
    send(res, 401, { errors: ["a token is required: send 'Authorization: Bearer <token>'"] });
    return;
  }
  if ((await options.forward?.(req, res)) === true) return;
  const routed = await options.routes?.(req, url);
  if (routed !== undefined) {
    if ("text" in routed) {
      res.writeHead(routed.status, { "content-type": routed.contentType });
      res.end(routed.text);
    } else send(res, routed.status, routed.body);
    return;
  }
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  if (parts[0] === "jobs" && parts.length >= 2 && parts[1] !== "overview") {
    const body = req.method === "GET" ? { json: undefined } : await readJson(req);
    if ("invalid" in body) {
      send(res, 400, { errors: [body.invalid] });
      return;
    }
    const id = parts[1]!;
    if (!jobs().some((j) => j.jobId === id)) {
      send(res, 404, { errors: [`Job ${id} not found`] });
      return;
    }
    const method = req.method ?? "GET";
    const control = options.control?.(id);
    const op = operations.answer(method, parts, url.searchParams, body.json, id, control);
    if (op !== undefined) {
      send(res, op.status, op.body);
      return;
    }
  }
  if (req.method !== "GET") {
    send(res, 405, { errors: [`${req.method} ${url.pathname} is not supported`] });
    return;
  }
  if (isFlameGraphPath(parts)) {
    const job = jobs().find((j) => j.jobId === parts[1])!;
    const a = await flameGraph(job, parts[3]!, url.searchParams, options.flameGraph === true);
    send(res, a.status, a.body);
    return;
  }
  if (url.pathname === "/metrics") {
    const { contentType, body } = await renderPrometheus(jobs());
    res.writeHead(200, { "content-type": contentType });
    res.end(body);
    return;
  }
  const a = answer(jobs(), url.pathname, url.searchParams);
  if (a === undefined) send(res, 404, { errors: [`Not found: ${url.pathname}`] });
  else send(res, a.status, a.body);
}

/** A request's JSON body (`json` undefined when empty), or why it cannot be read. */
export async function readJson(req: IncomingMessage): Promise<{ json: unknown } | { invalid: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { invalid: `the request body is larger than ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text.length === 0) return { json: undefined };
  try {
    return { json: JSON.parse(text) };
  } catch {
    return { invalid: "the request body is not valid JSON" };
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
