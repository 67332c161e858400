// Record-at-a-time operators: map, flatMap, filter, and the sink operator.

import type {
  Collector,
  FilterFn,
  FlatMapFn,
  MapFn,
  RichFunction,
  RuntimeContext,
} from "../../core/functions.ts";
import {
  type Committer,
  isTwoPhaseCommittingSink,
  type PrecommittingSinkWriter,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
} from "../../core/sink.ts";
import { FINAL_CHECKPOINT_ID } from "../snapshot.ts";
import { type Output, StreamOperator } from "./stream-operator.ts";

/** What a generated loop calls in place of a map's or filter's processElement. */
export interface FusedStep {
  readonly fn: (value: unknown, runtime: RuntimeContext) => unknown;
  readonly runtime: RuntimeContext;
  readonly output: Output;
}

/**
 * A chained map is fused into its upstream output (outputs.ts) and into a source's generated loop
 * (fused-source-loop.ts): keep processElement in step with them.
 */
export class MapOperator extends StreamOperator {
  constructor(
    readonly fn: MapFn<unknown, unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    this.output.collect(this.fn(value, this.runtime));
  }
  fusedStep(): FusedStep {
    return { fn: this.fn, runtime: this.runtime, output: this.output };
  }
}

/** A chained filter is fused like a map (see MapOperator): keep processElement in step. */
export class FilterOperator extends StreamOperator {
  constructor(
    readonly fn: FilterFn<unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    if (this.fn(value, this.runtime)) this.output.collect(value);
  }
  fusedStep(): FusedStep {
    return { fn: this.fn, runtime: this.runtime, output: this.output };
  }
}

/** What a generated loop calls in place of a flatMap's processElement. */
export interface FusedFlatMapStep {
  readonly fn: FlatMapFn<unknown, unknown>;
  readonly runtime: RuntimeContext;
  readonly output: Output;
  /** What the function returned (not undefined) as elements to emit; throws as processElement does. */
  readonly returned: (returned: unknown) => Iterable<unknown>;
}

/**
 * A chained flatMap is fused into a source's generated loop (fused-source-loop.ts), which gives
 * the function a collector of its own running the rest of the chain: keep processElement in step.
 */
export class FlatMapOperator extends StreamOperator {
  private collector!: Collector<unknown>;
  constructor(
    private readonly fn: FlatMapFn<unknown, unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  override async open(): Promise<void> {
    const output = this.output;
    this.collector = { collect: (v) => output.collect(v) };
    await super.open();
  }
  processElement(value: unknown): void {
    const returned = this.fn(value, this.collector, this.runtime);
    if (returned !== undefined) for (const v of this.iterableOf(returned)) this.output.collect(v);
  }

  fusedStep(): FusedFlatMapStep {
    return {
      fn: this.fn,
      runtime: this.runtime,
      output: this.output,
      returned: (returned) => this.iterableOf(returned),
    };
  }

  private iterableOf(returned: unknown): Iterable<unknown> {
    if (
      typeof returned === "string" ||
      typeof (returned as Iterable<unknown>)?.[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(
        `the flatMap() function of operator '${this.runtime.operatorName}' (uid ${this.runtime.operatorUid}) returned ${typeof returned === "string" ? "a string" : String(returned)}; return an array (or other iterable) of elements, or emit them with out.collect() and return nothing`,
      );
    }
    return returned as Iterable<unknown>;
  }
}

/** Committables staged at one checkpoint, not yet known to be committed. */
interface PendingCommit {
  checkpointId: number;
  committables: unknown[];
  /** Handed to the committer; an asynchronous commit has not resolved yet. */
  committing: boolean;
}

function isPromiseLike<T = void>(v: unknown): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}

/**
 * Writes every record to a SinkWriter; the end of a chain. With a two-phase-commit sink it stages
 * the writer's output at every checkpoint, keeps the committables in its snapshot, commits them
 * when the checkpoint completes (and what the end of input left once the job's final checkpoint,
 * which holds it, has completed), and re-commits the restored ones after a restart (also after a
 * restore in which its task had finished). A committer may commit asynchronously: commits then
 * run one after another in checkpoint order, and committables stay in the snapshots until their
 * commit resolved (so a checkpoint never forgets a commit that may not have happened); restored
 * commits settle before the writer opens, and close() waits for the final commit. A writer may
 * stage asynchronously (prepareCommit returns a Promise): the snapshot is then acknowledged once it
 * resolved (a rejection declines the checkpoint and fails the task), records keep flowing to the
 * writer meanwhile, and committables are recorded in checkpoint order.
 */
export class SinkOperator extends StreamOperator {
  private writer!: SinkWriter<unknown>;
  private committer: Committer<unknown> | undefined;
  /** Staged and not yet known to be committed, in checkpoint order. */
  private pending: PendingCommit[] = [];
  private restoredCommitted = false;
  /** Every restored committable (of every old subtask), for abortLeftovers. */
  private restored: unknown[] = [];
  /** The last of the running asynchronous commits (undefined when none runs). */
  private commits: Promise<void> | undefined;
  private commitFailed = false;
  private finalCommitRequested = false;
  /** The last asynchronous prepareCommit still being recorded (undefined when none runs). */
  private staging: Promise<void> | undefined;

  constructor(private readonly sink: Sink<unknown>) {
    super(undefined);
  }

  private context(): SinkWriterContext {
    return {
      runtime: this.runtime,
      subtaskIndex: this.runtime.indexOfThisSubtask,
      parallelism: this.runtime.numberOfParallelSubtasks,
      checkpointing: this.checkpointingEnabled,
      attemptTag: this.runtime.attemptTag,
    };
  }

  private twoPhase(): TwoPhaseCommittingSink<unknown, unknown> | undefined {
    return isTwoPhaseCommittingSink(this.sink) ? this.sink : undefined;
  }

  override async open(): Promise<void> {
    await super.open();
    const tp = this.twoPhase();
    if (tp !== undefined) {
      this.committer ??= tp.createCommitter(this.context());
      // Restored committables are committed before new input is written.
      await this.commitsSettled();
      const restarted = this.restoredCommitted || this.runtime.attemptNumber > 0;
      if (restarted && this.runtime.indexOfThisSubtask === 0)
        tp.abortLeftovers?.(this.context(), this.restored);
      this.restored = [];
    }
    this.writer = await this.sink.createWriter(this.context());
  }

  /** A source's generated loop (fused-source-loop.ts) calls write itself: keep this in step. */
  processElement(value: unknown): void {
    this.writer.write(value);
  }

  /** The writer records go to (created in open(), never replaced). */
  fusedWriter(): SinkWriter<unknown> {
    return this.writer;
  }

  /** Hand one staged entry to the committer: at once when no asynchronous commit runs, else after it. */
  private startCommit(entry: PendingCommit): void {
    const committer = this.committer!;
    entry.committing = true;
    const committed = () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
    let running: Promise<void>;
    if (this.commits === undefined) {
      const r = committer.commit(entry.committables);
      if (!isPromiseLike(r)) {
        committed();
        return;
      }
      running = Promise.resolve(r);
    } else {
      running = this.commits.then(() => committer.commit(entry.committables));
    }
    const tail = running.then(committed);
    this.commits = tail;
    tail.then(
      () => {
        if (this.commits === tail) this.commits = undefined;
      },
      (e: unknown) => {
        // Later commits are chained on this one and fail with it: report the first only.
        if (this.commitFailed) return;
        this.commitFailed = true;
        this.mailbox.execute(() => {
          throw e;
        });
      },
    );
  }

  /** Resolves when every asynchronous commit started so far is done; rejects if one failed. */
  private async commitsSettled(): Promise<void> {
    while (this.commits !== undefined) await this.commits;
  }

  protected override snapshotCustom(checkpointId: number): unknown {
    if (this.committer === undefined) return undefined;
    const staging = this.prepare(checkpointId);
    // Asynchronous: the checkpoint writer awaits this before it writes and acknowledges the state.
    // It runs right after this checkpoint's committables were recorded, before a later
    // checkpoint's (chained after them), so it holds exactly what this checkpoint covers.
    if (staging !== undefined) return staging.then(() => this.pendingData());
    return this.pendingData();
  }

  /** What a snapshot keeps: the staged entries not known to be committed. */
  private pendingData(): { pending: Array<[number, unknown[]]> } {
    return { pending: this.pending.map((p) => [p.checkpointId, p.committables]) };
  }

  /**
   * The writer's prepareCommit, its committables recorded as pending in checkpoint order: at once
   * when it is synchronous and no earlier one is still resolving, else (returned) once it and
   * every earlier one resolved.
   */
  private prepare(checkpointId: number): Promise<void> | undefined {
    const staged = (this.writer as PrecommittingSinkWriter<unknown, unknown>).prepareCommit(checkpointId);
    const record = (committables: unknown[]) => {
      if (committables.length > 0) this.pending.push({ checkpointId, committables, committing: false });
    };
    if (this.staging === undefined && !isPromiseLike<unknown[]>(staged)) {
      record(staged);
      return undefined;
    }
    const ready = Promise.resolve(staged);
    ready.catch(() => {}); // reported through `done` (unobserved if an earlier staging failed)
    const done = (this.staging ?? Promise.resolve()).then(() => ready).then(record);
    this.staging = done;
    // A rejection is reported through the snapshot (or finish()) that awaits it.
    done.then(
      () => {
        if (this.staging === done) this.staging = undefined;
      },
      () => {},
    );
    return done;
  }

  protected override restoreCustom(custom: unknown[]): void {
    const tp = this.twoPhase();
    if (tp === undefined) return;
    this.committer = tp.createCommitter(this.context());
    // These belong to a completed checkpoint: commit them (again: commit is idempotent).
    const restored: PendingCommit[] = [];
    for (const c of custom as Array<{ pending?: Array<[number, unknown[]]> }>) {
      for (const [checkpointId, committables] of c.pending ?? [])
        restored.push({ checkpointId, committables, committing: false });
    }
    restored.sort((a, b) => a.checkpointId - b.checkpointId);
    this.restored = restored.flatMap((r) => r.committables);
    this.pending.push(...restored);
    for (const entry of restored) this.startCommit(entry);
    this.restoredCommitted = true;
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    if (this.committer !== undefined) {
      if (checkpointId === FINAL_CHECKPOINT_ID) this.finalCommitRequested = true;
      for (const entry of [...this.pending])
        if (!entry.committing && entry.checkpointId <= checkpointId) this.startCommit(entry);
    }
    super.notifyCheckpointComplete(checkpointId);
  }

  override async finish(): Promise<void> {
    await this.writer.finish?.();
    if (this.committer !== undefined) await this.prepare(FINAL_CHECKPOINT_ID);
  }

  override async close(): Promise<void> {
    // After the end of the job, the final commit must be durable before the job reports success;
    // when the task is aborted, a failed commit is only waited for (the restart commits again).
    let failure: { error: unknown } | undefined;
    try {
      await this.commitsSettled();
    } catch (e) {
      if (this.finalCommitRequested) failure = { error: e };
    }
    try {
      await this.writer?.close?.();
      await this.committer?.close?.();
    } finally {
      await super.close();
    }
    if (failure !== undefined) throw failure.error;
  }
}
