// MqttSource: messages of MQTT topic filters as a Weir source, at-least-once at best.
//
// MQTT has no offsets and no replay: a broker delivers a message once per subscription and
// forgets it when the client acknowledges it (the mqtt client sends PUBACK on receipt). So the
// checkpoint holds no position, only the subscription. What survives a failure:
// - with a persistent session (clean: false and a fixed clientId), messages published while the
//   job is down are queued by the broker and delivered when the restarted job reconnects;
// - messages the client had received (and acknowledged) but that were not yet covered by a
//   completed checkpoint are lost: nothing can deliver them again.
// One reader (maxParallelism 1): an MQTT subscription cannot be split between clients without
// shared subscriptions, and a persistent session belongs to one client id.

import {
  type Counter,
  InputStatus,
  InvalidArgumentError,
  type ReaderOutput,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from "../../index.ts";
import type { MqttClient } from "mqtt";
import {
  connectMqtt,
  describeMqtt,
  lostConnection,
  MqttConnectorError,
  MqttMalformedMessageError,
  type MqttConnectionSettings,
} from "./mqtt-connection.ts";

/** The one split: the topic filters. Plain data (it goes into checkpoints). */
export interface MqttSplit {
  topics: string[];
}

export interface MqttMessageMeta {
  topic: string;
}

export interface MqttSourceOptions<T> extends MqttConnectionSettings {
  /** Topic filters to subscribe to (wildcards + and # allowed), with QoS 1. */
  topics: string[];
  /** The client id; fixed for a persistent session (default: a random one, clean session). */
  clientId?: string;
  /** false: a persistent session (needs clientId), so the broker queues messages while the job is down (default true). */
  clean?: boolean;
  /** Payload → record (default: the payload as UTF-8 text). A throw makes the message malformed. */
  deserializer?: (payload: Buffer, meta: MqttMessageMeta) => T;
  /**
   * A malformed message: "fail" (default) fails the job with an MqttMalformedMessageError naming
   * the topic; { deadLetterTopic } publishes the raw payload there (QoS 1; MQTT 5 user properties
   * weir-source-topic and weir-error) and counts it in the Counter DEAD_LETTER_COUNTER.
   */
  onMalformed?: "fail" | { deadLetterTopic: string };
}

/** The Counter (accumulator) of messages sent to the dead-letter topic. */
export const DEAD_LETTER_COUNTER = "mqtt-dead-letters";

const POLL = 64;

export class MqttSource<T = string> implements Source<T, MqttSplit> {
  readonly boundedness = "unbounded" as const;
  readonly maxParallelism = 1;

  constructor(readonly options: MqttSourceOptions<T>) {
    const fail = (what: string): never => {
      throw new InvalidArgumentError(`MqttSource: ${what}`);
    };
    if (options === undefined || options === null) fail("needs options { topics: [filter, ...] }");
    if (!Array.isArray(options.topics) || options.topics.length === 0 || options.topics.some((t) => !t)) {
      fail("`topics` must list at least one topic filter");
    }
    if (options.clean === false && (options.clientId === undefined || options.clientId === "")) {
      fail("a persistent session (clean: false) needs a fixed clientId");
    }
    const m = options.onMalformed;
    if (
      m !== undefined &&
      m !== "fail" &&
      (typeof m !== "object" ||
        typeof m.deadLetterTopic !== "string" ||
        m.deadLetterTopic === "" ||
        /[+#]/.test(m.deadLetterTopic))
    )
      fail('onMalformed must be "fail" or { deadLetterTopic: "<a topic without wildcards>" }');
  }

  createEnumerator(ctx: SplitEnumeratorContext<MqttSplit>): SplitEnumerator<MqttSplit> {
    return new MqttEnumerator(ctx, [{ topics: [...this.options.topics] }]);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<MqttSplit>, splits: MqttSplit[]): SplitEnumerator<MqttSplit> {
    return new MqttEnumerator(ctx, splits.length > 0 ? splits : [{ topics: [...this.options.topics] }]);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, MqttSplit> {
    return new MqttReader<T>(ctx, this.options);
  }
}

class MqttEnumerator implements SplitEnumerator<MqttSplit> {
  constructor(
    private readonly ctx: SplitEnumeratorContext<MqttSplit>,
    private pending: MqttSplit[],
  ) {}
  start(): void {}
  handleSplitRequest(subtask: number): void {
    for (const s of this.pending.splice(0)) this.ctx.assignSplit(s, subtask);
    this.ctx.signalNoMoreSplits(subtask);
  }
  addSplitsBack(splits: MqttSplit[]): void {
    this.pending.push(...splits);
  }
  snapshotState(): MqttSplit[] {
    return [...this.pending];
  }
  addReader(): void {}
  close(): void {}
}

class MqttReader<T> implements SourceReader<T, MqttSplit> {
  private split: MqttSplit | undefined;
  private client: MqttClient | undefined;
  private connecting: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly queue: Array<{ topic: string; payload: Buffer }> = [];
  private waiter: (() => void) | undefined;
  private readonly owner: string;
  private readonly deserialize: (payload: Buffer, meta: MqttMessageMeta) => T;
  private received = 0;
  private deadLetters: Counter | undefined;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly options: MqttSourceOptions<T>,
  ) {
    this.owner = `MqttSource(topics ${options.topics.join(", ")})`;
    this.deserialize = options.deserializer ?? ((p) => p.toString("utf8") as T);
  }

  start(): void {
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: MqttSplit[]): void {
    this.split = splits[0];
    if (this.split !== undefined) this.connecting ??= this.connect(this.split);
  }

  notifyNoMoreSplits(): void {}

  private async connect(split: MqttSplit): Promise<void> {
    try {
      const o = this.options;
      const client = await connectMqtt(
        o,
        this.owner,
        { clean: o.clean ?? true, ...(o.clientId === undefined ? {} : { clientId: o.clientId }) },
        (c) =>
          c.on("message", (topic, payload) => {
            this.queue.push({ topic, payload });
            this.wake();
          }),
      );
      this.client = client;
      client.on("close", () => {
        if (!this.closed) this.fail(lostConnection(o, this.owner));
      });
      client.on("error", (e) => {
        if (!this.closed) this.fail(lostConnection(o, this.owner, e));
      });
      const granted = await client.subscribeAsync(
        split.topics.map((t) => t),
        { qos: 1 },
      );
      const refused = granted.filter((g) => g.qos === 128);
      if (refused.length > 0) {
        throw new MqttConnectorError(
          `${this.owner}: the broker at ${describeMqtt(o)} refused the subscription to ${refused.map((g) => g.topic).join(", ")}; check the topic filters and the broker's ACLs`,
          describeMqtt(o),
        );
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure !== undefined) throw this.failure;
    for (let n = 0; n < POLL; n++) {
      const m = this.queue.shift();
      if (m === undefined) return InputStatus.NOTHING_AVAILABLE;
      this.received++;
      let value: T;
      try {
        value = this.deserialize(m.payload, { topic: m.topic });
      } catch (e) {
        this.malformed(m, e);
        continue;
      }
      output.collect(value);
    }
    return this.queue.length > 0 ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
  }

  /** A message the deserializer rejected: fail the job, or dead-letter and count it. */
  private malformed(m: { topic: string; payload: Buffer }, e: unknown): void {
    const why = (e as Error)?.message ?? String(e);
    const policy = this.options.onMalformed ?? "fail";
    if (policy === "fail") {
      throw new MqttMalformedMessageError(
        `${this.owner}: malformed message on topic "${m.topic}" (message ${this.received} received since the reader started, ${m.payload.length} bytes): ${why}; fix the producer, or set onMalformed: { deadLetterTopic } to route such messages aside`,
        m.topic,
        this.received,
        e,
      );
    }
    this.deadLetters ??= this.ctx.runtime.getCounter(DEAD_LETTER_COUNTER);
    this.deadLetters.add(1);
    const properties = { userProperties: { "weir-source-topic": m.topic, "weir-error": why.slice(0, 512) } };
    const v5 = this.options.clientOptions?.protocolVersion === 5;
    this.client?.publish(
      policy.deadLetterTopic,
      m.payload,
      { qos: 1, ...(v5 ? { properties } : {}) },
      (err) => {
        if (err !== undefined && err !== null && !this.closed)
          this.fail(
            new MqttConnectorError(
              `${this.owner}: could not publish a malformed message to the dead-letter topic "${policy.deadLetterTopic}" on ${describeMqtt(this.options)}: ${err.message}`,
              describeMqtt(this.options),
              err,
            ),
          );
      },
    );
  }

  isAvailable(): Promise<void> {
    if (this.queue.length > 0 || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  snapshotState(): MqttSplit[] {
    return this.split === undefined ? [] : [this.split];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting;
    const c = this.client;
    this.client = undefined;
    // A persistent session stays on the broker (it queues messages for the next run).
    await c?.endAsync(true).catch(() => {});
    this.wake();
  }
}
