// A task worker: one slot of the MiniCluster in its own thread. It rebuilds the job from the job
// module, deploys the subtasks placed in its slot (restored from a checkpoint when asked), wires
// channels to the other slots' threads, and runs them; split assignments, checkpoint
// acknowledgements, collected results, what it prints, and the outcome travel to the coordinator.

import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { createCheckpointStorage } from "../checkpoint/checkpoint-storage.ts";
import { loadCheckpoint } from "../checkpoint/fs-storage.ts";
import type { SourceReader } from "../core/source.ts";
import { poolCapacity } from "../execution/local-execution.ts";
import { executionPlan } from "../graph/plan.ts";
import { deployTasks } from "../execution/task-deployment.ts";
import { NetworkBufferPool } from "../network/buffer-pool.ts";
import { ChannelRouter } from "../network/remote-channel.ts";
import { registerCollectPublisher } from "../runtime/collect-registry.ts";
import { profileThisThread } from "../runtime/metrics/cpu-profiler.ts";
import { startMetricsReporting } from "../runtime/metrics/metrics-reporting.ts";
import { describeFailure } from "../runtime/operator-failure.ts";
import { CancelledSignal, type TaskFailureReport, TaskExecutor } from "../runtime/task-executor.ts";
import { buildJobEnvironment, loadJobModule } from "./job-module.ts";
import type { ToCoordinator, ToWorker, WorkerData } from "./protocol.ts";
import { relayStdio } from "./worker-stdio.ts";

const data = workerData as WorkerData & { ports: Array<MessagePort | null> };
const port = parentPort!;
// Output printed before a message (e.g. "done" or "failed") reaches the coordinator before it.
const flushStdio = relayStdio(port);
const send = (m: ToCoordinator) => {
  flushStdio();
  port.postMessage(m);
};

async function main(): Promise<void> {
  const def = await loadJobModule(data.modulePath);
  const env = await buildJobEnvironment(def, data.config, data.modulePath);
  const job = env.compile(data.jobName);
  if (JSON.stringify(executionPlan(job.jobGraph)) !== data.planFingerprint) {
    throw new Error(
      `the job module built a different graph in worker thread ${data.slot}; a job's build function must construct the same graph every time (no randomness or environment-dependent branches)`,
    );
  }
  registerCollectPublisher(data.jobId, (uid, subtask, values, txn) =>
    send({ t: "collect", uid, subtask, values, txn }),
  );

  const eg = job.executionGraph;
  const hosted = eg.subtasks.filter((s) => s.slot === data.slot);
  const pool = new NetworkBufferPool(
    job.network.bufferSize,
    poolCapacity(eg, job.network, new Set([data.slot])),
  );
  const executor = new TaskExecutor();
  const router = new ChannelRouter();
  for (const p of data.ports) if (p !== null) router.attach(p);
  const readers = new Map<string, SourceReader<unknown, unknown>>();
  const restore = data.restorePath === undefined ? undefined : await loadCheckpoint(data.restorePath);

  let start: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    start = resolve;
  });
  let complete: () => void = () => {};
  const completing = new Promise<void>((resolve) => {
    complete = resolve;
  });
  const tasks = deployTasks(eg, {
    jobId: data.jobId,
    jobName: data.jobName,
    network: job.network,
    time: job.time,
    pool,
    executor,
    hosted,
    attempt: data.attempt,
    stateBackend: job.stateBackend,
    portToSlot: (slot) => data.ports[slot]!,
    router,
    restore,
    checkpointing:
      data.checkpointing === undefined
        ? undefined
        : {
            exactlyOnce: data.checkpointing.exactlyOnce,
            unaligned: data.checkpointing.unaligned,
            alignedTimeout: data.checkpointing.alignedTimeout,
            incremental: data.checkpointing.incremental,
            storage: createCheckpointStorage(data.checkpointing.directory, data.jobId),
            hooks: {
              acknowledge: (vertexId, subtask, id, handle) =>
                send({ t: "ack", vertexId, subtask, id, handle }),
              decline: (id, reason) => send({ t: "decline", id, reason }),
              finished: (vertexId, subtask, handle, error) =>
                send({ t: "task-finished", vertexId, subtask, handle, error }),
            },
          },
    sources: {
      registerReader: (node, subtask, reader) => {
        readers.set(`${node}/${subtask}`, reader);
        send({ t: "reader", node, subtask });
      },
      requestSplit: (node, subtask) => send({ t: "split-request", node, subtask }),
    },
  });
  for (const t of tasks) executor.add(t);
  let runFinished = false;
  const byKey = new Map(tasks.map((t) => [`${t.setup.vertexId}/${t.setup.identity.subtaskIndex}`, t]));

  port.on("message", (m: ToWorker) => {
    switch (m.t) {
      case "start":
        start();
        break;
      case "cancel":
        if (runFinished) void executor.abortAll("cancelled").then(() => send({ t: "stopped" }));
        else executor.cancel();
        break;
      case "complete":
        complete();
        break;
      case "splits":
        readers.get(`${m.node}/${m.subtask}`)?.addSplits(m.splits);
        break;
      case "no-more-splits":
        readers.get(`${m.node}/${m.subtask}`)?.notifyNoMoreSplits();
        break;
      case "trigger":
        for (const [v, s] of m.tasks) byKey.get(`${v}/${s}`)?.triggerCheckpoint(m.id, m.alignedOnly, m.at);
        break;
      case "notify-complete":
        for (const t of tasks) t.notifyCheckpointComplete(m.id);
        break;
      case "notify-aborted":
        for (const t of tasks) t.notifyCheckpointAborted(m.id);
        break;
      case "profile":
        profileThisThread(m.durationMs).then(
          (graph) => send({ t: "profile-result", id: m.id, graph }),
          (e: unknown) => send({ t: "profile-result", id: m.id, error: String(e) }),
        );
        break;
    }
  });

  send({ t: "ready" });
  await started;
  const metrics = startMetricsReporting(tasks, (snapshots) => send({ t: "metrics", tasks: snapshots }));
  try {
    await executor.run();
  } catch (e) {
    metrics.stop();
    if (e instanceof CancelledSignal) {
      send({ t: "stopped", reports: tasks.map((t) => t.report()), pool: pool.stats() });
      return;
    }
    const report = e as TaskFailureReport;
    if (report?.task === undefined) throw e;
    const s = report.task.setup;
    const failure = describeFailure(
      report.error,
      s.chain[0]!.info,
      s.identity.subtaskIndex,
      s.identity.parallelism,
    );
    send({ t: "failed", failure, message: failure.message, stack: failure.stack });
    return;
  }
  // Every task here reached the end of its input. The coordinator says when the whole job has:
  // then final commits and close. It ends this thread afterwards (closing ports here could drop
  // buffers still on their way to a slower slot).
  runFinished = true;
  metrics.stop();
  send({ t: "done", reports: tasks.map((t) => t.report()), pool: pool.stats() });
  await completing;
  try {
    await executor.completeAll();
  } catch (e) {
    const report = e as TaskFailureReport;
    const s = report.task.setup;
    const failure = describeFailure(
      report.error,
      s.chain[0]!.info,
      s.identity.subtaskIndex,
      s.identity.parallelism,
    );
    send({ t: "failed", failure, message: failure.message, stack: failure.stack });
    return;
  }
  send({ t: "completed" });
}

main().catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ t: "failed", failure: undefined, message: err.message, stack: err.stack });
});
