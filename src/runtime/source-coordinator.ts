// Runs a source's split enumerator (once per job) and relays splits to the parallel readers,
// which may live in this thread or in others (through a ReaderGateway). On restore, the
// enumerator starts from the splits it had not assigned plus those its readers held.

import { WeirError } from "../core/errors.ts";
import type { Source, SplitEnumerator } from "../core/source.ts";

export interface ReaderGateway {
  addSplits(subtask: number, splits: unknown[]): void;
  noMoreSplits(subtask: number): void;
}

/** Restored source state: the enumerator's unassigned splits and the readers' splits. */
export interface SourceRestore {
  enumeratorSplits: unknown[];
  readerSplits: unknown[];
  /** Ids (JSON) of splits readers had received: not to be assigned again. */
  receivedIds: Set<string>;
}

export class SourceCoordinator {
  private enumerator: SplitEnumerator<unknown> | undefined;

  constructor(
    readonly sourceName: string,
    readonly sourceUid: string,
    private readonly source: Source<unknown, unknown>,
    readonly parallelism: number,
    private readonly gateway: ReaderGateway,
    private readonly restore?: SourceRestore,
  ) {}

  async start(): Promise<void> {
    const gateway = this.gateway;
    const ctx = {
      parallelism: this.parallelism,
      assignSplit: (split: unknown, subtask: number) => gateway.addSplits(subtask, [split]),
      signalNoMoreSplits: (subtask: number) => gateway.noMoreSplits(subtask),
    };
    if (this.restore === undefined) {
      this.enumerator = this.source.createEnumerator(ctx);
    } else {
      if (this.source.restoreEnumerator === undefined) {
        throw new WeirError(
          "INVALID_JOB",
          `source '${this.sourceName}' (uid ${this.sourceUid}) cannot be restored from a checkpoint: it has no restoreEnumerator()`,
        );
      }
      const { enumeratorSplits, readerSplits, receivedIds } = this.restore;
      const unassigned = enumeratorSplits.filter((s) => !receivedIds.has(JSON.stringify(s)));
      this.enumerator = this.source.restoreEnumerator(ctx, [...readerSplits, ...unassigned]);
    }
    await this.enumerator.start();
  }

  registerReader(subtask: number): void {
    this.enumerator!.addReader(subtask);
  }

  handleSplitRequest(subtask: number): void {
    this.enumerator!.handleSplitRequest(subtask);
  }

  snapshotState(checkpointId: number): unknown[] {
    const e = this.enumerator!;
    if (e.snapshotState === undefined) {
      throw new WeirError(
        "INVALID_JOB",
        `the split enumerator of source '${this.sourceName}' cannot be checkpointed: it has no snapshotState()`,
      );
    }
    return e.snapshotState(checkpointId);
  }

  async close(): Promise<void> {
    await this.enumerator?.close();
  }
}
