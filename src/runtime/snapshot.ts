// What a task's snapshot holds: per operator uid, keyed state and timers by key group (so that a
// restore at another parallelism reads the key groups it owns), operator state by name with its
// redistribution mode, source splits, and operator-specific data. Plain data, encoded into state
// files by the checkpoint layer, except the keyed state taken at the barrier (`keyedState`): the
// writer encodes it key group by key group, asynchronously, into `keyGroups`; and operator data
// that is known only later (`pendingCustom`, e.g. a sink's PREPARE): the writer awaits it first.

import type { EncodedEntryVisitor, KeyedStateSnapshot } from "../state/keyed-state-backend.ts";
import type { StateMetaRanges } from "../state/state-meta.ts";

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

/** A key group left in its state file (format 3, indexed-state-file.ts): read when restored. */
export interface StoredKeyGroup {
  readonly stored: true;
  /** Its bytes, read from the file and checked against their CRC-32 (throws CorruptStateError). */
  read(): Uint8Array;
}

export type OperatorStateMode = "split" | "union" | "broadcast";

/** Keyed state and timers as taken at the barrier, before they are encoded. */
export interface PendingKeyedState {
  state: KeyedStateSnapshot;
  timers: TimerCapture[];
}

/** The live timers of one timer service and domain at the barrier (a queued timer never changes). */
export interface TimerCapture {
  service: string;
  domain: "event" | "processing";
  timers: ReadonlyArray<{ key: unknown; keyGroup: number; namespace: unknown; time: number }>;
  /** The timers' namespace as plain data (a window operator's windows). */
  namespaceToData: (namespace: unknown) => unknown;
}

export interface OperatorSnapshot {
  /** Keyed state taken at the barrier; the checkpoint writer turns it into `keyGroups`. */
  keyedState?: PendingKeyedState;
  /**
   * Keyed state and timers by key group, each group encoded on its own (see encodeKeyGroup); read
   * from a state file of format 3, each is left in the file until it is restored (StoredKeyGroup).
   */
  keyGroups?: Array<[number, KeyGroupSnapshot | Uint8Array | StoredKeyGroup]>;
  /** Each keyed state's kind, declared types and TTL, by key-group range (state-meta.ts). */
  keyedStateMeta?: StateMetaRanges;
  /** Operator (non-keyed) state by name. */
  operatorState?: Record<string, { mode: OperatorStateMode; values: unknown[] }>;
  /** A source's unfinished splits (with their progress). */
  splits?: unknown[];
  /** Operator-specific data (e.g. a sink's pending transactions); handed back whole on restore. */
  custom?: unknown;
  /**
   * Operator-specific data known only once this resolves (a two-phase-commit sink's asynchronous
   * prepareCommit): the checkpoint writer awaits it into `custom` before the state is written and
   * acknowledged; a rejection declines the checkpoint (and the task fails).
   */
  pendingCustom?: Promise<unknown>;
}

/**
 * Data in flight at an unaligned checkpoint. An old channel's data is its input part (received,
 * not processed) followed by its output part (not sent): an element may span the two. Restored
 * before any new input and output — at another parallelism as records (see
 * checkpoint/in-flight-restore.ts); the checkpoint's metadata names the edges of the channels.
 */
export interface ChannelState {
  /**
   * Per input channel: [channel index, length of the element the data starts inside (0: none; the
   * first buffer then holds its first bytes, without the length header), buffers].
   */
  inputs: Array<[number, number, Uint8Array[]]>;
  /** Per record writer (in order), per subpartition: the buffers overtaken by the barrier. */
  outputs: Uint8Array[][][];
}

/**
 * In-flight data of an unaligned checkpoint as one new subtask restores it: buffers for the edges
 * that kept their parallelism and partitioner, records for the others.
 */
export interface RestoredInFlight {
  /** [input channel, length of the element the data starts inside, buffers]: read before the network. */
  inputs: Array<[number, number, Uint8Array[]]>;
  /** [record writer, subpartition, buffers]: sent before any new output. */
  outputs: Array<[number, number, Uint8Array[]]>;
  /** Records for operators of the chain, processed before any new input. */
  records: RestoredRecords[];
}

/** Records restored for one input of one operator of the chain. */
export interface RestoredRecords {
  /** The operator's index in the chain (0: the head). */
  member: number;
  inputIndex: number;
  values: unknown[];
  /** The records' timestamps (NaN: none). */
  timestamps: number[];
}

export interface TaskSnapshot {
  operators: Record<string, OperatorSnapshot>;
  channels?: ChannelState;
}

/** Releases the keyed state snapshots a task snapshot holds, when it will not be written. */
export function releaseKeyedState(snapshot: TaskSnapshot): void {
  for (const op of Object.values(snapshot.operators)) op.keyedState?.state.release();
}

/**
 * A copy of the operators' snapshots that later processing cannot change (an unaligned checkpoint
 * acknowledges only once its in-flight input has arrived). Keyed state is already copy-on-write;
 * pending custom data is copied by the writer once it resolved.
 */
export function detachOperatorSnapshots(
  operators: Record<string, OperatorSnapshot>,
): Record<string, OperatorSnapshot> {
  const out: Record<string, OperatorSnapshot> = {};
  for (const [uid, op] of Object.entries(operators)) {
    const { keyedState, pendingCustom, ...plain } = op;
    out[uid] = structuredClone(plain);
    if (keyedState !== undefined) out[uid].keyedState = keyedState;
    if (pendingCustom !== undefined) out[uid].pendingCustom = pendingCustom;
  }
  return out;
}

export interface TaskRestore {
  operators: Map<string, OperatorRestore>;
  /** In-flight data of an unaligned checkpoint, if any (see RestoredInFlight). */
  inFlight?: RestoredInFlight;
  /**
   * Every operator of the task had finished in every old subtask (the end of input was reached
   * before the checkpoint): the task restores its state, so that sinks commit what they had
   * staged, but reads and emits nothing more; it only tells downstream that its input ended.
   */
  finished?: boolean;
}

/**
 * A key group to restore: decoded, or a function that decodes it when called. The restore of a
 * checkpoint gives functions, so that an operator decodes one key group at a time into its backend
 * (a task with millions of keys never holds all of them decoded as JS objects at once).
 */
export type RestoredKeyGroup = KeyGroupSnapshot | (() => KeyGroupSnapshot) | EncodedKeyGroup;

/** A restored key group decoded, whichever form it came in. */
export function decodeRestoredKeyGroup(g: RestoredKeyGroup): KeyGroupSnapshot {
  return typeof g === "function" ? g() : "visit" in g ? g.decode() : g;
}

/**
 * A key group still encoded as in its checkpoint: decoded whole, or read entry by entry with the
 * values undecoded, for a backend that stores them as they are (restoreEncodedKeyGroup).
 */
export interface EncodedKeyGroup {
  decode(): KeyGroupSnapshot;
  /** Hands every entry to `visit`, its value as GENERIC bytes; returns the timers. */
  visit(visit: EncodedEntryVisitor): TimerSnapshot[];
}

/** The state one operator of one new subtask restores from, after redistribution. */
export interface OperatorRestore {
  keyGroups: Array<[number, RestoredKeyGroup]>;
  /** What every old subtask recorded of its keyed states (empty for checkpoints from before it was kept). */
  keyedStateMeta?: StateMetaRanges;
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
  /**
   * The task reached the end of its input; `snapshot` is its final state: it stands in for the task
   * in every later checkpoint, the job's final checkpoint included.
   */
  finished(snapshot: TaskSnapshot): void;
}

/**
 * The id under which operators are told that the job finished: commit what the end of input left
 * (with checkpoints: once the final checkpoint, which holds it, has completed).
 */
export const FINAL_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;
