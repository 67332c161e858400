// Record-at-a-time operators: map, flatMap, filter, and the sink operator.

import type { Collector, FilterFn, FlatMapFn, MapFn, RichFunction } from "../../core/functions.ts";
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
import { StreamOperator } from "./stream-operator.ts";

export class MapOperator extends StreamOperator {
  constructor(
    private readonly fn: MapFn<unknown, unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    this.output.collect(this.fn(value, this.runtime));
  }
}

export class FilterOperator extends StreamOperator {
  constructor(
    private readonly fn: FilterFn<unknown>,
    rich?: RichFunction,
  ) {
    super(rich);
  }
  processElement(value: unknown): void {
    if (this.fn(value, this.runtime)) this.output.collect(value);
  }
}

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
    this.fn(value, this.collector, this.runtime);
  }
}

/**
 * Writes every record to a SinkWriter; the end of a chain. With a two-phase-commit sink it stages
 * the writer's output at every checkpoint, keeps the committables in its snapshot, commits them
 * when the checkpoint completes (and everything left when the job finishes), and re-commits the
 * restored ones after a restart.
 */
export class SinkOperator extends StreamOperator {
  private writer!: SinkWriter<unknown>;
  private committer: Committer<unknown> | undefined;
  /** Staged and not yet committed: [checkpoint id, committables]. */
  private pending: Array<[number, unknown[]]> = [];
  private restoredCommitted = false;

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
      if (this.restoredCommitted && this.runtime.indexOfThisSubtask === 0)
        tp.abortLeftovers?.(this.context());
    }
    this.writer = await this.sink.createWriter(this.context());
  }

  processElement(value: unknown): void {
    this.writer.write(value);
  }

  protected override snapshotCustom(checkpointId: number): unknown {
    if (this.committer === undefined) return undefined;
    const staged = (this.writer as PrecommittingSinkWriter<unknown, unknown>).prepareCommit(checkpointId);
    if (staged.length > 0) this.pending.push([checkpointId, staged]);
    return { pending: this.pending.map(([id, c]) => [id, c]) };
  }

  protected override restoreCustom(custom: unknown[]): void {
    const tp = this.twoPhase();
    if (tp === undefined) return;
    this.committer = tp.createCommitter(this.context());
    // These belong to a completed checkpoint: commit them (again: commit is idempotent).
    for (const c of custom as Array<{ pending?: Array<[number, unknown[]]> }>) {
      for (const [, committables] of c.pending ?? []) this.committer.commit(committables);
    }
    this.restoredCommitted = true;
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    if (this.committer !== undefined) {
      const due = this.pending.filter(([id]) => id <= checkpointId);
      this.pending = this.pending.filter(([id]) => id > checkpointId);
      for (const [, committables] of due) this.committer.commit(committables);
    }
    super.notifyCheckpointComplete(checkpointId);
  }

  override async finish(): Promise<void> {
    await this.writer.finish?.();
    if (this.committer !== undefined) {
      const staged = (this.writer as PrecommittingSinkWriter<unknown, unknown>).prepareCommit(
        FINAL_CHECKPOINT_ID,
      );
      if (staged.length > 0) this.pending.push([FINAL_CHECKPOINT_ID, staged]);
    }
  }

  override async close(): Promise<void> {
    await this.writer?.close?.();
    await super.close();
  }
}
