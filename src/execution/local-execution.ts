// Runs every task of a job cooperatively in the calling thread: the in-thread mode behind
// env.execute() in tests and embedding. Same tasks, channels and semantics as the threaded mode.

import { createCheckpointStorage } from "../checkpoint/checkpoint-storage.ts";
import { JobCancelledError, jobFailure } from "../core/errors.ts";
import type { SourceReader } from "../core/source.ts";
import { NetworkBufferPool } from "../network/buffer-pool.ts";
import { profileThisThread } from "../runtime/metrics/cpu-profiler.ts";
import { snapshotTask } from "../runtime/metrics/task-metrics-snapshot.ts";
import { describeFailure } from "../runtime/operator-failure.ts";
import { CancelledSignal, type TaskFailureReport, TaskExecutor } from "../runtime/task-executor.ts";
import type { ExecutionGraph } from "../graph/execution-graph.ts";
import type { Attempt, AttemptContext, AttemptLauncher, RunOutcome } from "./job-master.ts";
import { snapshotEnumerators, startSourceCoordinators } from "./source-coordinators.ts";
import {
  type NetworkOptions,
  type StateBackendOptions,
  type TimeOptions,
  deployTasks,
} from "./task-deployment.ts";

export type { RunOutcome } from "./job-master.ts";

/** Buffers a thread needs so that every channel it serves can use its credits. */
export function poolCapacity(
  eg: ExecutionGraph,
  network: NetworkOptions,
  slots: Set<number> | undefined,
): number {
  const slotOf = new Map(eg.subtasks.map((s) => [`${s.vertex.id}/${s.index}`, s.slot]));
  let channels = 0;
  for (const c of eg.channels) {
    const slot = slotOf.get(`${c.edge.source.id}/${c.producer}`)!;
    if (slots === undefined || slots.has(slot)) channels++;
  }
  return Math.max(16, channels * (network.creditsPerChannel + 3));
}

/** Turns a task failure (or a cancel) into the error the job reports. */
export function toJobError(e: unknown, jobName: string, jobId: string): Error {
  if (e instanceof CancelledSignal) return new JobCancelledError(jobName);
  const report = e as TaskFailureReport;
  if (report?.task === undefined) return e instanceof Error ? e : new Error(String(e));
  const s = report.task.setup;
  const info = describeFailure(
    report.error,
    s.chain[0]!.info,
    s.identity.subtaskIndex,
    s.identity.parallelism,
  );
  return jobFailure(jobName, jobId, info);
}

export function inThreadLauncher(
  eg: ExecutionGraph,
  jobId: string,
  jobName: string,
  network: NetworkOptions,
  time: TimeOptions,
  stateBackend: StateBackendOptions,
): AttemptLauncher {
  return async (ctx: AttemptContext): Promise<Attempt> => {
    const executor = new TaskExecutor();
    const pool = new NetworkBufferPool(network.bufferSize, poolCapacity(eg, network, undefined));
    const readers = new Map<string, SourceReader<unknown, unknown>>();
    const coordinators = await startSourceCoordinators(eg.jobGraph, ctx.restore, (node) => ({
      addSplits: (subtask, splits) => readers.get(`${node}/${subtask}`)?.addSplits(splits),
      noMoreSplits: (subtask) => readers.get(`${node}/${subtask}`)?.notifyNoMoreSplits(),
    }));
    const cp = ctx.checkpointing;
    const tasks = deployTasks(eg, {
      jobId,
      jobName,
      network,
      time,
      pool,
      executor,
      hosted: eg.subtasks,
      attempt: ctx.attempt,
      stateBackend,
      restore: ctx.restore,
      checkpointing:
        cp === undefined
          ? undefined
          : {
              exactlyOnce: cp.exactlyOnce,
              unaligned: cp.unaligned,
              alignedTimeout: cp.alignedTimeout,
              incremental: cp.incremental,
              storage: createCheckpointStorage(cp.directory, jobId),
              hooks: cp.hooks,
            },
      sources: {
        registerReader: (nodeId, subtask, reader) => {
          readers.set(`${nodeId}/${subtask}`, reader);
          coordinators.get(nodeId)!.registerReader(subtask);
        },
        requestSplit: (nodeId, subtask) =>
          queueMicrotask(() => coordinators.get(nodeId)?.handleSplitRequest(subtask)),
      },
    });
    for (const t of tasks) executor.add(t);
    const snapshotAll = () => tasks.map((t) => snapshotTask(t));
    ctx.metrics.setLiveSource(ctx.attempt, snapshotAll);
    const byKey = new Map(tasks.map((t) => [`${t.setup.vertexId}/${t.setup.identity.subtaskIndex}`, t]));
    const unsubscribe = time.clock.onAdvance?.(executor.wake);
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      unsubscribe?.();
      for (const c of coordinators.values()) await c.close();
    };
    const done: Promise<RunOutcome> = executor.run().then(
      () => ({ reports: tasks.map((t) => t.report()), pools: [pool.stats()] }),
      async (e) => {
        ctx.metrics.setLiveSource(ctx.attempt, undefined);
        ctx.metrics.record(snapshotAll());
        await release();
        throw toJobError(e, jobName, jobId);
      },
    );
    done.catch(() => {});
    let rejectFailure!: (e: Error) => void;
    const failure = new Promise<never>((_resolve, reject) => {
      rejectFailure = reject;
    });
    failure.catch(() => {});
    done.catch((e: Error) => rejectFailure(e));
    let cancelled = false;
    return {
      done,
      failure,
      async complete() {
        try {
          if (cancelled) throw new JobCancelledError(jobName);
          await executor.completeAll();
          // Cancelled during the final commits: they may not all have run.
          if (cancelled) throw new JobCancelledError(jobName);
        } catch (e) {
          throw toJobError(e, jobName, jobId);
        } finally {
          await release();
        }
      },
      snapshotEnumerators: (id) => snapshotEnumerators(coordinators, id),
      triggerCheckpoint(id, sources, alignedOnly) {
        for (const s of sources) byKey.get(`${s.vertexId}/${s.subtask}`)?.triggerCheckpoint(id, alignedOnly);
      },
      notifyComplete(id) {
        for (const t of tasks) t.notifyCheckpointComplete(id);
      },
      notifyAborted(id) {
        for (const t of tasks) t.notifyCheckpointAborted(id);
      },
      async cancel() {
        cancelled = true;
        rejectFailure(new JobCancelledError(jobName));
        executor.cancel();
        await done.catch(() => {});
        await executor.abortAll("cancelled");
        await release();
      },
      fail(e) {
        executor.failWith(e);
        rejectFailure(e);
      },
      // Every subtask runs in this thread: its profile is the vertex's.
      profile: async (_vertexId, durationMs) => [await profileThisThread(durationMs)],
    };
  };
}
