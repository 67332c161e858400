// The Redis connectors' public API (weir-stream/connectors/redis): a replayable Redis Streams
// source (positions = entry IDs in checkpoints), a Redis Streams sink that commits each
// checkpoint's entries with a commit marker in one MULTI/EXEC (a replayed commit is a no-op), and
// an idempotent upsert sink for hashes and string keys. Needs the optional peer `redis`.

export { RedisStreamSource } from "./redis-stream-source.ts";
export {
  DEAD_LETTER_COUNTER,
  fieldsDeserializer,
  jsonFieldDeserializer,
  type RedisMalformedPolicy,
  type RedisStreamEntryMeta,
  type RedisStreamSourceOptions,
  type RedisStreamSplit,
  type RedisStreamStartPosition,
} from "./redis-stream-source-options.ts";
export { RedisStreamSink, redisCommitMarkerKey, type RedisStreamSinkOptions } from "./redis-stream-sink.ts";
export { RedisUpsertSink, type RedisUpsertSinkOptions } from "./redis-upsert-sink.ts";
export {
  RedisConnectorError,
  RedisMalformedEntryError,
  type RedisConnectionSettings,
} from "./redis-connection.ts";
