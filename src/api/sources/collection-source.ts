// fromElements / fromCollection: the elements are part of the job itself (every thread that
// builds the job has them), so a split is just an index range. Non-parallel, as in Flink.

import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from "../../core/source.ts";
import type { TypeInformation } from "../../core/types/type-info.ts";
import type { IndexedLoop, IndexedRecords } from "../../runtime/fused-source-loop.ts";
import { SplitQueueReader, StaticSplitEnumerator } from "./split-queue.ts";

type Range = { from: number; to: number };

export class CollectionSource<T> implements Source<T, Range> {
  readonly boundedness = "bounded" as const;
  readonly maxParallelism = 1;

  constructor(
    private readonly elements: readonly T[],
    readonly type: TypeInformation<T> | undefined,
  ) {}

  createEnumerator(ctx: SplitEnumeratorContext<Range>) {
    return new StaticSplitEnumerator(ctx, [{ from: 0, to: this.elements.length }]);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<Range>, splits: Range[]) {
    return new StaticSplitEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext) {
    return new CollectionReader(ctx, this.elements);
  }
}

/** One class for every job (not one per createReader call): its call sites stay monomorphic. */
class CollectionReader<T> extends SplitQueueReader<T, Range> {
  private pos = 0;
  private end = 0;
  constructor(
    ctx: SourceReaderContext,
    private readonly elements: readonly T[],
  ) {
    super(ctx);
  }
  protected openSplit(split: Range): void {
    this.pos = split.from;
    this.end = split.to;
  }
  protected override currentProgress(): Range {
    return { from: this.pos, to: this.end };
  }
  protected readSplit(output: ReaderOutput<T>): boolean {
    const elements = this.elements;
    const stop = Math.min(this.end, this.pos + this.recordsPerPoll);
    for (; this.pos < stop; this.pos++) output.collect(elements[this.pos]!);
    return this.pos >= this.end;
  }
  protected override indexedRecords(): IndexedRecords<T> {
    return { kind: "element", elements: this.elements };
  }
  protected override readSplitFused(loop: IndexedLoop, output: ReaderOutput<T>): boolean {
    const count = Math.min(this.recordsPerPoll, this.end - this.pos);
    loop(output, this.pos, 1, count);
    this.pos += count;
    return this.pos >= this.end;
  }
}
