// The PostgreSQL connector's public API: an idempotent upsert sink, a write-ahead-log sink, an XA
// (PREPARE TRANSACTION) sink, and a CDC source on logical replication (pgoutput).

export { PostgresUpsertSink, type PostgresUpsertSinkOptions } from "./postgres-upsert-sink.ts";
export {
  PostgresWriteAheadSink,
  DEFAULT_CHECKPOINT_TABLE,
  type PostgresWriteAheadSinkOptions,
} from "./postgres-write-ahead-sink.ts";
export { PostgresSinkError } from "./postgres-sink-error.ts";
export type { PostgresConnection } from "./postgres-session.ts";
export type { ColumnMapping } from "./postgres-table.ts";
export {
  PostgresXaSink,
  xaTransactionPrefix,
  type PostgresXaSinkOptions,
  type XaTransaction,
} from "./postgres-xa-sink.ts";
export { PostgresCdcSource } from "./cdc/cdc-source.ts";
export {
  type ChangeKind,
  type ChangeRecord,
  PostgresCdcError,
  type PostgresCdcSourceOptions,
  type PostgresCdcSplit,
} from "./cdc/cdc-types.ts";
