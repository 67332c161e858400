// The JobClient of a job run by a JobMaster (in this thread or on worker threads).

import { join } from "node:path";
import { InvalidArgumentError, JobCancelledError } from "../core/errors.ts";
import type { JobMaster } from "../graph/job-master.ts";
import type { CompiledJob } from "./environment.ts";
import { type JobClient, JobResult, type JobStatus } from "./job-result.ts";

export interface ManagedJobClient extends JobClient {
  /**
   * Take a savepoint of the running job (checkpointing must be enabled) into `targetDir`
   * (default <checkpoint dir>/savepoints); resolves with the savepoint's directory.
   */
  triggerSavepoint(targetDir?: string): Promise<string>;
  /**
   * Take a savepoint, then stop the job (what the savepoint covers is committed; the rest is
   * replayed by a job restored from it). wait() then rejects with JobCancelledError.
   */
  stopWithSavepoint(targetDir?: string): Promise<string>;
  /** Take a checkpoint now (besides the periodic ones); resolves with its directory once complete. */
  triggerCheckpoint(): Promise<string>;
}

export function startClient(
  master: JobMaster,
  job: CompiledJob,
  jobId: string,
  onEnd: () => void,
): ManagedJobClient {
  const started = performance.now();
  let status: JobStatus = "RUNNING";
  const savepoint = (targetDir: string | undefined): Promise<string> => {
    const c = master.checkpoints;
    if (c === undefined || status !== "RUNNING") {
      return Promise.reject(
        new InvalidArgumentError(
          status !== "RUNNING"
            ? `job '${job.jobName}' is ${status}: a savepoint needs a running job`
            : `job '${job.jobName}' does not checkpoint, so it cannot take a savepoint; enable checkpointing (env.enableCheckpointing(ms))`,
        ),
      );
    }
    return c.triggerSavepoint(targetDir ?? join(job.checkpoint.directory, "savepoints"));
  };
  const done = master.run().then(
    (outcome) => {
      onEnd();
      status = "FINISHED";
      return new JobResult({
        jobId,
        jobName: job.jobName,
        runtimeMs: performance.now() - started,
        vertices: job.jobGraph.vertices.map((v) => ({ id: v.id, name: v.name, parallelism: v.parallelism })),
        reports: outcome.reports,
        pools: outcome.pools,
        restarts: outcome.restarts,
        failures: outcome.failures,
        checkpoints: outcome.checkpoints,
      });
    },
    (e) => {
      onEnd();
      status = e instanceof JobCancelledError ? "CANCELED" : "FAILED";
      throw e;
    },
  );
  done.catch(() => {}); // the caller sees the rejection through wait()
  return {
    jobId,
    jobName: job.jobName,
    getStatus: () => status,
    wait: () => done,
    async cancel() {
      if (status !== "RUNNING") return;
      await master.cancel();
      await done.catch(() => {});
    },
    triggerSavepoint(targetDir?: string) {
      return savepoint(targetDir);
    },
    triggerCheckpoint() {
      const c = master.checkpoints;
      if (c === undefined || status !== "RUNNING") {
        return Promise.reject(
          new InvalidArgumentError(`job '${job.jobName}' does not checkpoint or is not running`),
        );
      }
      return new Promise<string>((resolve, reject) => {
        c.trigger({ resolve, reject });
      });
    },
    async stopWithSavepoint(targetDir?: string) {
      // No checkpoint may complete after the savepoint: its output would be committed twice.
      master.checkpoints?.pause();
      const path = await savepoint(targetDir);
      await master.cancel();
      await done.catch(() => {});
      return path;
    },
  };
}
