// Building blocks shared by the built-in sources: an enumerator that hands out a fixed list of
// splits on request, and a reader that reads its assigned splits one after another.

import {
  InputStatus,
  type ReaderOutput,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../core/source.ts";
import type { FusableReaderOutput, IndexedLoop, IndexedRecords } from "../../runtime/fused-source-loop.ts";

/** Hands out splits from a list, first come first served; then tells readers there are no more. */
export class StaticSplitEnumerator<Split> implements SplitEnumerator<Split> {
  private readonly pending: Split[] = [];

  /** `splits`: the list, or a function listing them when the enumerator starts (e.g. files). */
  constructor(
    private readonly ctx: SplitEnumeratorContext<Split>,
    private readonly splits: Split[] | (() => Split[]),
  ) {}

  start(): void {
    this.pending.push(...(typeof this.splits === "function" ? this.splits() : this.splits));
  }

  snapshotState(_checkpointId: number): Split[] {
    return [...this.pending];
  }

  addSplitsBack(splits: Split[]): void {
    this.pending.unshift(...splits);
  }

  handleSplitRequest(subtask: number): void {
    const split = this.pending.shift();
    if (split === undefined) this.ctx.signalNoMoreSplits(subtask);
    else this.ctx.assignSplit(split, subtask);
  }

  addReader(_subtask: number): void {}

  close(): void {}
}

/**
 * Records per poll of the in-memory readers: where it starts, and its upper bound unless the task
 * says otherwise (SourceReaderContext.maxRecordsPerPoll; see adaptPollSize). 32 records of 1000
 * bytes are one 32 KiB network buffer: a poll overdraws a task's buffers by about one at most.
 */
const FIRST_RECORDS_PER_POLL = 32;
const MAX_RECORDS_PER_POLL = 32;
/**
 * The upper bound when the task runs the reader's records through a generated loop (see
 * indexedRecords) and its chain ends in sinks (the task gave a bound): such a loop makes a record
 * in a few ns, so at 1024 records a poll the shared per-poll code (pollNext, readSplitFused, the
 * task's stepSource) was called often enough for V8 to optimise it, inlining this job's loop into
 * it: tens of ms of compiling per job, deoptimised again when the next job's loop came
 * (BENCHMARKS.md, chain round two). Polls still grow only while they take under FAST_POLL_MS.
 */
const FUSED_MAX_RECORDS_PER_POLL = 16384;
/** A poll faster than this may emit twice as many records next time; slower than the upper bound, half. */
const FAST_POLL_MS = 0.25;
const SLOW_POLL_MS = 1;

/**
 * A reader that requests one split at a time and reads it through `readSplit`, a generator-like
 * function that emits up to `max` records per call and returns true when the split is done.
 */
export abstract class SplitQueueReader<T, Split> implements SourceReader<T, Split> {
  private readonly splits: Split[] = [];
  private current: Split | undefined;
  private currentOutput: ReaderOutput<T> | undefined;
  private currentId = "";
  private noMoreSplits = false;
  private requested = false;
  private waiter: (() => void) | undefined;

  /**
   * How many records readSplit should emit (readers that produce records from memory use it).
   * It adapts to how long a poll takes: the task's per-poll work (a clock read, the checks for
   * backpressure) is spread over up to 32 cheap records, while slow records (a costly
   * generator, a slow chain) come a few per poll, so a step still ends in about 2 ms.
   */
  protected recordsPerPoll = FIRST_RECORDS_PER_POLL;

  private maxRecordsPerPoll: number;
  /** Whether the task gave the bound (its chain ends in sinks). */
  private readonly taskBound: boolean;
  /** The task's generated loop (see indexedRecords); null: none; undefined: not asked yet. */
  private fusedLoop: IndexedLoop | null | undefined;

  constructor(protected readonly ctx: SourceReaderContext) {
    this.maxRecordsPerPoll = Math.max(1, ctx.maxRecordsPerPoll ?? MAX_RECORDS_PER_POLL);
    this.taskBound = ctx.maxRecordsPerPoll !== undefined;
  }

  start(): void {
    this.request();
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return;
    this.requested = true;
    this.ctx.sendSplitRequest();
  }

  private throttleMs = 0;

  /** Override to rate-limit: ms to wait before the next read (0 = read now). */
  protected throttle(): number {
    return 0;
  }

  /**
   * The split being read, with its progress (so that reading it again resumes right after the
   * last record emitted). Sources that support checkpoints override this.
   */
  protected currentProgress(split: Split): Split {
    throw new Error(
      `source reader ${this.constructor.name} cannot checkpoint its position in split ${JSON.stringify(split)}: implement currentProgress()`,
    );
  }

  snapshotState(_checkpointId: number): Split[] {
    const out = this.current === undefined ? [] : [this.currentProgress(this.current)];
    return [...out, ...this.splits];
  }

  /** A stable id of a split (watermarks are tracked per split). */
  protected splitId(split: Split): string {
    return JSON.stringify(split);
  }

  /** Begin reading a split. */
  protected abstract openSplit(split: Split): void;
  /** Emit up to a bounded number of records; return true when the current split is exhausted. */
  protected abstract readSplit(output: ReaderOutput<T>): boolean;

  /**
   * @internal For the built-in readers whose splits are index ranges: how the record of an index
   * is made. The task may then run the chain after the reader as one generated loop
   * (runtime/fused-source-loop.ts), and polls go through readSplitFused instead of readSplit.
   * Undefined (the default): every poll goes through readSplit.
   */
  protected indexedRecords(): IndexedRecords<T> | undefined {
    return undefined;
  }

  /**
   * @internal readSplit through the task's loop: `loop(output, from, stride, count)` emits the
   * records of those indexes as `output.collect` would. Readers that define indexedRecords
   * implement it (same records, same position afterwards as readSplit).
   */
  protected readSplitFused(_loop: IndexedLoop, _output: ReaderOutput<T>): boolean {
    throw new Error(
      `source reader ${this.constructor.name} defines indexedRecords() but not readSplitFused()`,
    );
  }

  /** The loop the task's output generates for this reader's records, if it does (null if not). */
  private fuse(output: ReaderOutput<T>): IndexedLoop | null {
    const records = this.indexedRecords();
    const fusable = output as Partial<FusableReaderOutput>;
    if (records === undefined || typeof fusable.fuseIndexedLoop !== "function") return null;
    return fusable.fuseIndexedLoop(records as IndexedRecords<unknown>) ?? null;
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.current === undefined) {
      const next = this.splits.shift();
      if (next === undefined) {
        if (this.noMoreSplits) return InputStatus.END_OF_INPUT;
        this.request();
        return InputStatus.NOTHING_AVAILABLE;
      }
      this.current = next;
      this.currentId = this.splitId(next);
      this.currentOutput = output.createOutputForSplit(this.currentId);
      this.openSplit(next);
    }
    const wait = this.throttle();
    if (wait > 0) {
      this.throttleMs = wait;
      return InputStatus.NOTHING_AVAILABLE;
    }
    // Asked at the first read, once the task's operators are open (a sink's writer exists).
    if (this.fusedLoop === undefined) {
      this.fusedLoop = this.fuse(output);
      if (this.fusedLoop !== null && this.taskBound)
        this.maxRecordsPerPoll = Math.max(this.maxRecordsPerPoll, FUSED_MAX_RECORDS_PER_POLL);
    }
    const started = performance.now();
    const done =
      this.fusedLoop !== null
        ? this.readSplitFused(this.fusedLoop, this.currentOutput!)
        : this.readSplit(this.currentOutput!);
    this.adaptPollSize(performance.now() - started);
    if (done) {
      output.releaseOutputForSplit(this.currentId);
      this.current = undefined;
      this.currentOutput = undefined;
      if (this.splits.length === 0) this.request();
    }
    return InputStatus.MORE_AVAILABLE;
  }

  private adaptPollSize(ms: number): void {
    const n = this.recordsPerPoll;
    if (ms < FAST_POLL_MS) {
      if (n < this.maxRecordsPerPoll) this.recordsPerPoll = Math.min(n * 2, this.maxRecordsPerPoll);
    } else if (ms > SLOW_POLL_MS && n > 1) this.recordsPerPoll = n >> 1;
  }

  isAvailable(): Promise<void> {
    if (this.throttleMs > 0) {
      const ms = this.throttleMs;
      this.throttleMs = 0;
      return new Promise((resolve) => setTimeout(resolve, ms));
    }
    if (this.splits.length > 0 || this.noMoreSplits) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  addSplits(splits: Split[]): void {
    this.requested = false;
    this.splits.push(...splits);
    this.release();
  }

  notifyNoMoreSplits(): void {
    this.requested = false;
    this.noMoreSplits = true;
    this.release();
  }

  private release(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  close(): void {}
}
