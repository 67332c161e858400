// A highly available JobManager (Flink's leader election + job graph store + completed checkpoint
// store, on etcd): several processes campaign for leadership (src/cluster/ha/leader-election.ts);
// the leader runs a JobManager listening at the address it published, the others stand by. The
// leader persists every submitted job (its artifact on storage every JobManager sees, its record in
// etcd) and, before any checkpoint is committed, the job's latest checkpoint pointer (writes
// fenced by its leadership). On taking over, a leader runs every stored job again under its id,
// from its latest checkpoint; one that loses leadership stops its jobs, keeping their checkpoints,
// and stands by again.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentConfig } from "../../api/environment.ts";
import type { EtcdHaOptions } from "../ha/etcd-connection.ts";
import { EtcdHaServices } from "../ha/ha-services.ts";
import type { CheckpointPointerStore, JobRecord, JobStore } from "../ha/ha-stores.ts";
import { decodeLeaderInfo, encodeLeaderInfo } from "../ha/leader-info.ts";
import type { LeaderElection, LeaderRetrieval } from "../ha/leader-election.ts";
import { JobManager, type JobManagerOptions, type SubmittedJobRecord } from "./job-manager.ts";

type Log = (level: "INFO" | "WARN" | "ERROR", line: string) => void;

export interface HaJobManagerOptions {
  /** The JobManager this process runs while it leads; its port must be fixed (not 0): it is published. */
  jobManager: Omit<JobManagerOptions, "ha">;
  ha: EtcdHaOptions;
  /** A directory every JobManager sees: submitted artifacts are kept there for the next leader. */
  storageDir: string;
  /**
   * This process's REST API (it serves one whether it leads or not): published with the RPC
   * address while it leads, so that standbys can forward clients to the leader.
   */
  restUrl?: string;
  /** The JobManager now leads and listens (start what serves it, e.g. the REST API). */
  onLeader?: (jm: JobManager) => Promise<void>;
  /** The JobManager lost leadership and stopped (stop what served it). */
  onStandby?: () => Promise<void>;
}

/** What the job store keeps of a job (JobRecord.config), beyond its id, name and artifact. */
interface StoredJob {
  config: EnvironmentConfig;
  /** The artifact's file name (when `artifact` is a stored bundle). */
  artifactName?: string;
  /** `artifact` is a job module path on a shared file system, not a stored bundle. */
  modulePath?: boolean;
}

export class HaJobManager {
  private jm: JobManager | undefined;
  /** Who leads, as etcd says (for forwarding REST requests while standing by). */
  private retrieval: LeaderRetrieval | undefined;
  /** Leadership changes, one at a time. */
  private transition: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly log: Log;
  private failFatal: (e: Error) => void = () => {};
  /** Rejects when leading is impossible (e.g. the port is taken): the process should exit. */
  readonly fatal = new Promise<never>((_, reject) => {
    this.failFatal = reject;
  });

  private constructor(
    private readonly options: HaJobManagerOptions,
    private readonly services: EtcdHaServices,
  ) {
    this.log =
      options.jobManager.log ??
      ((level, line) => process.stderr.write(`${new Date().toISOString()} ${level} ${line}\n`));
    this.fatal.catch(() => {});
  }

  /** Connect to etcd and campaign; resolves at once (leadership comes with `onLeader`). */
  static async start(options: HaJobManagerOptions): Promise<HaJobManager> {
    const port = options.jobManager.port;
    if (port === undefined || port === 0) {
      throw new Error("a highly available JobManager publishes its address: give it a fixed port");
    }
    const services = await EtcdHaServices.connect(options.ha);
    const h = new HaJobManager(options, services);
    await h.observeLeader();
    h.campaign(`${options.jobManager.address ?? "127.0.0.1"}:${port}`);
    return h;
  }

  /** The JobManager while this process leads. */
  get leader(): JobManager | undefined {
    return this.jm;
  }

  /** The REST URL the current leader published (undefined while none leads, or it published none). */
  get leaderRestUrl(): string | undefined {
    const value = this.retrieval?.leader;
    return value === undefined ? undefined : decodeLeaderInfo(value).rest;
  }

  private async observeLeader(): Promise<void> {
    if (this.closed) return;
    const retrieval = await this.services.leaderRetrieval();
    this.retrieval = retrieval;
    retrieval.once("failed", (e) => {
      this.log("WARN", `observing the leader in etcd failed: ${e.message}; observing again`);
      this.retrieval = undefined;
      setTimeout(
        () =>
          void this.observeLeader().catch((err: Error) =>
            this.log("WARN", `cannot observe the leader in etcd: ${err.message}`),
          ),
        1_000,
      );
    });
  }

  /** Stop (keeping the jobs for the next leader) and resign: a standby takes over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.step(() => this.standBy("this JobManager stops"));
    await this.services.close();
  }

  private campaign(address: string): void {
    const election = this.services.leaderElection();
    election.on("granted", () => void this.step(() => this.lead(election)));
    election.on("revoked", (reason) => void this.step(() => this.standBy(reason)));
    election.on("campaignFailed", (e) =>
      this.log("WARN", `campaigning for leadership failed: ${e.message}; trying again`),
    );
    election.start(encodeLeaderInfo({ rpc: address, rest: this.options.restUrl }));
    this.log("INFO", `JobManager standing by for leadership at ${address} (high availability on etcd)`);
  }

  private step(f: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(f).catch((e: Error) => {
      this.log("ERROR", `high availability: ${e.message}`);
    });
    return this.transition;
  }

  private async lead(election: LeaderElection): Promise<void> {
    if (this.closed || !election.isLeader || this.jm !== undefined) return;
    const jobs = this.services.jobStore(election);
    const pointers = this.services.checkpointPointers(election);
    const jm = new JobManager({ ...this.options.jobManager, ha: this.hooks(jobs, pointers) });
    try {
      await jm.start();
    } catch (e) {
      this.failFatal(e as Error);
      throw e;
    }
    this.jm = jm;
    this.log("INFO", "this JobManager leads (high availability): recovering the stored jobs");
    await this.options.onLeader?.(jm);
    for (const record of await jobs.list()) {
      if (this.jm !== jm) return; // leadership lost meanwhile
      await this.recover(jm, record, jobs, pointers).catch((e: Error) =>
        this.log("ERROR", `cannot recover job ${record.jobId} ('${record.jobName}'): ${e.message}`),
      );
    }
  }

  private async recover(
    jm: JobManager,
    record: JobRecord,
    jobs: JobStore,
    pointers: CheckpointPointerStore,
  ): Promise<void> {
    const pointer = await pointers.get(record.jobId);
    const stored = (record.config ?? {}) as unknown as StoredJob;
    const name = record.jobName || stored.artifactName || record.artifact;
    const location = pointer?.location;
    if (location !== undefined && !location.startsWith("s3://") && !existsSync(join(location, "_metadata"))) {
      // Checkpoints are deleted when a job finishes: the previous leader stopped before it could
      // remove the job. Running it from its start again would repeat its output.
      this.log(
        "WARN",
        `job ${record.jobId} ('${name}'): its latest checkpoint ${location} is gone (the job ended as the previous leader stopped); not running it again`,
      );
      await jobs.remove(record.jobId);
      await pointers.remove(record.jobId);
      return;
    }
    let artifact: SubmittedJobRecord["artifact"];
    if (stored.modulePath !== true) {
      const bytes = new Uint8Array(readFileSync(record.artifact));
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== record.artifactSha256) {
        throw new Error(
          `its artifact ${record.artifact} does not hash to ${record.artifactSha256}; restore the file or cancel the job`,
        );
      }
      artifact = { sha256, name: stored.artifactName ?? "job.mjs", bytes };
    }
    await jm.recoverJob(
      {
        jobId: record.jobId,
        jobName: record.jobName,
        artifact,
        job: stored.modulePath === true ? record.artifact : undefined,
        config: stored.config,
      },
      location,
    );
    this.log(
      "INFO",
      `job ${record.jobId} ('${name}') recovered ${pointer === undefined ? "from its start (no checkpoint completed)" : `from checkpoint ${pointer.checkpointId}`}`,
    );
  }

  private async standBy(reason: string): Promise<void> {
    const jm = this.jm;
    if (jm === undefined) return;
    this.jm = undefined;
    this.log(
      "WARN",
      `this JobManager no longer leads (${reason}): stopping its jobs, keeping them for the leader`,
    );
    await jm.stop(true);
    await this.options.onStandby?.();
    if (!this.closed) this.log("INFO", "JobManager standing by for leadership");
  }

  private hooks(jobs: JobStore, pointers: CheckpointPointerStore): JobManagerOptions["ha"] {
    return {
      submitted: async (job) => {
        let artifact: string;
        let sha256: string | undefined;
        const stored: StoredJob = { config: job.config };
        if (job.artifact !== undefined) {
          sha256 = job.artifact.sha256;
          artifact = this.storeArtifact(sha256, job.artifact.bytes);
          stored.artifactName = job.artifact.name;
        } else {
          artifact = job.job!;
          stored.modulePath = true;
        }
        await jobs.put({
          jobId: job.jobId,
          jobName: job.jobName,
          artifact,
          artifactSha256: sha256,
          submittedAt: Date.now(),
          config: JSON.parse(JSON.stringify(stored)) as Record<string, unknown>,
        });
      },
      checkpointCompleted: async (jobId, c) => {
        try {
          await pointers.publish(jobId, { checkpointId: c.id, location: c.path, timestamp: c.timestamp });
        } catch (e) {
          this.log("WARN", `checkpoint ${c.id} of job ${jobId} does not complete: ${(e as Error).message}`);
          throw e;
        }
      },
      checkpointIds: (jobId) => this.services.checkpointIdCounter(jobId),
      ended: (jobId, status) => {
        void jobs
          .remove(jobId)
          .then(() => pointers.remove(jobId))
          .then(() => this.services.checkpointIdCounter(jobId).remove())
          .catch((e: Error) =>
            this.log("WARN", `job ${jobId} ended ${status}, but its record stays in etcd: ${e.message}`),
          );
      },
    };
  }

  /** Keep an artifact where every JobManager finds it: `<storage>/artifacts/<sha256>.mjs`. */
  private storeArtifact(sha256: string, bytes: Uint8Array): string {
    const dir = join(this.options.storageDir, "artifacts");
    const path = join(dir, `${sha256}.mjs`);
    if (!existsSync(path)) {
      mkdirSync(dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    }
    return path;
  }
}
