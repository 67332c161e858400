// One subtask's account of its recent checkpoints (Flink's per-subtask checkpoint statistics):
// when its checkpoint started relative to the coordinator's trigger (checkpointStartDelayNanos: for
// a source, the trigger reaching the task; downstream, the first barrier arriving, which carries
// the trigger time), how long the alignment and the synchronous snapshot took, and when the task
// acknowledged. Kept for the last few checkpoints, so that every metric snapshot carries them and
// the coordinator's REST API can show them per checkpoint, even between two reports.

/** One checkpoint as one subtask saw it (plain data: it crosses threads in metric snapshots). */
export interface SubtaskCheckpointStats {
  id: number;
  /** When the coordinator triggered it (ms since the epoch; 0: unknown, e.g. a barrier from another machine). */
  triggerTimestamp: number;
  /** From the trigger to this subtask's start (its first barrier), ns; -1 when the trigger time is unknown. */
  startDelayNanos: number;
  /** Barrier alignment, ms (0 for a source or an unaligned checkpoint). */
  alignmentMs: number;
  /** The synchronous part of the snapshot, ms. */
  syncMs: number;
  /** When the subtask acknowledged (handed its snapshot to be written; ms since the epoch). */
  ackTimestamp: number;
  unaligned: boolean;
}

/** Checkpoints kept per subtask: Flink's `web.checkpoints.history` default. */
export const SUBTASK_CHECKPOINTS_KEPT = 10;

export class SubtaskCheckpointTracker {
  /** The latest start delay, ns (the checkpointStartDelayNanos gauge); 0 before the first. */
  lastStartDelayNanos = 0;
  private readonly started = new Map<number, { triggerTimestamp: number; startedAt: number }>();
  private readonly done: SubtaskCheckpointStats[] = [];

  /** Checkpoint `id` starts here (first barrier, or the trigger at a source); later calls are ignored. */
  start(id: number, triggerTimestamp: number, now: number = Date.now()): void {
    if (this.started.has(id) || this.done.some((d) => d.id === id)) return;
    this.started.set(id, { triggerTimestamp, startedAt: now });
    if (triggerTimestamp > 0) this.lastStartDelayNanos = Math.max(0, now - triggerTimestamp) * 1e6;
    // Checkpoints that never completed here (aborted, superseded) are forgotten.
    for (const old of this.started.keys()) if (old < id - SUBTASK_CHECKPOINTS_KEPT) this.started.delete(old);
  }

  /** The trigger time of checkpoint `id` as this subtask learnt it (0: unknown): its barriers carry it on. */
  triggerTimeOf(id: number): number {
    return this.started.get(id)?.triggerTimestamp ?? 0;
  }

  /** The subtask acknowledged checkpoint `id`. */
  acknowledged(
    id: number,
    alignmentMs: number,
    syncMs: number,
    unaligned: boolean,
    now: number = Date.now(),
  ): void {
    const s = this.started.get(id) ?? { triggerTimestamp: 0, startedAt: now };
    this.started.delete(id);
    this.done.push({
      id,
      triggerTimestamp: s.triggerTimestamp,
      startDelayNanos: s.triggerTimestamp > 0 ? Math.max(0, s.startedAt - s.triggerTimestamp) * 1e6 : -1,
      alignmentMs,
      syncMs,
      ackTimestamp: now,
      unaligned,
    });
    if (this.done.length > SUBTASK_CHECKPOINTS_KEPT) this.done.shift();
  }

  /** The last checkpoints this subtask acknowledged, oldest first (copies). */
  recent(): SubtaskCheckpointStats[] {
    return this.done.map((d) => ({ ...d }));
  }
}
