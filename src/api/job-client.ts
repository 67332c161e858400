// The JobClient of a job run by a JobMaster (in this thread or on worker threads).

import { join } from "node:path";
import { StopWithSavepointError } from "../checkpoint/savepoint.ts";
import { InvalidArgumentError, JobCancelledError } from "../core/errors.ts";
import type { JobMaster } from "../execution/job-master.ts";
import type { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import type { CompiledJob } from "./environment.ts";
import { type JobClient, JobResult, type JobStatus } from "./job-result.ts";

export interface ManagedJobClient extends JobClient {
  /** The job's live metrics, status and exceptions (what the REST API and reporters read). */
  readonly metrics: JobMetrics;
  /**
   * Take a savepoint of the running job (checkpointing must be enabled) into `targetDir`
   * (default <checkpoint dir>/savepoints); resolves with the savepoint's directory.
   */
  triggerSavepoint(targetDir?: string): Promise<string>;
  /**
   * Take a savepoint, then stop the job (what the savepoint covers is committed; the rest is
   * replayed by a job restored from it). wait() then rejects with JobCancelledError. When the
   * savepoint cannot be taken, the stop fails with a StopWithSavepointError, as in Flink: nothing
   * of the savepoint is committed, and the job keeps running from its latest checkpoint.
   */
  stopWithSavepoint(targetDir?: string): Promise<string>;
  /**
   * Cancel the job and keep its checkpoints whatever the retention; resolves with the directory of
   * the latest one (what a restore continues from: `--from-savepoint`, `env.restoreFrom`), or
   * undefined when none is left (none had completed, or the job had ended). For a job that must
   * stop after a failed stopWithSavepoint.
   */
  cancelKeepingLatestCheckpoint(): Promise<string | undefined>;
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
    metrics: master.metrics,
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
      const c = master.checkpoints;
      c?.hold();
      let path: string;
      try {
        path = await savepoint(targetDir);
      } catch (e) {
        // Nothing of the savepoint was committed: the job goes on checkpointing, as in Flink.
        c?.release();
        if (c === undefined || status !== "RUNNING") throw e;
        throw new StopWithSavepointError(job.jobName, c.latest?.path, e);
      }
      await master.cancel();
      await done.catch(() => {});
      return path;
    },
    async cancelKeepingLatestCheckpoint() {
      if (status !== "RUNNING") return undefined;
      await master.cancel({ retainCheckpoints: true });
      await done.catch(() => {});
      return (status as JobStatus) === "CANCELED" ? master.checkpoints?.latest?.path : undefined;
    },
  };
}
