// Nexmark sources: the generator as a parallel, splittable Source, and a JSON-lines events file.
//
// NexmarkSource splits = event-number ranges. A bounded stream (numEvents > 0) is cut by splitRange into
// a few ranges per reader, handed out first come first served; an unbounded one (numEvents = 0) hands
// out ranges of SPLIT_EVENTS on request, forever. Event n is a pure function of (config, n), so the
// events of a run are those of generateRange(config, 0, numEvents) whatever the parallelism and
// whichever reader reads which range (only their interleaving differs). Every event is emitted with
// its event time (its dateTime) as the record timestamp.
//
// With several event-time timelines (config.timelines = T, a bounded stream only), reader k reads
// timeline k alone, cut into a few ranges read in order, as each instance of Flink's generator reads
// its own split: a reader reading two timelines one after the other would make the second one late.
// So T must not exceed the source's parallelism.
//
// Checkpoints: a reader's state is its split cut at the next event to read ({ from: next, to }); the
// bounded enumerator's the ranges it has not handed out; the unbounded one's the ranges given back plus
// an open range { from: next, to: MAX_EVENT_NUMBER, open: true } standing for the rest of the stream.
// Restored, every range is read again from where it stopped, so each event is emitted exactly once
// between the checkpoint and the restored run.

import { readFileSync } from "node:fs";
import {
  InputStatus,
  InvalidArgumentError,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
  SplitQueueReader,
  StaticSplitEnumerator,
  TextFileSource,
  type FileSplit,
} from "../../index.ts";
import {
  MAX_EVENT_NUMBER,
  type NexmarkConfig,
  TIMELINE_BLOCK_EVENTS,
  nexmarkConfig,
  timelineBlockEvents,
  timelineOf,
} from "./config.ts";
import { forEachEvent, splitRange } from "./generator.ts";
import {
  eventFromJson,
  type NexmarkEvent,
  NexmarkFormatError,
  type TimestampedNexmarkEvent,
} from "./model.ts";
import { NEXMARK_EVENT_TYPE } from "./types.ts";

/** Event numbers [from, to) of the stream. */
export interface NexmarkSplit {
  from: number;
  to: number;
  /** Only in an unbounded enumerator's checkpoint: the stream from `from` on, not yet cut into ranges. */
  open?: true;
}

/** Called by each reader now and then with the number of events it has emitted so far (for progress). */
export type NexmarkProgressListener = (subtask: number, eventsEmitted: number) => void;

export interface NexmarkSourceOptions {
  /** Splits per reader of a bounded stream (default 4). */
  splitsPerReader?: number;
  /** Reports each reader's emitted-event count when it starts (0), about every 65,536 events, and at its end. */
  onProgress?: NexmarkProgressListener;
}

/** Events per split of an unbounded stream: one block of a timeline. */
const SPLIT_EVENTS = TIMELINE_BLOCK_EVENTS;
/** Events emitted per pollNext (a bounded amount of work per mailbox step). */
const EVENTS_PER_POLL = 1024;
/** Readers report progress every this many events. */
const PROGRESS_EVERY = 1 << 16;

/** The Nexmark generator as a parallel source of NexmarkEvent records, timestamped with their dateTime. */
export class NexmarkSource implements Source<NexmarkEvent, NexmarkSplit> {
  readonly boundedness: "bounded" | "unbounded";
  readonly type = NEXMARK_EVENT_TYPE;
  readonly config: NexmarkConfig;
  private readonly splitsPerReader: number;
  private readonly onProgress: NexmarkProgressListener | undefined;

  /** `config`: a NexmarkConfig or overrides of the defaults (validated by nexmarkConfig). */
  constructor(config: Partial<NexmarkConfig> = {}, options: NexmarkSourceOptions = {}) {
    this.config = nexmarkConfig(config);
    this.boundedness = this.config.numEvents > 0 ? "bounded" : "unbounded";
    if (this.boundedness === "unbounded" && this.config.timelines > 1) {
      throw new InvalidArgumentError(
        `NexmarkSource reads several timelines (${this.config.timelines}) of a bounded stream only; set numEvents > 0 or timelines to 1`,
      );
    }
    const spr = options.splitsPerReader ?? 4;
    if (!Number.isSafeInteger(spr) || spr < 1) {
      throw new InvalidArgumentError(`NexmarkSource splitsPerReader must be an integer >= 1, got ${spr}`);
    }
    this.splitsPerReader = spr;
    this.onProgress = options.onProgress;
  }

  createEnumerator(ctx: SplitEnumeratorContext<NexmarkSplit>): SplitEnumerator<NexmarkSplit> {
    if (this.boundedness === "unbounded") return new UnboundedRangeEnumerator(ctx);
    if (this.config.timelines > 1) {
      return new TimelineEnumerator(
        ctx,
        this.config,
        boundedSplits(this.config, this.splitsPerReader).flat(),
      );
    }
    return new StaticSplitEnumerator(
      ctx,
      boundedSplits(this.config, ctx.parallelism * this.splitsPerReader)[0]!,
    );
  }

  /** Starts from a checkpoint: the ranges not handed out and the readers' ranges cut at their progress. */
  restoreEnumerator(
    ctx: SplitEnumeratorContext<NexmarkSplit>,
    splits: NexmarkSplit[],
  ): SplitEnumerator<NexmarkSplit> {
    // In event-number order: event time grows with the event number, so a reader that is handed
    // several restored ranges (a restore at a lower parallelism) reads them oldest first, and its
    // watermark does not run ahead of the ranges it has still to read.
    splits = [...splits].sort((a, b) => a.from - b.from);
    if (this.config.timelines > 1) return new TimelineEnumerator(ctx, this.config, splits);
    if (this.boundedness === "bounded") return new StaticSplitEnumerator(ctx, splits);
    const open = splits.find((s) => s.open === true);
    const restored = new UnboundedRangeEnumerator(ctx, open?.from ?? MAX_EVENT_NUMBER);
    restored.addSplitsBack(splits.filter((s) => s.open !== true));
    return restored;
  }

  createReader(ctx: SourceReaderContext): SourceReader<NexmarkEvent, NexmarkSplit> {
    return new NexmarkReader(ctx, this.config, this.onProgress);
  }
}

/** A bounded stream's ranges: `pieces` contiguous ranges per timeline, listed by timeline. */
function boundedSplits(config: NexmarkConfig, pieces: number): NexmarkSplit[][] {
  const block = timelineBlockEvents(config);
  const out: NexmarkSplit[][] = [];
  for (let k = 0; k < config.timelines; k++) {
    const start = Math.min(config.numEvents, k * block);
    const end = Math.min(config.numEvents, start + block);
    out.push(
      splitRange(end - start, pieces)
        .filter(([from, to]) => to > from)
        .map(([from, to]) => ({ from: start + from, to: start + to })),
    );
  }
  return out;
}

/** Several timelines: reader k is handed the ranges of timeline k, in event-number order. */
class TimelineEnumerator implements SplitEnumerator<NexmarkSplit> {
  private readonly pending: NexmarkSplit[][];

  constructor(
    private readonly ctx: SplitEnumeratorContext<NexmarkSplit>,
    private readonly config: NexmarkConfig,
    splits: NexmarkSplit[],
  ) {
    if (config.timelines > ctx.parallelism) {
      throw new InvalidArgumentError(
        `the Nexmark generator with ${config.timelines} timelines needs a source parallelism of at least ${config.timelines} (one reader per timeline), got ${ctx.parallelism}; lower timelines or raise the parallelism`,
      );
    }
    this.pending = Array.from({ length: config.timelines }, () => []);
    this.addSplitsBack(splits);
  }
  start(): void {}
  handleSplitRequest(subtask: number): void {
    const split = this.pending[subtask]?.shift();
    if (split === undefined) this.ctx.signalNoMoreSplits(subtask);
    else this.ctx.assignSplit(split, subtask);
  }
  addSplitsBack(splits: NexmarkSplit[]): void {
    for (const s of splits) {
      if (s.to > s.from) this.pending[timelineOf(this.config, s.from)]!.push({ from: s.from, to: s.to });
    }
    for (const list of this.pending) list.sort((a, b) => a.from - b.from);
  }
  snapshotState(): NexmarkSplit[] {
    return this.pending.flat();
  }
  addReader(): void {}
  close(): void {}
}

/** Hands out [k·SPLIT_EVENTS, (k+1)·SPLIT_EVENTS) ranges in order, one per request, without end. */
class UnboundedRangeEnumerator implements SplitEnumerator<NexmarkSplit> {
  /** Ranges a failed reader had not finished (or restored from a checkpoint), handed out again first. */
  private readonly returned: NexmarkSplit[] = [];
  constructor(
    private readonly ctx: SplitEnumeratorContext<NexmarkSplit>,
    /** First event number not yet in any range. */
    private next = 0,
  ) {}
  start(): void {}
  handleSplitRequest(subtask: number): void {
    const again = this.returned.shift();
    if (again !== undefined) {
      this.ctx.assignSplit(again, subtask);
      return;
    }
    if (this.next >= MAX_EVENT_NUMBER) {
      this.ctx.signalNoMoreSplits(subtask);
      return;
    }
    const to = Math.min(MAX_EVENT_NUMBER, this.next + SPLIT_EVENTS);
    this.ctx.assignSplit({ from: this.next, to }, subtask);
    this.next = to;
  }
  addSplitsBack(splits: NexmarkSplit[]): void {
    // Ranges are pure functions of the config, so any reader may read them again.
    for (const s of splits) if (s.to > s.from) this.returned.push({ from: s.from, to: s.to });
  }
  snapshotState(): NexmarkSplit[] {
    return [...this.returned, { from: this.next, to: MAX_EVENT_NUMBER, open: true }];
  }
  addReader(): void {}
  close(): void {}
}

class NexmarkReader extends SplitQueueReader<NexmarkEvent, NexmarkSplit> {
  private pos = 0;
  private end = 0;
  private emitted = 0;
  private nextReport = 0;
  private out: ReaderOutput<NexmarkEvent> | undefined;
  private readonly emit = (e: TimestampedNexmarkEvent): void => {
    this.out!.collect(e, e.timestamp);
  };

  constructor(
    ctx: SourceReaderContext,
    private readonly config: NexmarkConfig,
    private readonly onProgress: NexmarkProgressListener | undefined,
  ) {
    super(ctx);
  }

  protected openSplit(split: NexmarkSplit): void {
    this.pos = split.from;
    this.end = split.to;
  }

  protected override currentProgress(): NexmarkSplit {
    return { from: this.pos, to: this.end };
  }

  protected readSplit(output: ReaderOutput<NexmarkEvent>): boolean {
    if (this.onProgress !== undefined && this.emitted >= this.nextReport) {
      this.nextReport = this.emitted + PROGRESS_EVERY;
      this.onProgress(this.ctx.subtaskIndex, this.emitted);
    }
    const to = Math.min(this.end, this.pos + EVENTS_PER_POLL);
    this.out = output;
    forEachEvent(this.config, this.pos, to, this.emit);
    this.emitted += to - this.pos;
    this.pos = to;
    return this.pos >= this.end;
  }

  override pollNext(output: ReaderOutput<NexmarkEvent>): InputStatus {
    const status = super.pollNext(output);
    if (status === InputStatus.END_OF_INPUT) this.onProgress?.(this.ctx.subtaskIndex, this.emitted);
    return status;
  }
}

// ---- JSON lines ---------------------------------------------------------------------------------

/**
 * Nexmark events from a JSON-lines file (or a directory of them) as written by `eventToJson` /
 * `weir nexmark generate`: the API's TextFileSource cut into parallel byte-range splits, each line
 * parsed by eventFromJson and emitted with its dateTime as the record timestamp. Blank lines are
 * skipped. A malformed line fails the job with a NexmarkFormatError naming the file and line number.
 */
export class NexmarkJsonLinesSource implements Source<NexmarkEvent, FileSplit> {
  readonly boundedness = "bounded" as const;
  readonly type = NEXMARK_EVENT_TYPE;
  private readonly text: TextFileSource;

  constructor(
    path: string,
    private readonly options: { onProgress?: NexmarkProgressListener } = {},
  ) {
    this.text = new TextFileSource(path);
  }

  get path(): string {
    return this.text.path;
  }

  createEnumerator(ctx: SplitEnumeratorContext<FileSplit>): SplitEnumerator<FileSplit> {
    return this.text.createEnumerator(ctx);
  }

  /** Starts from a checkpoint: the byte ranges not handed out and the readers' ranges from their next line. */
  restoreEnumerator(ctx: SplitEnumeratorContext<FileSplit>, splits: FileSplit[]): SplitEnumerator<FileSplit> {
    return this.text.restoreEnumerator(ctx, splits);
  }

  createReader(ctx: SourceReaderContext): SourceReader<NexmarkEvent, FileSplit> {
    return new JsonLinesReader(this.text.createReader(ctx), ctx, this.options.onProgress);
  }
}

/** Wraps the text reader: every line it emits is parsed into an event before it goes downstream. */
class JsonLinesReader implements SourceReader<NexmarkEvent, FileSplit> {
  private downstream: ReaderOutput<NexmarkEvent> | undefined;
  private lines: ReaderOutput<string> | undefined;
  /** Files of the splits this reader was given (where a malformed line is looked for). */
  private readonly paths = new Set<string>();
  private emitted = 0;
  private nextReport = 0;

  constructor(
    private readonly inner: SourceReader<string, FileSplit>,
    private readonly ctx: SourceReaderContext,
    private readonly onProgress: NexmarkProgressListener | undefined,
  ) {}

  /** A line output over `out` (and over its per-split outputs, which the text reader asks for). */
  private parsing(out: ReaderOutput<NexmarkEvent>): ReaderOutput<string> {
    return {
      collect: (line: string) => {
        if (line.length === 0 || line.trim().length === 0) return;
        let event: NexmarkEvent;
        try {
          event = eventFromJson(line);
        } catch (e) {
          throw this.located(line, e);
        }
        this.emitted++;
        out.collect(event, eventTime(event));
      },
      createOutputForSplit: (splitId) => this.parsing(out.createOutputForSplit(splitId)),
      releaseOutputForSplit: (splitId) => out.releaseOutputForSplit(splitId),
    };
  }

  start(): void {
    this.inner.start();
  }

  pollNext(output: ReaderOutput<NexmarkEvent>): InputStatus {
    if (output !== this.downstream) {
      this.downstream = output;
      this.lines = this.parsing(output);
    }
    if (this.onProgress !== undefined && this.emitted >= this.nextReport) {
      this.nextReport = this.emitted + PROGRESS_EVERY;
      this.onProgress(this.ctx.subtaskIndex, this.emitted);
    }
    const status = this.inner.pollNext(this.lines!);
    if (status === InputStatus.END_OF_INPUT) this.onProgress?.(this.ctx.subtaskIndex, this.emitted);
    return status;
  }

  isAvailable(): Promise<void> {
    return this.inner.isAvailable();
  }

  addSplits(splits: FileSplit[]): void {
    for (const s of splits) this.paths.add(s.path);
    this.inner.addSplits(splits);
  }

  notifyNoMoreSplits(): void {
    this.inner.notifyNoMoreSplits();
  }

  /** The text reader's splits and positions: lines are parsed as they are read, so they are ours too. */
  snapshotState(checkpointId: number): FileSplit[] {
    const inner = this.inner as SourceReader<string, FileSplit> & {
      snapshotState?(checkpointId: number): FileSplit[];
    };
    return inner.snapshotState?.(checkpointId) ?? [];
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }

  /**
   * The error for a malformed line, with its file and line number. Readers see byte ranges, not line
   * numbers, so the number is found (on this error path only) by looking for the line in the files of
   * this reader's splits: the first line with exactly this text, which is malformed just the same.
   */
  private located(line: string, cause: unknown): Error {
    const detail =
      cause instanceof NexmarkFormatError ? cause.message.replace(/^Nexmark JSON: /, "") : String(cause);
    for (const path of this.paths) {
      const n = findLine(path, line);
      if (n !== undefined) {
        return new NexmarkFormatError(`${path}:${n}: malformed Nexmark event: ${detail}`, n, { cause });
      }
    }
    const where = [...this.paths].join(", ");
    return new NexmarkFormatError(`${where}: malformed Nexmark event: ${detail}`, undefined, { cause });
  }
}

function eventTime(e: NexmarkEvent): number {
  return e.type === "bid" ? e.bid.dateTime : e.type === "auction" ? e.auction.dateTime : e.person.dateTime;
}

/** 1-based number of the first line of `path` equal to `line` (ignoring a trailing \r), or undefined. */
function findLine(path: string, line: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  let n = 1;
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf("\n", start);
    if (nl < 0) nl = text.length;
    let endOfLine = nl;
    if (endOfLine > start && text.charCodeAt(endOfLine - 1) === 13) endOfLine--;
    if (endOfLine - start === line.length && text.startsWith(line, start)) return n;
    start = nl + 1;
    n++;
  }
  return undefined;
}
