// JetStreamSource: a JetStream stream as a parallel, replayable Weir source.
//
// Splits: one per filter subject of the stream (one for the whole stream without filters). A split
// is read in stream-sequence order by an ordered consumer started at an explicit sequence; its
// progress is the next sequence to read, kept in the checkpoint. Nothing is acknowledged: the
// server holds no position for us, the checkpoint does. Splits go to readers round-robin (split i
// to subtask i mod parallelism); a reader left without a split finishes at once.
//
// Start positions are resolved once per split, by the reader when it first reads it (so that the
// enumerator never needs the server): "latest" becomes the stream's last sequence + 1 and is kept
// in checkpoints, so a restore does not move it; a timestamp stays a time until the first message
// is read. Bounded mode stops each split at the stream's last sequence when it was first read.

import {
  InvalidArgumentError,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../index.ts";
import { JetStreamReader } from "./jetstream-reader.ts";
import type { JetStreamSourceOptions, JetStreamSplit } from "./jetstream-source-options.ts";

export class JetStreamSource<T = string> implements Source<T, JetStreamSplit> {
  readonly boundedness: "bounded" | "unbounded";
  readonly options: JetStreamSourceOptions<T>;

  constructor(options: JetStreamSourceOptions<T>) {
    validate(options);
    this.options = options;
    this.boundedness = options.bounded === true ? "bounded" : "unbounded";
  }

  createEnumerator(ctx: SplitEnumeratorContext<JetStreamSplit>): SplitEnumerator<JetStreamSplit> {
    return new JetStreamEnumerator(ctx, this.initialSplits());
  }

  /** Starts from a checkpoint: every split with its next sequence, in subject order. */
  restoreEnumerator(
    ctx: SplitEnumeratorContext<JetStreamSplit>,
    splits: JetStreamSplit[],
  ): SplitEnumerator<JetStreamSplit> {
    const sorted = [...splits].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
    return new JetStreamEnumerator(ctx, sorted);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, JetStreamSplit> {
    return new JetStreamReader<T>(ctx, this.options);
  }

  /**
   * The splits of a fresh start. Positions that need the server ("latest", the end of a bounded
   * split) are resolved by the reader when it first reads the split: a server that is down then
   * fails a running attempt, and the restart strategy takes over.
   */
  private initialSplits(): JetStreamSplit[] {
    const o = this.options;
    const start = o.startFrom ?? "earliest";
    const base: Omit<JetStreamSplit, "subject"> = { stream: o.stream };
    // Sequence 1 is "the first message still there": a consumer starts at the first one stored.
    if (start === "earliest") base.nextSeq = 1;
    else if (start === "latest") base.latest = true;
    else if ("sequence" in start) base.nextSeq = start.sequence;
    else base.startTime = start.timestamp instanceof Date ? start.timestamp.getTime() : start.timestamp;
    if (o.bounded === true) base.bounded = true;
    const subjects = o.subjects === undefined || o.subjects.length === 0 ? [""] : [...o.subjects].sort();
    return subjects.map((subject) => ({ ...base, subject }));
  }
}

/** Hands split i to subtask i mod parallelism when that reader asks, then says there are no more. */
class JetStreamEnumerator implements SplitEnumerator<JetStreamSplit> {
  private readonly pending: Array<{ split: JetStreamSplit; owner: number }> = [];

  constructor(
    private readonly ctx: SplitEnumeratorContext<JetStreamSplit>,
    splits: JetStreamSplit[],
  ) {
    splits.forEach((split, i) => {
      this.pending.push({ split, owner: i % ctx.parallelism });
    });
  }

  start(): void {}

  handleSplitRequest(subtask: number): void {
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      if (p.owner === subtask) {
        this.pending.splice(i, 1);
        this.ctx.assignSplit(p.split, subtask);
      } else i++;
    }
    this.ctx.signalNoMoreSplits(subtask);
  }

  addSplitsBack(splits: JetStreamSplit[], subtask: number): void {
    for (const split of splits) this.pending.push({ split, owner: subtask });
  }

  snapshotState(): JetStreamSplit[] {
    return this.pending.map((p) => p.split);
  }

  addReader(): void {}

  close(): void {}
}

function validate<T>(o: JetStreamSourceOptions<T>): void {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`JetStreamSource: ${what}`);
  };
  if (o === undefined || o === null) fail("needs options { servers, stream }");
  if (typeof o.stream !== "string" || o.stream.length === 0) fail("`stream` must be a stream name");
  if (o.servers === undefined || (Array.isArray(o.servers) && o.servers.length === 0)) {
    fail('`servers` must name at least one NATS server ("127.0.0.1:4222")');
  }
  const s = o.startFrom;
  if (s !== undefined && s !== "earliest" && s !== "latest") {
    if (typeof s !== "object")
      fail(`unknown startFrom ${JSON.stringify(s)}; use "earliest", "latest", { sequence }, { timestamp }`);
    if ("sequence" in s && (!Number.isSafeInteger(s.sequence) || s.sequence < 1)) {
      fail(`startFrom.sequence must be an integer >= 1, got ${s.sequence}`);
    }
    if ("timestamp" in s) {
      const t = s.timestamp instanceof Date ? s.timestamp.getTime() : s.timestamp;
      if (typeof t !== "number" || !Number.isFinite(t))
        fail("startFrom.timestamp must be epoch ms or a Date");
    }
  }
  const m = o.onMalformed;
  if (m !== undefined && m !== "fail" && (typeof m !== "object" || typeof m.deadLetterSubject !== "string")) {
    fail('onMalformed must be "fail" or { deadLetterSubject: "subject" }');
  }
  if (o.bufferSize !== undefined && (!Number.isSafeInteger(o.bufferSize) || o.bufferSize < 1)) {
    fail(`bufferSize must be an integer >= 1, got ${o.bufferSize}`);
  }
}
