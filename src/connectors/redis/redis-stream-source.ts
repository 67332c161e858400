// RedisStreamSource: Redis Streams as a parallel, replayable Weir source.
//
// Splits: one per stream key; a split's progress is the last entry ID emitted, kept in the
// checkpoint, and reading continues strictly after it (XREAD semantics). No consumer group: the
// server holds no position for us, the checkpoint does. Split i goes to subtask i mod parallelism
// (keys sorted); a reader left without a split finishes at once.
//
// Start positions: a timestamp becomes the largest ID before that millisecond (by the enumerator);
// "latest" becomes the stream's last generated ID when a reader first reads the split, and is kept
// in checkpoints from then on, so a restore does not move it. Bounded mode stops each split at the
// stream's last entry ID when it is first read. The enumerator never talks to the server.

import {
  InvalidArgumentError,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../index.ts";
import { ENTRY_ID_PATTERN, idBeforeMillis } from "./redis-connection.ts";
import type { RedisStreamSourceOptions, RedisStreamSplit } from "./redis-stream-source-options.ts";
import { RedisStreamReader } from "./redis-stream-reader.ts";

export class RedisStreamSource<T = Record<string, string>> implements Source<T, RedisStreamSplit> {
  readonly boundedness: "bounded" | "unbounded";
  readonly options: RedisStreamSourceOptions<T>;

  constructor(options: RedisStreamSourceOptions<T>) {
    validate(options);
    this.options = options;
    this.boundedness = options.bounded === true ? "bounded" : "unbounded";
  }

  createEnumerator(ctx: SplitEnumeratorContext<RedisStreamSplit>): SplitEnumerator<RedisStreamSplit> {
    return new RedisStreamEnumerator(ctx, () => this.initialSplits());
  }

  /** Starts from a checkpoint: every split with its last emitted ID, in key order. */
  restoreEnumerator(
    ctx: SplitEnumeratorContext<RedisStreamSplit>,
    splits: RedisStreamSplit[],
  ): SplitEnumerator<RedisStreamSplit> {
    const sorted = [...splits].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
    return new RedisStreamEnumerator(ctx, async () => sorted);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, RedisStreamSplit> {
    return new RedisStreamReader<T>(ctx, this.options);
  }

  /**
   * The splits of a fresh start. The enumerator never talks to the server (a failure there could
   * not be retried by the restart strategy): "latest" and the bounded end are resolved by the
   * readers as they first read a split.
   */
  private async initialSplits(): Promise<RedisStreamSplit[]> {
    const o = this.options;
    const start = o.startFrom ?? "earliest";
    const keys = [...new Set(o.streams)].sort();
    return keys.map((stream) => {
      const split: RedisStreamSplit = { stream };
      if (start === "earliest") split.lastId = "0-0";
      else if (typeof start === "object" && "afterId" in start) split.lastId = start.afterId;
      else if (typeof start === "object") split.lastId = idBeforeMillis(timestampOf(start));
      if (o.bounded === true) split.bounded = true;
      return split;
    });
  }
}

function timestampOf(start: { timestamp: number | Date }): number {
  return start.timestamp instanceof Date ? start.timestamp.getTime() : start.timestamp;
}

/** Hands split i to subtask i mod parallelism when that reader asks, then says there are no more. */
class RedisStreamEnumerator implements SplitEnumerator<RedisStreamSplit> {
  private readonly pending: Array<{ split: RedisStreamSplit; owner: number }> = [];

  constructor(
    private readonly ctx: SplitEnumeratorContext<RedisStreamSplit>,
    private readonly list: () => Promise<RedisStreamSplit[]>,
  ) {}

  async start(): Promise<void> {
    const splits = await this.list();
    splits.forEach((split, i) => {
      this.pending.push({ split, owner: i % this.ctx.parallelism });
    });
  }

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

  addSplitsBack(splits: RedisStreamSplit[], subtask: number): void {
    for (const split of splits) this.pending.push({ split, owner: subtask });
  }

  snapshotState(): RedisStreamSplit[] {
    return this.pending.map((p) => p.split);
  }

  addReader(): void {}

  close(): void {}
}

function validate<T>(o: RedisStreamSourceOptions<T>): void {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`RedisStreamSource: ${what}`);
  };
  if (o === undefined || o === null) fail("needs options { streams: [key, ...] }");
  if (
    !Array.isArray(o.streams) ||
    o.streams.length === 0 ||
    o.streams.some((s) => typeof s !== "string" || s === "")
  ) {
    fail("`streams` must list at least one stream key");
  }
  const s = o.startFrom;
  if (s !== undefined && s !== "earliest" && s !== "latest") {
    if (typeof s !== "object" || s === null)
      fail(`unknown startFrom ${JSON.stringify(s)}; use "earliest", "latest", { afterId }, { timestamp }`);
    if ("afterId" in s && !ENTRY_ID_PATTERN.test(s.afterId)) {
      fail(`startFrom.afterId must be an entry ID like "1700000000000-0", got ${JSON.stringify(s.afterId)}`);
    }
    if ("timestamp" in s) {
      const t = timestampOf(s);
      if (typeof t !== "number" || !Number.isFinite(t))
        fail("startFrom.timestamp must be epoch ms or a Date");
    }
    if (!("afterId" in s) && !("timestamp" in s))
      fail('startFrom must be "earliest", "latest", { afterId } or { timestamp }');
  }
  const m = o.onMalformed;
  if (m !== undefined && m !== "fail" && (typeof m !== "object" || typeof m.deadLetterStream !== "string")) {
    fail('onMalformed must be "fail" or { deadLetterStream: "key" }');
  }
  for (const [name, v] of [
    ["bufferSize", o.bufferSize],
    ["blockMs", o.blockMs],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
      fail(`${name} must be an integer >= 1, got ${v}`);
  }
}
