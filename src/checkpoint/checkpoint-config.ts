// How a job checkpoints: interval, mode, timeouts, retention, unaligned barriers, storage.

import { InvalidArgumentError } from "../core/errors.ts";

export type CheckpointingMode = "EXACTLY_ONCE" | "AT_LEAST_ONCE";

/** What happens to retained checkpoints when the job is cancelled. */
export type ExternalizedCheckpointRetention = "DELETE_ON_CANCELLATION" | "RETAIN_ON_CANCELLATION";

export interface CheckpointSettings {
  /** ms between checkpoints; 0 = checkpointing disabled. */
  interval: number;
  mode: CheckpointingMode;
  /** A checkpoint not complete after this many ms is aborted. */
  timeout: number;
  minPauseBetweenCheckpoints: number;
  maxConcurrentCheckpoints: number;
  /** Failed checkpoints in a row tolerated before the job fails. */
  tolerableFailedCheckpoints: number;
  retention: ExternalizedCheckpointRetention;
  /** Completed checkpoints kept (older ones are deleted, with files no longer referenced). */
  retainedCheckpoints: number;
  unaligned: boolean;
  /** With unaligned checkpoints: start aligned, switch to unaligned after this many ms (0 = unaligned at once). */
  alignedCheckpointTimeout: number;
  /** Directory of checkpoint storage (filesystem). */
  directory: string;
  /** Write only the key groups that changed since the previous checkpoint. */
  incremental: boolean;
}

export const DEFAULT_CHECKPOINT_SETTINGS: CheckpointSettings = {
  interval: 0,
  mode: "EXACTLY_ONCE",
  timeout: 10 * 60_000,
  minPauseBetweenCheckpoints: 0,
  maxConcurrentCheckpoints: 1,
  tolerableFailedCheckpoints: 0,
  retention: "DELETE_ON_CANCELLATION",
  retainedCheckpoints: 1,
  unaligned: false,
  alignedCheckpointTimeout: 0,
  directory: ".weir/checkpoints",
  incremental: false,
};

/** The fluent view of the settings (env.getCheckpointConfig()), as Flink users know it. */
export class CheckpointConfig {
  constructor(private readonly s: CheckpointSettings) {}

  get settings(): Readonly<CheckpointSettings> {
    return this.s;
  }
  isCheckpointingEnabled(): boolean {
    return this.s.interval > 0;
  }
  setCheckpointingMode(mode: CheckpointingMode): this {
    if (mode !== "EXACTLY_ONCE" && mode !== "AT_LEAST_ONCE") {
      throw new InvalidArgumentError(
        `checkpointing mode must be "EXACTLY_ONCE" or "AT_LEAST_ONCE", got ${String(mode)}`,
      );
    }
    this.s.mode = mode;
    return this;
  }
  setCheckpointInterval(ms: number): this {
    this.s.interval = positive(ms, "checkpoint interval");
    return this;
  }
  setCheckpointTimeout(ms: number): this {
    this.s.timeout = positive(ms, "checkpoint timeout");
    return this;
  }
  setMinPauseBetweenCheckpoints(ms: number): this {
    this.s.minPauseBetweenCheckpoints = nonNegative(ms, "min pause between checkpoints");
    return this;
  }
  setMaxConcurrentCheckpoints(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`max concurrent checkpoints must be >= 1, got ${n}`);
    this.s.maxConcurrentCheckpoints = n;
    return this;
  }
  setTolerableCheckpointFailureNumber(n: number): this {
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`tolerable checkpoint failures must be >= 0, got ${n}`);
    this.s.tolerableFailedCheckpoints = n;
    return this;
  }
  setExternalizedCheckpointRetention(retention: ExternalizedCheckpointRetention): this {
    if (retention !== "DELETE_ON_CANCELLATION" && retention !== "RETAIN_ON_CANCELLATION") {
      throw new InvalidArgumentError(
        `retention must be DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION, got ${String(retention)}`,
      );
    }
    this.s.retention = retention;
    return this;
  }
  setNumRetainedCheckpoints(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`retained checkpoints must be >= 1, got ${n}`);
    this.s.retainedCheckpoints = n;
    return this;
  }
  enableUnalignedCheckpoints(enabled = true): this {
    this.s.unaligned = enabled;
    return this;
  }
  setAlignedCheckpointTimeout(ms: number): this {
    this.s.alignedCheckpointTimeout = nonNegative(ms, "aligned checkpoint timeout");
    return this;
  }
  setCheckpointStorage(directory: string): this {
    if (typeof directory !== "string" || directory.length === 0) {
      throw new InvalidArgumentError("checkpoint storage needs a directory path");
    }
    this.s.directory = directory;
    return this;
  }
  enableIncrementalCheckpoints(enabled = true): this {
    this.s.incremental = enabled;
    return this;
  }
}

function positive(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`${what} must be > 0 ms, got ${ms}`);
  return ms;
}

function nonNegative(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`${what} must be >= 0 ms, got ${ms}`);
  return ms;
}
