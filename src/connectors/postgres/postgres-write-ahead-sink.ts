// PostgresWriteAheadSink: the write-ahead-log sink on a PostgreSQL table. The records of each
// checkpoint are kept in the checkpoint; once it completes they are inserted in ONE transaction
// that also inserts the checkpoint's transaction id into a committed-checkpoints table
// (weir_committed_checkpoints(txn_id primary key)). A transaction id already there means the
// records were written before (a commit repeated after a restart): they are skipped. Each record
// reaches the table exactly once.

import {
  type Committer,
  type PrecommittingSinkWriter,
  type SinkWriterContext,
  type TwoPhaseCommittingSink,
  WriteAheadSink,
  type WriteAheadTransaction,
} from "../../index.ts";
import type { PostgresSinkError } from "./postgres-sink-error.ts";
import { type PostgresConnection, PostgresSession, quoteName } from "./postgres-session.ts";
import { type ColumnMapping, TableMapping } from "./postgres-table.ts";

export const DEFAULT_CHECKPOINT_TABLE = "weir_committed_checkpoints";

export interface PostgresWriteAheadSinkOptions<T> {
  /** A connection string ("postgres://user@127.0.0.1:5432/db") or node-postgres client options. */
  connection: PostgresConnection;
  /** The table ("name" or "schema.name", used exactly as written). */
  table: string;
  /** The columns a record fills: names of the record's properties, or column → (record) => value. */
  columns: ColumnMapping<T>;
  /** Optional: write as upserts on these key columns (INSERT ... ON CONFLICT DO UPDATE) instead of inserts. */
  keyColumns?: readonly string[];
  /** The committed-checkpoints table, created if missing (default weir_committed_checkpoints). */
  checkpointTable?: string;
  /** Rows per INSERT statement (default 500). */
  batchSize?: number;
}

export class PostgresWriteAheadSink<T> implements TwoPhaseCommittingSink<T, WriteAheadTransaction<T>> {
  private readonly inner: WriteAheadSink<T>;
  private readonly mapping: TableMapping<T>;
  private readonly checkpoints: TableMapping<{ txn_id: string }>;
  private readonly connection: PostgresConnection;
  private readonly owner: string;

  constructor(options: PostgresWriteAheadSinkOptions<T>) {
    this.owner = `PostgresWriteAheadSink(table "${options?.table}")`;
    this.connection = options.connection;
    const owner = this.owner;
    const connection = this.connection;
    const mapping = new TableMapping<T>(
      owner,
      options.table,
      options.columns,
      options.keyColumns,
      options.batchSize ?? 500,
    );
    this.mapping = mapping;
    const checkpointTable = options.checkpointTable ?? DEFAULT_CHECKPOINT_TABLE;
    this.checkpoints = new TableMapping(owner, checkpointTable, ["txn_id"], ["txn_id"], 1);
    const markSql = `INSERT INTO ${quoteName(checkpointTable)} (txn_id) VALUES ($1) ON CONFLICT (txn_id) DO NOTHING`;
    this.inner = new WriteAheadSink<T>({
      createSender() {
        const session = new PostgresSession(connection, owner, mapping.table);
        return {
          sendValues: (values, checkpointId, _subtask, transactionId) => {
            const what = `writing transaction '${transactionId}' into table "${mapping.table}"`;
            return session.transaction(what, async (client) => {
              // Waits for a concurrent writer of the same id; no row inserted: it was written before.
              let marked: number | null;
              try {
                marked = (await client.query(markSql, [transactionId])).rowCount;
              } catch (e) {
                throw session.statementError(
                  `marking transaction '${transactionId}' in table "${checkpointTable}"`,
                  e,
                );
              }
              if (marked === 0) return;
              await mapping.write(session, client, values, `${what} (checkpoint ${checkpointId})`);
            });
          },
          close: () => session.close(),
        };
      },
    });
  }

  /** Checks the table and its columns, and creates the committed-checkpoints table if missing. */
  async createWriter(ctx: SinkWriterContext): Promise<PrecommittingSinkWriter<T, WriteAheadTransaction<T>>> {
    const session = new PostgresSession(this.connection, this.owner, this.mapping.table);
    try {
      await this.mapping.validate(session);
      await ensureCheckpointTable(session, this.checkpoints.table);
      await this.checkpoints.validate(session);
    } finally {
      await session.close();
    }
    return this.inner.createWriter(ctx);
  }

  createCommitter(ctx: SinkWriterContext): Committer<WriteAheadTransaction<T>> {
    return this.inner.createCommitter(ctx);
  }
}

/** CREATE TABLE IF NOT EXISTS, tolerating the race of several subtasks creating it at once. */
async function ensureCheckpointTable(session: PostgresSession, table: string): Promise<void> {
  const sql = `CREATE TABLE IF NOT EXISTS ${quoteName(table)} (txn_id text PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now())`;
  try {
    await session.query(`creating the committed-checkpoints table "${table}"`, sql);
  } catch (e) {
    const state = (e as PostgresSinkError).sqlState;
    if (state !== "23505" && state !== "42P07") throw e;
  }
}
