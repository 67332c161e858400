// The PostgreSQL sinks against a real PostgreSQL (WEIR_PG_URL, default
// postgres://postgres@127.0.0.1:5432/test): a keyed job with checkpoints and a failure injected
// into user code. The upsert table ends with exactly the per-key totals; the write-ahead-log
// table holds every record exactly once. Bad configuration is refused naming table and column.
// Each test creates its own tables (random suffix) and drops them.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import {
  PostgresSinkError,
  PostgresUpsertSink,
  PostgresWriteAheadSink,
} from "../../src/connectors/postgres/index.ts";
import { type Event, type Totals, expectedTotals, withEventJob } from "../sinks/sink-jobs.ts";

const URL = process.env.WEIR_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const suffix = randomBytes(4).toString("hex");
const t = (name: string) => `weir_${name}_${suffix}`;

let admin: pg.Client | undefined;
const created: string[] = [];

async function sql(text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return admin!.query(text, values);
}

async function createTable(name: string, definition: string): Promise<string> {
  created.push(name);
  await sql(`CREATE TABLE "${name}" (${definition})`);
  return name;
}

/** A client of the shared PostgreSQL; starts the local cluster when it is down, fails when it can't. */
async function connectShared(): Promise<pg.Client> {
  const tryConnect = async (): Promise<pg.Client | undefined> => {
    const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    try {
      await c.connect();
      return c;
    } catch {
      await c.end().catch(() => {});
      return undefined;
    }
  };
  const first = await tryConnect();
  if (first !== undefined) return first;
  const versions = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql") : [];
  if (versions.length > 0) {
    spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0]!, "main", "start"], {
      stdio: "ignore",
    });
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const c = await tryConnect();
    if (c !== undefined) return c;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `PostgreSQL is not reachable at ${URL.replace(/\/\/[^@/]*@/, "//")} and could not be started; ` +
      "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  );
}

before(async () => {
  admin = await connectShared();
});

after(async () => {
  if (admin === undefined) return;
  for (const name of created) await sql(`DROP TABLE IF EXISTS "${name}"`);
  await admin.end();
});

describe("PostgresUpsertSink (PostgreSQL)", () => {
  it("a keyed running total with a failure ends as exactly the per-key totals", async () => {
    const table = await createTable(
      t("totals"),
      "key text PRIMARY KEY, count int NOT NULL, sum int NOT NULL",
    );
    const r = await withEventJob(
      { events: 3000, keys: 13, parallelism: 2, throwAt: 1500 },
      (events) =>
        events
          .map((e): Totals => ({ key: e.key, count: 1, sum: e.value }))
          .keyBy((x) => x.key)
          .reduce((a, b) => ({ key: a.key, count: a.count + b.count, sum: a.sum + b.sum }))
          .uid("totals")
          .sinkTo(
            new PostgresUpsertSink<Totals>({
              connection: URL,
              table,
              columns: ["key", "count", "sum"],
              keyColumns: ["key"],
              batchSize: 5,
            }),
          )
          .uid("pg-upserts"),
      (env) => env.execute("pg-upsert"),
    );
    assert.equal(r.restarts, 1);
    const rows = await sql(`SELECT key, count, sum FROM "${table}" ORDER BY key`);
    assert.deepEqual(
      rows.rows,
      expectedTotals(3000, 13).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    );
  });
});

describe("PostgresWriteAheadSink (PostgreSQL)", () => {
  it("a job writing one row per record holds each record exactly once after a failure", async () => {
    const table = await createTable(t("events"), "id int NOT NULL, key text NOT NULL, value int NOT NULL");
    const checkpointTable = t("committed");
    created.push(checkpointTable);
    const r = await withEventJob(
      { events: 3000, keys: 7, parallelism: 2, throwAt: 1700 },
      (events) =>
        events
          .keyBy((e) => e.key)
          .sinkTo(
            new PostgresWriteAheadSink<Event>({
              connection: URL,
              table,
              columns: { id: (e) => e.id, key: (e) => e.key, value: (e) => e.value },
              checkpointTable,
            }),
          )
          .uid("pg-wal"),
      (env) => env.execute("pg-wal"),
    );
    assert.equal(r.restarts, 1);
    const rows = await sql(`SELECT id FROM "${table}" ORDER BY id`);
    assert.equal(rows.rowCount, 3000, "no record lost or duplicated");
    assert.deepEqual(
      rows.rows.map((x: { id: number }) => x.id),
      Array.from({ length: 3000 }, (_, i) => i),
    );
    const txns = await sql(`SELECT txn_id FROM "${checkpointTable}"`);
    assert.ok(txns.rowCount! >= 2, "one committed transaction per subtask and checkpoint");
    for (const x of txns.rows as Array<{ txn_id: string }>)
      assert.match(x.txn_id, /^pg-wal\/pg-wal\/[0-9a-f-]{36}\/[01]\/(\d+|final)$/);
  });

  it("committing the same transaction again writes nothing (the committed-checkpoints table)", async () => {
    const table = await createTable(t("again"), "id int NOT NULL");
    const checkpointTable = t("again_committed");
    created.push(checkpointTable);
    const sink = new PostgresWriteAheadSink<{ id: number }>({
      connection: URL,
      table,
      columns: ["id"],
      checkpointTable,
    });
    const ctx = {
      runtime: { jobName: "j", operatorUid: "u", jobId: "00000000-0000-0000-0000-000000000000" },
      subtaskIndex: 0,
      parallelism: 1,
      checkpointing: true,
      attemptTag: "a-0",
    } as never;
    const writer = await sink.createWriter(ctx);
    for (let i = 0; i < 10; i++) writer.write({ id: i });
    const staged = await writer.prepareCommit(7);
    const committer = sink.createCommitter(ctx);
    // Two committers (as after a restore at another parallelism) racing on the same transaction.
    const other = sink.createCommitter(ctx);
    await Promise.all([committer.commit(staged), other.commit(staged)]);
    await committer.commit(staged);
    await committer.close?.();
    await other.close?.();
    const rows = await sql(`SELECT count(*)::int AS n FROM "${table}"`);
    assert.equal(rows.rows[0].n, 10);
  });
});

describe("PostgreSQL sinks: bad configuration", () => {
  const run = (sink: PostgresUpsertSink<Totals> | PostgresWriteAheadSink<Totals>) =>
    withEventJob(
      { events: 50, keys: 3, parallelism: 1, restarts: 0 },
      (events) => events.map((e): Totals => ({ key: e.key, count: 1, sum: e.value })).sinkTo(sink),
      (env) => env.execute("pg-bad-config"),
    );

  it("a missing table is named", async () => {
    const table = t("missing");
    await assert.rejects(
      run(
        new PostgresUpsertSink<Totals>({
          connection: URL,
          table,
          columns: ["key", "count"],
          keyColumns: ["key"],
        }),
      ),
      (e: Error) => {
        assert.ok(
          e instanceof PostgresSinkError ||
            e.cause instanceof PostgresSinkError ||
            /PostgresUpsertSink/.test(e.message),
        );
        assert.match(e.message, new RegExp(`table "${table}" does not exist`));
        return true;
      },
    );
  });

  it("a wrong column is named, with the table's columns", async () => {
    const table = await createTable(t("cols"), "key text PRIMARY KEY, count int");
    await assert.rejects(
      run(
        new PostgresWriteAheadSink<Totals>({
          connection: URL,
          table,
          columns: { key: (x) => x.key, total: (x) => x.sum },
          checkpointTable: t("cols_committed"),
        }),
      ),
      (e: Error) => {
        assert.match(
          e.message,
          new RegExp(`table "${table}" has no column "total" \\(its columns: key, count\\)`),
        );
        return true;
      },
    );
    created.push(t("cols_committed"));
  });

  it("an upsert needs a unique key on the key columns", async () => {
    const table = await createTable(t("nokey"), "key text, count int");
    await assert.rejects(
      run(
        new PostgresUpsertSink<Totals>({
          connection: URL,
          table,
          columns: ["key", "count"],
          keyColumns: ["key"],
        }),
      ),
      /has no primary key or unique index on exactly \(key\)/,
    );
  });

  it("a failing statement names the table and SQLSTATE", async () => {
    const table = await createTable(t("check"), "key text PRIMARY KEY, count int CHECK (count < 0)");
    await assert.rejects(
      run(
        new PostgresUpsertSink<Totals>({
          connection: URL,
          table,
          columns: ["key", "count"],
          keyColumns: ["key"],
        }),
      ),
      (e: Error) => {
        assert.match(
          e.message,
          new RegExp(`upsert into table "${table}" failed: .*check constraint.*SQLSTATE 23514`),
        );
        return true;
      },
    );
  });

  it("configuration errors are refused before the job runs", () => {
    assert.throws(
      () =>
        new PostgresUpsertSink<Totals>({ connection: URL, table: "x", columns: ["key"], keyColumns: ["id"] }),
      /key column "id" of table "x" is not among the mapped columns \(key\)/,
    );
    assert.throws(
      () =>
        new PostgresUpsertSink<Totals>({ connection: URL, table: "", columns: ["key"], keyColumns: ["key"] }),
      /table must be a non-empty table name/,
    );
  });
});
