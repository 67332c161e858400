// PostgreSQL connectors when the server is down or goes away: one error naming host, port and
// database (never a password, neither from the URL's user info nor from its query), after which the
// restart strategy takes over; a replication connection that the server ends makes the CDC job
// restart and resume from its checkpoint with nothing lost or doubled (private cluster).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ChangeRecord, PostgresCdcSource, PostgresXaSink } from "../../src/connectors/postgres/index.ts";
import { RestartStrategies, StreamExecutionEnvironment } from "../../src/index.ts";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.ts";
import { freePort, waitFor } from "./redis-server.ts";

let pgc: PrivatePostgres;
before(async () => {
  pgc = await startPrivatePostgres();
});
after(async () => {
  await pgc?.stop();
});

/** The names and messages of an error and its causes (errors may cross a thread as text). */
function allText(err: unknown): string {
  let text = "";
  for (let c = err as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c)
    text += `${String((c as Error).name)}: ${c.message}\n`;
  return text;
}

describe("PostgreSQL connectors: server down or gone", () => {
  it("CDC source, server down: names host, port and database, never the password; restarts ran", async () => {
    const port = await freePort();
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.fixedDelay(1, 0),
    });
    env
      .fromSource(
        new PostgresCdcSource({
          connection: `postgres://weir:s3cret@127.0.0.1:${port}/shop`,
          tables: ["t"],
          slot: "s",
        }),
        "cdc",
      )
      .collect();
    const text = allText(
      await env.execute("pg-cdc-down").then(
        () => assert.fail("the job should fail"),
        (e) => e,
      ),
    );
    assert.match(
      text,
      new RegExp(`PostgresCdcError: .*cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/shop: `),
    );
    assert.doesNotMatch(text, /s3cret/);
    assert.match(text, /after 1 restarts?\)/, "the restart strategy ran the job again");
  });

  it("XA sink, server down: names host, port and database, never a password given in the query", async () => {
    const port = await freePort();
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      checkpointInterval: 20,
      restartStrategy: RestartStrategies.fixedDelay(1, 0),
    });
    env
      .fromSequence(1, 10)
      .map((n) => ({ n }))
      .sinkTo(
        new PostgresXaSink<{ n: number }>({
          connection: `postgres://weir@127.0.0.1:${port}/shop?password=s3cret`,
          table: "t",
          columns: ["n"],
        }),
      );
    const text = allText(
      await env.execute("pg-xa-down").then(
        () => assert.fail("the job should fail"),
        (e) => e,
      ),
    );
    assert.match(text, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/shop`));
    assert.doesNotMatch(text, /s3cret/);
    assert.match(text, /after 1 restarts?\)/, "the restart strategy ran the job again");
  });

  it("CDC: the server ends the replication connection; the job restarts and loses or doubles nothing", async () => {
    await pgc.sql("CREATE TABLE gone_src (id int PRIMARY KEY)");
    await pgc.sql("CREATE TABLE gone_out (id int)");
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.fixedDelay(3, 50),
    });
    env.enableCheckpointing(20);
    let stop: string | undefined;
    env
      .fromSource(
        new PostgresCdcSource({
          connection: pgc.url,
          tables: ["gone_src"],
          slot: "gone",
          stopAtLsn: () => stop,
        }),
        "cdc",
      )
      .map((c: ChangeRecord) => ({ id: Number(c.row.id) }))
      .sinkTo(
        new PostgresXaSink<{ id: number }>({ connection: pgc.url, table: "gone_out", columns: ["id"] }),
      );
    const job = env.execute("pg-cdc-gone");
    await waitFor(
      async () =>
        (await pgc.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'gone'")).rowCount === 1,
      "the slot",
    );
    await pgc.sql("INSERT INTO gone_src SELECT generate_series(1, 100)");
    await waitFor(
      async () => Number((await pgc.sql("SELECT count(*) AS n FROM gone_out")).rows[0].n) >= 100,
      "the first 100 rows committed",
    );
    // The server ends the walsender, as a server restart or a network cut would.
    const ended = await pgc.sql(
      "SELECT pg_terminate_backend(active_pid) AS ok FROM pg_replication_slots WHERE slot_name = 'gone' AND active_pid IS NOT NULL",
    );
    assert.equal(ended.rowCount, 1, "the replication connection was active");
    await pgc.sql("INSERT INTO gone_src SELECT generate_series(101, 200)");
    stop = (await pgc.sql("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l;
    const r = await job;
    assert.ok(r.restarts >= 1, "the job restarted after the connection was lost");
    const ids = (await pgc.sql("SELECT id FROM gone_out ORDER BY id")).rows.map((x) => x.id);
    assert.deepEqual(
      ids,
      Array.from({ length: 200 }, (_, i) => i + 1),
      "every change once",
    );
  });
});
