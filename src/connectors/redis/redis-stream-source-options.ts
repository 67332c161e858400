// The options of the Redis Streams source and the data its splits and deserializer see: start
// positions, the split (a stream key with the last entry ID emitted), entry metadata, the
// malformed-entry policy, and the two stock deserializers.

import type { RedisConnectionSettings } from "./redis-connection.ts";

/** Where a split starts reading when the job starts without a checkpoint. */
export type RedisStreamStartPosition =
  | "earliest"
  | "latest"
  /** Read the entries AFTER this entry ID ("1700000000000-0"), as XREAD does. */
  | { afterId: string }
  /** Epoch milliseconds or a Date: the first entry whose ID's time is at or after it. */
  | { timestamp: number | Date };

/** One split: a stream key with its progress. Plain data (it goes into checkpoints). */
export interface RedisStreamSplit {
  stream: string;
  /**
   * The last entry ID emitted: reading continues strictly after it ("0-0" = from the start).
   * Absent for a "latest" start until the reader first reads the split (then the stream's last
   * generated ID, kept in checkpoints from then on).
   */
  lastId?: string;
  /** Bounded mode: stop at the stream's last entry ID when the reader first reads the split. */
  bounded?: boolean;
  /** Bounded mode, once resolved: the inclusive end. */
  endId?: string;
}

/** Metadata of a stream entry given to the deserializer. */
export interface RedisStreamEntryMeta {
  stream: string;
  id: string;
  /** The milliseconds part of the entry ID (the server's time when it generated the ID). */
  timestamp: number;
}

/**
 * Malformed entries (the deserializer throws): fail the job (default) naming stream and entry ID,
 * or append them to a dead-letter stream (fields of the entry plus weir-source-stream,
 * weir-source-id, weir-error) and count them in the DEAD_LETTER_COUNTER.
 */
export type RedisMalformedPolicy = "fail" | { deadLetterStream: string };

export interface RedisStreamSourceOptions<T> extends RedisConnectionSettings {
  /** The stream keys to read: one split each. */
  streams: string[];
  /** Where to start without a checkpoint (default "earliest"). */
  startFrom?: RedisStreamStartPosition;
  /** Stop at each stream's last entry ID when the job starts (default false: unbounded). */
  bounded?: boolean;
  /** Entry fields → record (default: the fields object itself). A throw makes the entry malformed. */
  deserializer?: (fields: Record<string, string>, meta: RedisStreamEntryMeta) => T;
  /** What to do with an entry the deserializer rejects (default "fail"). */
  onMalformed?: RedisMalformedPolicy;
  /** Entries buffered per split ahead of the task (default 1024). */
  bufferSize?: number;
  /** How long one blocking XREAD waits for new entries, ms (default 1000; also how soon new splits are read). */
  blockMs?: number;
}

/** The name of the Counter that counts dead-lettered entries (see JobResult accumulators). */
export const DEAD_LETTER_COUNTER = "redis-stream-dead-letters";

/** The entry's fields as they are. */
export function fieldsDeserializer(fields: Record<string, string>): Record<string, string> {
  return fields;
}

/** One field (default "value") parsed as JSON; a missing field or bad JSON marks the entry malformed. */
export function jsonFieldDeserializer<T = unknown>(field = "value"): (fields: Record<string, string>) => T {
  return (fields) => {
    const text = fields[field];
    if (text === undefined) throw new Error(`the entry has no field '${field}'`);
    return JSON.parse(text) as T;
  };
}
