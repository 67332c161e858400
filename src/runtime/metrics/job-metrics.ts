// The coordinator's view of one job's metrics: the latest snapshot of every subtask, per
// execution attempt (worker threads push theirs; in-thread tasks are read when asked), job-level
// metrics (restarts, uptime, checkpoints), the job's status and its exceptions. Counters are also
// kept as job totals across restarts: the last counts of every earlier attempt plus the current.

import { CheckpointHistory, type CheckpointHistoryEntry } from "./checkpoint-history.ts";
import type { FlameGraphNode } from "./cpu-profiler.ts";
import type { TaskMetricsSnapshot } from "./task-metrics-snapshot.ts";

export type { CheckpointHistoryEntry } from "./checkpoint-history.ts";

export type JobStatusName = "RUNNING" | "RESTARTING" | "FINISHED" | "FAILED" | "CANCELED";

export interface JobVertexInfo {
  id: number;
  name: string;
  parallelism: number;
  operators: Array<{ uid: string; name: string }>;
  /** The vertices feeding this one, with the edge's partitioner (Flink's ship strategy). */
  inputs?: Array<{ id: number; shipStrategy: string }>;
}

export interface JobExceptionEntry {
  /** Wall-clock time of the failure (ms since the epoch). */
  timestamp: number;
  attempt: number;
  name: string;
  message: string;
  stack: string | undefined;
  /** Where it happened, when the error says (operator name and subtask). */
  location: string | undefined;
}

/**
 * How the job checkpoints, in the shape of Flink's `GET /jobs/:jobid/checkpoints/config` (set by
 * the job master; undefined when checkpointing is off).
 */
export interface JobCheckpointConfig {
  mode: "exactly_once" | "at_least_once";
  interval: number;
  timeout: number;
  min_pause: number;
  max_concurrent: number;
  externalization: { enabled: boolean; delete_on_cancellation: boolean };
  checkpoint_storage: string;
  unaligned_checkpoints: boolean;
  aligned_checkpoint_timeout: number;
  tolerable_failed_checkpoints: number;
  retained_checkpoints: number;
  incremental: boolean;
}

/** What the job master knows of the job (read when job metrics are asked for). */
export interface JobLevelState {
  numRestarts: number;
  checkpoints:
    | {
        completed: number;
        failed: number;
        inProgress: number;
        lastDurationMs: number;
        lastSizeBytes: number;
        lastCompletedId: number;
      }
    | undefined;
}

/** Task and operator metrics that are counts, summed across attempts in the job totals. */
export const COUNTER_METRICS = new Set([
  "numRecordsIn",
  "numRecordsOut",
  "numBytesIn",
  "numBytesOut",
  "numLateRecordsDropped",
]);

const MAX_EXCEPTIONS = 100;

export class JobMetrics {
  status: JobStatusName = "RUNNING";
  readonly startTime = Date.now();
  endTime: number | undefined;
  readonly exceptions: JobExceptionEntry[] = [];
  /** Failures recorded but no longer kept (only the last MAX_EXCEPTIONS are). */
  exceptionsDropped = 0;
  /** The recent checkpoints, from the coordinator's events (the job master reports them). */
  readonly checkpoints = new CheckpointHistory();
  /** Latest snapshot per subtask of the current attempt. */
  private current = new Map<string, TaskMetricsSnapshot>();
  private currentAttempt = 0;
  /** Counts of the attempts before the current one, by `vertex/subtask[/uid]/name`. */
  private readonly earlier = new Map<string, number>();
  private live: (() => TaskMetricsSnapshot[]) | undefined;
  private jobLevel: () => JobLevelState = () => ({ numRestarts: 0, checkpoints: undefined });
  /** How the job checkpoints (undefined: checkpointing is off). */
  checkpointConfig: JobCheckpointConfig | undefined;

  constructor(
    readonly jobId: string,
    readonly jobName: string,
    readonly vertices: JobVertexInfo[],
  ) {}

  /**
   * CPU profiles of the threads running a vertex's subtasks (one graph per thread), for the flame
   * graph endpoint; set by the job master while an attempt runs (undefined: nothing to profile).
   */
  profiler: ((vertexId: number, durationMs: number) => Promise<FlameGraphNode[]>) | undefined;

  /** The job master tells where job-level metrics come from. */
  setJobLevelSource(source: () => JobLevelState): void {
    this.jobLevel = source;
  }

  /** In-thread tasks: read them whenever metrics are asked for (until `undefined`). */
  setLiveSource(attempt: number, source: (() => TaskMetricsSnapshot[]) | undefined): void {
    this.live = source;
    if (source !== undefined) this.switchAttempt(attempt);
  }

  /** Snapshots pushed by a worker thread (or the final ones of an in-thread attempt). */
  record(snapshots: TaskMetricsSnapshot[]): void {
    for (const s of snapshots) {
      if (s.attempt < this.currentAttempt) continue; // late news of an attempt already torn down
      if (s.attempt > this.currentAttempt) this.switchAttempt(s.attempt);
      this.current.set(`${s.vertexId}/${s.subtask}`, s);
      if (s.checkpoints !== undefined)
        this.checkpoints.recordSubtask(`${s.vertexId}/${s.subtask}`, s.checkpoints);
    }
  }

  /** The latest snapshot of every subtask of the current attempt (counts of this attempt only). */
  tasks(): TaskMetricsSnapshot[] {
    if (this.live !== undefined) this.record(this.live());
    return [...this.current.values()].sort((a, b) => a.vertexId - b.vertexId || a.subtask - b.subtask);
  }

  /** The same snapshots with every counter a job total across attempts. */
  totals(): TaskMetricsSnapshot[] {
    return this.tasks().map((s) => {
      const key = `${s.vertexId}/${s.subtask}`;
      return {
        ...s,
        metrics: addEarlier(s.metrics, key, this.earlier),
        operators: s.operators.map((o) => ({
          ...o,
          metrics: addEarlier(o.metrics, `${key}/${o.uid}`, this.earlier),
          user: o.user.map((u) =>
            u.kind === "counter"
              ? { ...u, value: u.value + (this.earlier.get(`${key}/${o.uid}/user:${u.name}`) ?? 0) }
              : u,
          ),
        })),
      };
    });
  }

  /** Job-scope metrics (Flink's names): restarts, uptime, checkpoints. */
  jobMetrics(): Record<string, number> {
    const j = this.jobLevel();
    const end = this.endTime ?? Date.now();
    const out: Record<string, number> = {
      numRestarts: j.numRestarts,
      uptime: this.status === "RUNNING" ? end - this.startTime : 0,
      fullRestarts: j.numRestarts,
    };
    const c = j.checkpoints;
    if (c !== undefined) {
      out.numberOfCompletedCheckpoints = c.completed;
      out.numberOfFailedCheckpoints = c.failed;
      out.numberOfInProgressCheckpoints = c.inProgress;
      out.totalNumberOfCheckpoints = c.completed + c.failed + c.inProgress;
      out.lastCheckpointDuration = c.lastDurationMs;
      out.lastCheckpointSize = c.lastSizeBytes;
      out.lastCompletedCheckpointId = c.lastCompletedId;
    }
    return out;
  }

  recordFailure(attempt: number, error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    const loc = (e as { location?: { operatorName?: string; subtaskIndex?: number } }).location;
    this.exceptions.push({
      timestamp: Date.now(),
      attempt,
      name: e.name,
      message: e.message,
      stack: (e as { userStack?: string }).userStack ?? e.stack,
      location:
        loc?.operatorName === undefined ? undefined : `${loc.operatorName} (subtask ${loc.subtaskIndex})`,
    });
    if (this.exceptions.length > MAX_EXCEPTIONS) {
      this.exceptions.shift();
      this.exceptionsDropped++;
    }
  }

  /** The job ended: its last metrics stay readable. */
  end(status: JobStatusName): void {
    if (this.live !== undefined) this.record(this.live());
    this.live = undefined;
    this.status = status;
    this.endTime = Date.now();
  }

  /** The recent checkpoints, oldest first (completed, failed and in progress). */
  get checkpointHistory(): readonly CheckpointHistoryEntry[] {
    return this.checkpoints.entries;
  }

  /** Fold the current attempt's counts into the earlier ones and start afresh. */
  private switchAttempt(attempt: number): void {
    if (attempt === this.currentAttempt && this.current.size === 0) return;
    if (attempt <= this.currentAttempt) return;
    for (const s of this.current.values()) {
      const key = `${s.vertexId}/${s.subtask}`;
      fold(s.metrics, key, this.earlier);
      for (const o of s.operators) {
        fold(o.metrics, `${key}/${o.uid}`, this.earlier);
        for (const u of o.user) {
          if (u.kind !== "counter") continue;
          const k = `${key}/${o.uid}/user:${u.name}`;
          this.earlier.set(k, (this.earlier.get(k) ?? 0) + u.value);
        }
      }
    }
    this.current = new Map();
    this.currentAttempt = attempt;
  }
}

function fold(metrics: Record<string, number>, key: string, into: Map<string, number>): void {
  for (const name of COUNTER_METRICS) {
    const v = metrics[name];
    if (v !== undefined) into.set(`${key}/${name}`, (into.get(`${key}/${name}`) ?? 0) + v);
  }
}

function addEarlier(
  metrics: Record<string, number>,
  key: string,
  earlier: Map<string, number>,
): Record<string, number> {
  const out = { ...metrics };
  for (const name of COUNTER_METRICS) {
    const e = earlier.get(`${key}/${name}`);
    if (e !== undefined && out[name] !== undefined) out[name] += e;
  }
  return out;
}
