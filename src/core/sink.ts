// The Sink SPI: a sink creates one writer per parallel subtask. A two-phase-commit sink also
// stages what it wrote per checkpoint (prepareCommit at the barrier) and commits it once the
// checkpoint is complete (a Committer, idempotent: after a restart, committables of the restored
// checkpoint are committed again).

import type { RuntimeContext } from "./functions.ts";

export interface SinkWriterContext {
  readonly runtime: RuntimeContext;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** The job takes checkpoints (two-phase-commit sinks commit per checkpoint; otherwise at the end). */
  readonly checkpointing?: boolean;
  /**
   * Unique per job run and execution attempt: names staged data so that a restarted attempt can
   * tell its own from leftovers of an earlier one.
   */
  readonly attemptTag?: string;
}

export interface SinkWriter<T> {
  write(value: T): void;
  /** Called once when the input has ended (bounded jobs), before close. */
  finish?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}

export interface PrecommittingSinkWriter<T, CommT> extends SinkWriter<T> {
  /**
   * The checkpoint barrier passed (or the input ended: FINAL id): close what was written since
   * the last call and hand it over as committables. They are stored with the checkpoint.
   *
   * May return a Promise (staging in an external system is asynchronous, e.g. PREPARE
   * TRANSACTION): the task acknowledges the checkpoint only once it resolved, so a completed
   * checkpoint holds only committables that were durably staged; a rejection declines the
   * checkpoint and fails the task. Records after the barrier keep arriving meanwhile (`write`):
   * they belong to the next checkpoint. The next prepareCommit may be called before this Promise
   * resolved; committables are recorded in checkpoint order.
   */
  prepareCommit(checkpointId: number): CommT[] | Promise<CommT[]>;
}

export interface Committer<CommT> {
  /**
   * Make these committables visible. Must be idempotent: the same ones may come again after a
   * restart. May return a Promise (an external system's client is asynchronous): the sink
   * operator then runs commits one after another in checkpoint order, keeps the committables in
   * its checkpoints until the Promise resolves, waits for restored ones before taking new input,
   * and does not let the job finish before the final commit resolved. A rejection fails the task
   * (the restart commits the committables again).
   */
  commit(committables: CommT[]): void | Promise<void>;
  /** Release the committer's resources; called when the operator closes, after its commits settled. */
  close?(): void | Promise<void>;
}

export interface TwoPhaseCommittingSink<T, CommT> extends Sink<T> {
  createWriter(
    ctx: SinkWriterContext,
  ): PrecommittingSinkWriter<T, CommT> | Promise<PrecommittingSinkWriter<T, CommT>>;
  createCommitter(ctx: SinkWriterContext): Committer<CommT>;
  /**
   * After a restore or a restart, once this subtask's share of the restored committables is
   * committed: remove data staged by earlier attempts of this job that none of `restored` (every
   * restored committable, also those other subtasks still commit) refers to. Called on subtask 0
   * only. Must not touch data of other jobs staged in the same place.
   */
  abortLeftovers?(ctx: SinkWriterContext, restored: CommT[]): void;
}

export function isTwoPhaseCommittingSink(s: Sink<unknown>): s is TwoPhaseCommittingSink<unknown, unknown> {
  return typeof (s as { createCommitter?: unknown }).createCommitter === "function";
}
