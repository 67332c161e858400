// Runs a whole ExecutionGraph cooperatively in the calling thread: the in-thread mode behind
// env.execute() in tests and embedding. Same tasks, channels and semantics as the threaded mode.

import { jobFailure } from "../core/errors.ts";
import type { SourceReader } from "../core/source.ts";
import { type BufferPoolStats, NetworkBufferPool } from "../network/buffer-pool.ts";
import { describeFailure } from "../runtime/operator-failure.ts";
import { SourceCoordinator } from "../runtime/source-coordinator.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import { type TaskFailureReport, TaskExecutor } from "../runtime/task-executor.ts";
import type { ExecutionGraph } from "./execution-graph.ts";
import { type NetworkOptions, type TimeOptions, deployTasks } from "./task-deployment.ts";

export interface RunOutcome {
  reports: TaskReport[];
  pools: BufferPoolStats[];
}

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

export class InThreadRun {
  private readonly executor = new TaskExecutor();
  private readonly pool: NetworkBufferPool;

  constructor(
    private readonly eg: ExecutionGraph,
    private readonly jobId: string,
    private readonly jobName: string,
    private readonly network: NetworkOptions,
    private readonly time: TimeOptions,
  ) {
    this.pool = new NetworkBufferPool(network.bufferSize, poolCapacity(eg, network, undefined));
  }

  cancel(): void {
    this.executor.cancel();
  }

  async run(): Promise<RunOutcome> {
    const readers = new Map<string, SourceReader<unknown, unknown>>();
    const coordinators = new Map<number, SourceCoordinator>();
    for (const v of this.eg.jobGraph.vertices) {
      const src = v.head.source;
      if (src === undefined) continue;
      const c = new SourceCoordinator(v.head.name, src, v.parallelism, {
        addSplits: (subtask, splits) => readers.get(`${v.head.id}/${subtask}`)!.addSplits(splits),
        noMoreSplits: (subtask) => readers.get(`${v.head.id}/${subtask}`)!.notifyNoMoreSplits(),
      });
      await c.start();
      coordinators.set(v.head.id, c);
    }
    const tasks = deployTasks(this.eg, {
      jobId: this.jobId,
      jobName: this.jobName,
      network: this.network,
      time: this.time,
      pool: this.pool,
      executor: this.executor,
      hosted: this.eg.subtasks,
      sources: {
        registerReader: (nodeId, subtask, reader) => {
          readers.set(`${nodeId}/${subtask}`, reader);
          coordinators.get(nodeId)!.registerReader(subtask);
        },
        requestSplit: (nodeId, subtask) =>
          queueMicrotask(() => coordinators.get(nodeId)!.handleSplitRequest(subtask)),
      },
    });
    for (const t of tasks) this.executor.add(t);
    const unsubscribe = this.time.clock.onAdvance?.(this.executor.wake);
    try {
      await this.executor.run();
    } catch (e) {
      const report = e as TaskFailureReport;
      if (report?.task === undefined) throw e;
      const s = report.task.setup;
      const info = describeFailure(
        report.error,
        s.chain[0]!.info,
        s.identity.subtaskIndex,
        s.identity.parallelism,
      );
      throw jobFailure(this.jobName, this.jobId, info);
    } finally {
      unsubscribe?.();
      for (const c of coordinators.values()) await c.close();
    }
    return { reports: tasks.map((t) => t.report()), pools: [this.pool.stats()] };
  }
}
