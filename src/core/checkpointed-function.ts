// CheckpointedFunction: a user function that keeps operator (non-keyed) state of its own, Flink's
// way: it registers list, union list or broadcast state in initializeState() and writes what it
// holds in fields into that state in snapshotState(), at every checkpoint.

import type { KeyedStateStore, OperatorStateStore } from "./state.ts";

export interface FunctionInitializationContext {
  /** Operator state of this subtask; after a restore, each state holds this subtask's share. */
  getOperatorStateStore(): OperatorStateStore;
  /** Keyed state (only on a keyed stream; read and written per key while records are processed). */
  getKeyedStateStore(): KeyedStateStore | undefined;
  /** True when this operator was restored from a checkpoint or savepoint. */
  isRestored(): boolean;
  /** The checkpoint restored from, when restored. */
  getRestoredCheckpointId(): number | undefined;
}

export interface FunctionSnapshotContext {
  readonly checkpointId: number;
  getCheckpointId(): number;
}

/**
 * Implemented by a user function object (map, flatMap, filter, process, ... functions) to take part
 * in checkpoints. initializeState runs before open() (after the restore, when there is one);
 * snapshotState runs at every checkpoint, before the operator's state is taken.
 */
export interface CheckpointedFunction {
  initializeState(context: FunctionInitializationContext): void;
  snapshotState(context: FunctionSnapshotContext): void;
}

/** Whether a user function object implements CheckpointedFunction. */
export function isCheckpointedFunction(fn: unknown): fn is CheckpointedFunction {
  return (
    typeof fn === "object" &&
    fn !== null &&
    typeof (fn as Partial<CheckpointedFunction>).initializeState === "function" &&
    typeof (fn as Partial<CheckpointedFunction>).snapshotState === "function"
  );
}
