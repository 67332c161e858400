// Setting up the CDC source's replication slot. A fresh split: the publication (created FOR the
// tables if missing), the slot created over a replication connection with EXPORT_SNAPSHOT, and
// the initial snapshot read in a REPEATABLE READ transaction on that exported snapshot, so the
// rows are exactly the state at the slot's consistent point (the stream continues after it). A
// restored split: the slot must still be there and not be confirmed past the checkpoint.

import pg from "pg";
import { type PostgresConnection, describeConnection, quoteName } from "../postgres-session.ts";
import {
  PostgresCdcError,
  type PostgresCdcSourceOptions,
  type PostgresCdcSplit,
  lsnString,
  lsnValue,
} from "./cdc-types.ts";

export function clientConfig(c: PostgresConnection): pg.ClientConfig {
  const base: pg.ClientConfig = typeof c === "string" ? { connectionString: c } : { ...c };
  base.connectionTimeoutMillis ??= 10_000;
  base.application_name ??= "weir-cdc";
  return base;
}

export function replicationConfig(c: PostgresConnection): pg.ClientConfig {
  return { ...clientConfig(c), replication: "database" } as pg.ClientConfig;
}

export function publicationOf(o: PostgresCdcSourceOptions): string {
  return o.publication ?? `${o.slot}_pub`;
}

async function connect(
  config: pg.ClientConfig,
  o: PostgresCdcSourceOptions,
  owner: string,
): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw new PostgresCdcError(
      "IO",
      `${owner}: cannot connect to PostgreSQL at ${describeConnection(o.connection)}: ${(e as Error).message}; check that the server runs and the connection settings`,
      e,
    );
  }
  return client;
}

function sqlError(owner: string, what: string, e: unknown, hint = ""): PostgresCdcError {
  const code = (e as { code?: string }).code;
  return new PostgresCdcError(
    "IO",
    `${owner}: ${what} failed: ${(e as Error).message}${code ? ` (SQLSTATE ${code})` : ""}${hint}`,
    e,
  );
}

/**
 * The slot's row once no connection streams from it any more (a restarted reader's predecessor
 * may still be letting go of it), waiting up to 30 s.
 */
async function inactiveSlot(admin: pg.Client, slot: string, owner: string): Promise<pg.QueryResult> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await admin.query(
      "SELECT confirmed_flush_lsn::text AS confirmed, active_pid FROM pg_replication_slots WHERE slot_name = $1",
      [slot],
    );
    if (r.rowCount === 0 || r.rows[0].active_pid === null) return r;
    if (Date.now() > deadline)
      throw new PostgresCdcError(
        "IO",
        `${owner}: the replication slot "${slot}" is in use by server process ${r.rows[0].active_pid}; another job or client reads it. Stop it, or give this source its own slot`,
      );
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Make the split ready to stream: a new slot (and snapshot), or a check of a restored one. */
export async function prepareSlot(
  o: PostgresCdcSourceOptions,
  split: PostgresCdcSplit,
  owner: string,
): Promise<void> {
  const admin = await connect(clientConfig(o.connection), o, owner);
  try {
    const level = (await admin.query("SHOW wal_level")).rows[0].wal_level as string;
    if (level !== "logical")
      throw new PostgresCdcError(
        "INVALID_ARGUMENT",
        `${owner}: the server at ${describeConnection(o.connection)} has wal_level = ${level}; logical replication needs wal_level = logical in postgresql.conf (then restart PostgreSQL)`,
      );
    const slot = await inactiveSlot(admin, split.id, owner);
    if (split.phase !== "new") {
      if (slot.rowCount === 0)
        throw new PostgresCdcError(
          "INVALID_ARGUMENT",
          `${owner}: the replication slot "${split.id}" of the restored checkpoint does not exist any more; changes since the checkpoint are gone. Start the job without a checkpoint (a new snapshot)`,
        );
      const confirmed = slot.rows[0].confirmed as string | null;
      if (confirmed !== null && lsnValue(confirmed) > lsnValue(split.startLsn))
        throw new PostgresCdcError(
          "INVALID_ARGUMENT",
          `${owner}: the slot "${split.id}" was confirmed up to ${confirmed}, past the restored checkpoint's position ${split.startLsn}; the changes in between are gone. Restore from the latest checkpoint, or start without one`,
        );
      return;
    }
    if (o.startLsn !== undefined && slot.rowCount! > 0) {
      await ensurePublication(admin, o, owner);
      await startAtLsn(admin, o, split, owner, slot.rows[0].confirmed as string | null);
      return;
    }
    // A fresh start owns the slot: one left by an earlier attempt is dropped.
    if (slot.rowCount! > 0) await admin.query("SELECT pg_drop_replication_slot($1)", [split.id]);
    await ensurePublication(admin, o, owner);
    const repl = await connect(replicationConfig(o.connection), o, owner);
    try {
      let created: { consistent_point: string; snapshot_name: string };
      try {
        // Exported also without a snapshot of rows: the columns are read as of the slot's start.
        created = (
          await repl.query(`CREATE_REPLICATION_SLOT ${quoteName(split.id)} LOGICAL pgoutput EXPORT_SNAPSHOT`)
        ).rows[0];
      } catch (e) {
        throw sqlError(
          owner,
          `creating replication slot "${split.id}"`,
          e,
          "; the user needs the REPLICATION attribute and a free slot (max_replication_slots)",
        );
      }
      if (o.startLsn !== undefined) {
        try {
          await startAtLsn(admin, o, split, owner, created.consistent_point);
        } catch (e) {
          // Refused: leave no new slot behind holding WAL.
          await repl.end().catch(() => {});
          await admin.query("SELECT pg_drop_replication_slot($1)", [split.id]).catch(() => {});
          throw e;
        }
        return;
      }
      split.startLsn = created.consistent_point;
      split.lastCommitLsn = "0/0";
      split.snapshotRows = [];
      await admin.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await admin.query(`SET TRANSACTION SNAPSHOT '${created.snapshot_name}'`);
      const names = await readColumns(admin, o, split, owner);
      if (o.snapshot !== "never") {
        for (const t of o.tables) {
          const name = names[o.tables.indexOf(t)]!;
          const rows = await admin.query(`SELECT * FROM ${quoteName(t)}`);
          for (const row of rows.rows) split.snapshotRows.push({ table: name, row });
        }
      }
      await admin.query("COMMIT");
      split.phase = "snapshot";
    } finally {
      await repl.end().catch(() => {});
    }
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * A start at `startLsn` (no snapshot): the first transaction committed at or after it. The slot
 * keeps changes only from its confirmed position (or, just created, its consistent point) on, and
 * PostgreSQL cannot go back before it: an earlier LSN is refused.
 */
async function startAtLsn(
  admin: pg.Client,
  o: PostgresCdcSourceOptions,
  split: PostgresCdcSplit,
  owner: string,
  oldest: string | null,
): Promise<void> {
  const from = lsnValue(o.startLsn!);
  if (oldest !== null && from < lsnValue(oldest))
    throw new PostgresCdcError(
      "INVALID_ARGUMENT",
      `${owner}: startLsn ${o.startLsn} is before ${oldest}, the oldest position the replication slot "${split.id}" still has (its confirmed_flush_lsn, or its start when just created); PostgreSQL cannot replay changes before it. Start at ${oldest} or later, or with a snapshot (no startLsn)`,
    );
  await readColumns(admin, o, split, owner);
  split.startLsn = o.startLsn!;
  split.lastCommitLsn = lsnString(from > 0n ? from - 1n : 0n);
  split.snapshotRows = [];
  split.phase = "snapshot";
}

async function ensurePublication(
  admin: pg.Client,
  o: PostgresCdcSourceOptions,
  owner: string,
): Promise<void> {
  const pub = publicationOf(o);
  const have = await admin.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [pub]);
  if (have.rowCount === 0) {
    try {
      await admin.query(
        `CREATE PUBLICATION ${quoteName(pub)} FOR TABLE ${o.tables.map(quoteName).join(", ")}`,
      );
    } catch (e) {
      throw sqlError(
        owner,
        `creating publication "${pub}"`,
        e,
        "; create it as the tables' owner: CREATE PUBLICATION ... FOR TABLE ...",
      );
    }
  }
}

/** Each table's columns (as of the admin connection's snapshot) into the split; their full names. */
async function readColumns(
  admin: pg.Client,
  o: PostgresCdcSourceOptions,
  split: PostgresCdcSplit,
  owner: string,
): Promise<string[]> {
  const names: string[] = [];
  for (const t of o.tables) {
    const cols = await admin.query(
      "SELECT n.nspname || '.' || c.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS cols FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE c.oid = to_regclass($1) GROUP BY 1",
      [quoteName(t)],
    );
    if (cols.rowCount === 0)
      throw new PostgresCdcError(
        "INVALID_ARGUMENT",
        `${owner}: table "${t}" does not exist; create it before the job runs`,
      );
    split.columns[cols.rows[0].name] = cols.rows[0].cols;
    names.push(cols.rows[0].name);
  }
  return names;
}
