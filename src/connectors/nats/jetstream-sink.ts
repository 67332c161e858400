// JetStreamSink: records published to JetStream exactly once within the stream's duplicate window.
//
// It is a write-ahead sink (the API's WriteAheadSink): the records of one checkpoint interval are
// kept in the checkpoint, and published once the checkpoint is complete, each with the message id
// (Nats-Msg-Id) "<transaction id>/<index>", where the transaction id is derived from job name,
// operator uid, job run, subtask and checkpoint id and is stored in the checkpoint with the
// records. A restore commits the restored checkpoint's records again under the same ids, so the
// server drops those it already stored (PubAck duplicate) as long as the first publication is
// younger than the stream's duplicate_window (default 2 minutes). Beyond it, a republished
// message is stored again: at-least-once for that one checkpoint's records.

import { type JetStreamClient, jetstream, type PubAck } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type Committer,
  type Counter,
  InvalidArgumentError,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  WriteAheadSink,
  type WriteAheadSender,
  type WriteAheadTransaction,
} from "../../index.ts";
import {
  closeNats,
  connectNats,
  describeServers,
  type NatsConnectionSettings,
  NatsConnectorError,
  redact,
} from "./nats-connection.ts";

export interface JetStreamSinkOptions<T> extends NatsConnectionSettings {
  /** The subject of every record, or a function choosing it per record. A stream must capture it. */
  subject: string | ((value: T) => string);
  /** Record → payload (default: strings as they are, anything else as JSON). */
  serializer?: (value: T) => Uint8Array | string;
  /** Publications in flight at once per subtask while committing (default 256). */
  maxInFlight?: number;
}

/** The name of the Counter of publications the server reported as duplicates (already stored). */
export const DUPLICATE_COUNTER = "jetstream-sink-duplicates";

const defaultSerializer = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

export class JetStreamSink<T> implements TwoPhaseCommittingSink<T, WriteAheadTransaction<T>> {
  private readonly inner: WriteAheadSink<T>;

  constructor(options: JetStreamSinkOptions<T>) {
    if (options === undefined || options === null) {
      throw new InvalidArgumentError("JetStreamSink needs options { servers, subject }");
    }
    if (
      typeof options.subject !== "function" &&
      (typeof options.subject !== "string" || options.subject === "")
    ) {
      throw new InvalidArgumentError(
        "JetStreamSink: `subject` must be a subject or a function of the record",
      );
    }
    if (options.servers === undefined || (Array.isArray(options.servers) && options.servers.length === 0)) {
      throw new InvalidArgumentError(
        'JetStreamSink: `servers` must name at least one NATS server ("127.0.0.1:4222")',
      );
    }
    const inFlight = options.maxInFlight ?? 256;
    if (!Number.isSafeInteger(inFlight) || inFlight < 1) {
      throw new InvalidArgumentError(`JetStreamSink: maxInFlight must be an integer >= 1, got ${inFlight}`);
    }
    this.inner = new WriteAheadSink<T>({
      createSender: (ctx) => new JetStreamPublisher(options, ctx, inFlight),
    });
  }

  createWriter(ctx: SinkWriterContext): PrecommittingSinkWriter<T, WriteAheadTransaction<T>> {
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<WriteAheadTransaction<T>> {
    return this.inner.createCommitter(ctx);
  }
}

/** The message id of the index-th record of a transaction: the same whenever it is committed again. */
export function jetStreamMessageId(transactionId: string, index: number): string {
  return `${transactionId}/${index}`;
}

/** Publishes one transaction's records with their message ids, a window of them at a time. */
class JetStreamPublisher<T> implements WriteAheadSender<T> {
  private client: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  private lost: NatsConnectorError | undefined;
  private duplicates: Counter | undefined;
  private readonly owner: string;
  private readonly subjectOf: (value: T) => string;
  private readonly serialize: (value: T) => Uint8Array | string;

  constructor(
    private readonly options: JetStreamSinkOptions<T>,
    private readonly ctx: SinkWriterContext,
    private readonly inFlight: number,
  ) {
    const s = options.subject;
    this.subjectOf = typeof s === "function" ? s : () => s;
    this.serialize = options.serializer ?? defaultSerializer;
    this.owner = `JetStreamSink(${typeof s === "string" ? `subject ${s}, ` : ""}subtask ${ctx.subtaskIndex})`;
  }

  private connection(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    if (this.lost !== undefined) {
      const e = this.lost;
      this.lost = undefined;
      this.client = undefined;
      throw e;
    }
    this.client ??= connectNats(this.options, this.owner, (e) => {
      this.lost = e;
    }).then((nc) => ({ nc, js: jetstream(nc) }));
    return this.client;
  }

  async sendValues(
    values: T[],
    checkpointId: number,
    _subtask: number,
    transactionId: string,
  ): Promise<void> {
    const { js } = await this.connection();
    for (let from = 0; from < values.length; from += this.inFlight) {
      const to = Math.min(values.length, from + this.inFlight);
      const acks: Promise<PubAck>[] = [];
      for (let i = from; i < to; i++)
        acks.push(this.publish(js, values[i]!, jetStreamMessageId(transactionId, i)));
      const results = await Promise.allSettled(acks);
      let dup = 0;
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r.status === "fulfilled") {
          if (r.value.duplicate) dup++;
          continue;
        }
        throw this.publishError(r.reason, values[from + i]!, checkpointId);
      }
      if (dup > 0) {
        this.duplicates ??= this.ctx.runtime.getCounter(DUPLICATE_COUNTER);
        this.duplicates.add(dup);
      }
    }
  }

  private publish(js: JetStreamClient, value: T, msgID: string): Promise<PubAck> {
    let subject: string;
    let payload: Uint8Array | string;
    try {
      subject = this.subjectOf(value);
      payload = this.serialize(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return js.publish(subject, payload, { msgID, timeout: 10_000 });
  }

  private publishError(e: unknown, value: T, checkpointId: number): Error {
    if (this.lost !== undefined) return this.lost;
    const where = describeServers(this.options.servers);
    let subject = "?";
    try {
      subject = this.subjectOf(value);
    } catch {}
    const msg = redact((e as Error)?.message ?? String(e));
    // The client reports "no responders" to a publication as "jetstream is not enabled".
    const hint = /no responders|503|jetstream is not enabled/i.test(msg)
      ? `no JetStream stream captures subject '${subject}'; create one (its duplicate_window bounds the exactly-once guarantee)`
      : "check the server and the stream; the job restarts per its restart strategy and publishes this checkpoint again (duplicates are dropped by message id)";
    return new NatsConnectorError(
      "IO",
      `${this.owner}: publishing ${checkpointId === Number.MAX_SAFE_INTEGER ? "the final checkpoint" : `checkpoint ${checkpointId}`}'s records to subject '${subject}' at ${where} failed: ${msg}; ${hint}`,
      where,
      e,
    );
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) await closeNats((await c.catch(() => undefined))?.nc);
  }
}
