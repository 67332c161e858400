// PostgresXaSink against a private PostgreSQL 15 cluster (private-postgres.ts: wal_level=logical,
// max_prepared_transactions=10) driven through the two-phase-commit SPI as the sink operator
// drives it: nothing visible before the commit, a crash between PREPARE and COMMIT PREPARED
// committed exactly once by a restored job, a prepared transaction of a checkpoint that never
// completed rolled back, a completed one rolled back from outside reported (not taken as
// committed), restores at other parallelisms, and a keyed job failing mid-run. Also
// the clear error of a server with max_prepared_transactions = 0 (the shared server on :5432).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import {
  PostgresSinkError,
  PostgresXaSink,
  type XaTransaction,
} from "../../src/connectors/postgres/index.ts";
import type { SinkWriterContext } from "../../src/index.ts";
import { type Event, withEventJob } from "../sinks/sink-jobs.ts";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.ts";

let pgc: PrivatePostgres;
let tables = 0;

before(async () => {
  pgc = await startPrivatePostgres();
});
after(async () => {
  await pgc?.stop();
});

/** A fresh table, and a fresh job name (so gid prefixes of the tests differ). */
async function table(): Promise<string> {
  const name = `xa_${++tables}`;
  job = `xa-job-${tables}`;
  await pgc.sql(`CREATE TABLE ${name} (id int NOT NULL)`);
  return name;
}

let job = "xa-job";

function ctx(subtask: number, parallelism: number, attempt: string): SinkWriterContext {
  return {
    runtime: { jobName: job, operatorUid: "sink", jobId: attempt, attemptNumber: 0 },
    subtaskIndex: subtask,
    parallelism,
    checkpointing: true,
    attemptTag: attempt,
  } as never;
}

const sinkFor = (name: string) =>
  new PostgresXaSink<{ id: number }>({ connection: pgc.url, table: name, columns: ["id"] });

async function ids(name: string): Promise<number[]> {
  return (await pgc.sql(`SELECT id FROM ${name} ORDER BY id`)).rows.map((r: { id: number }) => r.id);
}

async function prepared(): Promise<string[]> {
  return (await pgc.sql("SELECT gid FROM pg_prepared_xacts ORDER BY gid")).rows.map(
    (r: { gid: string }) => r.gid,
  );
}

/** Write ids [from, to) through a writer and prepare them for checkpoint `cp`. */
async function writeAndPrepare(
  sink: PostgresXaSink<{ id: number }>,
  c: SinkWriterContext,
  from: number,
  to: number,
  cp: number,
): Promise<XaTransaction[]> {
  const w = await sink.createWriter(c);
  for (let i = from; i < to; i++) w.write({ id: i });
  const staged = w.prepareCommit(cp);
  await w.close?.(); // a crash after the barrier: the PREPARE went out, no commit
  return staged;
}

describe("PostgresXaSink (private PostgreSQL)", () => {
  it("rows become visible only when the checkpoint's transaction is committed", async () => {
    const name = await table();
    const sink = sinkFor(name);
    const c = ctx(0, 1, "a1");
    const w = await sink.createWriter(c);
    for (let i = 0; i < 1200; i++) w.write({ id: i });
    const staged = await w.prepareCommit(1);
    assert.equal(staged.length, 1);
    assert.match(staged[0]!.gid, /^weir:xa-job-\d+:sink:0:1:[0-9a-f]{12}$/);
    const committer = sink.createCommitter(c);
    // Nothing visible between the barrier and the completion, even once PREPAREd.
    for (let i = 0; i < 100 && !(await prepared()).includes(staged[0]!.gid); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await prepared(), [staged[0]!.gid]);
    assert.deepEqual(await ids(name), []);
    await committer.commit(staged);
    assert.equal((await ids(name)).length, 1200);
    assert.deepEqual(await prepared(), []);
    // An interval without records prepares nothing.
    assert.deepEqual(w.prepareCommit(2), []);
    await w.close?.();
    await committer.close?.();
  });

  it("a crash between PREPARE and COMMIT PREPARED: the restored job commits exactly once", async () => {
    const name = await table();
    const staged = await writeAndPrepare(sinkFor(name), ctx(0, 1, "run1"), 0, 50, 3);
    assert.equal((await prepared()).length, 1);
    assert.deepEqual(await ids(name), []);
    // A new job restored from checkpoint 3: its committer gets the committable again, twice.
    const restored = sinkFor(name);
    const c = ctx(0, 1, "run2");
    const committer = restored.createCommitter(c);
    await committer.commit(staged);
    await committer.commit(staged);
    const w = await restored.createWriter(c);
    await w.close?.();
    await committer.close?.();
    assert.deepEqual(
      await ids(name),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(await prepared(), []);
  });

  it("a completed checkpoint's transaction rolled back from outside fails the commit (no silent loss)", async () => {
    const name = await table();
    const sink = sinkFor(name);
    const staged = await writeAndPrepare(sink, ctx(0, 1, "lost1"), 0, 10, 5);
    assert.match(staged[0]!.xid ?? "", /^\d+$/);
    // Someone else (by hand, or a second job with the same gid prefix) rolls it back.
    await pgc.sql(`ROLLBACK PREPARED '${staged[0]!.gid}'`);
    const committer = sink.createCommitter(ctx(0, 1, "lost2"));
    await assert.rejects(
      async () => committer.commit(staged),
      (e: unknown) => {
        assert.ok(e instanceof PostgresSinkError);
        assert.equal(e.code, "IO");
        assert.match(e.message, /is no longer prepared and was not committed \(transaction \d+ is aborted\)/);
        assert.match(e.message, /restore the job from a checkpoint taken before checkpoint 5/);
        return true;
      },
    );
    // A committable of a checkpoint taken before the id was recorded: taken as committed.
    const { xid: _, ...old } = staged[0]!;
    await committer.commit([old]);
    await committer.close?.();
    assert.deepEqual(await ids(name), []);
  });

  it("a prepared transaction of a checkpoint that never completed is rolled back on restore", async () => {
    const name = await table();
    const sink = sinkFor(name);
    const first = await writeAndPrepare(sink, ctx(0, 1, "r1"), 0, 10, 1);
    await sink.createCommitter(ctx(0, 1, "r1")).commit(first);
    // Checkpoint 2 is prepared, then the job fails before it completes.
    const aborted = await writeAndPrepare(sink, ctx(0, 1, "r1"), 10, 20, 2);
    assert.deepEqual(await prepared(), [aborted[0]!.gid]);
    // Restore from checkpoint 1: its committable is committed again (a no-op), 2 is rolled back.
    const c = ctx(0, 1, "r2");
    await sink.createCommitter(c).commit(first);
    const w = await sink.createWriter(c);
    assert.deepEqual(await prepared(), []);
    for (let i = 10; i < 20; i++) w.write({ id: i }); // the replayed records
    const again = await w.prepareCommit(2);
    await sink.createCommitter(c).commit(again);
    await w.close?.();
    assert.deepEqual(
      await ids(name),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it("restored at other parallelisms, each committable is committed by subtask old % p once", async () => {
    for (const newP of [1, 3]) {
      const name = await table();
      const sink = sinkFor(name);
      const staged = [
        ...(await writeAndPrepare(sink, ctx(0, 2, `p${newP}`), 0, 5, 4)),
        ...(await writeAndPrepare(sink, ctx(1, 2, `p${newP}`), 5, 10, 4)),
      ];
      assert.equal((await prepared()).length, 2);
      // Every new subtask receives every committable (the sink operator broadcasts them).
      for (let s = 0; s < newP; s++) {
        const c = ctx(s, newP, `q${newP}`);
        const committer = sink.createCommitter(c);
        await committer.commit(staged);
        await (await sink.createWriter(c)).close?.();
        await committer.close?.();
      }
      assert.deepEqual(
        await ids(name),
        Array.from({ length: 10 }, (_, i) => i),
        `restored at ${newP}`,
      );
      assert.deepEqual(await prepared(), []);
    }
  });

  it("a keyed job failing mid-run holds each record exactly once", async () => {
    const name = await table();
    job = "pg-xa";
    const r = await withEventJob(
      { events: 3000, keys: 7, parallelism: 2, throwAt: 1700 },
      (events) =>
        events
          .keyBy((e) => e.key)
          .sinkTo(
            new PostgresXaSink<Event>({ connection: pgc.url, table: name, columns: { id: (e) => e.id } }),
          )
          .uid("pg-xa"),
      (env) => env.execute("pg-xa"),
    );
    assert.equal(r.restarts, 1);
    assert.deepEqual(
      await ids(name),
      Array.from({ length: 3000 }, (_, i) => i),
    );
    assert.deepEqual(await prepared(), []);
  });
});

describe("PostgresXaSink: a server without prepared transactions", () => {
  it("names max_prepared_transactions and what to do", async () => {
    const shared = process.env.WEIR_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    const c = new pg.Client({ connectionString: shared, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    let reachable = true;
    await c.connect().catch(() => {
      reachable = false;
    });
    // Without the shared server, a private one started with max_prepared_transactions=0.
    const zero = reachable ? undefined : await startPrivatePostgres({ max_prepared_transactions: 0 });
    const url = zero?.url ?? shared;
    const client = zero === undefined ? c : new pg.Client({ connectionString: url });
    if (zero !== undefined) await client.connect();
    const max = (await client.query("SHOW max_prepared_transactions")).rows[0].max_prepared_transactions;
    assert.equal(max, "0", "this test needs a server with max_prepared_transactions = 0");
    await client.query("CREATE TABLE IF NOT EXISTS weir_xa_refused (id int)");
    try {
      const sink = new PostgresXaSink<{ id: number }>({
        connection: url,
        table: "weir_xa_refused",
        columns: ["id"],
      });
      await assert.rejects(sink.createWriter(ctx(0, 1, "z")), (e: Error) => {
        assert.ok(e instanceof PostgresSinkError);
        assert.match(e.message, /max_prepared_transactions = 0/);
        assert.match(e.message, /set max_prepared_transactions to at least/);
        return true;
      });
    } finally {
      await client.query("DROP TABLE IF EXISTS weir_xa_refused");
      await client.end();
      await zero?.stop();
    }
  });
});
