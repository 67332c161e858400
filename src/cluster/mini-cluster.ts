// The local MiniCluster: runs a job module on worker threads, one per slot. The coordinating
// thread plays the JobManager: a JobMaster (checkpoints, restarts) drives attempts; each attempt
// starts the workers, runs the split enumerators, starts the tasks once every worker has
// deployed, relays checkpoint messages, and gathers the outcome.

import { randomUUID } from "node:crypto";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import type { CompiledJob, EnvironmentConfig } from "../api/environment.ts";
import { type ManagedJobClient, startClient } from "../api/job-client.ts";
import { JobResult } from "../api/job-result.ts";
import { InvalidArgumentError, JobCancelledError, JobExecutionError, jobFailure } from "../core/errors.ts";
import {
  type Attempt,
  type AttemptContext,
  type AttemptLauncher,
  JobMaster,
  type JobMasterOptions,
  type RunOutcome,
} from "../execution/job-master.ts";
import { executionPlan } from "../graph/plan.ts";
import { snapshotEnumerators, startSourceCoordinators } from "../execution/source-coordinators.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import { buildJobEnvironment, loadJobModule } from "./job-module.ts";
import type { ToCoordinator, ToWorker, WorkerData } from "./protocol.ts";
import { startWorker } from "./worker-threads.ts";

export interface RunJobOptions extends EnvironmentConfig {
  /** Path of the job module (.ts or .js) whose default export is defineJob(...). */
  job: string;
  jobName?: string;
  /** Told of every failed attempt as it happens, with the delay before the restart (if any). */
  onAttemptFailed?: JobMasterOptions["onAttemptFailed"];
}

const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./task-worker.ts" : "./task-worker.js",
  import.meta.url,
);

/** How long a cancelled worker may take to close its tasks before it is terminated. */
const STOP_GRACE_MS = 5_000;
/**
 * How long the other workers of a failed attempt may take to stop their tasks (closing operators:
 * print() flushes what it holds) before they are terminated.
 */
const FAIL_GRACE_MS = 2_000;

export type ClusterJobResult = JobResult & { collected: Map<string, unknown[]> };

export interface ClusterJobClient extends ManagedJobClient {
  wait(): Promise<ClusterJobResult>;
  /**
   * After the job was cancelled (or stopped with a savepoint): what its last attempt had counted
   * when it stopped; undefined when no attempt was running (e.g. cancelled while restarting).
   */
  cancelledResult(): JobResult | undefined;
  /** Chaos testing: end the worker thread of `slot` abruptly, as a crash would. */
  killWorker(slot: number): void;
}

/** Run a job module on worker threads and wait for its result. */
export async function runJob(options: RunJobOptions): Promise<ClusterJobResult> {
  const client = await submitJob(options);
  return client.wait();
}

export async function submitJob(options: RunJobOptions): Promise<ClusterJobClient> {
  const { job: modulePath, jobName: name, onAttemptFailed, ...config } = options;
  if (config.clock !== undefined) {
    throw new InvalidArgumentError(
      "a custom clock works only for in-thread execution (env.execute()); worker threads use the system clock",
    );
  }
  const def = await loadJobModule(modulePath);
  const env = await buildJobEnvironment(def, config, modulePath);
  const jobName = name ?? env.defaultJobName;
  const job = env.compile(jobName);
  const jobId = randomUUID();

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
  const launcher: AttemptLauncher = async (ctx) => {
    cancelledOutcome = undefined;
    current = await launchAttempt(job, jobId, modulePath, config, ctx, onCollect, (o) => {
      cancelledOutcome = o;
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
    },
    launcher,
  );
  const client = startClient(master, job, jobId, () => {});
  await master.deployed;
  return {
    ...client,
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

interface ClusterAttempt extends Attempt {
  killWorker(slot: number): void;
}

async function launchAttempt(
  job: CompiledJob,
  jobId: string,
  modulePath: string,
  config: EnvironmentConfig,
  ctx: AttemptContext,
  onCollect: (uid: string, subtask: number, values: unknown[], txn: string | undefined) => void,
  onCancelled: (outcome: RunOutcome) => void,
): Promise<ClusterAttempt> {
  const eg = job.executionGraph;
  const jobName = job.jobName;
  const planFingerprint = JSON.stringify(executionPlan(job.jobGraph));
  const n = eg.numSlots;

  // One port pair per pair of slots.
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () =>
    new Array<MessagePort | null>(n).fill(null),
  );
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const { port1, port2 } = new MessageChannel();
      ports[a]![b] = port1;
      ports[b]![a] = port2;
    }
  }

  const workers: Worker[] = [];
  const exited: Array<Promise<void>> = [];
  const slotOf = new Map(eg.subtasks.map((s) => [`${s.vertex.id}/${s.index}`, s.slot]));
  const post = (slot: number, m: ToWorker) => workers[slot]?.postMessage(m);
  const postAll = (m: ToWorker) => {
    for (const w of workers) w.postMessage(m);
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
    for (const w of workers) void w.terminate();
    await Promise.all(exited);
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

  for (let slot = 0; slot < n; slot++) {
    const slotPorts = ports[slot]!;
    const data: WorkerData & { ports: Array<MessagePort | null> } = {
      modulePath,
      config,
      jobName,
      jobId,
      slot,
      attempt: ctx.attempt,
      planFingerprint,
      ports: slotPorts,
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
    };
    const w = startWorker(WORKER_URL, {
      workerData: data,
      transferList: slotPorts.filter((p): p is MessagePort => p !== null),
    });
    workers.push(w);
    exited.push(new Promise((resolve) => w.once("exit", () => resolve())));
    w.on("error", (e) => {
      fail(
        new JobExecutionError(
          `job '${jobName}' failed: worker thread of slot ${slot} crashed: ${e.message}`,
          undefined,
          e.stack,
          e,
        ),
      );
    });
    w.on("exit", (code) => {
      if (++gone + stoppedCount >= n) onStopped?.();
      if (state === "running" || state === "done") {
        fail(
          new JobExecutionError(
            `job '${jobName}' failed: worker thread of slot ${slot} exited unexpectedly (code ${code})`,
          ),
        );
      }
    });
    w.on("message", (m: ToCoordinator) => {
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
                  `job '${jobName}' failed in worker thread of slot ${slot}: ${m.message}`,
                  undefined,
                  m.stack,
                ),
          );
          break;
      }
    });
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
      for (const [slot, tasks] of bySlot) post(slot, { t: "trigger", id, tasks, alignedOnly });
    },
    notifyComplete: (id) => postAll({ t: "notify-complete", id }),
    notifyAborted: (id) => postAll({ t: "notify-aborted", id }),
    async cancel() {
      if (state === "over" || state === "stopping") {
        await Promise.all(exited);
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
    killWorker(slot: number) {
      void workers[slot]?.terminate();
    },
  };
}
