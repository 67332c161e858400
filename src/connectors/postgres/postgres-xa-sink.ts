// PostgresXaSink: exactly-once into a PostgreSQL table through PostgreSQL's own two-phase commit.
// Each subtask writes the rows of one checkpoint interval in one database transaction; at the
// checkpoint barrier (prepareCommit) it issues PREPARE TRANSACTION '<gid>', and when the
// checkpoint completes the committer issues COMMIT PREPARED '<gid>'. Nothing is visible before.
//
// The gid is "<prefix><subtask>:<checkpoint>:<attempt>", the prefix derived from job name and
// operator uid (the same for a job restored from a checkpoint), so after a crash:
//   - the restored committables (checkpoints that completed) are committed, each by new subtask
//     `old % parallelism` only; a gid no longer prepared was committed before (a repeated
//     commit): the server's commit log says so for its transaction id (txid_status), and a
//     transaction that was rolled back instead fails the job (its rows would be lost);
//   - every other prepared transaction with our prefix that the subtask owns (old % p = me) is a
//     leftover of a checkpoint that never completed: rolled back when the writer opens, which is
//     after the operator committed the subtask's restored share.
// prepareCommit returns the Promise of the PREPARE TRANSACTION: the task acknowledges the
// checkpoint only once the transaction is durably prepared, so a completed checkpoint never holds
// a gid that was not prepared (no window in which a killed process loses a checkpoint's rows).

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
  /**
   * The transaction's id (txid_current(), as text): tells a transaction committed before from
   * one rolled back when its gid is no longer prepared. Absent in committables of checkpoints
   * taken before it was added (such a gid is then taken as committed, as it was then).
   */
  xid?: string;
}

/** The id prepareCommit gets at the end of input (the runtime's FINAL_CHECKPOINT_ID). */
const FINAL_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;

/**
 * PREPARE TRANSACTION promises of this process by gid: a writer of a later attempt waits for a
 * failed attempt's PREPARE before it rolls its leftovers back.
 */
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
    const { owner, mapping } = this;
    const session = new PostgresSession(this.options.connection, this.owner, this.mapping.table);
    return {
      async commit(committables: XaTransaction[]): Promise<void> {
        for (const c of committables) {
          if (c.subtask % ctx.parallelism !== ctx.subtaskIndex) continue;
          try {
            await session.query(
              `committing prepared transaction '${c.gid}' (checkpoint ${c.checkpointId})`,
              `COMMIT PREPARED ${literal(c.gid)}`,
            );
          } catch (e) {
            // 42704: no such prepared transaction: committed before (a repeated commit), or lost.
            if ((e as PostgresSinkError).sqlState !== "42704") throw e;
            await checkCommittedBefore(session, c, owner, mapping.table);
          }
          preparing.delete(c.gid);
        }
      },
      close: () => session.close(),
    };
  }
}

/**
 * A committable of a completed checkpoint whose gid is no longer prepared. Its PREPARE succeeded
 * before the checkpoint was acknowledged, and this job rolls back only gids that no completed
 * checkpoint holds, so it was committed before (a commit repeated after a restart) — unless
 * someone else rolled it back (ROLLBACK PREPARED by hand, or another running job with the same
 * gid prefix). The server's commit log tells: committed passes, anything else fails the job.
 * When the server can no longer tell (NULL: the id is older than its commit log, long frozen),
 * and for committables without an id (older checkpoints), it is taken as committed.
 */
async function checkCommittedBefore(
  session: PostgresSession,
  c: XaTransaction,
  owner: string,
  table: string,
): Promise<void> {
  if (c.xid === undefined) return;
  const r = await session.query(
    `checking the outcome of transaction '${c.gid}' (checkpoint ${c.checkpointId})`,
    "SELECT txid_status($1::bigint) AS status",
    [c.xid],
  );
  const status = (r.rows[0] as { status: string | null }).status;
  if (status === "committed" || status === null) return;
  throw new PostgresSinkError(
    "IO",
    `${owner}: prepared transaction '${c.gid}' of completed checkpoint ${c.checkpointId} (subtask ${c.subtask}) is no longer prepared and was not committed (transaction ${c.xid} is ${status}): its rows are lost. Something outside this job rolled it back (ROLLBACK PREPARED by hand, or another job with the same job name and sink uid, i.e. the same transactionPrefix, running at once); restore the job from a checkpoint taken before checkpoint ${c.checkpointId} to write them again, and give concurrent jobs distinct names or transactionPrefix options`,
    { table },
  );
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

  /**
   * Resolves once PREPARE TRANSACTION succeeded (the checkpoint is acknowledged only then); rows
   * written meanwhile go into the next transaction, sent after the PREPARE on the same session.
   */
  prepareCommit(checkpointId: number): XaTransaction[] | Promise<XaTransaction[]> {
    this.throwIfFailed();
    this.flush();
    if (!this.inTransaction) return [];
    this.inTransaction = false;
    const gid = gidOf(this.prefix, this.ctx.subtaskIndex, checkpointId, this.attempt);
    let xid = "";
    const done = this.enqueue(async (client) => {
      const what = `preparing transaction '${gid}' (checkpoint ${checkpointId})`;
      try {
        const r = await client.query("SELECT txid_current()::text AS xid");
        xid = (r.rows[0] as { xid: string }).xid;
        await client.query(`PREPARE TRANSACTION ${literal(gid)}`);
      } catch (e) {
        throw this.session.statementError(what, e);
      }
    }).then(() => {
      if (this.failure !== undefined) throw this.failure;
    });
    done.catch(() => {});
    preparing.set(gid, done);
    return done.then(() => [{ gid, checkpointId, subtask: this.ctx.subtaskIndex, xid }]);
  }

  async close(): Promise<void> {
    // Let PREPAREs already sent finish (a failing task still prepares what its checkpoint covers);
    // an open, unprepared transaction belongs to no checkpoint: ending the session rolls it back.
    await this.work;
    await this.session.close();
  }
}
