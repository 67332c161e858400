// A job run by a JobMaster on slots: the job module built and compiled, collected results
// gathered, attempts launched on the slots a SlotLauncher provides (worker threads of this process
// for the MiniCluster, TaskManager slots for the cluster), and the job's client.

import { randomUUID } from "node:crypto";
import type { CompiledJob, EnvironmentConfig } from "../api/environment.ts";
import { startClient } from "../api/job-client.ts";
import { JobResult } from "../api/job-result.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import {
  type AttemptLauncher,
  JobMaster,
  type JobMasterOptions,
  type RunOutcome,
} from "../execution/job-master.ts";
import { type ClusterAttempt, type SlotLauncher, launchAttempt } from "./attempt-coordinator.ts";
import { buildJobEnvironment, loadJobModule } from "./job-module.ts";
import type { ClusterJobClient } from "./mini-cluster.ts";

export interface JobRunOptions extends EnvironmentConfig {
  /** Path of the job module (.ts or .js) whose default export is defineJob(...). */
  job: string;
  jobName?: string;
  /** The job's id (default: a random UUID). */
  jobId?: string;
  /** The job module's file name, when `job` is a copy of it (an artifact): names the job by default. */
  moduleName?: string;
  /** Told of every failed attempt as it happens, with the delay before the restart (if any). */
  onAttemptFailed?: JobMasterOptions["onAttemptFailed"];
  /** Publishes each completed checkpoint before it is committed (high availability). */
  publishCheckpoint?: JobMasterOptions["publishCheckpoint"];
  /** Checkpoint ids shared with every other JobManager that may run the job (high availability). */
  checkpointIds?: JobMasterOptions["checkpointIds"];
}

/** Build the job from its module and start it on the slots `slotsFor` gives each attempt. */
export async function submitJobOnSlots(
  options: JobRunOptions,
  slotsFor: (job: CompiledJob, jobId: string) => SlotLauncher,
  /** The job module as the workers import it (default: options.job). */
  workerModulePath?: string,
): Promise<ClusterJobClient & { job: CompiledJob }> {
  const {
    job: modulePath,
    jobName: name,
    jobId: givenId,
    moduleName,
    onAttemptFailed,
    publishCheckpoint,
    checkpointIds,
    ...config
  } = options;
  if (config.clock !== undefined) {
    throw new InvalidArgumentError(
      "a custom clock works only for in-thread execution (env.execute()); worker threads use the system clock",
    );
  }
  const def = await loadJobModule(modulePath);
  const env = await buildJobEnvironment(def, config, moduleName ?? modulePath);
  const jobName = name ?? env.defaultJobName;
  const job = env.compile(jobName);
  const jobId = givenId ?? randomUUID();

  // Collected results, by sink uid and name.
  const collected = new Map<string, unknown[]>();
  const publish = env.collectPublisher();
  const sinkNames = new Map(job.streamGraph.nodes.map((n) => [n.uid, n.name]));
  const seenTxns = new Set<string>();
  const onCollect = (uid: string, subtask: number, values: unknown[], txn: string | undefined) => {
    publish(uid, subtask, values, txn);
    if (txn !== undefined) {
      if (seenTxns.has(txn)) return;
      seenTxns.add(txn);
    }
    for (const key of new Set([uid, sinkNames.get(uid) ?? uid])) {
      const list = collected.get(key) ?? [];
      for (const v of values) list.push(v);
      collected.set(key, list);
    }
  };

  let current: ClusterAttempt | undefined;
  let cancelledOutcome: RunOutcome | undefined;
  const started = performance.now();
  const slots = slotsFor(job, jobId);
  const launcher: AttemptLauncher = async (ctx) => {
    cancelledOutcome = undefined;
    current = await launchAttempt({
      job,
      jobId,
      modulePath: workerModulePath ?? modulePath,
      config,
      ctx,
      onCollect,
      onCancelled: (o) => {
        cancelledOutcome = o;
      },
      slots,
    });
    return current;
  };
  const master = new JobMaster(
    {
      jobName,
      jobId,
      jobGraph: job.jobGraph,
      checkpoint: job.checkpoint,
      restart: job.restart,
      restorePath: job.restorePath,
      allowNonRestoredState: job.allowNonRestoredState,
      onAttemptFailed,
      publishCheckpoint,
      checkpointIds,
    },
    launcher,
  );
  const client = startClient(master, job, jobId, () => {});
  await master.deployed;
  return {
    ...client,
    job,
    wait: () => client.wait().then((r) => Object.assign(r, { collected })),
    killWorker: (slot: number) => current?.killWorker(slot),
    cancelledResult: () =>
      cancelledOutcome === undefined || client.getStatus() !== "CANCELED"
        ? undefined
        : new JobResult({
            jobId,
            jobName,
            runtimeMs: performance.now() - started,
            vertices: job.jobGraph.vertices.map((v) => ({
              id: v.id,
              name: v.name,
              parallelism: v.parallelism,
            })),
            reports: cancelledOutcome.reports,
            pools: cancelledOutcome.pools,
            restarts: master.restarts,
            failures: master.failures,
            checkpoints: master.checkpoints?.stats,
          }),
  };
}
