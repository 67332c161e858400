// A client of a cluster's JobManager (what `weir run -m`, `weir list`, `weir cancel` use): submit a
// job (its module bundled into an artifact), follow it to its end, list and cancel jobs.

import type { EnvironmentConfig } from "../api/environment.ts";
import { JobResult } from "../api/job-result.ts";
import { JobCancelledError, JobExecutionError, WeirError } from "../core/errors.ts";
import type { AttemptFailure } from "../execution/job-master.ts";
import { bundleJob } from "./job-artifact.ts";
import type { ClusterTls } from "./rpc/cluster-tls.ts";
import { type FrameSocket, dial } from "./rpc/frame-socket.ts";
import type { ClientAnswer, ClientRequest, JobOverview, TaskManagerInfo, WireError } from "./rpc/messages.ts";

/** host:port of a JobManager, as `-m` takes it. */
export function parseAddress(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s);
  if (m === null) throw new WeirError("INVALID_ARGUMENT", `'${s}' is not host:port; e.g. 127.0.0.1:6123`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] === undefined ? defaultPort : Number(m[2]) };
}

/** An error of the JobManager, rebuilt on this side. */
export function fromWireError(e: WireError, jobName = ""): Error {
  if (e.code === "JOB_CANCELLED") return new JobCancelledError(jobName);
  if (e.code === "JOB_FAILED" || e.location !== undefined) {
    const cause =
      e.cause === undefined ? undefined : Object.assign(new Error(e.cause.message), { name: e.cause.name });
    return new JobExecutionError(e.message, e.location, e.userStack, cause);
  }
  const err = new WeirError((e.code as WeirError["code"]) ?? "IO", e.message);
  return err;
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

export class ClusterClient {
  private rid = 0;
  private readonly pending = new Map<number, (a: ClientAnswer) => void>();
  private readonly ends = new Map<string, (e: ClusterJobEnd) => void>();
  private readonly failureListeners = new Map<string, (f: AttemptFailure) => void>();
  /** What arrived about a job before the answer to its submission (a job that failed at once). */
  private readonly early = new Map<
    string,
    Array<Extract<ClientAnswer, { t: "job-ended" | "attempt-failed" }>>
  >();
  private closeReason: string | undefined;

  private constructor(private readonly socket: FrameSocket) {
    socket.onFrame((m) => this.onAnswer(m as ClientAnswer));
    socket.onClose((reason) => {
      this.closeReason = reason;
      for (const f of this.pending.values()) f({ t: "error", rid: -1, error: lost(reason) });
      this.pending.clear();
      for (const f of this.ends.values())
        f({ status: "UNKNOWN", result: undefined, error: fromWireError(lost(reason)) });
      this.ends.clear();
    });
  }

  /** `tls`: the JobManager serves TLS; its certificate is checked against `tls.ca` and `host`. */
  static async connect(host: string, port: number, token: string, tls?: ClusterTls): Promise<ClusterClient> {
    return new ClusterClient(await dial(host, port, { role: "client", token }, 10_000, false, tls));
  }

  close(): void {
    this.socket.close();
  }

  /** Bundle the job module, submit it, and (with `follow`) get its failures and end. */
  async submit(
    jobPath: string,
    config: EnvironmentConfig,
    options: { follow: boolean; jobName?: string; onAttemptFailed?: (f: AttemptFailure) => void },
  ): Promise<SubmittedJob & { ended: Promise<ClusterJobEnd> }> {
    const artifact = await bundleJob(jobPath);
    let resolveEnd!: (e: ClusterJobEnd) => void;
    const ended = new Promise<ClusterJobEnd>((r) => {
      resolveEnd = r;
    });
    const a = await this.request({
      t: "submit",
      rid: 0,
      job: undefined,
      artifact,
      config,
      jobName: options.jobName,
      follow: options.follow,
    });
    if (a.t !== "submitted") throw unexpected(a);
    this.ends.set(a.jobId, resolveEnd);
    if (options.onAttemptFailed !== undefined) this.failureListeners.set(a.jobId, options.onAttemptFailed);
    const early = this.early.get(a.jobId) ?? [];
    this.early.delete(a.jobId);
    for (const m of early) this.onAnswer(m);
    return { jobId: a.jobId, jobName: a.jobName, slots: a.slots, ended };
  }

  async list(): Promise<JobOverview[]> {
    const a = await this.request({ t: "list", rid: 0 });
    if (a.t !== "jobs") throw unexpected(a);
    return a.jobs;
  }

  async taskManagers(): Promise<TaskManagerInfo[]> {
    const a = await this.request({ t: "taskmanagers", rid: 0 });
    if (a.t !== "taskmanagers") throw unexpected(a);
    return a.taskmanagers;
  }

  async cancel(jobId: string): Promise<string> {
    const a = await this.request({ t: "cancel", rid: 0, jobId });
    if (a.t !== "cancelled") throw unexpected(a);
    return a.status;
  }

  /** Take a savepoint of the job (and with `stop` stop it); resolves with the savepoint's directory. */
  async savepoint(jobId: string, dir: string | undefined, stop: boolean): Promise<string> {
    const a = await this.request({ t: "savepoint", rid: 0, jobId, dir, stop });
    if (a.t !== "savepoint") throw unexpected(a);
    return a.path;
  }

  private request(r: ClientRequest): Promise<ClientAnswer> {
    if (this.closeReason !== undefined) return Promise.reject(fromWireError(lost(this.closeReason)));
    const rid = ++this.rid;
    return new Promise((resolve, reject) => {
      this.pending.set(rid, (a) => (a.t === "error" ? reject(fromWireError(a.error)) : resolve(a)));
      this.socket.send({ ...r, rid });
    });
  }

  private onAnswer(a: ClientAnswer): void {
    if ((a.t === "attempt-failed" || a.t === "job-ended") && !this.ends.has(a.jobId)) {
      const list = this.early.get(a.jobId) ?? [];
      list.push(a);
      this.early.set(a.jobId, list);
      return;
    }
    if (a.t === "attempt-failed") {
      this.failureListeners.get(a.jobId)?.({
        attempt: a.attempt,
        error: fromWireError(a.error),
        restartDelayMs: a.restartDelayMs,
      });
      return;
    }
    if (a.t === "job-ended") {
      const f = this.ends.get(a.jobId);
      this.ends.delete(a.jobId);
      const result =
        a.result === undefined
          ? undefined
          : Object.assign(Object.create(JobResult.prototype) as JobResult, a.result, {
              collected: a.collected,
            });
      f?.({ status: a.status, result, error: a.error === undefined ? undefined : fromWireError(a.error) });
      return;
    }
    const f = this.pending.get(a.rid);
    this.pending.delete(a.rid);
    f?.(a);
  }
}

function lost(reason: string): WireError {
  return {
    name: "Error",
    message: `lost the connection to the JobManager (${reason})`,
    code: "IO",
    location: undefined,
    userStack: undefined,
    cause: undefined,
  };
}

function unexpected(a: ClientAnswer): Error {
  return new WeirError("IO", `unexpected answer '${a.t}' from the JobManager`);
}
