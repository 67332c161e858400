// PostgresXaSink: exactly-once into a PostgreSQL table through PostgreSQL's own two-phase commit.
// Each subtask writes the rows of one checkpoint interval in one database transaction; at the
// checkpoint barrier (prepareCommit) it issues PREPARE TRANSACTION '<gid>', and when the
// checkpoint completes the committer issues COMMIT PREPARED '<gid>'. Nothing is visible before.
//
// The gid is "<prefix><subtask>:<checkpoint>:<attempt>", the prefix derived from job name and
// operator uid (the same for a job restored from a checkpoint), so after a crash:
//   - the restored committables (checkpoints that completed) are committed, each by new subtask
//     `old % parallelism` only; a gid no longer prepared was committed before (idempotent);
//   - every other prepared transaction with our prefix that the subtask owns (old % p = me) is a
//     leftover of a checkpoint that never completed: rolled back when the writer opens, which is
//     after the operator committed the subtask's restored share.
// PREPARE TRANSACTION is sent asynchronously after the barrier (the SPI's prepareCommit is
// synchronous); the committer waits for it before COMMIT PREPARED, and a closing writer waits
// for it too, so a failing task still prepares what its checkpoint covers. Only a process killed
// in the milliseconds between a barrier and its PREPARE reaching the server can lose the
// transaction of a checkpoint that nevertheless completed (docs/sinks.md says so).

import { createHash } from "node:crypto";
import type pg from "pg";
import type {
  Committer,
  PrecommittingSinkWriter,
  SinkWriterContext,
  TwoPhaseCommittingSink,
} from "../../index.ts";
import { PostgresSinkError } from "./postgres-sink-error.ts";
import { type PostgresConnection, PostgresSession } from "./postgres-session.ts";
import { type ColumnMapping, TableMapping } from "./postgres-table.ts";

export interface PostgresXaSinkOptions<T> {
  /** A connection string ("postgres://user@127.0.0.1:5432/db") or node-postgres client options. */
  connection: PostgresConnection;
  /** The table ("name" or "schema.name", used exactly as written). */
  table: string;
  /** The columns a record fills: names of the record's properties, or column → (record) => value. */
  columns: ColumnMapping<T>;
  /** Optional: write as upserts on these key columns (INSERT ... ON CONFLICT DO UPDATE). */
  keyColumns?: readonly string[];
  /** Rows per INSERT statement (default 500). */
  batchSize?: number;
  /** Prefix of the transactions' gids (default derived from job name and operator uid). */
  transactionPrefix?: string;
}

/** One subtask's prepared transaction of one checkpoint: the XA sink's committable. */
export interface XaTransaction {
  gid: string;
  checkpointId: number;
  /** The subtask that prepared it. */
  subtask: number;
}

/** The id prepareCommit gets at the end of input (the runtime's FINAL_CHECKPOINT_ID). */
const FINAL_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;

/** PREPARE TRANSACTION promises of this process by gid: the committer waits for them. */
const preparing = new Map<string, Promise<void>>();

/** The gid prefix of a sink operator of a job (PostgreSQL allows gids up to 200 bytes). */
export function xaTransactionPrefix(ctx: SinkWriterContext, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const base = `weir:${ctx.runtime.jobName}:${ctx.runtime.operatorUid}:`;
  if (Buffer.byteLength(base) <= 120) return base;
  return `weir:${createHash("sha256").update(base).digest("hex").slice(0, 32)}:`;
}

function gidOf(prefix: string, subtask: number, checkpointId: number, attempt: string): string {
  const chk = checkpointId === FINAL_CHECKPOINT_ID ? "final" : String(checkpointId);
  return `${prefix}${subtask}:${chk}:${attempt}`;
}

/** The subtask a gid of ours was prepared by, or undefined if it is not one of ours. */
function subtaskOf(prefix: string, gid: string): number | undefined {
  if (!gid.startsWith(prefix)) return undefined;
  const n = Number(gid.slice(prefix.length).split(":")[0]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class PostgresXaSink<T> implements TwoPhaseCommittingSink<T, XaTransaction> {
  private readonly mapping: TableMapping<T>;
  private readonly owner: string;

  constructor(private readonly options: PostgresXaSinkOptions<T>) {
    this.owner = `PostgresXaSink(table "${options?.table}")`;
    this.mapping = new TableMapping<T>(
      this.owner,
      options.table,
      options.columns,
      options.keyColumns,
      options.batchSize ?? 500,
    );
  }

  /**
   * Checks the table and max_prepared_transactions, rolls back this subtask's leftover prepared
   * transactions (of checkpoints that never completed), then writes.
   */
  async createWriter(ctx: SinkWriterContext): Promise<PrecommittingSinkWriter<T, XaTransaction>> {
    const session = new PostgresSession(this.options.connection, this.owner, this.mapping.table);
    const prefix = xaTransactionPrefix(ctx, this.options.transactionPrefix);
    try {
      await this.mapping.validate(session);
      const max = await session.query("reading max_prepared_transactions", "SHOW max_prepared_transactions");
      if (Number((max.rows[0] as { max_prepared_transactions: string }).max_prepared_transactions) === 0) {
        throw new PostgresSinkError(
          "INVALID_ARGUMENT",
          `${this.owner}: the server has max_prepared_transactions = 0, so PREPARE TRANSACTION is refused; set max_prepared_transactions to at least the sink's parallelism times the checkpoints in flight plus one (e.g. 10) in postgresql.conf and restart PostgreSQL, or use PostgresWriteAheadSink`,
          { table: this.mapping.table },
        );
      }
      const left = await session.query(
        "listing prepared transactions",
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)",
        [prefix],
      );
      for (const { gid } of left.rows as Array<{ gid: string }>) {
        const old = subtaskOf(prefix, gid);
        if (old === undefined || old % ctx.parallelism !== ctx.subtaskIndex) continue;
        await preparing.get(gid)?.catch(() => {});
        preparing.delete(gid);
        await rollbackPrepared(session, gid);
      }
    } catch (e) {
      await session.close();
      throw e;
    }
    return new XaWriter(this.mapping, session, ctx, prefix);
  }

  /** Commits prepared transactions; after a restore only those of old subtasks `old % p = me`. */
  createCommitter(ctx: SinkWriterContext): Committer<XaTransaction> {
    const session = new PostgresSession(this.options.connection, this.owner, this.mapping.table);
    return {
      async commit(committables: XaTransaction[]): Promise<void> {
        for (const c of committables) {
          if (c.subtask % ctx.parallelism !== ctx.subtaskIndex) continue;
          await preparing.get(c.gid);
          try {
            await session.query(
              `committing prepared transaction '${c.gid}' (checkpoint ${c.checkpointId})`,
              `COMMIT PREPARED ${literal(c.gid)}`,
            );
          } catch (e) {
            // 42704: no such prepared transaction: it was committed before (a repeated commit).
            if ((e as PostgresSinkError).sqlState !== "42704") throw e;
          }
          preparing.delete(c.gid);
        }
      },
      close: () => session.close(),
    };
  }
}

async function rollbackPrepared(session: PostgresSession, gid: string): Promise<void> {
  try {
    await session.query(
      `rolling back leftover prepared transaction '${gid}'`,
      `ROLLBACK PREPARED ${literal(gid)}`,
    );
  } catch (e) {
    if ((e as PostgresSinkError).sqlState !== "42704") throw e;
  }
}

/** One subtask's writer: rows go into an open transaction as they come, batched. */
class XaWriter<T> implements PrecommittingSinkWriter<T, XaTransaction> {
  private buffer: T[] = [];
  /** The statements sent so far, in order; the first failure is kept in `failure`. */
  private work: Promise<void> = Promise.resolve();
  private failure: unknown;
  private inTransaction = false;
  private readonly attempt: string;

  constructor(
    private readonly mapping: TableMapping<T>,
    private readonly session: PostgresSession,
    private readonly ctx: SinkWriterContext,
    private readonly prefix: string,
  ) {
    this.attempt = createHash("sha256")
      .update(ctx.attemptTag ?? `${ctx.runtime.jobId}/${ctx.runtime.attemptNumber}`)
      .digest("hex")
      .slice(0, 12);
  }

  private enqueue(step: (client: pg.Client) => Promise<void>): Promise<void> {
    const run = this.work.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await step(await this.session.get());
      } catch (e) {
        this.failure = e;
      }
    });
    this.work = run;
    return run;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    const begin = !this.inTransaction;
    this.inTransaction = true;
    const what = `writing ${rows.length} rows into table "${this.mapping.table}"`;
    void this.enqueue(async (client) => {
      if (begin) {
        try {
          await client.query("BEGIN");
        } catch (e) {
          throw this.session.statementError("starting a transaction", e);
        }
      }
      await this.mapping.write(this.session, client, rows, what);
    });
  }

  write(value: T): void {
    this.throwIfFailed();
    this.buffer.push(value);
    if (this.buffer.length >= 500) this.flush();
  }

  prepareCommit(checkpointId: number): XaTransaction[] {
    this.throwIfFailed();
    this.flush();
    if (!this.inTransaction) return [];
    this.inTransaction = false;
    const gid = gidOf(this.prefix, this.ctx.subtaskIndex, checkpointId, this.attempt);
    const done = this.enqueue(async (client) => {
      try {
        await client.query(`PREPARE TRANSACTION ${literal(gid)}`);
      } catch (e) {
        throw this.session.statementError(`preparing transaction '${gid}' (checkpoint ${checkpointId})`, e);
      }
    }).then(() => {
      if (this.failure !== undefined) throw this.failure;
    });
    done.catch(() => {});
    preparing.set(gid, done);
    return [{ gid, checkpointId, subtask: this.ctx.subtaskIndex }];
  }

  async close(): Promise<void> {
    // Let PREPAREs already sent finish (a failing task still prepares what its checkpoint covers);
    // an open, unprepared transaction belongs to no checkpoint: ending the session rolls it back.
    await this.work;
    await this.session.close();
  }
}
