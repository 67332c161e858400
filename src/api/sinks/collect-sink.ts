// collect(): the records come back to the caller of execute(), for tests and small results.
// Without checkpoints, values are handed over as they come. With checkpoints, collect is a
// two-phase-commit sink: values are handed over when the checkpoint that covers them completes
// (and at the end of the job), each batch under a transaction id the receiver deduplicates, so
// the collected values are exactly-once across restarts.

import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../core/sink.ts";
import { publishCollected } from "../../runtime/collect-registry.ts";

const BATCH = 1024;

interface CollectTransaction {
  job: string;
  uid: string;
  subtask: number;
  txn: string;
  values: unknown[];
}

export class CollectSink<T> implements TwoPhaseCommittingSink<T, CollectTransaction> {
  /** Set by the API once the sink has its operator uid. */
  uid = "";

  /** `batchSize`: values handed over at a time without checkpoints (1: each as it comes). */
  constructor(private readonly batchSize = BATCH) {}

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, CollectTransaction> {
    let batch: unknown[] = [];
    const { jobId } = ctx.runtime;
    const uid = this.uid;
    const batchSize = this.batchSize;
    const transactional = ctx.checkpointing === true;
    const publish = () => {
      if (batch.length === 0 || transactional) return;
      publishCollected(jobId, uid, ctx.subtaskIndex, batch, undefined);
      batch = [];
    };
    return {
      write(value: T): void {
        batch.push(value);
        if (batch.length >= batchSize) publish();
      },
      prepareCommit(checkpointId: number): CollectTransaction[] {
        if (!transactional || batch.length === 0) return [];
        const txn = `${uid}/${ctx.subtaskIndex}/${ctx.attemptTag}/${checkpointId}`;
        const t = { job: jobId, uid, subtask: ctx.subtaskIndex, txn, values: batch };
        batch = [];
        return [t];
      },
      finish: publish,
      close: publish,
    };
  }

  createCommitter(ctx: SinkWriterContext): Committer<CollectTransaction> {
    const { jobId } = ctx.runtime;
    return {
      commit(transactions: CollectTransaction[]): void {
        for (const t of transactions) {
          // Restored from another job's savepoint: that job's caller already has these values.
          if (t.job !== jobId) continue;
          publishCollected(jobId, t.uid, t.subtask, t.values, t.txn);
        }
      },
    };
  }
}
