// What a task's snapshot holds: per operator uid, keyed state and timers by key group (so that a
// restore at another parallelism reads the key groups it owns), operator state by name with its
// redistribution mode, source splits, and operator-specific data. Plain data: it is encoded into
// state files by the checkpoint layer and may cross threads.

export interface TimerSnapshot {
  service: string;
  domain: "event" | "processing";
  key: unknown;
  namespace: unknown;
  time: number;
}

export interface KeyGroupSnapshot {
  /** Keyed state entries: [state name, namespace, key in Map form, stored value]. */
  entries: Array<[string, unknown, unknown, unknown]>;
  timers: TimerSnapshot[];
}

export type OperatorStateMode = "split" | "union" | "broadcast";

export interface OperatorSnapshot {
  /** Keyed state and timers by key group. */
  keyGroups?: Array<[number, KeyGroupSnapshot]>;
  /** Operator (non-keyed) state by name. */
  operatorState?: Record<string, { mode: OperatorStateMode; values: unknown[] }>;
  /** A source's unfinished splits (with their progress). */
  splits?: unknown[];
  /** Operator-specific data (e.g. a sink's pending transactions); handed back whole on restore. */
  custom?: unknown;
}

/** Data in flight at an unaligned checkpoint, replayed on restore (same parallelism only). */
export interface ChannelState {
  /** Per input channel: [channel index, bytes missing of the partial first record, buffers]. */
  inputs: Array<[number, number, Uint8Array[]]>;
  /** Per record writer (in order), per subpartition: the buffers overtaken by the barrier. */
  outputs: Uint8Array[][][];
}

export interface TaskSnapshot {
  operators: Record<string, OperatorSnapshot>;
  channels?: ChannelState;
}

export interface TaskRestore {
  operators: Map<string, OperatorRestore>;
  channels: ChannelState | undefined;
}

/** The state one operator of one new subtask restores from, after redistribution. */
export interface OperatorRestore {
  keyGroups: Array<[number, KeyGroupSnapshot]>;
  operatorState: Record<string, { mode: OperatorStateMode; values: unknown[] }>;
  /** custom data of every old subtask (a restored operator decides what to keep). */
  custom: unknown[];
  /** the checkpoint restored from */
  checkpointId: number;
}

/** Receives a task's checkpoint acknowledgements (the deployment writes the state and tells the coordinator). */
export interface CheckpointResponder {
  acknowledge(checkpointId: number, snapshot: TaskSnapshot): void;
  decline(checkpointId: number, reason: string): void;
  /** The task reached the end of its input; `snapshot` is its state from now on (for later checkpoints). */
  finished(snapshot: TaskSnapshot): void;
}

/** The id under which operators are told that the job finished: commit what the end of input left. */
export const FINAL_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;
