// The RPC messages of the cluster: between the JobManager and its TaskManagers (registration,
// heartbeats both ways, deployments of task workers and the relay of their messages) and between a
// client (`weir run -m`, `weir list`, `weir cancel`) and the JobManager.

import type { EnvironmentConfig } from "../../api/environment.ts";
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

export type ClientRequest =
  | {
      t: "submit";
      rid: number;
      /** A job module path on the JobManager's host (shared file system), when no artifact is sent. */
      job: string | undefined;
      /** The bundled job module (src/cluster/job-artifact.ts). */
      artifact: { name: string; bytes: Uint8Array } | undefined;
      config: EnvironmentConfig;
      jobName: string | undefined;
      /** Keep sending this connection the job's failures and its end. */
      follow: boolean;
    }
  | { t: "list"; rid: number }
  | { t: "cancel"; rid: number; jobId: string }
  /** Take a savepoint into `dir` (default: <checkpoint dir>/savepoints); with `stop`, then stop the job. */
  | { t: "savepoint"; rid: number; jobId: string; dir: string | undefined; stop: boolean }
  | { t: "taskmanagers"; rid: number };

export type ClientAnswer =
  | { t: "submitted"; rid: number; jobId: string; jobName: string; slots: number }
  | { t: "jobs"; rid: number; jobs: JobOverview[] }
  | { t: "cancelled"; rid: number; status: string }
  | { t: "savepoint"; rid: number; path: string }
  | { t: "taskmanagers"; rid: number; taskmanagers: TaskManagerInfo[] }
  | { t: "error"; rid: number; error: WireError }
  | {
      t: "attempt-failed";
      jobId: string;
      attempt: number;
      error: WireError;
      restartDelayMs: number | undefined;
    }
  | {
      t: "job-ended";
      jobId: string;
      status: string;
      /** The JobResult's fields (FINISHED), or what was counted until it stopped (CANCELED). */
      result: Record<string, unknown> | undefined;
      collected: Map<string, unknown[]> | undefined;
      error: WireError | undefined;
    };

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
