// A source that wraps any other (a built-in one) and pauses each of its readers between polls once
// `pauseAfter` records have been counted, until the test releases it: a savepoint taken meanwhile
// falls at a known place mid-stream, without timing. Everything else (splits, progress, restore)
// is the wrapped source's own, so a restore exercises the wrapped reader's checkpointed position.
//
// What counts: given `seen`, a count the job keeps at its sink's input (its last map before it: see
// countingMap), all readers together; the readers' outputs then pass through untouched, so a
// chain of maps and filters into a sink still runs as the task's generated record loop
// (runtime/fused-source-loop.ts). Without it, each reader counts what it emits by wrapping its
// output, which turns that loop off (a keyed job, whose sink sees no record per input, needs this).

import assert from "node:assert/strict";
import {
  InputStatus,
  type ManagedJobClient,
  JobCancelledError,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumeratorContext,
} from "../../src/index.ts";

export class PausableSource<T, S> implements Source<T, S> {
  /** Readers paused now. */
  paused = 0;
  private released = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly inner: Source<T, S>,
    /** Records counted before the readers pause (Infinity: never). */
    readonly pauseAfter: number,
    /** The job's own count (see countingMap); undefined: each reader counts what it emits. */
    private readonly seen?: () => number,
  ) {}

  get boundedness() {
    return this.inner.boundedness;
  }
  get type() {
    return this.inner.type;
  }
  get maxParallelism() {
    return this.inner.maxParallelism;
  }

  release(): void {
    this.released = true;
    for (const w of this.waiters.splice(0)) w();
  }

  createEnumerator(ctx: SplitEnumeratorContext<S>) {
    return this.inner.createEnumerator(ctx);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<S>, splits: S[]) {
    return this.inner.restoreEnumerator!(ctx, splits);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, S> {
    const reader = this.inner.createReader(ctx);
    const seen = this.seen;
    let emitted = 0;
    let pausedHere = false;
    /** The last poll returned NOTHING_AVAILABLE because of the pause (not the wrapped reader). */
    let gated = false;
    const counting = (out: ReaderOutput<T>): ReaderOutput<T> => ({
      collect: (v, ts) => {
        emitted++;
        out.collect(v, ts);
      },
      createOutputForSplit: (id) => counting(out.createOutputForSplit(id)),
      releaseOutputForSplit: (id) => out.releaseOutputForSplit(id),
    });
    const outputs = new WeakMap<ReaderOutput<T>, ReaderOutput<T>>();
    return {
      start: () => reader.start(),
      pollNext: (output) => {
        if (!this.released && (seen !== undefined ? seen() : emitted) >= this.pauseAfter) {
          if (!pausedHere) {
            pausedHere = true;
            this.paused++;
          }
          gated = true;
          return InputStatus.NOTHING_AVAILABLE;
        }
        gated = false;
        if (seen !== undefined) return reader.pollNext(output);
        let wrapped = outputs.get(output);
        if (wrapped === undefined) outputs.set(output, (wrapped = counting(output)));
        return reader.pollNext(wrapped);
      },
      isAvailable: () => {
        if (!gated) return reader.isAvailable();
        return this.released ? Promise.resolve() : new Promise<void>((r) => this.waiters.push(r));
      },
      addSplits: (splits) => reader.addSplits(splits),
      notifyNoMoreSplits: () => reader.notifyNoMoreSplits(),
      snapshotState: (id) => reader.snapshotState!(id),
      close: () => reader.close(),
    };
  }
}

/**
 * A count for PausableSource's `seen`, kept by a map function: `fn` that also counts its calls.
 * Used as the job's last map before its sink, it counts what the sink gets.
 */
export function countingMap<T, R>(
  fn: (value: T) => R,
): { readonly seen: () => number; readonly map: (value: T) => R } {
  let n = 0;
  return {
    seen: () => n,
    map: (value: T) => {
      n++;
      return fn(value);
    },
  };
}

export async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Stop the job with a savepoint; if that fails, cancel it (a test must not leave a job running). */
export async function stopWithSavepoint(client: ManagedJobClient, targetDir: string): Promise<string> {
  let savepoint: string;
  try {
    savepoint = await client.stopWithSavepoint(targetDir);
  } catch (e) {
    await client.cancel().catch(() => {});
    throw e;
  }
  await assert.rejects(client.wait(), JobCancelledError);
  return savepoint;
}
