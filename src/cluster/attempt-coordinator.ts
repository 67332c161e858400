// One attempt of a job on slots: the JobManager side of every slot's task worker, whether the
// worker is a thread of this process (the MiniCluster) or a thread of a TaskManager process (the
// cluster). It runs the split enumerators, starts the tasks once every slot has deployed, relays
// checkpoint messages, gathers the outcome, and on a failure stops the other slots and ends them.

import type { CompiledJob, EnvironmentConfig } from "../api/environment.ts";
import { JobCancelledError, JobExecutionError, jobFailure } from "../core/errors.ts";
import type { Attempt, AttemptContext, RunOutcome } from "../execution/job-master.ts";
import { snapshotEnumerators, startSourceCoordinators } from "../execution/source-coordinators.ts";
import { executionPlan } from "../graph/plan.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { FlameGraphNode } from "../runtime/metrics/cpu-profiler.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import type { ToCoordinator, ToWorker, WorkerData } from "./protocol.ts";

/** How long a cancelled worker may take to close its tasks before it is terminated. */
const STOP_GRACE_MS = 5_000;
/**
 * How long the other workers of a failed attempt may take to stop their tasks (closing operators:
 * print() flushes what it holds) before they are terminated.
 */
const FAIL_GRACE_MS = 2_000;

/** What the coordinator hears from one slot's worker. */
export interface SlotListener {
  message(m: ToCoordinator): void;
  /** The worker (or the process hosting it) failed outside the tasks. */
  crashed(e: Error): void;
  /** The worker is gone; no message follows. */
  exited(code: number | string): void;
}

/** One slot's worker, as the coordinator drives it. */
export interface SlotRunner {
  post(m: ToWorker): void;
  /** End the worker at once (as a crash would, when called on a running one). */
  terminate(): void;
  /** Resolves once the worker is gone. */
  readonly exited: Promise<void>;
}

/**
 * Starts the workers of an attempt: one per slot, each with its WorkerData and listener. Resolves
 * once every worker is on its way (before any of them can have sent a message).
 */
export interface SlotLauncher {
  start(data: WorkerData[], listeners: SlotListener[]): Promise<SlotRunner[]>;
  /** How a slot is named in errors: "worker thread of slot 1", "slot 1 on TaskManager tm-2". */
  describe(slot: number): string;
}

/**
 * Where an attempt was when one of its workers was killed (chaos testing): `deploying` (not every
 * worker had loaded the job and deployed its tasks), `running`, `finishing` (every task had
 * finished: the final checkpoint and commits), `stopping` (being cancelled) or `over` (completed or
 * failed already: the kill ends nothing, the worker is gone or about to be).
 */
export type AttemptPhase = "deploying" | "running" | "finishing" | "stopping" | "over";

export interface WorkerKillReport {
  /** The attempt's number (0 for the first, then one per restart). */
  attempt: number;
  phase: AttemptPhase;
}

export interface ClusterAttempt extends Attempt {
  /**
   * Chaos testing: end the worker of `slot` abruptly, as a crash would. A kill in any phase but
   * `over` and `stopping` fails the attempt (the restart strategy decides what follows).
   */
  killWorker(slot: number): WorkerKillReport;
}

export interface AttemptSpec {
  job: CompiledJob;
  jobId: string;
  /** The job module as the workers import it (a path on their host). */
  modulePath: string;
  config: EnvironmentConfig;
  ctx: AttemptContext;
  onCollect: (uid: string, subtask: number, values: unknown[], txn: string | undefined) => void;
  /** The attempt was cancelled; what its tasks had counted. */
  onCancelled: (outcome: RunOutcome) => void;
  slots: SlotLauncher;
}

export async function launchAttempt(spec: AttemptSpec): Promise<ClusterAttempt> {
  const { job, jobId, modulePath, config, ctx, onCollect, onCancelled } = spec;
  const eg = job.executionGraph;
  const jobName = job.jobName;
  const planFingerprint = JSON.stringify(executionPlan(job.jobGraph));
  const n = eg.numSlots;

  const workers: SlotRunner[] = [];
  const slotOf = new Map(eg.subtasks.map((s) => [`${s.vertex.id}/${s.index}`, s.slot]));
  /** CPU profiles asked of the workers, by request id: told the graph, or why there is none. */
  const profiles = new Map<number, (graph: FlameGraphNode | undefined, error: string | undefined) => void>();
  let nextProfile = 1;
  const post = (slot: number, m: ToWorker) => workers[slot]?.post(m);
  const postAll = (m: ToWorker) => {
    for (const w of workers) w.post(m);
  };
  const coordinators = await startSourceCoordinators(eg.jobGraph, ctx.restore, (node) => ({
    addSplits: (subtask, splits) =>
      post(slotOf.get(`${readerVertex(node)}/${subtask}`)!, { t: "splits", node, subtask, splits }),
    noMoreSplits: (subtask) =>
      post(slotOf.get(`${readerVertex(node)}/${subtask}`)!, { t: "no-more-splits", node, subtask }),
  }));
  function readerVertex(node: number): number {
    return eg.jobGraph.vertices.find((v) => v.head.id === node)!.id;
  }

  let state: "running" | "done" | "stopping" | "over" = "running";
  const reports: TaskReport[] = [];
  const pools: BufferPoolStats[] = [];
  let ready = 0;
  let doneCount = 0;
  let completedCount = 0;
  let stoppedCount = 0;
  /** Workers that failed or exited: no "stopped" will come from them. */
  let gone = 0;
  let resolveDone!: (o: RunOutcome) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<RunOutcome>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});
  let rejectFailure!: (e: Error) => void;
  const failure = new Promise<never>((_resolve, reject) => {
    rejectFailure = reject;
  });
  failure.catch(() => {});
  /** The attempt failed after every task had finished (before or during the final commits). */
  let lateFailure: Error | undefined;
  let onCompleted: (() => void) | undefined;
  let onCompleteFailed: ((e: Error) => void) | undefined;
  let onStopped: (() => void) | undefined;

  const terminateAll = async () => {
    for (const w of workers) w.terminate();
    await Promise.all(workers.map((w) => w.exited));
    for (const c of coordinators.values()) await c.close();
  };
  const stopOthersThenTerminate = async () => {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FAIL_GRACE_MS);
      onStopped = () => {
        clearTimeout(timer);
        resolve();
      };
      // Before every worker is ready no task has started: nothing to close.
      if (stoppedCount + gone >= n || ready < n) onStopped();
      else postAll({ t: "cancel" });
    });
    await terminateAll();
  };
  const fail = (e: Error) => {
    if (state === "over" || state === "stopping") return;
    const wasDone = state === "done";
    state = "over";
    void stopOthersThenTerminate();
    rejectFailure(e);
    if (wasDone) {
      lateFailure = e;
      onCompleteFailed?.(e);
    } else rejectDone(e);
  };

  const listener = (slot: number): SlotListener => ({
    crashed: (e) =>
      fail(
        new JobExecutionError(
          `job '${jobName}' failed: ${spec.slots.describe(slot)} crashed: ${e.message}`,
          undefined,
          e.stack,
          e,
        ),
      ),
    exited: (code) => {
      if (++gone + stoppedCount >= n) onStopped?.();
      if (state === "running" || state === "done") {
        fail(
          new JobExecutionError(
            `job '${jobName}' failed: ${spec.slots.describe(slot)} exited unexpectedly (code ${code})`,
          ),
        );
      }
    },
    message: (m) => {
      switch (m.t) {
        case "ready":
          if (++ready === n) postAll({ t: "start" });
          break;
        case "reader":
          coordinators.get(m.node)!.registerReader(m.subtask);
          break;
        case "split-request":
          coordinators.get(m.node)!.handleSplitRequest(m.subtask);
          break;
        case "collect":
          onCollect(m.uid, m.subtask, m.values, m.txn);
          break;
        case "ack":
          ctx.checkpointing?.hooks.acknowledge(m.vertexId, m.subtask, m.id, m.handle);
          break;
        case "decline":
          ctx.checkpointing?.hooks.decline(m.id, m.reason);
          break;
        case "task-finished":
          ctx.checkpointing?.hooks.finished(m.vertexId, m.subtask, m.handle, m.error);
          break;
        case "done":
          reports.push(...m.reports);
          pools.push(m.pool);
          if (++doneCount === n && state === "running") {
            state = "done";
            resolveDone({ reports, pools });
          }
          break;
        case "completed":
          if (++completedCount === n) onCompleted?.();
          break;
        case "metrics":
          ctx.metrics.record(m.tasks);
          break;
        case "profile-result":
          profiles.get(m.id)?.(m.graph, m.error);
          break;
        case "stopped":
          if (m.reports !== undefined) reports.push(...m.reports);
          if (m.pool !== undefined) pools.push(m.pool);
          if (++stoppedCount + gone >= n) onStopped?.();
          break;
        case "failed":
          gone++;
          fail(
            m.failure !== undefined
              ? jobFailure(jobName, jobId, m.failure)
              : new JobExecutionError(
                  `job '${jobName}' failed in ${spec.slots.describe(slot)}: ${m.message}`,
                  undefined,
                  m.stack,
                ),
          );
          break;
      }
    },
  });

  const data: WorkerData[] = [];
  for (let slot = 0; slot < n; slot++) {
    data.push({
      modulePath,
      config,
      jobName,
      jobId,
      slot,
      attempt: ctx.attempt,
      planFingerprint,
      heapLimitMb: job.memory.workerHeapLimitMb,
      restorePath: ctx.restore?.path,
      checkpointing:
        ctx.checkpointing === undefined
          ? undefined
          : {
              exactlyOnce: ctx.checkpointing.exactlyOnce,
              unaligned: ctx.checkpointing.unaligned,
              alignedTimeout: ctx.checkpointing.alignedTimeout,
              incremental: ctx.checkpointing.incremental,
              directory: ctx.checkpointing.directory,
            },
    });
  }
  try {
    workers.push(
      ...(await spec.slots.start(
        data,
        data.map((_, slot) => listener(slot)),
      )),
    );
  } catch (e) {
    for (const c of coordinators.values()) await c.close();
    throw e;
  }

  return {
    done,
    failure,
    async complete() {
      if (lateFailure !== undefined) throw lateFailure;
      if (state !== "done") return;
      await new Promise<void>((resolve, reject) => {
        onCompleted = resolve;
        onCompleteFailed = reject;
        postAll({ t: "complete" });
      });
      state = "over";
      await terminateAll();
    },
    snapshotEnumerators: (id) => snapshotEnumerators(coordinators, id),
    triggerCheckpoint(id, sources, alignedOnly) {
      const bySlot = new Map<number, Array<[number, number]>>();
      for (const s of sources) {
        const slot = slotOf.get(`${s.vertexId}/${s.subtask}`)!;
        const list = bySlot.get(slot) ?? [];
        list.push([s.vertexId, s.subtask]);
        bySlot.set(slot, list);
      }
      const at = Date.now();
      for (const [slot, tasks] of bySlot) post(slot, { t: "trigger", id, tasks, alignedOnly, at });
    },
    // The flame graph: a profile of each worker thread hosting one of the vertex's subtasks.
    profile(vertexId, durationMs) {
      const slots = new Set<number>();
      for (const [k, slot] of slotOf) if (k.startsWith(`${vertexId}/`)) slots.add(slot);
      return Promise.all(
        [...slots].map(
          (slot) =>
            new Promise<FlameGraphNode>((resolve, reject) => {
              const id = nextProfile++;
              const timer = setTimeout(() => {
                profiles.delete(id);
                reject(new Error(`no CPU profile from ${spec.slots.describe(slot)} in time`));
              }, durationMs + 30_000);
              profiles.set(id, (graph, error) => {
                clearTimeout(timer);
                profiles.delete(id);
                if (graph !== undefined) resolve(graph);
                else reject(new Error(`CPU profile of ${spec.slots.describe(slot)} failed: ${error}`));
              });
              post(slot, { t: "profile", id, durationMs });
            }),
        ),
      );
    },
    notifyComplete: (id) => postAll({ t: "notify-complete", id }),
    notifyAborted: (id) => postAll({ t: "notify-aborted", id }),
    async cancel() {
      if (state === "over" || state === "stopping") {
        await Promise.all(workers.map((w) => w.exited));
        return;
      }
      const wasRunning = state === "running";
      state = "stopping";
      // Ask every worker to stop its tasks (closing operators), then end the threads. Before every
      // worker is ready no task has started: nothing to close, and a worker still loading the job
      // module would answer only once it has loaded it.
      await new Promise<void>((resolve) => {
        onStopped = resolve;
        if (ready < n) {
          resolve();
          return;
        }
        const timer = setTimeout(resolve, STOP_GRACE_MS);
        onStopped = () => {
          clearTimeout(timer);
          resolve();
        };
        postAll({ t: "cancel" });
      });
      state = "over";
      await terminateAll();
      // What the tasks had counted: sent with "stopped", or with "done" when they had finished.
      onCancelled({ reports, pools });
      const cancelled = new JobCancelledError(jobName);
      if (wasRunning) rejectDone(cancelled);
      // Cancelled after every task had finished: no final checkpoint or final commits follow.
      rejectFailure(cancelled);
      lateFailure ??= cancelled;
      onCompleteFailed?.(cancelled);
    },
    fail,
    killWorker(slot: number): WorkerKillReport {
      const phase: AttemptPhase =
        state === "done" ? "finishing" : state !== "running" ? state : ready < n ? "deploying" : "running";
      workers[slot]?.terminate();
      // A crash at this moment: the attempt fails now, not when the worker's exit is seen. A
      // "completed" the worker had posted just before would otherwise complete the attempt first,
      // and a kill reported as ending its attempt would have ended nothing.
      if (state === "running" || state === "done") {
        fail(new JobExecutionError(`job '${jobName}' failed: ${spec.slots.describe(slot)} was killed`));
      }
      return { attempt: ctx.attempt, phase };
    },
  };
}
