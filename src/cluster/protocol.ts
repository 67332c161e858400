// Messages between the MiniCluster (coordinating thread) and its task workers (one per slot).

import type { EnvironmentConfig } from "../api/environment.ts";
import type { SubtaskStateHandle } from "../checkpoint/fs-storage.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { FlameGraphNode } from "../runtime/metrics/cpu-profiler.ts";
import type { TaskMetricsSnapshot } from "../runtime/metrics/task-metrics-snapshot.ts";
import type { FailureInfo } from "../runtime/operator-failure.ts";
import type { TaskReport } from "../runtime/stream-task.ts";
import type { StdioMessage } from "./worker-stdio.ts";

export interface WorkerData {
  modulePath: string;
  config: EnvironmentConfig;
  jobName: string;
  jobId: string;
  slot: number;
  attempt: number;
  /** The coordinator's plan; a worker that builds another refuses to run. */
  planFingerprint: string;
  /** The worker thread's V8 heap limit (old generation, MiB) from the memory model; undefined: Node's. */
  heapLimitMb?: number | undefined;
  /** Restore every task of this slot from this checkpoint. */
  restorePath: string | undefined;
  checkpointing:
    | {
        exactlyOnce: boolean;
        unaligned: boolean;
        alignedTimeout: number;
        incremental: boolean;
        directory: string;
      }
    | undefined;
}

export type ToCoordinator =
  | { t: "ready" }
  | { t: "reader"; node: number; subtask: number }
  | { t: "split-request"; node: number; subtask: number }
  | { t: "collect"; uid: string; subtask: number; values: unknown[]; txn: string | undefined }
  | { t: "ack"; vertexId: number; subtask: number; id: number; handle: SubtaskStateHandle }
  | { t: "decline"; id: number; reason: string }
  | { t: "task-finished"; vertexId: number; subtask: number; handle: SubtaskStateHandle; error?: string }
  | { t: "done"; reports: TaskReport[]; pool: BufferPoolStats }
  | { t: "completed" }
  /** The metrics of the worker's tasks (every second, and once more before done/stopped/failed). */
  | { t: "metrics"; tasks: TaskMetricsSnapshot[] }
  /** The CPU profile asked for by `profile` (the flame graph), or why there is none. */
  | { t: "profile-result"; id: number; graph?: FlameGraphNode; error?: string }
  /** Cancelled: the tasks' counts so far (absent when they were sent with "done" already). */
  | { t: "stopped"; reports?: TaskReport[]; pool?: BufferPoolStats }
  /** What the worker printed (src/cluster/worker-stdio.ts); written out by startWorker's listener. */
  | StdioMessage
  | { t: "failed"; failure: FailureInfo | undefined; message: string; stack: string | undefined };

export type ToWorker =
  | { t: "start" }
  | { t: "cancel" }
  | { t: "complete" }
  | { t: "splits"; node: number; subtask: number; splits: unknown[] }
  | { t: "no-more-splits"; node: number; subtask: number }
  | {
      t: "trigger";
      id: number;
      tasks: Array<[number, number]>;
      alignedOnly: boolean;
      /** When the coordinator triggered it (ms since the epoch): the barriers carry it on. */
      at?: number;
    }
  | { t: "notify-complete"; id: number }
  | { t: "notify-aborted"; id: number }
  /** Profile this thread's CPU for `durationMs` (the flame graph endpoint). */
  | { t: "profile"; id: number; durationMs: number };
