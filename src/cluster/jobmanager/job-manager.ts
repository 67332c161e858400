// The JobManager: the RPC server of the cluster. Its resource manager keeps the TaskManagers and
// their slots; its dispatcher runs uploaded job artifacts (the REST API's /jars, wired in
// src/cli/jobmanager-rest.ts), each job with a JobMaster whose attempts deploy task workers on
// TaskManager slots, relaying their messages, and keeps each job's failures and end for clients.

import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { EnvironmentConfig } from "../../api/environment.ts";
import type { CheckpointIdSource } from "../../checkpoint/checkpoint-ids.ts";
import { JobCancelledError } from "../../core/errors.ts";
import { submitJobOnSlots } from "../job-run.ts";
import type { ClusterJobClient } from "../mini-cluster.ts";
import type { ClusterTls } from "../rpc/cluster-tls.ts";
import { type FrameServer, type FrameSocket, type Hello, listenFrames } from "../rpc/frame-socket.ts";
import {
  type JobManagerToTaskManager,
  type JobOverview,
  type TaskManagerRequest,
  type TaskManagerToJobManager,
  type WireError,
  toWireError,
} from "../rpc/messages.ts";
import type { JobMetrics } from "../../runtime/metrics/job-metrics.ts";
import { ArtifactStore, type StoredArtifact } from "./artifact-store.ts";
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
  /** Serve the RPC over TLS; TaskManagers must present a certificate of the CA. */
  tls?: ClusterTls;
  /** Where an attempt's slots go (default pack, as Flink without cluster.evenly-spread-out-slots). */
  slotPlacement?: SlotPlacement;
  log?: (level: "INFO" | "WARN" | "ERROR", line: string) => void;
  /** High availability: what the leader persists (src/cluster/jobmanager/ha-jobmanager.ts). */
  ha?: JobManagerHaHooks;
}

/** A submitted job as high availability keeps it, to run it again on the next leader. */
export interface SubmittedJobRecord {
  jobId: string;
  jobName: string;
  /** The bundled job (kept by sha256). */
  artifact: { sha256: string; name: string; bytes: Uint8Array } | undefined;
  /** The job module's path on a shared file system (records of older JobManagers). */
  job: string | undefined;
  config: EnvironmentConfig;
}

/** What the JobManager tells high availability, and waits for. */
export interface JobManagerHaHooks {
  /** Persist a submitted job before it runs (a rejection refuses the submission). */
  submitted(job: SubmittedJobRecord): Promise<void>;
  /** Publish a job's completed checkpoint before it is committed (a rejection leaves it incomplete). */
  checkpointCompleted(jobId: string, c: { id: number; path: string; timestamp: number }): Promise<void>;
  /** Where the job's checkpoint ids come from: one counter for every JobManager that runs it. */
  checkpointIds(jobId: string): CheckpointIdSource;
  /** The job reached a terminal status (not a JobManager stopping). */
  ended(jobId: string, status: string): void;
}

/** A failed attempt of a job, as clients that follow the job are told. */
export interface AttemptFailureReport {
  attempt: number;
  error: WireError;
  restartDelayMs: number | undefined;
}

/** How a job ended. */
export interface JobEnd {
  status: "FINISHED" | "CANCELED" | "FAILED";
  /** The JobResult's fields (FINISHED), or what was counted until it stopped (CANCELED). */
  result: Record<string, unknown> | undefined;
  collected: Map<string, unknown[]> | undefined;
  error: WireError | undefined;
}

/** Failed attempts a job keeps for clients (a job restarting forever must not grow without bound). */
const MAX_FAILURES_KEPT = 100;

export interface DispatchedJob {
  client: ClusterJobClient;
  jobName: string;
  startTime: number;
  slots: number;
  /** The sha256 of the artifact it runs. */
  artifact: string;
  /** Its last failed attempts (at most MAX_FAILURES_KEPT; older ones are dropped). */
  failures: AttemptFailureReport[];
  /** Failures dropped from the front of `failures`. */
  readonly failuresDropped: number;
  ended: JobEnd | undefined;
  /** Resolves when it ends. */
  end: Promise<JobEnd>;
}

/** A job artifact a submission names is not (or no longer) stored. */
export class UnknownArtifactError extends Error {
  constructor(id: string) {
    super(`no artifact ${id} on this JobManager: upload it first (POST /jars/upload)`);
    this.name = "UnknownArtifactError";
  }
}

export class JobManager {
  private server: FrameServer | undefined;
  readonly resources: ResourceManager;
  readonly jobs = new Map<string, DispatchedJob>();
  private readonly deployments: SlotDeployments;
  /** The uploaded job artifacts (the REST API's /jars). */
  readonly artifacts: ArtifactStore;
  private readonly fileRequests = new Map<number, (text: string | undefined) => void>();
  private fileRid = 0;
  /** Stopping with keepJobs: the jobs' ends are not reported to high availability. */
  private stopping = false;
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
    this.artifacts = new ArtifactStore(options.artifactDir);
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
      this.options.tls,
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

  /**
   * Stop: cancel every job, end the TaskManager connections and the listener. With
   * `keepJobs` (a leader that lost its leadership) the jobs' checkpoints stay, and high
   * availability is not told that they ended: the next leader runs them on.
   */
  async stop(keepJobs = false): Promise<void> {
    this.stopping = keepJobs;
    for (const job of this.jobs.values()) {
      if (keepJobs) await job.client.cancelKeepingLatestCheckpoint().catch(() => {});
      else await job.client.cancel().catch(() => {});
    }
    this.resources.stop();
    for (const tm of [...this.resources.taskManagers.values()]) tm.socket.destroy();
    await this.server?.close();
    this.artifacts.clear();
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
    } else socket.destroy(); // clients use the REST API
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
          bytes: this.artifacts.bytes(m.sha256),
        } satisfies JobManagerToTaskManager);
        break;
    }
  }

  private lostTaskManager(tm: RegisteredTaskManager, why: string): void {
    this.log("WARN", `TaskManager ${tm.id} (pid ${tm.pid} on ${tm.host}) lost: ${why}`);
    this.deployments.lost(tm, why);
  }

  /** Application mode: run the bundled job here, as if a client had uploaded and run it; resolves with its end. */
  async runApplication(
    artifact: { name: string; bytes: Uint8Array },
    config: EnvironmentConfig,
  ): Promise<JobEnd> {
    const stored = this.artifacts.put(artifact.name, artifact.bytes);
    const { jobId } = await this.runArtifact(stored.id, config);
    return this.jobs.get(jobId)!.end;
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

  /**
   * High availability: run a job the previous leader had, under its id, from `restorePath` (its
   * latest completed checkpoint) when given.
   */
  async recoverJob(job: SubmittedJobRecord, restorePath: string | undefined): Promise<void> {
    if (job.artifact === undefined) {
      throw new Error(
        `job ${job.jobId} was stored without its artifact (by an older JobManager): submit it again with weir run -m`,
      );
    }
    const config: EnvironmentConfig = { ...job.config };
    if (restorePath !== undefined) config.restorePath = restorePath;
    const stored = this.artifacts.put(job.artifact.name, job.artifact.bytes);
    await this.runArtifact(stored.id, config, job.jobName === "" ? undefined : job.jobName, job.jobId);
  }

  /**
   * Run an uploaded artifact as a new job (POST /jars/:jarid/run); resolves once the job is
   * built and submitted. Its failures and end are kept on the job (`jobs.get(jobId)`).
   */
  async runArtifact(
    artifactId: string,
    givenConfig: EnvironmentConfig,
    jobName?: string,
    /** A recovered job keeps its id (and is stored already). */
    recoveredId?: string,
  ): Promise<{ jobId: string; jobName: string; slots: number }> {
    const stored: StoredArtifact | undefined = this.artifacts.get(artifactId);
    if (stored === undefined) throw new UnknownArtifactError(artifactId);
    const config: EnvironmentConfig = { ...givenConfig };
    if (config.checkpointDirectory === undefined && this.options.checkpointDir !== undefined) {
      config.checkpointDirectory = resolve(this.options.checkpointDir);
    }
    const jobId = recoveredId ?? randomUUID();
    const failures: AttemptFailureReport[] = [];
    let failuresDropped = 0;
    const artifact = { sha256: stored.id, name: stored.name };
    // Held from here: a TaskManager may fetch it as long as the job may deploy.
    this.artifacts.acquire(stored.id, jobId);
    const ha = this.options.ha;
    let client: Awaited<ReturnType<typeof submitJobOnSlots>>;
    try {
      if (ha !== undefined && recoveredId === undefined) {
        await ha.submitted({
          jobId,
          jobName: jobName ?? "",
          artifact: { sha256: stored.id, name: stored.name, bytes: this.artifacts.bytes(stored.id)! },
          job: undefined,
          config,
        });
      }
      client = await submitJobOnSlots(
        {
          job: stored.modulePath,
          jobId,
          jobName,
          moduleName: stored.name,
          ...config,
          publishCheckpoint: ha === undefined ? undefined : (c) => ha.checkpointCompleted(jobId, c),
          checkpointIds: ha?.checkpointIds(jobId),
          onAttemptFailed: (f) => {
            const error = toWireError(f.error);
            failures.push({ attempt: f.attempt, error, restartDelayMs: f.restartDelayMs });
            if (failures.length > MAX_FAILURES_KEPT) {
              failures.shift();
              failuresDropped++;
            }
            this.log("WARN", `job ${jobId}: attempt ${f.attempt} failed: ${error.message}`);
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
    } catch (e) {
      this.artifacts.release(stored.id, jobId);
      // A job that cannot even be built is not kept for the next leader.
      if (recoveredId === undefined) ha?.ended(jobId, "FAILED");
      throw e;
    }
    const entry: DispatchedJob = {
      client,
      jobName: client.jobName,
      startTime: Date.now(),
      slots: client.job.executionGraph.numSlots,
      artifact: stored.id,
      failures,
      get failuresDropped() {
        return failuresDropped;
      },
      ended: undefined,
      end: client.wait().then(
        (r): JobEnd => {
          const { collected, ...result } = r;
          return { status: "FINISHED", result: { ...result }, collected, error: undefined };
        },
        (e: unknown): JobEnd => {
          const partial = client.cancelledResult();
          return {
            status: e instanceof JobCancelledError ? "CANCELED" : "FAILED",
            result: partial === undefined ? undefined : { ...partial },
            collected: undefined,
            error: toWireError(e),
          };
        },
      ),
    };
    this.jobs.set(jobId, entry);
    this.log("INFO", `job '${client.jobName}' (${jobId}) submitted: ${entry.slots} slot(s)`);
    void entry.end.then((end) => this.ended(jobId, entry, end));
    return { jobId, jobName: client.jobName, slots: entry.slots };
  }

  private ended(jobId: string, job: DispatchedJob, end: JobEnd): void {
    job.ended = end;
    const why = end.status === "FAILED" && end.error !== undefined ? `: ${end.error.message}` : "";
    this.log(
      end.status === "FAILED" ? "WARN" : "INFO",
      `job '${job.jobName}' (${jobId}) ${end.status}${why}`,
    );
    this.artifacts.release(job.artifact, jobId);
    if (!this.stopping) this.options.ha?.ended(jobId, end.status);
  }
}
