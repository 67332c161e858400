// The Redis Streams source's reader: one connection and one background loop per reader that
// reads all its splits with XREAD (blocking up to blockMs when unbounded) into bounded per-split
// buffers, so the task's thread never waits on Redis. pollNext emits buffered entries on the
// task's thread, each with its split's output (watermarks per split) and the entry ID's time, and
// moves the split's position only as it emits: a checkpoint holds exactly "last emitted ID".

import {
  type Counter,
  InputStatus,
  type ReaderOutput,
  type SourceReader,
  type SourceReaderContext,
} from "../../index.ts";
import {
  closeRedis,
  commandError,
  compareEntryIds,
  connectRedis,
  entryIdMillis,
  type RedisConnection,
  RedisConnectorError,
  RedisMalformedEntryError,
  redact,
} from "./redis-connection.ts";
import {
  DEAD_LETTER_COUNTER,
  fieldsDeserializer,
  type RedisStreamEntryMeta,
  type RedisStreamSourceOptions,
  type RedisStreamSplit,
} from "./redis-stream-source-options.ts";

/** What the background loop hands to pollNext, in ID order. */
type Entry<T> =
  | { kind: "record"; id: string; value: T; timestamp: number }
  | { kind: "malformed"; id: string; error: RedisMalformedEntryError }
  | { kind: "dead-lettered"; id: string }
  | { kind: "end" };

/** Records emitted per pollNext call (a bounded amount of work per mailbox step). */
const RECORDS_PER_POLL = 512;
/** Dead-letter markers (dedupe of replays) live this long. */
const DEAD_LETTER_MARKER_TTL_MS = 7 * 24 * 3600 * 1000;
/** SET the marker if absent, and only then XADD the dead letter: a replay adds nothing. */
const DEAD_LETTER_SCRIPT =
  "if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2)) end return false";

class SplitState<T> {
  readonly id: string;
  readonly buffer: Entry<T>[] = [];
  head = 0;
  output: ReaderOutput<T> | undefined;
  /** The last ID read from Redis (ahead of split.lastId by what is buffered). */
  fetchedId: string;
  /** The loop has read everything this split will ever read. */
  exhausted = false;
  /** pollNext has emitted all of it: it leaves the reader (and its checkpoints). */
  finished = false;
  constructor(public split: RedisStreamSplit) {
    this.id = `redis-stream:${split.stream}`;
    this.fetchedId = split.lastId ?? "";
  }
  get size(): number {
    return this.buffer.length - this.head;
  }
  shift(): Entry<T> {
    const e = this.buffer[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    return e;
  }
}

export class RedisStreamReader<T> implements SourceReader<T, RedisStreamSplit> {
  private readonly splits: SplitState<T>[] = [];
  private noMoreSplits = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private loopWaker: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private client: RedisConnection | undefined;
  private closed = false;
  private readonly owner: string;
  private readonly bufferSize: number;
  private readonly deserialize: (fields: Record<string, string>, meta: RedisStreamEntryMeta) => T;
  private deadLetters: Counter | undefined;
  private next = 0;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly options: RedisStreamSourceOptions<T>,
  ) {
    this.owner = `RedisStreamSource(subtask ${ctx.subtaskIndex})`;
    this.bufferSize = options.bufferSize ?? 1024;
    this.deserialize = options.deserializer ?? (fieldsDeserializer as unknown as typeof this.deserialize);
  }

  start(): void {
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: RedisStreamSplit[]): void {
    for (const split of splits) this.splits.push(new SplitState<T>({ ...split }));
    this.loop ??= this.run().catch((e) => this.fail(e));
    this.wakeLoop();
    this.wake();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.wake();
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure !== undefined) throw this.failure;
    let budget = RECORDS_PER_POLL;
    const n = this.splits.length;
    let freed = false;
    // Round-robin over the splits, starting after the one served first last time.
    for (let k = 0; k < n && budget > 0; k++) {
      const s = this.splits[(this.next + k) % n]!;
      s.output ??= output.createOutputForSplit(s.id);
      const wasFull = s.size >= this.bufferSize;
      while (budget > 0 && s.size > 0) {
        const e = s.shift();
        budget--;
        if (e.kind === "end") {
          output.releaseOutputForSplit(s.id);
          s.finished = true;
          break;
        }
        s.split.lastId = e.id;
        if (e.kind === "record") s.output.collect(e.value, e.timestamp);
        else if (e.kind === "dead-lettered") {
          this.deadLetters ??= this.ctx.runtime.getCounter(DEAD_LETTER_COUNTER);
          this.deadLetters.add(1);
        } else throw e.error;
      }
      if (wasFull && s.size < this.bufferSize) freed = true;
    }
    for (let i = this.splits.length - 1; i >= 0; i--) if (this.splits[i]!.finished) this.splits.splice(i, 1);
    if (freed) this.wakeLoop();
    this.next = n === 0 ? 0 : (this.next + 1) % n;
    if (this.splits.some((s) => s.size > 0)) return InputStatus.MORE_AVAILABLE;
    if (this.splits.length === 0 && this.noMoreSplits) return InputStatus.END_OF_INPUT;
    return InputStatus.NOTHING_AVAILABLE;
  }

  isAvailable(): Promise<void> {
    if (this.failure !== undefined || this.splits.some((s) => s.size > 0)) return Promise.resolve();
    if (this.splits.length === 0 && this.noMoreSplits) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Every split this reader holds, at the last emitted entry ID. */
  snapshotState(): RedisStreamSplit[] {
    return this.splits.map((s) => ({ ...s.split }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeLoop();
    closeRedis(this.client);
    this.client = undefined;
    await this.loop?.catch(() => {});
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private wakeLoop(): void {
    const w = this.loopWaker;
    this.loopWaker = undefined;
    w?.();
  }

  private fail(e: unknown): void {
    if (this.closed || this.failure !== undefined) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.wake();
  }

  private push(s: SplitState<T>, e: Entry<T>): void {
    s.buffer.push(e);
    if (e.kind === "end") s.exhausted = true;
    if (s.size === 1) this.wake();
  }

  /** The background loop: XREAD the splits with room in their buffers, until closed. */
  private async run(): Promise<void> {
    const client = await connectRedis(this.options, this.owner, (e) => this.fail(e));
    if (this.closed) {
      closeRedis(client);
      return;
    }
    this.client = client;
    const bounded = this.options.bounded === true;
    const count = Math.min(this.bufferSize, 512);
    while (!this.closed) {
      const ready: SplitState<T>[] = [];
      for (const s of [...this.splits]) {
        if (s.exhausted) continue;
        if (s.split.lastId === undefined || (s.split.bounded === true && s.split.endId === undefined)) {
          await this.resolve(client, s);
          if (this.closed) return;
        }
        if (s.split.endId !== undefined && compareEntryIds(s.fetchedId, s.split.endId) >= 0) {
          this.push(s, { kind: "end" });
          continue;
        }
        if (s.size < this.bufferSize) ready.push(s);
      }
      if (ready.length === 0) {
        await new Promise<void>((resolve) => {
          this.loopWaker = resolve;
        });
        continue;
      }
      let reply: Array<{
        name: string;
        messages: Array<{ id: string; message: Record<string, string> }>;
      }> | null;
      try {
        reply = (await client.xRead(
          ready.map((s) => ({ key: s.split.stream, id: s.fetchedId })),
          bounded ? { COUNT: count } : { COUNT: count, BLOCK: this.options.blockMs ?? 1000 },
        )) as typeof reply;
      } catch (e) {
        if (this.closed) return;
        throw commandError(
          e,
          this.options,
          `${this.owner}: XREAD of ${ready.map((s) => s.split.stream).join(", ")}`,
          "check the keys are streams; the job restarts per its restart strategy",
        );
      }
      if (this.closed) return;
      const byKey = new Map((reply ?? []).map((r) => [r.name, r.messages]));
      for (const s of ready) {
        const messages = byKey.get(s.split.stream) ?? [];
        // Bounded: nothing after the position means the rest up to endId was deleted.
        if (bounded && messages.length === 0) this.push(s, { kind: "end" });
        for (const m of messages) {
          if (s.split.endId !== undefined && compareEntryIds(m.id, s.split.endId) > 0) {
            this.push(s, { kind: "end" });
            break;
          }
          s.fetchedId = m.id;
          this.push(s, await this.entry(client, s.split.stream, m.id, m.message));
        }
      }
    }
  }

  /** A split's first read: "latest" becomes the last generated ID, the bounded end the last entry's ID. */
  private async resolve(client: RedisConnection, s: SplitState<T>): Promise<void> {
    const stream = s.split.stream;
    let generated = "0-0";
    let last: string | undefined;
    try {
      if ((await client.exists(stream)) === 1) {
        const info = (await client.xInfoStream(stream)) as unknown as Record<string, unknown>;
        generated = String(info["last-generated-id"] ?? "0-0");
        last = (await client.xRevRange(stream, "+", "-", { COUNT: 1 }))?.[0]?.id;
      }
    } catch (e) {
      if (this.closed) return;
      throw commandError(
        e,
        this.options,
        `${this.owner}: reading the end of stream '${stream}'`,
        "check the key is a stream",
      );
    }
    if (s.split.lastId === undefined) {
      s.split.lastId = generated;
      s.fetchedId = generated;
    }
    if (s.split.bounded === true && s.split.endId === undefined) s.split.endId = last ?? generated;
  }

  /** An entry as a record, or as malformed (failing or dead-lettered per the policy). */
  private async entry(
    client: RedisConnection,
    stream: string,
    id: string,
    fields: Record<string, string>,
  ): Promise<Entry<T>> {
    const timestamp = entryIdMillis(id);
    try {
      return { kind: "record", id, value: this.deserialize(fields, { stream, id, timestamp }), timestamp };
    } catch (e) {
      const policy = this.options.onMalformed ?? "fail";
      if (policy === "fail") {
        return {
          kind: "malformed",
          id,
          error: new RedisMalformedEntryError(
            `${this.owner}: entry ${id} of stream '${stream}' is malformed: ${(e as Error)?.message ?? e}; fix the producer, or set onMalformed: { deadLetterStream } to route such entries aside`,
            stream,
            id,
            e,
          ),
        };
      }
      const dead = policy.deadLetterStream;
      const args = [String(DEAD_LETTER_MARKER_TTL_MS)];
      for (const [k, v] of Object.entries(fields)) args.push(k, v);
      args.push("weir-source-stream", stream, "weir-source-id", id);
      args.push("weir-error", redact(String((e as Error)?.message ?? e)).slice(0, 512));
      try {
        await client.eval(DEAD_LETTER_SCRIPT, {
          keys: [`${dead}:weir-dead-letter:${stream}:${id}`, dead],
          arguments: args,
        });
      } catch (pe) {
        if (pe instanceof RedisConnectorError) throw pe;
        throw commandError(
          pe,
          this.options,
          `${this.owner}: appending malformed entry ${id} of stream '${stream}' to the dead-letter stream '${dead}'`,
          "check that the dead-letter key is a stream (or free)",
        );
      }
      return { kind: "dead-lettered", id };
    }
  }
}
