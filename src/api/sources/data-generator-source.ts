// DataGeneratorSource: records made by a function of their index, optionally rate-limited and
// optionally unbounded (runs until cancelled). Index i is generated exactly once across readers.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from "../../core/source.ts";
import type { TypeInformation } from "../../core/types/type-info.ts";
import type { IndexedLoop, IndexedRecords } from "../../runtime/fused-source-loop.ts";
import { SplitQueueReader, StaticSplitEnumerator } from "./split-queue.ts";

/** Indices start, start + stride, start + 2·stride, ... below `end`. */
type Split = { start: number; stride: number; end: number };

export interface DataGeneratorOptions<T> {
  /** Number of records; Infinity (the default) for an unbounded source. */
  count?: number;
  /** Records per second over all readers; unlimited when absent. */
  recordsPerSecond?: number;
  type?: TypeInformation<T>;
}

export class DataGeneratorSource<T> implements Source<T, Split> {
  readonly boundedness: "bounded" | "unbounded";
  readonly type: TypeInformation<T> | undefined;
  private readonly count: number;
  private readonly rate: number;

  constructor(
    private readonly generator: (index: number) => T,
    options: DataGeneratorOptions<T> = {},
  ) {
    if (typeof generator !== "function") {
      throw new InvalidArgumentError("DataGeneratorSource needs a function (index) => record");
    }
    this.count = options.count ?? Number.POSITIVE_INFINITY;
    this.rate = options.recordsPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(this.count >= 0) || (Number.isFinite(this.count) && !Number.isSafeInteger(this.count))) {
      throw new InvalidArgumentError(
        `DataGeneratorSource count must be a non-negative integer or Infinity, got ${options.count}`,
      );
    }
    if (!(this.rate > 0)) {
      throw new InvalidArgumentError(
        `DataGeneratorSource recordsPerSecond must be > 0, got ${options.recordsPerSecond}`,
      );
    }
    this.boundedness = Number.isFinite(this.count) ? "bounded" : "unbounded";
    this.type = options.type;
  }

  createEnumerator(ctx: SplitEnumeratorContext<Split>) {
    const p = ctx.parallelism;
    const splits: Split[] = [];
    for (let i = 0; i < p; i++) splits.push({ start: i, stride: p, end: this.count });
    return new StaticSplitEnumerator(ctx, splits);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<Split>, splits: Split[]) {
    return new StaticSplitEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext) {
    return new DataGeneratorReader(ctx, this.generator, this.rate / ctx.parallelism);
  }
}

/** One class for every job (not one per createReader call): its call sites stay monomorphic. */
class DataGeneratorReader<T> extends SplitQueueReader<T, Split> {
  private next = 0;
  private stride = 1;
  private end = 0;
  private emitted = 0;
  private startedAt = 0;
  constructor(
    ctx: SourceReaderContext,
    private readonly generator: (index: number) => T,
    private readonly ratePerReader: number,
  ) {
    super(ctx);
  }
  protected openSplit(split: Split): void {
    this.next = split.start;
    this.stride = split.stride;
    this.end = split.end;
    this.startedAt = performance.now();
  }
  protected override currentProgress(): Split {
    return { start: this.next, stride: this.stride, end: this.end };
  }
  protected override throttle(): number {
    const rate = this.ratePerReader;
    if (rate === Number.POSITIVE_INFINITY) return 0;
    const due = (this.emitted / rate) * 1000;
    const elapsed = performance.now() - this.startedAt;
    return due > elapsed ? Math.max(1, Math.ceil(due - elapsed)) : 0;
  }
  /** Records this poll may emit: the poll size, less under a rate limit. */
  private pollSize(): number {
    const rate = this.ratePerReader;
    const n = this.recordsPerPoll;
    if (rate === Number.POSITIVE_INFINITY) return n;
    const allowed = Math.floor(((performance.now() - this.startedAt) / 1000) * rate) - this.emitted;
    return Math.max(1, Math.min(n, allowed));
  }
  protected readSplit(output: ReaderOutput<T>): boolean {
    const generator = this.generator;
    const n = this.pollSize();
    for (let i = 0; i < n && this.next < this.end; i++) {
      output.collect(generator(this.next));
      this.next += this.stride;
      this.emitted++;
    }
    return this.next >= this.end;
  }
  protected override indexedRecords(): IndexedRecords<T> {
    return { kind: "generated", generator: this.generator };
  }
  protected override readSplitFused(loop: IndexedLoop, output: ReaderOutput<T>): boolean {
    const left = Math.ceil((this.end - this.next) / this.stride);
    const count = Math.max(0, Math.min(this.pollSize(), left));
    loop(output, this.next, this.stride, count);
    this.next += count * this.stride;
    this.emitted += count;
    return this.next >= this.end;
  }
}
