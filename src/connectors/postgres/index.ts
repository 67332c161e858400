// The PostgreSQL connector's public API: an idempotent upsert sink and a write-ahead-log sink.

export { PostgresUpsertSink, type PostgresUpsertSinkOptions } from "./postgres-upsert-sink.ts";
export {
  PostgresWriteAheadSink,
  DEFAULT_CHECKPOINT_TABLE,
  type PostgresWriteAheadSinkOptions,
} from "./postgres-write-ahead-sink.ts";
export { PostgresSinkError } from "./postgres-sink-error.ts";
export type { PostgresConnection } from "./postgres-session.ts";
export type { ColumnMapping } from "./postgres-table.ts";
