// Messages between the MiniCluster (coordinating thread) and its task workers (one per slot).

import type { EnvironmentConfig } from "../api/environment.ts";
import type { BufferPoolStats } from "../network/buffer-pool.ts";
import type { FailureInfo } from "../runtime/operator-failure.ts";
import type { TaskReport } from "../runtime/stream-task.ts";

export interface WorkerData {
  modulePath: string;
  config: EnvironmentConfig;
  jobName: string;
  jobId: string;
  slot: number;
  /** The coordinator's plan; a worker that builds another refuses to run. */
  planFingerprint: string;
}

export type ToCoordinator =
  | { t: "ready" }
  | { t: "reader"; node: number; subtask: number }
  | { t: "split-request"; node: number; subtask: number }
  | { t: "collect"; uid: string; subtask: number; values: unknown[] }
  | { t: "done"; reports: TaskReport[]; pool: BufferPoolStats }
  | { t: "failed"; failure: FailureInfo | undefined; message: string; stack: string | undefined };

export type ToWorker =
  | { t: "start" }
  | { t: "cancel" }
  | { t: "splits"; node: number; subtask: number; splits: unknown[] }
  | { t: "no-more-splits"; node: number; subtask: number };
