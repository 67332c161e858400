// The JobMaster: runs a compiled job attempt after attempt. It owns the checkpoint coordinator
// and the restart strategy; an AttemptLauncher deploys the tasks (in this thread, or on worker
// threads). On a failure it tears the attempt down and, if the strategy allows, restores every
// task and source from the latest completed checkpoint and runs again. When every task of a
// checkpointing job has finished, it has the final checkpoint taken before the final commits run.

import type { CheckpointSettings } from "../checkpoint/checkpoint-config.ts";
import type { CheckpointIdSource } from "../checkpoint/checkpoint-ids.ts";
import { CheckpointCoordinator, type CheckpointStats, type TaskRef } from "../checkpoint/coordinator.ts";
import { type CheckpointStorage, createCheckpointStorage } from "../checkpoint/checkpoint-storage.ts";
import { type LoadedCheckpoint, loadCheckpoint } from "../checkpoint/fs-storage.ts";
import { type RestartStrategyConfig, RestartBackoff } from "../checkpoint/restart-strategy.ts";
import { validateInFlight } from "../checkpoint/in-flight-restore.ts";
import { validateRestore } from "../checkpoint/restore.ts";
import { CorruptStateError } from "../checkpoint/state-file.ts";
import { StateMigrationError } from "../core/state.ts";
import { JobCancelledError, WeirError } from "../core/errors.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { FlameGraphNode } from "../runtime/metrics/cpu-profiler.ts";
import { JobMetrics } from "../runtime/metrics/job-metrics.ts";
import type { PartitionerKind } from "../runtime/partitioners.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import type { JobEdge, JobGraph } from "../graph/job-graph.ts";
import { edgeId } from "../graph/stream-graph.ts";
import type { CheckpointHooks } from "./task-deployment.ts";

export interface RunOutcome {
  reports: TaskReport[];
  pools: BufferPoolStats[];
}

export interface AttemptContext {
  attempt: number;
  /** Where the attempt's tasks report their metrics. */
  metrics: JobMetrics;
  restore: LoadedCheckpoint | undefined;
  checkpointing:
    | {
        exactlyOnce: boolean;
        unaligned: boolean;
        alignedTimeout: number;
        incremental: boolean;
        directory: string;
        hooks: CheckpointHooks;
      }
    | undefined;
}

/** One deployment of every task of the job. */
export interface Attempt {
  /** Resolves when every task has reached the end of its input; rejects when the attempt fails. */
  readonly done: Promise<RunOutcome>;
  /** Never resolves; rejects when the attempt fails, also after `done` (while the final checkpoint is taken). */
  readonly failure: Promise<never>;
  /** After `done`: final commits, then close every task and release the threads. */
  complete(): Promise<void>;
  snapshotEnumerators(checkpointId: number): Record<string, string>;
  triggerCheckpoint(checkpointId: number, sources: TaskRef[], alignedOnly: boolean): void;
  notifyComplete(checkpointId: number): void;
  notifyAborted(checkpointId: number): void;
  /** Stop every task and release the threads (failure elsewhere, cancel, restart). */
  cancel(): Promise<void>;
  /** Fail this attempt from outside (e.g. too many failed checkpoints). */
  fail(error: Error): void;
  /** CPU profiles of the threads running `vertexId`'s subtasks, one per thread (the flame graph). */
  profile?(vertexId: number, durationMs: number): Promise<FlameGraphNode[]>;
}

export type AttemptLauncher = (ctx: AttemptContext) => Promise<Attempt>;

export interface JobMasterOptions {
  jobName: string;
  jobId: string;
  jobGraph: JobGraph;
  checkpoint: CheckpointSettings;
  restart: RestartStrategyConfig;
  /** Start from this checkpoint or savepoint. */
  restorePath?: string;
  allowNonRestoredState?: boolean;
  /** Told of every failed attempt as it happens (the CLI prints it), before the restart delay. */
  onAttemptFailed?: (failure: AttemptFailure) => void;
  /**
   * Publishes each completed checkpoint before anything of it is committed (high availability:
   * the latest checkpoint's pointer); a rejection leaves the checkpoint incomplete.
   */
  publishCheckpoint?: (c: { id: number; path: string; timestamp: number }) => Promise<void>;
  /** Checkpoint ids shared by every JobManager that may run the job (high availability). */
  checkpointIds?: CheckpointIdSource;
}

/** A failed attempt: what failed, and whether and when the job restarts. */
export interface AttemptFailure {
  /** The attempt that failed (0 = the first run). */
  attempt: number;
  error: unknown;
  /** ms until the next attempt starts; undefined when the job fails instead. */
  restartDelayMs: number | undefined;
}

export interface JobRunResult extends RunOutcome {
  restarts: number;
  failures: number;
  checkpoints: CheckpointStats | undefined;
}

export class JobMaster {
  private current: Attempt | undefined;
  private cancelled = false;
  /** Keep the checkpoints when cancelled, whatever the retention (a failed stop-with-savepoint). */
  private retainOnCancel = false;
  private coordinator: CheckpointCoordinator | undefined;
  restarts = 0;
  failures = 0;
  private markDeployed: () => void = () => {};
  /** Ends the wait before a restart early (cancel). */
  private wakeRestart: (() => void) | undefined;
  /** Resolves once the first attempt is deployed (or the job ended before that). */
  readonly deployed = new Promise<void>((resolve) => {
    this.markDeployed = resolve;
  });

  /** The job's metrics, status and exceptions (what reporters and the REST API read). */
  readonly metrics: JobMetrics;

  constructor(
    private readonly options: JobMasterOptions,
    private readonly launch: AttemptLauncher,
  ) {
    this.metrics = new JobMetrics(
      options.jobId,
      options.jobName,
      options.jobGraph.vertices.map((v) => ({
        id: v.id,
        name: v.name,
        parallelism: v.parallelism,
        operators: v.nodes.map((n) => ({ uid: n.uid, name: n.name })),
        inputs: v.inputs.map((e) => ({
          id: e.source.id,
          shipStrategy: e.streamEdge.partitioner.kind.toUpperCase(),
        })),
      })),
    );
    const cp = options.checkpoint;
    if (cp.interval > 0) {
      this.metrics.checkpointConfig = {
        mode: cp.mode === "EXACTLY_ONCE" ? "exactly_once" : "at_least_once",
        interval: cp.interval,
        timeout: cp.timeout,
        min_pause: cp.minPauseBetweenCheckpoints,
        max_concurrent: cp.maxConcurrentCheckpoints,
        // Completed checkpoints always outlive a failure; retention says what a cancel does.
        externalization: { enabled: true, delete_on_cancellation: cp.retention === "DELETE_ON_CANCELLATION" },
        checkpoint_storage: cp.directory,
        unaligned_checkpoints: cp.unaligned,
        aligned_checkpoint_timeout: cp.alignedCheckpointTimeout,
        tolerable_failed_checkpoints: cp.tolerableFailedCheckpoints,
        retained_checkpoints: cp.retainedCheckpoints,
        incremental: cp.incremental,
      };
    }
    this.metrics.setJobLevelSource(() => {
      const c = this.coordinator;
      return {
        numRestarts: this.restarts,
        checkpoints:
          c === undefined
            ? undefined
            : {
                completed: c.stats.completed,
                failed: c.stats.failed,
                inProgress: c.numInProgress,
                lastDurationMs: c.stats.lastDurationMs,
                lastSizeBytes: c.stats.lastSizeBytes,
                lastCompletedId: c.latest?.id ?? 0,
              },
      };
    });
  }

  /** The checkpoint coordinator (when checkpointing is on): trigger savepoints through it. */
  get checkpoints(): CheckpointCoordinator | undefined {
    return this.coordinator;
  }

  /**
   * Cancel the job. With `retainCheckpoints`, its checkpoints stay whatever the retention: after a
   * failed stop-with-savepoint the latest one is what to restore from.
   */
  async cancel(options: { retainCheckpoints?: boolean } = {}): Promise<void> {
    if (options.retainCheckpoints === true) this.retainOnCancel = true;
    this.cancelled = true;
    this.wakeRestart?.();
    await this.current?.cancel();
  }

  async run(): Promise<JobRunResult> {
    try {
      const result = await this.runAttempts();
      this.metrics.end("FINISHED");
      return result;
    } catch (e) {
      // Whatever ended the job, its checkpoint timer must not outlive it (it would keep the process alive).
      await this.coordinator?.stop(false).catch(() => {});
      this.metrics.end(e instanceof JobCancelledError ? "CANCELED" : "FAILED");
      throw e;
    } finally {
      this.markDeployed();
    }
  }

  private async runAttempts(): Promise<JobRunResult> {
    const o = this.options;
    const settings = o.checkpoint;
    let restore = o.restorePath === undefined ? undefined : await loadCheckpoint(o.restorePath);
    if (restore !== undefined) {
      validateRestore(restore, restoreTargets(o.jobGraph), o.allowNonRestoredState ?? false);
      await validateInFlight(restore, edgePartitioners(o.jobGraph), operatorParallelism(o.jobGraph));
    }
    const backoff = new RestartBackoff(o.restart);
    const tasks = taskRefs(o.jobGraph);
    let storage: CheckpointStorage | undefined;
    if (settings.interval > 0) {
      storage = createCheckpointStorage(settings.directory, o.jobId);
      this.coordinator = new CheckpointCoordinator(
        settings,
        storage,
        { name: o.jobName, id: o.jobId },
        tasks,
        () => ({}),
        { trigger() {}, notifyComplete() {}, notifyAborted() {} },
        (e) => this.current?.fail(e),
        (restore?.metadata.checkpointId ?? 0) + 1,
        o.publishCheckpoint,
        o.checkpointIds,
      );
    }
    const coordinator = this.coordinator;
    let checkpointsStarted = false;
    for (let attemptNo = 0; ; attemptNo++) {
      if (this.cancelled) {
        // Cancelled while waiting to restart: the coordinator's timer would keep the process alive.
        await coordinator?.stop(settings.retention === "DELETE_ON_CANCELLATION" && !this.retainOnCancel);
        throw new JobCancelledError(o.jobName);
      }
      // A task's final state may still be on its way when its attempt fails: it must not count
      // as finished in the next attempt (where the task runs again).
      let current = true;
      let attempt: Attempt;
      try {
        attempt = await this.launch({
          attempt: attemptNo,
          metrics: this.metrics,
          restore,
          checkpointing:
            coordinator === undefined
              ? undefined
              : {
                  exactlyOnce: settings.mode === "EXACTLY_ONCE",
                  unaligned: settings.unaligned && settings.mode === "EXACTLY_ONCE",
                  alignedTimeout: settings.alignedCheckpointTimeout,
                  incremental: settings.incremental,
                  directory: settings.directory,
                  hooks: {
                    acknowledge: (v, s, id, h) => coordinator.acknowledge(v, s, id, h),
                    decline: (id, reason) => coordinator.decline(id, reason),
                    finished: (v, s, h, error) => {
                      if (current) coordinator.taskFinished(v, s, h, error);
                    },
                  },
                },
        });
      } catch (e) {
        // Setting the attempt up failed (e.g. a source's enumerator could not start): a failure
        // like any other, the restart strategy decides (the launcher has released what it took).
        this.current = undefined;
        restore = await this.recover(e, attemptNo, backoff, restore);
        continue;
      }
      this.current = attempt;
      this.metrics.profiler = attempt.profile === undefined ? undefined : (v, ms) => attempt.profile!(v, ms);
      this.metrics.status = "RUNNING";
      this.markDeployed();
      if (coordinator !== undefined) {
        // The checkpoint history (REST API) follows the coordinator's own events, so that no
        // checkpoint is missed between two polls of its statistics. Savepoints are the aligned-only ones.
        const history = this.metrics.checkpoints;
        coordinator.attach(
          {
            trigger: (id, sources, alignedOnly) => {
              history.triggered(id, alignedOnly);
              attempt.triggerCheckpoint(id, sources, alignedOnly);
            },
            notifyComplete: (id) => {
              history.completed(id, coordinator.stats.lastDurationMs, coordinator.stats.lastSizeBytes);
              attempt.notifyComplete(id);
            },
            notifyAborted: (id) => {
              history.failed(id);
              attempt.notifyAborted(id);
            },
          },
          (id) => attempt.snapshotEnumerators(id),
        );
        if (!checkpointsStarted) coordinator.start();
        checkpointsStarted = true;
      }
      if (this.cancelled) await attempt.cancel();
      try {
        const outcome = await attempt.done;
        coordinator?.pause();
        // The end-of-input committables are in the tasks' final states: publish them in the final
        // checkpoint before committing them. A failure from here on restores from it: the sinks
        // commit those committables again, and no input is replayed.
        if (coordinator !== undefined) await Promise.race([coordinator.finalCheckpoint(), attempt.failure]);
        await Promise.race([attempt.complete(), attempt.failure]);
        await coordinator?.stop(true);
        return {
          ...outcome,
          restarts: this.restarts,
          failures: this.failures,
          checkpoints: coordinator?.stats,
        };
      } catch (e) {
        current = false;
        coordinator?.pause();
        await attempt.cancel();
        restore = await this.recover(e, attemptNo, backoff, restore);
      }
    }
  }

  /**
   * After attempt `attemptNo` failed with `e` (its tasks already stopped): throws when the job
   * fails or was cancelled; otherwise waits for the restart delay and returns what to restore from.
   */
  private async recover(
    e: unknown,
    attemptNo: number,
    backoff: RestartBackoff,
    restore: LoadedCheckpoint | undefined,
  ): Promise<LoadedCheckpoint | undefined> {
    const o = this.options;
    const settings = o.checkpoint;
    const coordinator = this.coordinator;
    if (this.cancelled || e instanceof JobCancelledError) {
      await coordinator?.stop(settings.retention === "DELETE_ON_CANCELLATION" && !this.retainOnCancel);
      throw e instanceof JobCancelledError ? e : new JobCancelledError(o.jobName);
    }
    this.failures++;
    this.metrics.recordFailure(attemptNo, e);
    this.metrics.status = "RESTARTING";
    if (isRestoreFailure(e)) {
      // Restarting would read the same broken checkpoint again.
      o.onAttemptFailed?.({ attempt: attemptNo, error: e, restartDelayMs: undefined });
      await coordinator?.stop(false);
      throw e;
    }
    if (process.env.WEIR_DEBUG) console.error(`[weir] attempt ${attemptNo} failed:`, e);
    const delay = backoff.onFailure();
    o.onAttemptFailed?.({ attempt: attemptNo, error: e, restartDelayMs: delay });
    if (delay === undefined) {
      await coordinator?.stop(false);
      if (this.restarts > 0 && e instanceof WeirError) {
        e.message += ` (after ${this.restarts} restart${this.restarts === 1 ? "" : "s"})`;
      }
      throw e;
    }
    coordinator?.resetForRestart();
    const latest = coordinator?.latest;
    let next = restore;
    if (latest !== undefined) {
      try {
        next = await loadCheckpoint(latest.path);
      } catch (cause) {
        await coordinator?.stop(false);
        throw new WeirError(
          "JOB_FAILED",
          `job '${o.jobName}' cannot restart after a failure (${(e as Error).message ?? e}): its latest completed checkpoint ${latest.id} cannot be read: ${(cause as Error).message}`,
        );
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wakeRestart = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeRestart = undefined;
    if (!this.cancelled) this.restarts++;
    return next;
  }
}

/** A task could not read its checkpoint state (missing or corrupt file): not worth a restart. */
function isRestoreFailure(e: unknown): boolean {
  if (e instanceof CorruptStateError || e instanceof StateMigrationError) return true;
  const loc = (e as { location?: { errorName?: string } }).location;
  return loc?.errorName === "CorruptStateError" || loc?.errorName === "StateMigrationError";
}

export function taskRefs(jobGraph: JobGraph): TaskRef[] {
  const out: TaskRef[] = [];
  for (const v of jobGraph.vertices) {
    // How the task's in-flight data is laid out: input channels edge by edge, one writer per edge.
    const layout = (e: JobEdge) => ({
      edge: edgeId(e.streamEdge),
      partitioner: e.streamEdge.partitioner.kind,
    });
    const inputs = v.inputs.map(layout);
    const outputs = v.outputs.map(layout);
    for (let i = 0; i < v.parallelism; i++) {
      out.push({
        vertexId: v.id,
        subtask: i,
        operators: v.nodes.map((n) => n.uid),
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        isSource: v.head.source !== undefined,
        inputs,
        outputs,
      });
    }
  }
  return out;
}

/** Every edge of the job (network or chained) by id, with its partitioner. */
function edgePartitioners(jobGraph: JobGraph): Map<string, PartitionerKind> {
  const out = new Map<string, PartitionerKind>();
  for (const v of jobGraph.vertices)
    for (const n of v.nodes) for (const e of n.outEdges) out.set(edgeId(e), e.partitioner.kind);
  return out;
}

function operatorParallelism(jobGraph: JobGraph): Map<string, number> {
  return new Map(jobGraph.vertices.flatMap((v) => v.nodes.map((n) => [n.uid, n.parallelism] as const)));
}

function restoreTargets(jobGraph: JobGraph) {
  return jobGraph.vertices.flatMap((v) =>
    v.nodes.map((n) => ({
      uid: n.uid,
      name: n.name,
      maxParallelism: n.maxParallelism,
      keyed: n.keySelectors.some((k) => k !== undefined),
    })),
  );
}
