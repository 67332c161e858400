// A generic write-ahead-log sink (Flink's GenericWriteAheadSink): the records of one checkpoint
// interval are staged IN THE CHECKPOINT (the committable holds the values), and once the
// checkpoint is complete they are handed to a user sender under a transaction id derived from
// job, operator uid, run, subtask and checkpoint id. The sender must write them idempotently per
// transaction id (a transactional write together with a row in a committed-checkpoints table, or
// an idempotent keyed write): then every record reaches the external system exactly once, also
// when a commit is repeated after a restart.

import { InvalidArgumentError } from "../../core/errors.ts";
import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../core/sink.ts";
import { FINAL_CHECKPOINT_ID } from "../../runtime/snapshot.ts";

/** The values of one checkpoint interval of one subtask: the write-ahead sink's committable. */
export interface WriteAheadTransaction<T> {
  /** Unique per job run, operator, subtask and checkpoint; the same when the commit is repeated. */
  transactionId: string;
  /** The checkpoint the values belong to; FINAL_CHECKPOINT_ID (Number.MAX_SAFE_INTEGER) at end of input. */
  checkpointId: number;
  /** The subtask that wrote them. */
  subtask: number;
  values: T[];
}

/** Writes one checkpoint's values to the external system, idempotently per transaction id. */
export interface WriteAheadSender<T> {
  /**
   * Write `values` (the records of `checkpointId` from `subtask`). May be called again with the
   * same transaction id after a restart, and concurrently from another subtask after a restore
   * at another parallelism: it must write them once, e.g. in one database transaction that also
   * inserts `transactionId` into a committed-checkpoints table and skips an id already there.
   */
  sendValues(values: T[], checkpointId: number, subtask: number, transactionId: string): void | Promise<void>;
  /** Release connections; called when the sink's operator closes. */
  close?(): void | Promise<void>;
}

export type WriteAheadSinkOptions<T> =
  | WriteAheadSender<T>
  | {
      /** One sender per subtask (e.g. a database connection), created when the operator opens. */
      createSender(ctx: SinkWriterContext): WriteAheadSender<T>;
    };

/** The transaction id of a subtask's values of one checkpoint: stable, so a repeated commit finds it. */
export function writeAheadTransactionId(ctx: SinkWriterContext, checkpointId: number): string {
  const rt = ctx.runtime;
  const chk = checkpointId === FINAL_CHECKPOINT_ID ? "final" : String(checkpointId);
  return `${rt.jobName}/${rt.operatorUid}/${rt.jobId}/${ctx.subtaskIndex}/${chk}`;
}

/**
 * A sink that writes each checkpoint's records after the checkpoint completed. Values are held
 * in memory and in the checkpoint until then (one interval's worth), so output appears once per
 * checkpoint (and at the end of the job). Exactly-once when the sender's write is idempotent per
 * transaction id; with a sender that is not, at-least-once.
 */
export class WriteAheadSink<T> implements TwoPhaseCommittingSink<T, WriteAheadTransaction<T>> {
  private readonly senderFor: (ctx: SinkWriterContext) => WriteAheadSender<T>;
  /** Senders made by createSender are closed with their operator; a plain sender is the caller's. */
  private readonly ownsSenders: boolean;

  constructor(options: WriteAheadSinkOptions<T>) {
    if (typeof (options as { createSender?: unknown })?.createSender === "function") {
      const o = options as { createSender(ctx: SinkWriterContext): WriteAheadSender<T> };
      this.senderFor = (ctx) => o.createSender(ctx);
      this.ownsSenders = true;
    } else if (typeof (options as { sendValues?: unknown })?.sendValues === "function") {
      const sender = options as WriteAheadSender<T>;
      this.senderFor = () => sender;
      this.ownsSenders = false;
    } else {
      throw new InvalidArgumentError(
        "WriteAheadSink needs { sendValues(values, checkpointId, subtask, transactionId) } or { createSender(ctx) }",
      );
    }
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, WriteAheadTransaction<T>> {
    let values: T[] = [];
    return {
      write(value: T): void {
        values.push(value);
      },
      prepareCommit(checkpointId: number): WriteAheadTransaction<T>[] {
        if (values.length === 0) return [];
        const t: WriteAheadTransaction<T> = {
          transactionId: writeAheadTransactionId(ctx, checkpointId),
          checkpointId,
          subtask: ctx.subtaskIndex,
          values,
        };
        values = [];
        return [t];
      },
    };
  }

  createCommitter(ctx: SinkWriterContext): Committer<WriteAheadTransaction<T>> {
    let sender: WriteAheadSender<T> | undefined;
    const senderFor = this.senderFor;
    const owned = this.ownsSenders;
    return {
      commit(transactions: WriteAheadTransaction<T>[]): void | Promise<void> {
        let chain: Promise<void> | undefined;
        for (const t of transactions) {
          // After a restore every new subtask gets every old subtask's transactions: each is
          // sent by one of them (the sender is idempotent anyway; this saves the repeated work).
          if (t.subtask % ctx.parallelism !== ctx.subtaskIndex) continue;
          sender ??= senderFor(ctx);
          const s = sender;
          if (chain !== undefined) {
            chain = chain.then(() => s.sendValues(t.values, t.checkpointId, t.subtask, t.transactionId));
            continue;
          }
          const r = s.sendValues(t.values, t.checkpointId, t.subtask, t.transactionId);
          if (r !== undefined && typeof (r as Promise<void>).then === "function") chain = Promise.resolve(r);
        }
        return chain;
      },
      async close(): Promise<void> {
        const s = sender;
        sender = undefined;
        if (owned) await s?.close?.();
      },
    };
  }
}
