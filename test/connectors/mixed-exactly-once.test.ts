// Exactly-once across three real systems in one job: JetStream (source) → keyed running totals →
// a Redis stream (RedisStreamSink, MULTI/EXEC with a commit marker) and a PostgreSQL table
// (PostgresXaSink, PREPARE/COMMIT PREPARED on a private cluster), fixtures/mixed-job.ts. A run on
// worker threads whose workers are killed at seeded moments (the seed is printed; WEIR_MIXED_SEED
// replays it) must leave both targets with exactly what a failure-free run leaves.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { buildMixed, type MixedClick, type MixedParams } from "./fixtures/mixed-job.ts";
import { type NatsTestServer, startNats } from "./nats-server.ts";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.ts";
import { type RedisTestServer, startRedis } from "./redis-server.ts";
import {
  assertEveryKillEndedItsAttempt,
  planKills,
  runWithWorkerKills,
  seededRandom,
} from "./worker-kills.ts";

const EVENTS = 1200;
const USERS = 8;

const seed = Number(process.env.WEIR_MIXED_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`# mixed exactly-once seed ${seed} (replay with WEIR_MIXED_SEED=${seed})`);
const random = seededRandom(seed);

let nats: NatsTestServer;
let redis: RedisTestServer;
let pgc: PrivatePostgres;
let dir: string;
let source: string;
let expected: { redis: string[]; pg: string[] };

function params(name: string, spinMicros: number): MixedParams {
  const p = redis.prefix(`mixed-${name}`);
  return {
    servers: nats.servers,
    source,
    redisUrl: redis.url,
    redisTarget: `${p}out`,
    redisMarkers: `${p}m:`,
    pgUrl: pgc.url,
    ledger: `ledger_${name}`,
    checkpoints: mkdtempSync(join(dir, "cp-")),
    spinMicros,
    restarts: 5,
  };
}

async function content(p: MixedParams): Promise<{ redis: string[]; pg: string[] }> {
  const entries = await redis.readStream(p.redisTarget);
  const rows = await pgc.sql(`SELECT usr, n, total, last FROM ${p.ledger}`);
  const left = await pgc.sql("SELECT gid FROM pg_prepared_xacts");
  assert.equal(left.rowCount, 0, "no prepared transaction is left behind");
  return {
    redis: entries.map((e) => `${e.fields.usr}:${e.fields.n}:${e.fields.total}:${e.fields.last}`).sort(),
    pg: rows.rows.map((r) => `${r.usr}:${r.n}:${r.total}:${r.last}`).sort(),
  };
}

before(async () => {
  // One after the other: initdb blocks the event loop for a second, which would time out the
  // others' probes of the machine's servers (and leave their late connections open).
  nats = await startNats();
  redis = await startRedis();
  pgc = await startPrivatePostgres();
  dir = mkdtempSync(join(tmpdir(), "weir-mixed-eo-"));
  source = await nats.createStream("weir_mixed_src");
  // A user's clicks are all on one subject (one split), so its running totals are deterministic.
  const clicks: MixedClick[] = Array.from({ length: EVENTS }, (_, i) => ({
    user: `u${Math.floor(random() * USERS)}`,
    i,
    value: 1 + Math.floor(random() * 100),
  }));
  for (let from = 0; from < EVENTS; from += 100) {
    await Promise.all(
      clicks
        .slice(from, from + 100)
        .map((c) => nats.publish(`${source}.p${Number(c.user.slice(1)) % 3}`, JSON.stringify(c))),
    );
  }
  const clean = params("clean", 0);
  await pgc.sql(`CREATE TABLE ${clean.ledger} (usr text, n int, total int, last int)`);
  const env = new StreamExecutionEnvironment({ parallelism: 2 });
  buildMixed(env, clean);
  const r = await env.execute("mixed-clean");
  assert.equal(r.restarts, 0);
  expected = await content(clean);
  assert.equal(expected.redis.length, EVENTS, "one Redis entry per click in the failure-free run");
  assert.deepEqual(expected.pg, expected.redis, "both sinks of the failure-free run hold the same updates");
});

after(async () => {
  await nats?.stop();
  await redis?.stop();
  await pgc?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("exactly-once JetStream → keyed state → Redis stream + PostgreSQL XA", () => {
  it("worker threads killed at seeded moments: both targets equal the failure-free run's", async () => {
    const p = params("killed", 300);
    await pgc.sql(`CREATE TABLE ${p.ledger} (usr text, n int, total int, last int)`);
    const kills = planKills(random, 2, EVENTS, 2);
    try {
      const r = await runWithWorkerKills({
        job: fileURLToPath(new URL("./fixtures/mixed-job.ts", import.meta.url)),
        envVar: "WEIR_MIXED_JOB",
        params: p,
        parallelism: 2,
        kills,
        // Committed output of both sinks: a kill comes once each had committed that much.
        progress: async () =>
          Math.min(
            await redis.client.xLen(p.redisTarget),
            Number((await pgc.sql(`SELECT count(*) AS n FROM ${p.ledger}`)).rows[0].n),
          ),
      });
      console.log(
        `# kills ${kills.map((k) => `slot ${k.slot} after ${k.after}`).join(", ")}: ${r.killed} killed, ${r.restarts} restarts`,
      );
      assert.equal(r.status, "FINISHED");
      assertEveryKillEndedItsAttempt(r);
      const got = await content(p);
      assert.equal(got.redis.length, EVENTS, "the Redis stream: nothing lost or doubled");
      assert.deepEqual(got.redis, expected.redis, "the Redis stream equals the failure-free run's");
      assert.equal(got.pg.length, EVENTS, "the ledger: nothing lost or doubled");
      assert.deepEqual(got.pg, expected.pg, "the ledger equals the failure-free run's");
    } catch (e) {
      if (e instanceof Error)
        e.message += `\nseed ${seed} (kills ${JSON.stringify(kills)}); replay: WEIR_MIXED_SEED=${seed} node scripts/run-tests.mjs mixed-exactly-once`;
      throw e;
    }
  });
});
