// MqttSink: records published to MQTT with QoS 1, at-least-once.
//
// It is a write-ahead sink (the API's WriteAheadSink): the records of one checkpoint interval
// are kept in the checkpoint at the barrier and published when the checkpoint completes; the
// commit resolves only when the broker acknowledged every message (PUBACK). A failure before
// that makes the restored job publish the checkpoint's records again: nothing a checkpoint
// covers is lost, and a replay may publish a message twice (MQTT has no idempotent publish).
// Records reach the broker one checkpoint interval late; an unbounded job needs checkpoints.

import {
  type Committer,
  InvalidArgumentError,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  WriteAheadSink,
  type WriteAheadSender,
  type WriteAheadTransaction,
} from "../../index.ts";
import type { MqttClient } from "mqtt";
import { connectMqtt, lostConnection, type MqttConnectionSettings } from "./mqtt-connection.ts";

export interface MqttSinkOptions<T> extends MqttConnectionSettings {
  /** The topic of every record, or a function choosing it per record. */
  topic: string | ((value: T) => string);
  /** Record → payload (default: strings as they are, anything else as JSON). */
  serializer?: (value: T) => string | Buffer;
  /** Publish with the retain flag (default false). */
  retain?: boolean;
}

export class MqttSink<T> implements TwoPhaseCommittingSink<T, WriteAheadTransaction<T>> {
  private readonly inner: WriteAheadSink<T>;

  constructor(options: MqttSinkOptions<T>) {
    if (options === undefined || options === null)
      throw new InvalidArgumentError("MqttSink: needs options { topic }");
    const t = options.topic;
    if (typeof t !== "function" && (typeof t !== "string" || t === "" || /[+#]/.test(t))) {
      throw new InvalidArgumentError(
        "MqttSink: `topic` must be a topic name (no wildcards) or a function of the record",
      );
    }
    this.inner = new WriteAheadSink<T>({ createSender: (ctx) => new MqttPublisher(options, ctx) });
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, WriteAheadTransaction<T>> {
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<WriteAheadTransaction<T>> {
    return this.inner.createCommitter(ctx);
  }
}

/** Publishes one checkpoint's records with QoS 1 and waits for every PUBACK (one client per subtask). */
class MqttPublisher<T> implements WriteAheadSender<T> {
  private client: Promise<MqttClient> | undefined;
  private readonly owner: string;

  constructor(
    private readonly options: MqttSinkOptions<T>,
    ctx: SinkWriterContext,
  ) {
    const t = options.topic;
    this.owner = `MqttSink(${typeof t === "string" ? `topic ${t}, ` : ""}subtask ${ctx.subtaskIndex})`;
  }

  private connection(): Promise<MqttClient> {
    this.client ??= connectMqtt(this.options, this.owner, { clean: true });
    return this.client;
  }

  async sendValues(values: T[], checkpointId: number): Promise<void> {
    const topicOf = this.options.topic;
    const ser = this.options.serializer ?? ((v: T) => (typeof v === "string" ? v : JSON.stringify(v)));
    // Serialize first: a record that cannot be written fails before anything is sent.
    const messages = values.map((v) => ({
      topic: typeof topicOf === "function" ? topicOf(v) : topicOf,
      payload: ser(v),
    }));
    let client: MqttClient;
    try {
      client = await this.connection();
    } catch (e) {
      this.client = undefined;
      throw e;
    }
    if (!client.connected) {
      this.client = undefined;
      throw lostConnection(this.options, `${this.owner}: publishing checkpoint ${checkpointId}`);
    }
    try {
      await Promise.all(
        messages.map((m) =>
          client.publishAsync(m.topic, m.payload, { qos: 1, retain: this.options.retain === true }),
        ),
      );
    } catch (e) {
      this.client = undefined;
      client.end(true);
      throw lostConnection(this.options, `${this.owner}: publishing checkpoint ${checkpointId}`, e);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    const client = await c?.catch(() => undefined);
    await client?.endAsync().catch(() => {});
  }
}
