// PostgreSQL connector sections (ids conn-pg-*), in the shape of bench/connectors.ts: the CDC
// source and the XA sink next to the bare clients doing the same work in a plain loop. Both need
// wal_level=logical / max_prepared_transactions>0, which the shared server on :5432 does not
// have, so the first section to run starts a private cluster (test/connectors/private-postgres.ts:
// initdb + pg_ctl on a free port in a temp directory) and cleanUpPostgresBenchmarks() stops it.

import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import pg from "pg";
import {
  type ChangeRecord,
  PostgresCdcSource,
  PostgresUpsertSink,
  PostgresWriteAheadSink,
  PostgresXaSink,
} from "../src/connectors/postgres/index.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../test/connectors/private-postgres.ts";
import { CountingSink, sinkFigures } from "./lib/counting-sink.ts";
import type { Run, Section } from "./lib/harness.ts";
import { weirJob } from "./lib/timed-job.ts";

const BASE = 50_000;
const count = (scale: number) => Math.max(1000, Math.round(BASE * scale));
const tag = () => `weirbench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
const PAGE = "/checkout";

let cluster: Promise<PrivatePostgres> | undefined;
const pgc = () => {
  cluster ??= startPrivatePostgres();
  return cluster;
};

/** Inserts ids 1..n into the table in transactions of 1000 rows (one multi-row INSERT each). */
async function insertRows(p: PrivatePostgres, table: string, n: number): Promise<void> {
  for (let from = 1; from <= n; from += 1000) {
    const to = Math.min(n, from + 999);
    await p.sql(`INSERT INTO ${table} (id, page) SELECT g, $1 FROM generate_series($2::int, $3::int) g`, [
      PAGE,
      from,
      to,
    ]);
  }
}

/** One run's changes: a slot created first, then n inserts; the slot's start and the end LSN. */
async function cdcChanges(
  n: number,
): Promise<{ p: PrivatePostgres; table: string; slot: string; start: string; end: string }> {
  const p = await pgc();
  const table = tag();
  const slot = `${table}_slot`;
  await p.sql(`CREATE TABLE ${table} (id int PRIMARY KEY, page text NOT NULL)`);
  await p.sql(`CREATE PUBLICATION ${slot}_pub FOR TABLE ${table}`);
  const start = (await p.sql("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", [slot]))
    .rows[0].lsn as string;
  await insertRows(p, table, n);
  const end = (await p.sql("SELECT pg_current_wal_lsn() AS lsn")).rows[0].lsn as string;
  return { p, table, slot, start, end };
}

async function dropCdc(p: PrivatePostgres, table: string, slot: string): Promise<void> {
  await p.sql("SELECT pg_drop_replication_slot($1)", [slot]).catch(() => {});
  await p.sql(`DROP PUBLICATION IF EXISTS ${slot}_pub`);
  await p.sql(`DROP TABLE IF EXISTS ${table}`);
}

const lsnNum = (lsn: string) => {
  const [hi, lo] = lsn.split("/");
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};

const cdcSource: Section = {
  id: "conn-pg-cdc",
  title: "PostgreSQL CDC source: bare pgoutput stream vs PostgresCdcSource",
  description:
    "Read 50k inserts (50 transactions of 1000 rows) from a fresh logical replication slot (pgoutput, a publication of the table) up to the LSN after them: pg-logical-replication's service counting insert messages (baseline) vs a bounded PostgresCdcSource (snapshot never, startLsn = the slot's start, stopAtLsn) → counting sink; the check is the ids summed.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare pg-logical-replication",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const { p, table, slot, start, end } = await cdcChanges(n);
        try {
          const service = new LogicalReplicationService(
            { connectionString: p.url, replication: "database" } as never,
            { acknowledge: { auto: false, timeoutSeconds: 0 } },
          );
          const stopAt = lsnNum(end);
          let got = 0;
          let sum = 0;
          const t0 = performance.now();
          const done = new Promise<void>((resolve, reject) => {
            service.on("error", reject);
            service.on("data", (lsn: string, msg: Pgoutput.Message) => {
              if (msg.tag === "insert") {
                got++;
                sum += Number((msg.new as { id: number }).id);
              } else if (msg.tag === "commit" && lsnNum(lsn) >= stopAt) resolve();
              else if (msg.tag === "commit" && got === n) resolve();
            });
          });
          void service
            .subscribe(
              new PgoutputPlugin({ protoVersion: 1, publicationNames: [`${slot}_pub`] }),
              slot,
              start,
            )
            .catch(() => {});
          await done;
          const ms = performance.now() - t0;
          await service.stop();
          return { records: got, ms, check: sum };
        } finally {
          await dropCdc(p, table, slot);
        }
      },
    },
    {
      name: "Weir PostgresCdcSource",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const { p, table, slot, start, end } = await cdcChanges(n);
        try {
          const { result, ms } = await weirJob(
            (env) =>
              env
                .fromSource(
                  new PostgresCdcSource({
                    connection: p.url,
                    tables: [table],
                    slot,
                    snapshot: "never",
                    startLsn: start,
                    stopAtLsn: end,
                  }),
                  "pg-cdc",
                )
                .sinkTo(new CountingSink<ChangeRecord>((c) => (c.kind === "+I" ? Number(c.row.id) : 0))),
            "bench-pg-cdc",
          );
          const f = sinkFigures(result);
          return { records: f.records, ms, check: f.checksum };
        } finally {
          await dropCdc(p, table, slot);
        }
      },
    },
  ],
};

async function newTable(p: PrivatePostgres): Promise<string> {
  const table = tag();
  await p.sql(`CREATE TABLE ${table} (id int PRIMARY KEY, page text NOT NULL)`);
  return table;
}

async function tableCheck(p: PrivatePostgres, table: string): Promise<string> {
  const r = (await p.sql(`SELECT count(*)::int AS n, coalesce(sum(id), 0)::bigint AS s FROM ${table}`))
    .rows[0];
  await p.sql(`DROP TABLE ${table}`);
  return `${r.n} rows, ids sum ${r.s}`;
}

const xaSink: Section = {
  id: "conn-pg-xa",
  title: "PostgreSQL XA sink: bare PREPARE/COMMIT PREPARED loop vs PostgresXaSink",
  description:
    "Insert 50k rows (id, page) into a fresh table: bare pg with transactions of 1000 rows (INSERTs of 500 rows, PREPARE TRANSACTION, COMMIT PREPARED) (baseline) vs a bounded job into PostgresXaSink (500 rows per INSERT, prepared and committed at the end); the check is the row count and the ids summed.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare pg PREPARE/COMMIT PREPARED",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const p = await pgc();
        const table = await newTable(p);
        const c = new pg.Client({ connectionString: p.url });
        await c.connect();
        const t0 = performance.now();
        try {
          for (let from = 0; from < n; from += 1000) {
            await c.query("BEGIN");
            for (let s = from; s < Math.min(n, from + 1000); s += 500) {
              const rows = Math.min(500, n - s);
              const values: unknown[] = [];
              const ph: string[] = [];
              for (let i = 0; i < rows; i++) {
                values.push(s + i + 1, PAGE);
                ph.push(`($${2 * i + 1}, $${2 * i + 2})`);
              }
              await c.query(`INSERT INTO ${table} (id, page) VALUES ${ph.join(",")}`, values);
            }
            const gid = `${table}_${from}`;
            await c.query(`PREPARE TRANSACTION '${gid}'`);
            await c.query(`COMMIT PREPARED '${gid}'`);
          }
        } finally {
          await c.end();
        }
        const ms = performance.now() - t0;
        return { records: n, ms, check: await tableCheck(p, table) };
      },
    },
    {
      name: "Weir PostgresXaSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const p = await pgc();
        const table = await newTable(p);
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(1, n)
              .map((id) => ({ id, page: PAGE }))
              .sinkTo(
                new PostgresXaSink<{ id: number; page: string }>({
                  connection: p.url,
                  table,
                  columns: ["id", "page"],
                }),
              ),
          "bench-pg-xa",
        );
        return { records: n, ms, check: await tableCheck(p, table) };
      },
    },
  ],
};

// The write-ahead and upsert sinks need nothing special: the shared server (WEIR_PG_URL, default
// postgres://postgres@127.0.0.1:5432/test); tables have random names and are dropped afterwards.
const SHARED = process.env.WEIR_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const USERS = 5000;

async function withShared<R>(fn: (c: pg.Client) => Promise<R>): Promise<R> {
  const c = new pg.Client({ connectionString: SHARED });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** INSERT (or upsert on key) rows in statements of 500 rows, transactions of 1000 rows. */
async function bareInserts(
  c: pg.Client,
  table: string,
  rows: unknown[][],
  cols: string[],
  upsertKey?: string,
) {
  const tail =
    upsertKey === undefined
      ? ""
      : ` ON CONFLICT (${upsertKey}) DO UPDATE SET ${cols
          .filter((k) => k !== upsertKey)
          .map((k) => `${k} = EXCLUDED.${k}`)
          .join(", ")}`;
  for (let from = 0; from < rows.length; from += 1000) {
    await c.query("BEGIN");
    for (let s = from; s < Math.min(rows.length, from + 1000); s += 500) {
      const batch = rows.slice(s, Math.min(rows.length, s + 500, from + 1000));
      const values: unknown[] = [];
      const ph = batch.map((r) => `(${r.map((v) => `$${values.push(v)}`).join(", ")})`);
      await c.query(`INSERT INTO ${table} (${cols.join(", ")}) VALUES ${ph.join(", ")}${tail}`, values);
    }
    await c.query("COMMIT");
  }
}

const writeAheadSink: Section = {
  id: "conn-pg-wal",
  title: "PostgreSQL write-ahead sink: bare batched INSERTs vs PostgresWriteAheadSink",
  description:
    "Insert 50k rows (id, page) into a fresh table on the shared server: bare pg with INSERTs of 500 rows in transactions of 1000 rows (baseline) vs a bounded job into PostgresWriteAheadSink (500 rows per INSERT, one transaction with the committed-checkpoint row at the end); the check is the row count and the ids summed.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare pg batched INSERT",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        const rows = Array.from({ length: n }, (_, i) => [i + 1, PAGE]);
        return withShared(async (c) => {
          const table = tag();
          await c.query(`CREATE TABLE ${table} (id int PRIMARY KEY, page text NOT NULL)`);
          const t0 = performance.now();
          await bareInserts(c, table, rows, ["id", "page"]);
          const ms = performance.now() - t0;
          return { records: n, ms, check: await sharedCheck(c, table, "count(*)::int", "sum(id)") };
        });
      },
    },
    {
      name: "Weir PostgresWriteAheadSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const table = tag();
        await withShared((c) => c.query(`CREATE TABLE ${table} (id int PRIMARY KEY, page text NOT NULL)`));
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(1, n)
              .map((id) => ({ id, page: PAGE }))
              .sinkTo(
                new PostgresWriteAheadSink<{ id: number; page: string }>({
                  connection: SHARED,
                  table,
                  columns: ["id", "page"],
                  checkpointTable: `${table}_ckp`,
                }),
              ),
          "bench-pg-wal",
        );
        return {
          records: n,
          ms,
          check: await withShared(async (c) => {
            await c.query(`DROP TABLE IF EXISTS ${table}_ckp`);
            return sharedCheck(c, table, "count(*)::int", "sum(id)");
          }),
        };
      },
    },
  ],
};

const upsertSink: Section = {
  id: "conn-pg-upsert",
  title: "PostgreSQL upsert sink: bare INSERT ... ON CONFLICT vs PostgresUpsertSink",
  description:
    "50k updates of 5000 users' rows (user, clicks, sum) on the shared server: bare pg upserting every update (INSERT ... ON CONFLICT DO UPDATE, 500 rows per statement, transactions of 1000) (baseline) vs a bounded job into PostgresUpsertSink (key user); the check is the rows and their final clicks summed.",
  warmups: 1,
  rounds: 3,
  variants: [
    {
      name: "bare pg upsert loop",
      baseline: true,
      async run(scale): Promise<Run> {
        const n = count(scale);
        // One statement cannot touch a row twice (ON CONFLICT), so each 500-row statement holds
        // 500 distinct users: updates in order i = 0.., user i % 5000.
        const rows = Array.from({ length: n }, (_, i) => [i % USERS, Math.floor(i / USERS) + 1, i]);
        return withShared(async (c) => {
          const table = tag();
          await c.query(
            `CREATE TABLE ${table} (usr int PRIMARY KEY, clicks int NOT NULL, total bigint NOT NULL)`,
          );
          const t0 = performance.now();
          await bareInserts(c, table, rows, ["usr", "clicks", "total"], "usr");
          const ms = performance.now() - t0;
          return { records: n, ms, check: await sharedCheck(c, table, "count(*)::int", "sum(clicks)") };
        });
      },
    },
    {
      name: "Weir PostgresUpsertSink",
      async run(scale): Promise<Run> {
        const n = count(scale);
        const table = tag();
        await withShared((c) =>
          c.query(`CREATE TABLE ${table} (usr int PRIMARY KEY, clicks int NOT NULL, total bigint NOT NULL)`),
        );
        const { ms } = await weirJob(
          (env) =>
            env
              .fromSequence(0, n - 1)
              .map((i) => ({ usr: i % USERS, clicks: Math.floor(i / USERS) + 1, total: i }))
              .sinkTo(
                new PostgresUpsertSink<{ usr: number; clicks: number; total: number }>({
                  connection: SHARED,
                  table,
                  columns: ["usr", "clicks", "total"],
                  keyColumns: ["usr"],
                }),
              ),
          "bench-pg-upsert",
        );
        return {
          records: n,
          ms,
          check: await withShared((c) => sharedCheck(c, table, "count(*)::int", "sum(clicks)")),
        };
      },
    },
  ],
};

async function sharedCheck(c: pg.Client, table: string, a: string, b: string): Promise<string> {
  const r = (await c.query(`SELECT ${a} AS a, coalesce(${b}, 0)::bigint AS b FROM ${table}`)).rows[0];
  await c.query(`DROP TABLE ${table}`);
  return `${r.a} rows, ${b} ${r.b}`;
}

/** Stops the private cluster (called by bench/run.ts after the sections). */
export async function cleanUpPostgresBenchmarks(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c !== undefined) await (await c).stop();
}

export const postgresConnectorSections: Section[] = [cdcSource, xaSink, writeAheadSink, upsertSink];
