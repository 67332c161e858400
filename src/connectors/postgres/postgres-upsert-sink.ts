// PostgresUpsertSink: the idempotent upsert sink pattern on a PostgreSQL table. Each subtask
// buffers records by their key columns (last write wins) and, at every checkpoint barrier and at
// the end of input, writes the buffer in one transaction of batched
// INSERT ... ON CONFLICT (key columns) DO UPDATE statements. At-least-once delivery; the table
// converges to exactly the result of a run without failures.

import {
  type Committer,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  type UpsertBatch,
  UpsertSink,
} from "../../index.ts";
import { type PostgresConnection, PostgresSession } from "./postgres-session.ts";
import { type ColumnMapping, TableMapping } from "./postgres-table.ts";

export interface PostgresUpsertSinkOptions<T> {
  /** A connection string ("postgres://user@127.0.0.1:5432/db") or node-postgres client options. */
  connection: PostgresConnection;
  /** The table ("name" or "schema.name", used exactly as written). */
  table: string;
  /** The columns a record fills: names of the record's properties, or column → (record) => value. */
  columns: ColumnMapping<T>;
  /** The columns of the table's primary key or unique index: the upsert key. */
  keyColumns: readonly string[];
  /** Rows per INSERT statement (default 500). */
  batchSize?: number;
}

export class PostgresUpsertSink<T> implements TwoPhaseCommittingSink<T, UpsertBatch<T>> {
  private readonly inner: UpsertSink<T>;
  private readonly mapping: TableMapping<T>;
  private readonly connection: PostgresConnection;
  private readonly owner: string;

  constructor(options: PostgresUpsertSinkOptions<T>) {
    this.owner = `PostgresUpsertSink(table "${options?.table}")`;
    this.connection = options.connection;
    const mapping = new TableMapping<T>(
      this.owner,
      options.table,
      options.columns,
      options.keyColumns ?? [],
      options.batchSize ?? 500,
    );
    this.mapping = mapping;
    const owner = this.owner;
    const connection = this.connection;
    this.inner = new UpsertSink<T>({
      key: (r) => mapping.key(r),
      createTarget() {
        const session = new PostgresSession(connection, owner, mapping.table);
        const what = `upsert into table "${mapping.table}"`;
        return {
          upsert: (rows) => session.transaction(what, (client) => mapping.write(session, client, rows, what)),
          close: () => session.close(),
        };
      },
    });
  }

  /** Checks the table, its columns and its unique key before the first record. */
  async createWriter(ctx: SinkWriterContext): Promise<PrecommittingSinkWriter<T, UpsertBatch<T>>> {
    const session = new PostgresSession(this.connection, this.owner, this.mapping.table);
    try {
      await this.mapping.validate(session);
    } finally {
      await session.close();
    }
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<UpsertBatch<T>> {
    return this.inner.createCommitter(ctx);
  }
}
