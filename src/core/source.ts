// The Source SPI: a source is a split enumerator (one per job, it hands out splits) and parallel
// readers (one per subtask, they read the splits they are given). Splits are plain data, so they
// can cross threads and, later, be written into checkpoints.

import type { RuntimeContext } from "./functions.ts";
import type { TypeInformation } from "./types/type-info.ts";

export type Boundedness = "bounded" | "unbounded";

/** What one call of `pollNext` left behind. */
export enum InputStatus {
  /** More records can be polled right away. */
  MORE_AVAILABLE = 0,
  /** Nothing now: wait for `isAvailable()` before polling again. */
  NOTHING_AVAILABLE = 1,
  /** This reader has read everything it will ever read. */
  END_OF_INPUT = 2,
}

export interface ReaderOutput<T> {
  collect(value: T, timestamp?: number): void;
  /**
   * An output for the records of one split: watermarks are then generated per split and the
   * reader's watermark is the minimum over its active splits. Release it when the split is done.
   */
  createOutputForSplit(splitId: string): ReaderOutput<T>;
  releaseOutputForSplit(splitId: string): void;
}

export interface SourceReaderContext {
  readonly runtime: RuntimeContext;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** Ask the enumerator for (more) splits; it answers with `addSplits` or `notifyNoMoreSplits`. */
  sendSplitRequest(): void;
  /**
   * The most records one poll should emit (a hint for readers that produce records from memory):
   * small when the task writes to network buffers, so that a poll cannot overdraw them; larger
   * when the whole pipeline is chained into sinks in the same task. Undefined: the reader's own.
   */
  readonly maxRecordsPerPoll?: number;
}

export interface SourceReader<T, Split> {
  start(): void;
  /** Emit some records (a bounded number per call) and say what is left. */
  pollNext(output: ReaderOutput<T>): InputStatus;
  /** Resolves when `pollNext` may have something again. */
  isAvailable(): Promise<void>;
  addSplits(splits: Split[]): void;
  notifyNoMoreSplits(): void;
  /**
   * The splits this reader holds, with their progress, for checkpoint `checkpointId`: after a
   * restore, reading them again continues exactly after the last record emitted before it.
   */
  snapshotState?(checkpointId: number): Split[];
  /**
   * Checkpoint `checkpointId` (and every one before it) completed: positions it holds may now be
   * acknowledged to the external system (e.g. a replication slot's confirmed LSN).
   */
  notifyCheckpointComplete?(checkpointId: number): void;
  close(): void | Promise<void>;
}

export interface SplitEnumeratorContext<Split> {
  readonly parallelism: number;
  assignSplit(split: Split, subtask: number): void;
  signalNoMoreSplits(subtask: number): void;
}

export interface SplitEnumerator<Split> {
  start(): void | Promise<void>;
  /** A reader asked for a split. */
  handleSplitRequest(subtask: number): void;
  /** Splits a failed reader had not finished come back, to be assigned again. */
  addSplitsBack?(splits: Split[], subtask: number): void;
  /** The enumerator's state for a checkpoint: the splits it has not assigned yet. */
  snapshotState?(checkpointId: number): Split[];
  /** A reader came up (or came back). */
  addReader(subtask: number): void;
  close(): void | Promise<void>;
}

export interface Source<T, Split = unknown> {
  readonly boundedness: Boundedness;
  /** The type of the records, when the source knows it. */
  readonly type?: TypeInformation<T> | undefined;
  /** Highest parallelism the source supports (1 for a non-parallel source). */
  readonly maxParallelism?: number;
  createEnumerator(ctx: SplitEnumeratorContext<Split>): SplitEnumerator<Split>;
  /**
   * An enumerator that starts from restored state: the splits it had not assigned plus the splits
   * its readers held (with their progress). Sources without it cannot be restored from a checkpoint.
   */
  restoreEnumerator?(ctx: SplitEnumeratorContext<Split>, splits: Split[]): SplitEnumerator<Split>;
  createReader(ctx: SourceReaderContext): SourceReader<T, Split>;
}
