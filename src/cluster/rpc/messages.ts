// The RPC messages of the cluster: between the JobManager and its TaskManagers (registration,
// heartbeats both ways, deployments of task workers and the relay of their messages). Clients
// (`weir run -m`, `weir list`, `weir cancel`) use the JobManager's REST API instead.

import type { FailureLocation } from "../../core/errors.ts";
import type { ToCoordinator, ToWorker, WorkerData } from "../protocol.ts";

/** Where a slot of a deployment runs: its TaskManager and that one's data address. */
export interface SlotPlacement {
  tm: string;
  dataHost: string;
  dataPort: number;
}

export type TaskManagerToJobManager =
  | {
      t: "register";
      id: string;
      slots: number;
      dataHost: string;
      dataPort: number;
      pid: number;
      host: string;
    }
  | { t: "heartbeat"; metrics: TaskManagerMetrics }
  /** The answer to fetch-file. */
  | { t: "file"; rid: number; text: string }
  | { t: "worker"; deployment: number; slot: number; m: ToCoordinator }
  | { t: "worker-error"; deployment: number; slot: number; message: string; stack: string | undefined }
  | { t: "worker-exit"; deployment: number; slot: number; code: number | string };

export type JobManagerToTaskManager =
  | { t: "registered"; heartbeatIntervalMs: number; heartbeatTimeoutMs: number }
  | { t: "rejected"; reason: string }
  | { t: "heartbeat" }
  /** Start the workers of `workers` (this TaskManager's share of an attempt); `placement[slot]` says where every slot runs. */
  | {
      t: "deploy";
      deployment: number;
      workers: WorkerData[];
      placement: SlotPlacement[];
      /** The job artifact to import, fetched from the JobManager when not stored yet. */
      artifact: ArtifactRef | undefined;
    }
  | { t: "to-worker"; deployment: number; slot: number; m: ToWorker }
  | { t: "terminate"; deployment: number; slot: number }
  /** The cluster ends (application mode): stop and exit. */
  | { t: "shutdown" }
  /** The tail of the TaskManager's log or of what its tasks printed (REST /taskmanagers/:id/logs, /stdout). */
  | { t: "fetch-file"; rid: number; file: "logs" | "stdout" }
  | { t: "artifact"; sha256: string; bytes: Uint8Array | undefined };

/** A job artifact: a bundled job module, named by the sha256 of its bytes. */
export interface ArtifactRef {
  sha256: string;
  /** The file name the bundle was made from (for messages and stack traces). */
  name: string;
}

export type TaskManagerRequest = { t: "fetch-artifact"; sha256: string };

/** An error as it crosses the wire: enough to print it as a local run would. */
export interface WireError {
  name: string;
  message: string;
  code: string | undefined;
  location: FailureLocation | undefined;
  userStack: string | undefined;
  cause: { name: string; message: string } | undefined;
}

export interface JobOverview {
  jobId: string;
  jobName: string;
  status: string;
  startTime: number;
  slots: number;
}

export interface TaskManagerInfo {
  id: string;
  host: string;
  pid: number;
  dataPort: number;
  slotsNumber: number;
  freeSlots: number;
  timeSinceLastHeartbeat: number;
  /** As of the last heartbeat. */
  metrics: TaskManagerMetrics | undefined;
}

/** A TaskManager's process, sent with each heartbeat (Flink's Status.JVM.Memory.* in spirit). */
export interface TaskManagerMetrics {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  /** Task workers running. */
  workers: number;
}

export function toWireError(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { code?: unknown; location?: FailureLocation; userStack?: string };
  const cause = err.cause instanceof Error ? { name: err.cause.name, message: err.cause.message } : undefined;
  return {
    name: err.name,
    message: err.message,
    code: typeof x.code === "string" ? x.code : undefined,
    location: x.location,
    userStack: x.userStack,
    cause,
  };
}
