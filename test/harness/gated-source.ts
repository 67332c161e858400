// A gate around any source, for tests that stop or snapshot a bounded job mid-stream: once the
// readers have emitted `limit` records in all, they stop emitting (NOTHING_AVAILABLE, never
// END_OF_INPUT) until the test opens the gate. A test waits for `whenClosed()`, then takes its
// savepoint: the job is still running and no source has finished, however slow the machine.
// Splits, progress and restore are the wrapped source's own; the gate is shared by every reader
// of one run, so the job must run in this thread (the default environment does).

import {
  InputStatus,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
} from "../../src/index.ts";

export class SourceGate {
  /** Records let through so far, over all readers. */
  passed = 0;
  private waiters: Array<() => void> = [];

  /**
   * `limit`: records to let through before holding. A reader checks the gate before each poll and
   * a poll may emit a small batch, so `passed` can end a batch beyond it: keep `limit` well below
   * what one reader has to read, or a reader may reach its end.
   */
  constructor(public limit: number) {}

  get closed(): boolean {
    return this.passed >= this.limit;
  }

  /** Let readers on up to `limit` records in all (Infinity: to the end). */
  open(limit = Number.POSITIVE_INFINITY): void {
    this.limit = limit;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once the gate holds its readers; rejects after a generous deadline. */
  whenClosed(deadlineMs = 120_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closed) resolve();
        else if (Date.now() > deadline)
          reject(
            new Error(
              `timed out after ${deadlineMs} ms waiting for the source to pass ${this.limit} records (passed ${this.passed})`,
            ),
          );
        else setTimeout(check, 5);
      };
      check();
    });
  }

  /** @internal Resolves when the gate is opened further. */
  reopened(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** `inner`, except that its readers stop emitting (without ending) while `gate` is closed. */
export function gatedSource<T, S>(inner: Source<T, S>, gate: SourceGate): Source<T, S> {
  return {
    boundedness: inner.boundedness,
    type: inner.type,
    maxParallelism: inner.maxParallelism,
    createEnumerator: (ctx) => inner.createEnumerator(ctx),
    restoreEnumerator: inner.restoreEnumerator?.bind(inner),
    createReader(ctx: SourceReaderContext): SourceReader<T, S> {
      const reader = inner.createReader(ctx);
      const outputs = new WeakMap<ReaderOutput<T>, ReaderOutput<T>>();
      return {
        start: () => reader.start(),
        pollNext(output: ReaderOutput<T>): InputStatus {
          if (gate.closed) return InputStatus.NOTHING_AVAILABLE;
          let counted = outputs.get(output);
          if (counted === undefined) {
            counted = counting(output, gate);
            outputs.set(output, counted);
          }
          return reader.pollNext(counted);
        },
        isAvailable: () => (gate.closed ? gate.reopened() : reader.isAvailable()),
        addSplits: (splits) => reader.addSplits(splits),
        notifyNoMoreSplits: () => reader.notifyNoMoreSplits(),
        snapshotState: reader.snapshotState?.bind(reader),
        notifyCheckpointComplete: reader.notifyCheckpointComplete?.bind(reader),
        close: () => reader.close(),
      };
    },
  };
}

function counting<T>(output: ReaderOutput<T>, gate: SourceGate): ReaderOutput<T> {
  return {
    collect(value, timestamp) {
      gate.passed++;
      output.collect(value, timestamp);
    },
    createOutputForSplit: (id) => counting(output.createOutputForSplit(id), gate),
    releaseOutputForSplit: (id) => output.releaseOutputForSplit(id),
  };
}
