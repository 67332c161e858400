// The idempotent upsert sink pattern: each subtask buffers records by key (the last write for a
// key wins within a checkpoint interval) and flushes the buffer through a user `upsert(rows)` at
// every checkpoint barrier and at the end of input. Delivery is at-least-once (after a restart the
// records since the last checkpoint are written again), but because every write is a keyed upsert
// the external table converges to exactly the result of a run without failures.

import { InvalidArgumentError } from "../../core/errors.ts";
import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../core/sink.ts";
import { FINAL_CHECKPOINT_ID } from "../../runtime/snapshot.ts";

/** Writes rows to the external system as keyed upserts (insert, or replace the row with that key). */
export interface UpsertTarget<T> {
  upsert(rows: T[]): void | Promise<void>;
  /** Release connections; called when the sink's operator closes. */
  close?(): void | Promise<void>;
}

export interface UpsertSinkOptions<T> {
  /**
   * The key of a record: a later record with the same key replaces an earlier one. Strings,
   * numbers and booleans compare by value; other keys compare by their JSON text.
   */
  key: (value: T) => unknown;
  /** Write a batch of rows with distinct keys (use this, or createTarget). */
  upsert?: (rows: T[], subtask: number) => void | Promise<void>;
  /** One target per subtask (e.g. a database connection), created on its first write. */
  createTarget?: (ctx: SinkWriterContext) => UpsertTarget<T>;
  /**
   * Only without checkpoints: flush as soon as this many keys are buffered (default 1000). With
   * checkpoints the buffer is flushed at every barrier and holds one row per key at most.
   */
  maxBufferedRows?: number;
}

/** The rows one subtask flushed at one barrier; kept in the checkpoint until the flush is durable. */
export interface UpsertBatch<T> {
  batchId: string;
  /** The subtask that wrote them (after a restore, subtask `subtask % parallelism` re-writes them). */
  subtask: number;
  rows: T[];
}

function mapKey(k: unknown): unknown {
  const t = typeof k;
  return t === "string" || t === "number" || t === "boolean" || t === "bigint" || k == null
    ? k
    : JSON.stringify(k);
}

/** The writer and committer of one subtask share its target and its queue of flushes. */
class SubtaskChannel<T> {
  private target: UpsertTarget<T> | undefined;
  /** Flushes run one after another; after a failure, later ones fail with it. */
  private tail: Promise<void> = Promise.resolve();
  readonly flushes = new Map<string, Promise<void>>();
  failure: unknown;
  refs = 0;

  constructor(private readonly create: () => UpsertTarget<T>) {}

  enqueue(rows: T[]): Promise<void> {
    const p = this.tail.then(() => {
      this.target ??= this.create();
      return this.target.upsert(rows);
    });
    this.tail = p;
    p.catch((e: unknown) => {
      this.failure ??= e;
    });
    return p;
  }

  async close(): Promise<void> {
    await this.tail.catch(() => {});
    const t = this.target;
    this.target = undefined;
    await t?.close?.();
  }
}

/**
 * An at-least-once sink that converges to exactly-once results: keyed upserts, buffered per
 * checkpoint interval and flushed at the barrier. The flushed rows are also kept in the checkpoint
 * until the flush is confirmed, so a checkpoint never completes while its rows could be lost.
 */
export class UpsertSink<T> implements TwoPhaseCommittingSink<T, UpsertBatch<T>> {
  private readonly keyOf: (value: T) => unknown;
  private readonly targetFor: (ctx: SinkWriterContext) => UpsertTarget<T>;
  private readonly maxBufferedRows: number;
  private readonly channels = new Map<string, SubtaskChannel<T>>();

  constructor(options: UpsertSinkOptions<T>) {
    if (typeof options?.key !== "function")
      throw new InvalidArgumentError("UpsertSink needs key: (record) => key");
    const { upsert, createTarget } = options;
    if (typeof createTarget === "function") this.targetFor = createTarget;
    else if (typeof upsert === "function")
      this.targetFor = (ctx) => ({ upsert: (rows) => upsert(rows, ctx.subtaskIndex) });
    else throw new InvalidArgumentError("UpsertSink needs upsert(rows, subtask) or createTarget(ctx)");
    const max = options.maxBufferedRows ?? 1000;
    if (!(Number.isInteger(max) && max > 0))
      throw new InvalidArgumentError(`UpsertSink: maxBufferedRows must be a positive integer, got ${max}`);
    this.keyOf = options.key;
    this.maxBufferedRows = max;
  }

  private channel(ctx: SinkWriterContext): SubtaskChannel<T> {
    const id = `${ctx.runtime.jobId}/${ctx.attemptTag ?? "run"}/${ctx.subtaskIndex}`;
    let c = this.channels.get(id);
    if (c === undefined) {
      c = new SubtaskChannel(() => this.targetFor(ctx));
      this.channels.set(id, c);
    }
    c.refs++;
    return c;
  }

  private async release(ctx: SinkWriterContext, c: SubtaskChannel<T>): Promise<void> {
    if (--c.refs > 0) return;
    this.channels.delete(`${ctx.runtime.jobId}/${ctx.attemptTag ?? "run"}/${ctx.subtaskIndex}`);
    await c.close();
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, UpsertBatch<T>> {
    const channel = this.channel(ctx);
    const keyOf = this.keyOf;
    const max = this.maxBufferedRows;
    const early = ctx.checkpointing !== true;
    let buffer = new Map<unknown, T>();
    let closed = false;
    const take = (): T[] => {
      const rows = [...buffer.values()];
      buffer = new Map();
      return rows;
    };
    return {
      write(value: T): void {
        if (channel.failure !== undefined) throw channel.failure;
        buffer.set(mapKey(keyOf(value)), value);
        if (early && buffer.size >= max) void channel.enqueue(take()).catch(() => {});
      },
      prepareCommit(checkpointId: number): UpsertBatch<T>[] {
        if (buffer.size === 0) return [];
        const rows = take();
        const chk = checkpointId === FINAL_CHECKPOINT_ID ? "final" : String(checkpointId);
        const batchId = `${ctx.attemptTag ?? "run"}/${ctx.subtaskIndex}/${chk}`;
        // The write starts now; the committer waits for it when the checkpoint completes.
        channel.flushes.set(batchId, channel.enqueue(rows));
        return [{ batchId, subtask: ctx.subtaskIndex, rows }];
      },
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await this.release(ctx, channel);
      },
    };
  }

  createCommitter(ctx: SinkWriterContext): Committer<UpsertBatch<T>> {
    const channel = this.channel(ctx);
    let closed = false;
    return {
      commit(batches: UpsertBatch<T>[]): Promise<void> {
        const waits: Promise<void>[] = [];
        for (const b of batches) {
          const running = channel.flushes.get(b.batchId);
          if (running !== undefined) {
            channel.flushes.delete(b.batchId);
            waits.push(running);
          } else if (b.subtask % ctx.parallelism === ctx.subtaskIndex) {
            // Restored from a checkpoint: write the rows again (one new subtask per old one).
            waits.push(channel.enqueue(b.rows));
          }
        }
        return Promise.all(waits).then(() => {});
      },
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await this.release(ctx, channel);
      },
    };
  }
}
