// fromSequence(from, to): every integer in [from, to], split into ranges across parallel readers.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from "../../core/source.ts";
import { Types } from "../../core/types/types.ts";
import type { IndexedLoop, IndexedRecords } from "../../runtime/fused-source-loop.ts";
import { SplitQueueReader, StaticSplitEnumerator } from "./split-queue.ts";

type Range = { from: number; to: number };

export class NumberSequenceSource implements Source<number, Range> {
  readonly boundedness = "bounded" as const;
  readonly type = Types.NUMBER;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
      throw new InvalidArgumentError(
        `fromSequence(${from}, ${to}): both ends must be safe integers with from <= to`,
      );
    }
  }

  createEnumerator(ctx: SplitEnumeratorContext<Range>) {
    // A few splits per reader, so that a fast reader can take over work from a slow one.
    const n = this.to - this.from + 1;
    const count = Math.max(1, Math.min(n, ctx.parallelism * 4));
    const splits: Range[] = [];
    for (let i = 0; i < count; i++) {
      const a = this.from + Math.floor((n * i) / count);
      const b = this.from + Math.floor((n * (i + 1)) / count) - 1;
      if (b >= a) splits.push({ from: a, to: b });
    }
    return new StaticSplitEnumerator(ctx, splits);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<Range>, splits: Range[]) {
    return new StaticSplitEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext) {
    return new NumberSequenceReader(ctx);
  }
}

const INDEX: IndexedRecords<number> = { kind: "index" };

/** One class for every job (not one per createReader call): its call sites stay monomorphic. */
class NumberSequenceReader extends SplitQueueReader<number, Range> {
  private next = 0;
  private last = 0;
  protected openSplit(split: Range): void {
    this.next = split.from;
    this.last = split.to;
  }
  protected override currentProgress(): Range {
    return { from: this.next, to: this.last };
  }
  protected readSplit(output: ReaderOutput<number>): boolean {
    const stop = Math.min(this.last, this.next + this.recordsPerPoll - 1);
    for (; this.next <= stop; this.next++) output.collect(this.next);
    return this.next > this.last;
  }
  protected override indexedRecords(): IndexedRecords<number> {
    return INDEX;
  }
  protected override readSplitFused(loop: IndexedLoop, output: ReaderOutput<number>): boolean {
    const count = Math.min(this.recordsPerPoll, this.last - this.next + 1);
    loop(output, this.next, 1, count);
    this.next += count;
    return this.next > this.last;
  }
}
