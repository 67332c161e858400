// The job's recent checkpoints as the REST API shows them (Flink's checkpoint statistics): one
// entry per checkpoint triggered, from the coordinator's own events (triggered, completed, failed),
// so that no checkpoint is missed between two polls; the newest `web.checkpoints.history` (10) are
// kept. Each entry gathers its subtasks' accounts (start delay, alignment, synchronous part,
// acknowledgement), which arrive with the tasks' metric snapshots.

import type { SubtaskCheckpointStats } from "./subtask-checkpoint-stats.ts";

export type CheckpointStatus = "IN_PROGRESS" | "COMPLETED" | "FAILED";

export interface CheckpointHistoryEntry {
  id: number;
  status: CheckpointStatus;
  is_savepoint: boolean;
  /** When the coordinator triggered it (ms since the epoch). */
  trigger_timestamp: number;
  /** When it completed or failed (ms since the epoch; the trigger time while in progress). */
  latest_ack_timestamp: number;
  /** ms from trigger to completion (or failure; so far while in progress). */
  end_to_end_duration: number;
  /** Bytes written (0 until it completes). */
  state_size: number;
  /** Why it failed, when it did and the coordinator said. */
  failure_message?: string;
}

/** Flink's `web.checkpoints.history` default. */
export const CHECKPOINT_HISTORY_SIZE = 10;

export class CheckpointHistory {
  /** Oldest first. */
  readonly entries: CheckpointHistoryEntry[] = [];
  /** Per checkpoint id, per subtask (`vertex/subtask`): what the subtask reported. */
  private readonly subtasks = new Map<number, Map<string, SubtaskCheckpointStats>>();

  constructor(private readonly size: number = CHECKPOINT_HISTORY_SIZE) {}

  triggered(id: number, isSavepoint: boolean, at: number = Date.now()): void {
    if (this.find(id) !== undefined) return;
    this.entries.push({
      id,
      status: "IN_PROGRESS",
      is_savepoint: isSavepoint,
      trigger_timestamp: at,
      latest_ack_timestamp: at,
      end_to_end_duration: 0,
      state_size: 0,
    });
    while (this.entries.length > this.size) {
      const old = this.entries.shift()!;
      this.subtasks.delete(old.id);
    }
  }

  completed(id: number, durationMs: number, sizeBytes: number, at: number = Date.now()): void {
    const e = this.find(id) ?? this.late(id, at - durationMs);
    e.status = "COMPLETED";
    e.latest_ack_timestamp = at;
    e.end_to_end_duration = durationMs;
    e.state_size = sizeBytes;
  }

  failed(id: number, at: number = Date.now(), message?: string): void {
    const e = this.find(id);
    if (e === undefined || e.status !== "IN_PROGRESS") return;
    e.status = "FAILED";
    e.latest_ack_timestamp = at;
    e.end_to_end_duration = at - e.trigger_timestamp;
    if (message !== undefined) e.failure_message = message;
  }

  /** Take in a subtask's accounts of its recent checkpoints (those still in the history). */
  recordSubtask(key: string, stats: readonly SubtaskCheckpointStats[]): void {
    for (const s of stats) {
      if (this.find(s.id) === undefined) continue;
      let m = this.subtasks.get(s.id);
      if (m === undefined) {
        m = new Map();
        this.subtasks.set(s.id, m);
      }
      m.set(key, s);
    }
  }

  /** What the subtasks reported of checkpoint `id`, by `vertex/subtask`. */
  subtasksOf(id: number): ReadonlyMap<string, SubtaskCheckpointStats> {
    return this.subtasks.get(id) ?? new Map();
  }

  find(id: number): CheckpointHistoryEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** The newest completed checkpoint. */
  lastCompleted(): CheckpointHistoryEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (this.entries[i]!.status === "COMPLETED") return this.entries[i];
    return undefined;
  }

  /** A completion whose trigger was not seen (the history was attached late): entered in id order. */
  private late(id: number, triggeredAt: number): CheckpointHistoryEntry {
    this.triggered(id, false, triggeredAt);
    this.entries.sort((a, b) => a.id - b.id);
    return this.find(id)!;
  }
}
