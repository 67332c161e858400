// The JobClient of a job run by a JobMaster (in this thread or on worker threads).

import { InvalidArgumentError, JobCancelledError } from "../core/errors.ts";
import type { JobMaster } from "../graph/job-master.ts";
import type { CompiledJob } from "./environment.ts";
import { type JobClient, JobResult, type JobStatus } from "./job-result.ts";

export interface ManagedJobClient extends JobClient {
  /** Take a savepoint of the running job (checkpointing must be enabled); resolves with its path. */
  triggerSavepoint(): Promise<string>;
}

export function startClient(
  master: JobMaster,
  job: CompiledJob,
  jobId: string,
  onEnd: () => void,
): ManagedJobClient {
  const started = performance.now();
  let status: JobStatus = "RUNNING";
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
    async triggerSavepoint() {
      const c = master.checkpoints;
      if (c === undefined) {
        throw new InvalidArgumentError(
          `job '${job.jobName}' does not checkpoint, so it cannot take a savepoint; enable checkpointing (env.enableCheckpointing(ms))`,
        );
      }
      return new Promise<string>((resolve, reject) => {
        c.trigger({ resolve, reject });
      });
    },
  };
}
