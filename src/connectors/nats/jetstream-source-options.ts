// The options of the JetStream source and the data its splits and deserializer see: start
// positions, the split (a filter subject with its progress), message metadata, the malformed
// message policy, and the two stock deserializers.

import type { NatsConnectionSettings } from "./nats-connection.ts";

/** Where a split starts reading when the job starts without a checkpoint. */
export type JetStreamStartPosition =
  | "earliest"
  | "latest"
  | { sequence: number }
  /** Epoch milliseconds or a Date: the first message stored at or after it. */
  | { timestamp: number | Date };

/** One split: a filter subject of a stream, with its progress. Plain data (it goes into checkpoints). */
export interface JetStreamSplit {
  stream: string;
  /** The filter subject ("" = the whole stream). */
  subject: string;
  /** The next stream sequence to read (set once known). */
  nextSeq?: number;
  /** Until the first message is read from a timestamp start: that time in epoch ms. */
  startTime?: number;
  /** Start at the stream's end: resolved (to nextSeq) by the reader when it first reads the split. */
  latest?: true;
  /** Bounded mode: the last stream sequence to read (inclusive); resolved by the reader if unset. */
  endSeq?: number;
  /** Bounded mode: stop at the stream's last sequence when the reader first reads the split. */
  bounded?: true;
}

/** Metadata of a JetStream message given to the deserializer. */
export interface JetStreamMessageMeta {
  stream: string;
  subject: string;
  sequence: number;
  /** The time JetStream stored the message, epoch ms. */
  timestamp: number;
  headers: Record<string, string[]>;
}

/** Malformed messages: fail the job (default) or publish them to a dead-letter subject and count them. */
export type JetStreamMalformedPolicy = "fail" | { deadLetterSubject: string };

export interface JetStreamSourceOptions<T> extends NatsConnectionSettings {
  /** The JetStream stream to read. */
  stream: string;
  /** Filter subjects (one split each); default: the whole stream as one split. */
  subjects?: string[];
  /** Where to start without a checkpoint (default "earliest"). */
  startFrom?: JetStreamStartPosition;
  /** Stop at the stream's last sequence when the job starts (default false: unbounded). */
  bounded?: boolean;
  /** Payload → record (default: the payload as a UTF-8 string). A throw makes the message malformed. */
  deserializer?: (data: Uint8Array, meta: JetStreamMessageMeta) => T;
  /** What to do with a message the deserializer rejects (default "fail"). */
  onMalformed?: JetStreamMalformedPolicy;
  /** Messages buffered per split ahead of the task (default 1024). */
  bufferSize?: number;
}

/** The name of the Counter that counts dead-lettered messages (see JobResult accumulators). */
export const DEAD_LETTER_COUNTER = "jetstream-dead-letters";

const utf8 = new TextDecoder();

/** The payload as a UTF-8 string. */
export function stringDeserializer(data: Uint8Array): string {
  return utf8.decode(data);
}

/** The payload parsed as JSON (a throw marks the message malformed). */
export function jsonDeserializer<T = unknown>(data: Uint8Array): T {
  return JSON.parse(utf8.decode(data)) as T;
}
