// The JobManager: the RPC server of the cluster. Its resource manager keeps the TaskManagers and
// their slots; its dispatcher takes job submissions (a job module path on a shared file system, or
// a bundled artifact) and runs each job with a JobMaster whose attempts deploy task workers on
// TaskManager slots, relaying their messages. Clients list and cancel jobs and follow one to its end.

import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { EnvironmentConfig } from "../../api/environment.ts";
import { JobCancelledError } from "../../core/errors.ts";
import { runnableArtifact } from "../job-artifact.ts";
import { submitJobOnSlots } from "../job-run.ts";
import type { ClusterJobClient } from "../mini-cluster.ts";
import { type FrameServer, type FrameSocket, type Hello, listenFrames } from "../rpc/frame-socket.ts";
import {
  type ArtifactRef,
  type ClientAnswer,
  type ClientRequest,
  type JobManagerToTaskManager,
  type JobOverview,
  type TaskManagerRequest,
  type TaskManagerToJobManager,
  toWireError,
} from "../rpc/messages.ts";
import type { JobMetrics } from "../../runtime/metrics/job-metrics.ts";
import {
  type RegisteredTaskManager,
  ResourceManager,
  type SlotPlacement,
  slotNeeds,
} from "./resource-manager.ts";
import { SlotDeployments } from "./slot-deployments.ts";

/** Flink's RPC port. */
export const JOBMANAGER_PORT = 6123;

export interface JobManagerOptions {
  /** Default 127.0.0.1; any other address needs a token. */
  address?: string;
  /** 0 picks a free port (default 6123). */
  port?: number;
  /** The cluster token TaskManagers and clients must present ("" only on loopback). */
  token: string;
  /** Checkpoints of jobs that name no directory go here (default .weir/checkpoints). */
  checkpointDir?: string;
  /** Where submitted artifacts are kept. */
  artifactDir: string;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** How long an attempt waits for free slots before it fails (default 30 s). */
  slotTimeoutMs?: number;
  /** Where an attempt's slots go (default pack, as Flink without cluster.evenly-spread-out-slots). */
  slotPlacement?: SlotPlacement;
  log?: (level: "INFO" | "WARN" | "ERROR", line: string) => void;
}

interface DispatchedJob {
  client: ClusterJobClient;
  jobName: string;
  startTime: number;
  slots: number;
  /** Told of the job's failed attempts and of its end (clients that follow it). */
  followers: Set<Follower>;
  ended: ClientAnswer | undefined;
}

interface Follower {
  socket: FrameSocket | undefined;
  tell(a: ClientAnswer): void;
}

export class JobManager {
  private server: FrameServer | undefined;
  readonly resources: ResourceManager;
  readonly jobs = new Map<string, DispatchedJob>();
  private readonly deployments: SlotDeployments;
  private readonly artifacts = new Map<string, Uint8Array>();
  private readonly fileRequests = new Map<number, (text: string | undefined) => void>();
  private fileRid = 0;
  private readonly log: (level: "INFO" | "WARN" | "ERROR", line: string) => void;

  constructor(private readonly options: JobManagerOptions) {
    this.log =
      options.log ??
      ((level, line) => process.stderr.write(`${new Date().toISOString()} ${level} ${line}\n`));
    this.resources = new ResourceManager(
      options.heartbeatIntervalMs ?? 1_000,
      options.heartbeatTimeoutMs ?? 10_000,
      (tm, why) => this.lostTaskManager(tm, why),
      options.slotPlacement,
    );
    this.deployments = new SlotDeployments(this.resources, this.log);
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  async start(): Promise<void> {
    const address = this.options.address ?? "127.0.0.1";
    this.server = await listenFrames(
      address,
      this.options.port ?? JOBMANAGER_PORT,
      this.options.token,
      (socket, hello) => this.accept(socket, hello),
      (remote, why) => this.log("WARN", `refused a connection from ${remote}: ${why}`),
    );
    this.resources.start();
    this.log("INFO", `JobManager listening on ${address}:${this.server.port}`);
  }

  /** The jobs' metrics, status and exceptions (what the REST API serves). */
  jobMetrics(): JobMetrics[] {
    return [...this.jobs.values()].map((j) => j.client.metrics);
  }

  /** The tail of a TaskManager's log or stdout; undefined when it is unknown or does not answer. */
  fetchFile(id: string, file: "logs" | "stdout"): Promise<string | undefined> {
    const tm = this.resources.taskManagers.get(id);
    if (tm === undefined) return Promise.resolve(undefined);
    const rid = ++this.fileRid;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fileRequests.delete(rid);
        resolve(undefined);
      }, 5_000);
      this.fileRequests.set(rid, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      tm.socket.send({ t: "fetch-file", rid, file } satisfies JobManagerToTaskManager);
    });
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) await job.client.cancel().catch(() => {});
    this.resources.stop();
    for (const tm of [...this.resources.taskManagers.values()]) tm.socket.destroy();
    await this.server?.close();
  }

  /** The jobs, as `weir list` shows them. */
  overview(): JobOverview[] {
    return [...this.jobs.entries()].map(([jobId, j]) => ({
      jobId,
      jobName: j.jobName,
      status: j.client.getStatus(),
      startTime: j.startTime,
      slots: j.slots,
    }));
  }

  private accept(socket: FrameSocket, hello: Hello): void {
    if (hello.role === "taskmanager") {
      socket.onFrame((m) => this.fromTaskManager(socket, m as TaskManagerToJobManager | TaskManagerRequest));
    } else if (hello.role === "client") {
      socket.onFrame((m) => void this.fromClient(socket, m as ClientRequest));
      socket.onClose(() => {
        for (const j of this.jobs.values())
          for (const f of j.followers) if (f.socket === socket) j.followers.delete(f);
      });
    } else socket.destroy();
  }

  private fromTaskManager(socket: FrameSocket, m: TaskManagerToJobManager | TaskManagerRequest): void {
    let id: string | undefined;
    for (const tm of this.resources.taskManagers.values()) if (tm.socket === socket) id = tm.id;
    if (id !== undefined) this.resources.heard(id);
    switch (m.t) {
      case "register":
        this.resources.register({
          id: m.id,
          host: m.host,
          pid: m.pid,
          dataHost: m.dataHost,
          dataPort: m.dataPort,
          slots: m.slots,
          socket,
        });
        socket.onClose((reason) => {
          const tm = this.resources.taskManagers.get(m.id);
          if (tm?.socket === socket) this.resources.lose(tm, `its connection closed (${reason})`);
        });
        this.log("INFO", `TaskManager ${m.id} registered: ${m.slots} slot(s), pid ${m.pid} on ${m.host}`);
        break;
      case "heartbeat":
        if (id !== undefined) this.resources.heard(id, m.metrics);
        break;
      case "file":
        this.fileRequests.get(m.rid)?.(m.text);
        this.fileRequests.delete(m.rid);
        break;
      case "worker":
      case "worker-error":
      case "worker-exit":
        this.deployments.fromWorker(m);
        break;
      case "fetch-artifact":
        socket.send({
          t: "artifact",
          sha256: m.sha256,
          bytes: this.artifacts.get(m.sha256),
        } satisfies JobManagerToTaskManager);
        break;
    }
  }

  private lostTaskManager(tm: RegisteredTaskManager, why: string): void {
    this.log("WARN", `TaskManager ${tm.id} (pid ${tm.pid} on ${tm.host}) lost: ${why}`);
    this.deployments.lost(tm, why);
  }

  private async fromClient(socket: FrameSocket, m: ClientRequest): Promise<void> {
    const answer = (a: ClientAnswer) => socket.send(a);
    try {
      switch (m.t) {
        case "submit":
          answer(await this.submit(m, { socket, tell: (a) => socket.send(a) }));
          break;
        case "list":
          answer({ t: "jobs", rid: m.rid, jobs: this.overview() });
          break;
        case "taskmanagers":
          answer({ t: "taskmanagers", rid: m.rid, taskmanagers: this.resources.info() });
          break;
        case "savepoint": {
          const job = this.jobs.get(m.jobId);
          if (job === undefined)
            throw new Error(`no job ${m.jobId} on this JobManager; 'weir list -m' shows its jobs`);
          const path = m.stop
            ? await job.client.stopWithSavepoint(m.dir)
            : await job.client.triggerSavepoint(m.dir);
          answer({ t: "savepoint", rid: m.rid, path });
          break;
        }
        case "cancel": {
          const job = this.jobs.get(m.jobId);
          if (job === undefined)
            throw new Error(`no job ${m.jobId} on this JobManager; 'weir list -m' shows its jobs`);
          await job.client.cancel();
          answer({ t: "cancelled", rid: m.rid, status: job.client.getStatus() });
          break;
        }
      }
    } catch (e) {
      answer({ t: "error", rid: m.rid, error: toWireError(e) });
    }
  }

  /**
   * Application mode: run the bundled job here, as if a client had submitted it; resolves with its
   * end (the job-ended answer).
   */
  async runApplication(
    artifact: { name: string; bytes: Uint8Array },
    config: EnvironmentConfig,
  ): Promise<Extract<ClientAnswer, { t: "job-ended" }>> {
    let tell!: (a: ClientAnswer) => void;
    const ended = new Promise<Extract<ClientAnswer, { t: "job-ended" }>>((resolve) => {
      tell = (a) => {
        if (a.t === "job-ended") resolve(a);
      };
    });
    const a = await this.submit(
      { t: "submit", rid: 0, job: undefined, artifact, config, jobName: undefined, follow: true },
      { socket: undefined, tell },
    );
    if (a.t === "error") throw new Error(a.error.message);
    return ended;
  }

  /** Tell every TaskManager to exit (the end of an application-mode cluster). */
  async shutDownTaskManagers(): Promise<void> {
    const closed: Array<Promise<void>> = [];
    for (const tm of this.resources.taskManagers.values()) {
      tm.socket.send({ t: "shutdown" } satisfies JobManagerToTaskManager);
      closed.push(new Promise((resolve) => tm.socket.onClose(() => resolve())));
    }
    // Each TaskManager closes its connection as it stops.
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 5_000))]);
  }

  private async submit(
    m: Extract<ClientRequest, { t: "submit" }>,
    follower: Follower | undefined,
  ): Promise<ClientAnswer> {
    let modulePath: string;
    let artifact: ArtifactRef | undefined;
    if (m.artifact !== undefined) {
      const sha256 = createHash("sha256").update(m.artifact.bytes).digest("hex");
      this.artifacts.set(sha256, m.artifact.bytes);
      const dir = join(this.options.artifactDir, sha256);
      modulePath = join(dir, "job.mjs");
      if (!existsSync(modulePath)) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(modulePath, runnableArtifact(Buffer.from(m.artifact.bytes).toString("utf8")));
      }
      artifact = { sha256, name: m.artifact.name };
    } else if (m.job !== undefined && isAbsolute(m.job)) {
      modulePath = m.job;
    } else {
      throw new Error("a submission names no job: send an artifact or an absolute job path");
    }
    const config: EnvironmentConfig = { ...m.config };
    if (config.checkpointDirectory === undefined && this.options.checkpointDir !== undefined) {
      config.checkpointDirectory = resolve(this.options.checkpointDir);
    }
    const followers = new Set<Follower>(m.follow && follower !== undefined ? [follower] : []);
    const jobId = randomUUID();
    const client = await submitJobOnSlots(
      {
        job: modulePath,
        jobId,
        jobName: m.jobName,
        moduleName: artifact?.name,
        ...config,
        onAttemptFailed: (f) => {
          const a: ClientAnswer = {
            t: "attempt-failed",
            jobId,
            attempt: f.attempt,
            error: toWireError(f.error),
            restartDelayMs: f.restartDelayMs,
          };
          for (const f of followers) f.tell(a);
          this.log("WARN", `job ${jobId}: attempt ${f.attempt} failed: ${toWireError(f.error).message}`);
        },
      },
      (job) => {
        let current: string[] = [];
        return {
          describe: (slot) => `slot ${slot} on TaskManager ${current[slot] ?? "?"}`,
          start: async (data, listeners) => {
            const tms = await this.resources.allocate(
              data.length,
              this.options.slotTimeoutMs ?? 30_000,
              job.jobName,
              slotNeeds(job.executionGraph),
            );
            current = tms.map((t) => t.id);
            return this.deployments.deploy(jobId, data, listeners, tms, artifact);
          },
        };
      },
    );
    const entry: DispatchedJob = {
      client,
      jobName: client.jobName,
      startTime: Date.now(),
      slots: client.job.executionGraph.numSlots,
      followers,
      ended: undefined,
    };
    this.jobs.set(client.jobId, entry);
    this.log("INFO", `job '${client.jobName}' (${client.jobId}) submitted: ${entry.slots} slot(s)`);
    const job = entry;
    void client.wait().then(
      (r) => {
        const { collected, ...result } = r;
        this.ended(client.jobId, job, {
          t: "job-ended",
          jobId: client.jobId,
          status: "FINISHED",
          result: { ...result },
          collected,
          error: undefined,
        });
      },
      (e: unknown) => {
        const partial = client.cancelledResult();
        this.ended(client.jobId, job, {
          t: "job-ended",
          jobId: client.jobId,
          status: e instanceof JobCancelledError ? "CANCELED" : "FAILED",
          result: partial === undefined ? undefined : { ...partial },
          collected: undefined,
          error: toWireError(e),
        });
      },
    );
    return { t: "submitted", rid: m.rid, jobId: client.jobId, jobName: client.jobName, slots: entry.slots };
  }

  private ended(jobId: string, job: DispatchedJob, a: ClientAnswer): void {
    job.ended = a;
    const end = a as Extract<ClientAnswer, { t: "job-ended" }>;
    const why = end.status === "FAILED" && end.error !== undefined ? `: ${end.error.message}` : "";
    this.log(
      end.status === "FAILED" ? "WARN" : "INFO",
      `job '${job.jobName}' (${jobId}) ${end.status}${why}`,
    );
    for (const f of job.followers) f.tell(a);
  }
}
