// The JetStream source's reader: one ordered consumer per assigned split, started at the split's
// next sequence (or start time), feeding a bounded per-split buffer in the background; pollNext
// emits buffered messages on the task's thread, each with its split's output (watermarks per
// split) and its JetStream timestamp, and moves the split's position only as it emits. So a
// checkpoint holds exactly "next sequence = last emitted + 1" for every split.

import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import {
  type Counter,
  InputStatus,
  type ReaderOutput,
  type SourceReader,
  type SourceReaderContext,
} from "../../index.ts";
import {
  DEAD_LETTER_COUNTER,
  type JetStreamMessageMeta,
  type JetStreamSourceOptions,
  type JetStreamSplit,
  stringDeserializer,
} from "./jetstream-source-options.ts";
import {
  closeNats,
  connectNats,
  describeServers,
  JetStreamMalformedMessageError,
  NatsConnectorError,
  redact,
} from "./nats-connection.ts";

/** What the background consumer hands to pollNext, in sequence order. */
type Entry<T> =
  | { kind: "record"; seq: number; value: T; timestamp: number }
  | { kind: "malformed"; seq: number; error: JetStreamMalformedMessageError }
  | { kind: "dead-lettered"; seq: number }
  | { kind: "end" };

/**
 * Records emitted per pollNext call: a bounded amount of work per mailbox step, small enough that
 * a checkpoint barrier does not wait long behind a slow chained operator.
 */
const RECORDS_PER_POLL = 64;

class SplitState<T> {
  readonly id: string;
  readonly buffer: Entry<T>[] = [];
  head = 0;
  output: ReaderOutput<T> | undefined;
  messages: ConsumerMessages | undefined;
  /** Resolves the consumer loop waiting for room in the buffer. */
  roomWaiter: (() => void) | undefined;
  constructor(public split: JetStreamSplit) {
    this.id = `${split.stream}/${split.subject === "" ? ">" : split.subject}`;
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

export class JetStreamReader<T> implements SourceReader<T, JetStreamSplit> {
  private readonly splits: SplitState<T>[] = [];
  private noMoreSplits = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private client: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  private closed = false;
  private readonly owner: string;
  private readonly bufferSize: number;
  private readonly deserialize: (data: Uint8Array, meta: JetStreamMessageMeta) => T;
  private deadLetters: Counter | undefined;
  private next = 0;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly options: JetStreamSourceOptions<T>,
  ) {
    this.owner = `JetStreamSource(stream ${options.stream}, subtask ${ctx.subtaskIndex})`;
    this.bufferSize = options.bufferSize ?? 1024;
    this.deserialize =
      options.deserializer ??
      (stringDeserializer as unknown as (d: Uint8Array, m: JetStreamMessageMeta) => T);
  }

  start(): void {
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: JetStreamSplit[]): void {
    for (const split of splits) {
      const s = new SplitState<T>({ ...split });
      this.splits.push(s);
      this.consume(s).catch((e) => this.fail(e));
    }
    this.wake();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.wake();
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure !== undefined) throw this.failure;
    let budget = RECORDS_PER_POLL;
    // Round-robin over the splits, starting after the one served first last time.
    const n = this.splits.length;
    let ended: SplitState<T>[] | undefined;
    for (let k = 0; k < n && budget > 0; k++) {
      const s = this.splits[(this.next + k) % n]!;
      s.output ??= output.createOutputForSplit(s.id);
      while (budget > 0 && s.size > 0) {
        const e = s.shift();
        budget--;
        if (e.kind === "end") {
          output.releaseOutputForSplit(s.id);
          (ended ??= []).push(s);
          break;
        }
        s.split.nextSeq = e.seq + 1;
        s.split.startTime = undefined;
        if (e.kind === "record") s.output.collect(e.value, e.timestamp);
        else if (e.kind === "dead-lettered") {
          this.deadLetters ??= this.ctx.runtime.getCounter(DEAD_LETTER_COUNTER);
          this.deadLetters.add(1);
        } else throw e.error;
      }
      const waiter = s.roomWaiter;
      if (waiter !== undefined && s.size < this.bufferSize) {
        s.roomWaiter = undefined;
        waiter();
      }
    }
    if (ended !== undefined) {
      for (const s of ended) this.splits.splice(this.splits.indexOf(s), 1);
      this.next = 0;
    } else this.next = n === 0 ? 0 : (this.next + 1) % n;
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

  /** Every split this reader holds, at the next sequence after the last emitted record. */
  snapshotState(): JetStreamSplit[] {
    return this.splits.map((s) => {
      const split = { ...s.split };
      if (split.startTime === undefined) delete split.startTime;
      return split;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.splits) {
      s.roomWaiter?.();
      s.messages?.stop();
    }
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) await closeNats((await c.catch(() => undefined))?.nc);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private fail(e: unknown): void {
    if (this.closed || this.failure !== undefined) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.wake();
  }

  private connection(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    this.client ??= connectNats(this.options, this.owner, (e) => this.fail(e)).then((nc) => ({
      nc,
      js: jetstream(nc),
    }));
    return this.client;
  }

  private push(s: SplitState<T>, e: Entry<T>): void {
    s.buffer.push(e);
    if (s.size === 1) this.wake();
  }

  /** The background loop of one split: an ordered consumer from the split's position into its buffer. */
  private async consume(s: SplitState<T>): Promise<void> {
    const split = s.split;
    const { nc, js } = await this.connection();
    if (split.latest === true || (split.bounded === true && split.endSeq === undefined)) {
      await this.resolve(nc, s);
    }
    const end = split.endSeq;
    if (end !== undefined && split.nextSeq !== undefined && split.nextSeq > end) {
      this.push(s, { kind: "end" });
      return;
    }
    // No name_prefix: the client then names the consumer uniquely (a shared prefix would make readers
    // replace each other's consumers).
    const opts: Partial<OrderedConsumerOptions> = {};
    if (split.subject !== "") opts.filter_subjects = split.subject;
    if (split.nextSeq !== undefined) {
      opts.deliver_policy = DeliverPolicy.StartSequence;
      opts.opt_start_seq = split.nextSeq;
    } else {
      opts.deliver_policy = DeliverPolicy.StartTime;
      opts.opt_start_time = new Date(split.startTime ?? 0).toISOString();
    }
    let messages: ConsumerMessages;
    try {
      const consumer = await js.consumers.get(split.stream, opts);
      if (end !== undefined && (await consumer.info()).num_pending === 0) {
        this.push(s, { kind: "end" });
        return;
      }
      messages = await consumer.consume({ max_messages: Math.min(this.bufferSize, 512) });
    } catch (e) {
      if (this.closed) return;
      const where = describeServers(this.options.servers);
      throw new NatsConnectorError(
        "IO",
        `${this.owner}: cannot read split ${s.id} of NATS at ${where}: ${redact((e as Error).message)}; check that the stream exists`,
        where,
        e,
      );
    }
    s.messages = messages;
    if (this.closed) {
      messages.stop();
      return;
    }
    for await (const m of messages) {
      if (this.closed) break;
      if (end !== undefined && m.seq > end) {
        this.push(s, { kind: "end" });
        break;
      }
      this.push(s, await this.entry(nc, js, split, m));
      if (end !== undefined && (m.seq >= end || m.info.pending === 0)) {
        this.push(s, { kind: "end" });
        break;
      }
      if (s.size >= this.bufferSize && !this.closed) {
        await new Promise<void>((resolve) => {
          s.roomWaiter = resolve;
        });
      }
    }
    messages.stop();
    if (!this.closed && end === undefined && !nc.isClosed()) {
      throw new NatsConnectorError(
        "IO",
        `${this.owner}: the consumer of split ${s.id} stopped unexpectedly at sequence ${split.nextSeq ?? "?"}; the job restarts per its restart strategy`,
        describeServers(this.options.servers),
      );
    }
  }

  /** Positions that need the stream's state: "latest" and a bounded split's end (kept in checkpoints). */
  private async resolve(nc: NatsConnection, s: SplitState<T>): Promise<void> {
    const split = s.split;
    let last: number;
    try {
      last = (await (await jetstreamManager(nc)).streams.info(split.stream)).state.last_seq;
    } catch (e) {
      const where = describeServers(this.options.servers);
      throw new NatsConnectorError(
        "INVALID_ARGUMENT",
        `${this.owner}: cannot read stream '${split.stream}' on NATS at ${where}: ${redact((e as Error).message)}; check that the stream exists and JetStream is enabled`,
        where,
        e,
      );
    }
    if (split.latest === true) {
      split.nextSeq = last + 1;
      delete split.latest;
    }
    if (split.bounded === true && split.endSeq === undefined) split.endSeq = last;
  }

  /** A message as a record, or as malformed (failing or dead-lettered per the policy). */
  private async entry(
    nc: NatsConnection,
    js: JetStreamClient,
    split: JetStreamSplit,
    m: JsMsg,
  ): Promise<Entry<T>> {
    const timestamp = Number(m.timestampNanos / 1_000_000n);
    const msgHeaders: Record<string, string[]> = {};
    if (m.headers !== undefined) for (const k of m.headers.keys()) msgHeaders[k] = m.headers.values(k);
    const meta: JetStreamMessageMeta = {
      stream: split.stream,
      subject: m.subject,
      sequence: m.seq,
      timestamp,
      headers: msgHeaders,
    };
    try {
      return { kind: "record", seq: m.seq, value: this.deserialize(m.data, meta), timestamp };
    } catch (e) {
      const policy = this.options.onMalformed ?? "fail";
      if (policy === "fail") {
        return {
          kind: "malformed",
          seq: m.seq,
          error: new JetStreamMalformedMessageError(
            `${this.owner}: message ${m.seq} of stream '${split.stream}' (subject ${m.subject}) is malformed: ${(e as Error).message}; fix the producer, or set onMalformed: { deadLetterSubject } to route such messages aside`,
            split.stream,
            m.seq,
            m.subject,
            e,
          ),
        };
      }
      // Idempotent by the message id: a replay after a restore publishes the same id again.
      const h = headers();
      h.set("Weir-Source-Stream", split.stream);
      h.set("Weir-Source-Subject", m.subject);
      h.set("Weir-Source-Sequence", String(m.seq));
      h.set("Weir-Error", redact(String((e as Error).message)).slice(0, 512));
      try {
        await js.publish(policy.deadLetterSubject, m.data, { msgID: `${split.stream}:${m.seq}`, headers: h });
      } catch (pe) {
        if (nc.isClosed()) throw pe;
        const where = describeServers(this.options.servers);
        throw new NatsConnectorError(
          "IO",
          `${this.owner}: cannot publish malformed message ${m.seq} of stream '${split.stream}' to the dead-letter subject '${policy.deadLetterSubject}' at ${where}: ${redact((pe as Error).message)}; create a stream that captures that subject`,
          where,
          pe,
        );
      }
      return { kind: "dead-lettered", seq: m.seq };
    }
  }
}
