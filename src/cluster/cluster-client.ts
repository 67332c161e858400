// A client of a cluster's JobManager over its REST API (what `weir run -m`, `weir list`, `weir
// cancel`, `weir savepoint` and `weir stop` use; -m names the REST address, as in Flink): upload a
// job's artifact and run it (POST /jars/upload, POST /jars/:jarid/run), follow it to its end by
// polling GET /jobs/:jobid/execution-result, list jobs, cancel them (PATCH /jobs/:jobid) and take
// savepoints (POST /jobs/:jobid/savepoints or /stop, polled at /savepoints/:triggerid). Given the
// cluster's CA (--tls-ca), it speaks https and checks the JobManager's certificate and host name.
// Given several addresses (`-m a:8081,b:8081`: the JobManagers of a highly available cluster), it
// tries them in turn: one that refuses the connection is skipped, one that answers 503 (a standby
// while no JobManager leads) is asked again after its Retry-After, for up to a minute; the last
// that answered is asked first next time.

import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { EnvironmentConfig } from "../api/environment.ts";
import { JobResult } from "../api/job-result.ts";
import { JobCancelledError, JobExecutionError, WeirError } from "../core/errors.ts";
import type { AttemptFailure } from "../execution/job-master.ts";
import { bundleJob } from "./job-artifact.ts";
import type { ClusterTls } from "./rpc/cluster-tls.ts";
import type { JobOverview, TaskManagerInfo, WireError } from "./rpc/messages.ts";

/** Flink's REST port: where -m points when it names no port. */
export const REST_PORT = 8081;
/** Flink's RPC port, which an old `-m host:6123` names. */
const RPC_PORT = 6123;

/** host:port of a JobManager, as -m and --jobmanager take it. */
export function parseAddress(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(s);
  if (m === null)
    throw new WeirError("INVALID_ARGUMENT", `'${s}' is not host:port; e.g. 127.0.0.1:${defaultPort}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] === undefined ? defaultPort : Number(m[2]) };
}

/** An error of the JobManager, rebuilt on this side. */
export function fromWireError(e: WireError, jobName = ""): Error {
  if (e.code === "JOB_CANCELLED") return new JobCancelledError(jobName);
  if (e.code === "JOB_FAILED" || e.location !== undefined) {
    const cause =
      e.cause === undefined ? undefined : Object.assign(new Error(e.cause.message), { name: e.cause.name });
    return new JobExecutionError(e.message, e.location ?? undefined, e.userStack ?? undefined, cause);
  }
  return new WeirError((e.code as WeirError["code"]) ?? "IO", e.message);
}

export interface SubmittedJob {
  jobId: string;
  jobName: string;
  slots: number;
}

export interface ClusterJobEnd {
  status: string;
  result: (JobResult & { collected?: Map<string, unknown[]> }) | undefined;
  error: Error | undefined;
}

/** A request to the JobManager's REST API failed: it is unreachable, refused it, or is not one. */
export class ClusterClientError extends WeirError {
  constructor(message: string) {
    super("IO", message);
  }
}

interface ExecutionResult {
  status: { id: "IN_PROGRESS" | "COMPLETED" };
  "attempt-failures": Array<{ attempt: number; error: WireError; restartDelayMs?: number | null }>;
  /** Failures the JobManager no longer keeps, from the front of the list (absent: none). */
  "attempt-failures-dropped"?: number;
  "job-execution-result"?: {
    "application-status": string;
    "failure-cause"?: { error: WireError };
    result: Record<string, unknown> | null;
    collected: Record<string, unknown[]> | null;
  };
}

/** Errors of a TLS handshake whose peer certificate this side does not trust. */
const TLS_TRUST_ERRORS = /CERT|SIGNATURE|ISSUER|ALTNAME/;

const TERMINAL = new Set(["FINISHED", "FAILED", "CANCELED"]);
const REQUEST_TIMEOUT_MS = 60_000;
/** How long requests are retried while the JobManagers answer 503 (a leader election takes a lease TTL). */
const FAILOVER_MS = 60_000;
/** Connection errors after which nothing reached the server: the next address may be tried. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** One REST answer, as read. */
interface RestReply {
  status: number;
  text: string;
  /** Retry-After, in seconds, when given. */
  retryAfter?: number;
}

export class ClusterClient {
  private closed = false;
  /** The REST APIs' URLs, without a trailing slash: one per JobManager given. */
  private readonly bases: string[];
  /** The base asked first: the last that answered. */
  private current = 0;

  /**
   * `address`: host[:port] (port default 8081), or an http(s):// URL; several, comma-separated, for
   * the JobManagers of a highly available cluster. `tls`: the cluster's CA (and optionally a client
   * certificate): the REST API is https, its certificate checked against it.
   */
  constructor(
    readonly address: string,
    private readonly token: string,
    private readonly tls?: ClusterTls,
  ) {
    const given = address
      .split(",")
      .map((a) => a.trim())
      .filter((a) => a.length > 0);
    if (given.length === 0) {
      throw new WeirError(
        "INVALID_ARGUMENT",
        `'${address}' names no JobManager; e.g. 127.0.0.1:${REST_PORT}`,
      );
    }
    this.bases = given.map((a) => {
      if (/^https?:\/\//.test(a)) return a.replace(/\/+$/, "");
      const { host, port } = parseAddress(a, REST_PORT);
      return `${tls === undefined ? "http" : "https"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    });
  }

  /** Stop following jobs (their `ended` promises settle no more). */
  close(): void {
    this.closed = true;
  }

  /** Bundle the job module, upload it, run it, and (with `follow`) poll for its failures and end. */
  async submit(
    jobPath: string,
    config: EnvironmentConfig,
    options: { follow: boolean; onAttemptFailed?: (f: AttemptFailure) => void },
  ): Promise<SubmittedJob & { ended: Promise<ClusterJobEnd> }> {
    const artifact = await bundleJob(jobPath);
    const jarId = await this.upload(artifact.name, artifact.bytes);
    const { jobArguments, restorePath, allowNonRestoredState, parallelism, ...rest } = config;
    const run = (await this.request("POST", `/jars/${jarId}/run`, {
      parallelism,
      savepointPath: restorePath,
      allowNonRestoredState,
      programArgsList: jobArguments ?? [],
      configuration: rest,
    })) as { jobid: string; name: string; slots: number };
    const submitted = { jobId: run.jobid, jobName: run.name, slots: run.slots };
    const ended = options.follow
      ? this.follow(submitted, options.onAttemptFailed)
      : new Promise<ClusterJobEnd>(() => {});
    ended.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
    return { ...submitted, ended };
  }

  /** Upload a bundle; resolves with its jar id (the sha256 of its bytes, checked here). */
  async upload(name: string, bytes: Uint8Array): Promise<string> {
    const form = new FormData();
    form.append("jarfile", new Blob([bytes]), name);
    const a = (await this.request("POST", "/jars/upload", form)) as { filename: string };
    const jarId = a.filename.split(/[\\/]/).pop() ?? "";
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (jarId !== sha256) {
      throw new ClusterClientError(
        `the JobManager at ${this.address} stored the artifact of '${name}' as ${jarId.slice(0, 12)}, but its sha256 is ${sha256.slice(0, 12)}: it arrived damaged; submit again`,
      );
    }
    return jarId;
  }

  async list(): Promise<JobOverview[]> {
    const a = (await this.request("GET", "/jobs/overview")) as {
      jobs: Array<{ jid: string; name: string; state: string; "start-time": number }>;
    };
    return a.jobs.map((j) => ({
      jobId: j.jid,
      jobName: j.name,
      status: j.state,
      startTime: j["start-time"],
      slots: 0,
    }));
  }

  async taskManagers(): Promise<Array<Omit<TaskManagerInfo, "host" | "pid" | "metrics">>> {
    const a = (await this.request("GET", "/taskmanagers")) as {
      taskmanagers: Array<Omit<TaskManagerInfo, "host" | "pid" | "metrics">>;
    };
    return a.taskmanagers;
  }

  /** Cancel the job and wait until it has stopped; resolves with its final status. */
  async cancel(jobId: string): Promise<string> {
    await this.request("PATCH", `/jobs/${encodeURIComponent(jobId)}?mode=cancel`, undefined, jobId);
    return this.poll(async () => {
      const { state } = (await this.request(
        "GET",
        `/jobs/${encodeURIComponent(jobId)}`,
        undefined,
        jobId,
      )) as {
        state: string;
      };
      return TERMINAL.has(state) ? state : undefined;
    });
  }

  /** Take a savepoint of the job (and with `stop` stop it); resolves with the savepoint's location. */
  async savepoint(jobId: string, dir: string | undefined, stop: boolean): Promise<string> {
    const job = encodeURIComponent(jobId);
    const a = (await this.request(
      "POST",
      stop ? `/jobs/${job}/stop` : `/jobs/${job}/savepoints`,
      stop ? { targetDirectory: dir } : { "target-directory": dir, "cancel-job": false },
      jobId,
    )) as { "request-id": string };
    return this.poll(async () => {
      const s = (await this.request(
        "GET",
        `/jobs/${job}/savepoints/${a["request-id"]}`,
        undefined,
        jobId,
      )) as {
        status: { id: string };
        operation: { location?: string; "failure-cause"?: { message?: string; class: string } } | null;
      };
      if (s.status.id !== "COMPLETED") return undefined;
      const cause = s.operation?.["failure-cause"];
      if (cause !== undefined) {
        throw new ClusterClientError(`the savepoint of job ${jobId} failed: ${cause.message ?? cause.class}`);
      }
      return s.operation!.location!;
    });
  }

  /** Poll the job's execution result until it ends, telling `onAttemptFailed` of each new failure. */
  private follow(job: SubmittedJob, onAttemptFailed?: (f: AttemptFailure) => void): Promise<ClusterJobEnd> {
    let told = 0;
    return this.poll(async () => {
      const r = (await this.request(
        "GET",
        `/jobs/${job.jobId}/execution-result`,
        undefined,
        job.jobId,
      )) as ExecutionResult;
      // `told` counts every failure since the job started, dropped ones included.
      const dropped = r["attempt-failures-dropped"] ?? 0;
      const kept = r["attempt-failures"];
      for (const f of kept.slice(Math.max(0, told - dropped))) {
        onAttemptFailed?.({
          attempt: f.attempt,
          error: fromWireError(f.error, job.jobName),
          restartDelayMs: f.restartDelayMs ?? undefined,
        });
      }
      told = Math.max(told, dropped + kept.length);
      const end = r["job-execution-result"];
      if (r.status.id !== "COMPLETED" || end === undefined) return undefined;
      const status =
        end["application-status"] === "SUCCEEDED"
          ? "FINISHED"
          : end["application-status"] === "CANCELED"
            ? "CANCELED"
            : "FAILED";
      const result =
        end.result === null
          ? undefined
          : Object.assign(Object.create(JobResult.prototype) as JobResult, end.result, {
              collected: end.collected === null ? undefined : new Map(Object.entries(end.collected)),
            });
      const cause = end["failure-cause"];
      return {
        status,
        result,
        error: cause === undefined ? undefined : fromWireError(cause.error, job.jobName),
      };
    });
  }

  /** Call `step` until it answers, backing off from 100 ms to 1 s between calls. */
  private async poll<T>(step: () => Promise<T | undefined>): Promise<T> {
    let delay = 100;
    for (;;) {
      const v = await step();
      if (v !== undefined) return v;
      if (this.closed) return new Promise<T>(() => {});
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1_000, delay * 2);
    }
  }

  /** One request; its JSON answer, or an error that says what went wrong and what to do. */
  private async request(method: string, path: string, body?: unknown, jobId?: string): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.token.length > 0) headers.authorization = `Bearer ${this.token}`;
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await this.exchange(method, path, headers, payload);
    const text = res.text;
    let json: unknown;
    try {
      json = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw this.notJobManager(`answered ${method} ${path} with ${res.status} and no JSON`);
    }
    if (res.status >= 200 && res.status < 300) return json;
    const message = (json as { errors?: string[] }).errors?.join("; ") ?? `HTTP ${res.status}`;
    if (res.status === 401) {
      throw new ClusterClientError(
        `the JobManager at ${this.address} refused the request: wrong or missing cluster token; pass --token (or set WEIR_CLUSTER_TOKEN)`,
      );
    }
    if (res.status === 404 && jobId !== undefined && /^Job \S+ not found$/.test(message)) {
      throw new ClusterClientError(
        `no job ${jobId} on the JobManager at ${this.address}; 'weir list -m ${this.address}' shows its jobs`,
      );
    }
    throw new ClusterClientError(`the JobManager at ${this.address} answered ${method} ${path}: ${message}`);
  }

  /**
   * Send the request to the JobManagers in turn, from the last that answered: past those that
   * refuse the connection, and again after Retry-After while they answer 503 (no leader yet).
   */
  private async exchange(
    method: string,
    path: string,
    headers: Record<string, string>,
    payload: FormData | string | undefined,
  ): Promise<RestReply> {
    const deadline = Date.now() + FAILOVER_MS;
    for (;;) {
      let unavailable: RestReply | undefined;
      let refused: unknown;
      for (let i = 0; i < this.bases.length; i++) {
        const at = (this.current + i) % this.bases.length;
        let res: RestReply;
        try {
          res = await this.send(method, `${this.bases[at]}${path}`, { ...headers }, payload);
        } catch (e) {
          if (this.bases.length > 1 && NOT_CONNECTED.has(errorCode(e) ?? "")) {
            refused = e;
            continue;
          }
          throw this.unreachable(e);
        }
        if (res.status === 503) {
          unavailable = res;
          continue;
        }
        this.current = at;
        return res;
      }
      if (unavailable === undefined) throw this.unreachable(refused);
      if (Date.now() + (unavailable.retryAfter ?? 1) * 1000 > deadline || this.closed) return unavailable;
      await new Promise((r) => setTimeout(r, Math.max(100, (unavailable.retryAfter ?? 1) * 1000)));
    }
  }

  /** One HTTP(S) exchange (node:http, so that https can trust the cluster's own CA). */
  private async send(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload: FormData | string | undefined,
  ): Promise<RestReply> {
    let body: Buffer | undefined;
    if (payload instanceof FormData) {
      // Let the platform encode the multipart body and its boundary.
      const encoded = new Request(url, { method, body: payload });
      headers["content-type"] = encoded.headers.get("content-type")!;
      body = Buffer.from(await encoded.arrayBuffer());
    } else if (payload !== undefined) body = Buffer.from(payload);
    if (body !== undefined) headers["content-length"] = String(body.length);
    const https = url.startsWith("https:");
    const tls = this.tls;
    return new Promise((resolve, reject) => {
      const options = { method, headers, timeout: REQUEST_TIMEOUT_MS };
      const onResponse = (res: import("node:http").IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const retryAfter = Number(res.headers["retry-after"]);
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
          });
        });
        res.on("error", reject);
      };
      const req = https
        ? httpsRequest(url, { ...options, ca: tls?.ca, cert: tls?.cert, key: tls?.key }, onResponse)
        : httpRequest(url, options, onResponse);
      req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { name: "TimeoutError" })));
      req.on("error", reject);
      req.end(body);
    });
  }

  private unreachable(e: unknown): Error {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = errorCode(e);
    if ((e as Error).name === "TimeoutError") {
      return new ClusterClientError(
        `the JobManager's REST API at ${this.address} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`,
      );
    }
    if (typeof code === "string" && TLS_TRUST_ERRORS.test(code)) {
      return new ClusterClientError(
        `cannot connect to ${this.address} over TLS: its certificate is not trusted (${code}); pass the CA that signed the cluster's certificates with --tls-ca`,
      );
    }
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH") {
      return new ClusterClientError(
        `cannot reach the JobManager's REST API at ${this.address} (${code}); is the JobManager running? -m names its REST address (--rest-port, default ${REST_PORT})`,
      );
    }
    // It accepted the connection but did not speak HTTP: most likely the RPC port.
    const tlsHint = this.tls === undefined ? ". If the cluster uses TLS, pass --tls-ca" : "";
    return new ClusterClientError(
      `cannot connect to ${this.address}: it did not answer over HTTP (${cause?.message ?? (e as Error).message}); -m is the JobManager's REST address (its --rest-port, default ${REST_PORT}), not its RPC port (${RPC_PORT})${tlsHint}`,
    );
  }

  private notJobManager(what: string): Error {
    return new ClusterClientError(
      `${this.address} ${what}; -m is the JobManager's REST address (its --rest-port, default ${REST_PORT}), not its RPC port (${RPC_PORT})`,
    );
  }
}

/** The system error code of a failed request (ECONNREFUSED...), if any. */
function errorCode(e: unknown): string | undefined {
  return (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
}
