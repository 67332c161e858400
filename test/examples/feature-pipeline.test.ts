// examples/feature-pipeline.ts end to end, as a user runs it: clicks published to JetStream with
// the example's own generator, `weir run` at p=2 in bounded mode with checkpoints, then the Redis
// hashes (online store) and the PostgreSQL rows (offline store) must equal the features computed
// by a plain loop over the same clicks. NATS and Redis: the machine's servers or private ones
// (test/connectors helpers); PostgreSQL: WEIR_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
// started with pg_ctlcluster when it is down. Stream, key prefix and table are unique per run and
// removed afterwards. Both stores must also equal the checked-in golden output of the seeded
// clicks (feature-pipeline.golden.json; WEIR_UPDATE_GOLDEN=1 rewrites it after a deliberate change).

import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type Click, generateClicks, publishClicks } from "../../examples/feature-pipeline-publish.ts";
import { type NatsTestServer, startNats, waitFor } from "../connectors/nats-server.ts";
import { type RedisTestServer, startRedis } from "../connectors/redis-server.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PG_URL = process.env.WEIR_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const WINDOW = 5 * 60_000;
const SLIDE = 60_000;
const suffix = randomBytes(4).toString("hex");
const GOLDEN = fileURLToPath(new URL("./feature-pipeline.golden.json", import.meta.url));

/** The shared PostgreSQL server, started (like .ci/run does) when it is not up. */
async function connectPostgres(): Promise<pg.Client> {
  const tryConnect = async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
    c.on("error", () => {});
    try {
      await c.connect();
      return c;
    } catch {
      await c.end().catch(() => {});
      return undefined;
    }
  };
  let client = await tryConnect();
  if (client !== undefined) return client;
  const versions = (() => {
    try {
      return readdirSync("/etc/postgresql");
    } catch {
      return [];
    }
  })();
  if (versions.length > 0) {
    spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0]!, "main", "start"]);
  }
  await waitFor(
    async () => {
      client = await tryConnect();
      return client !== undefined;
    },
    "PostgreSQL (WEIR_PG_URL, default 127.0.0.1:5432) to accept connections; start it with pg_ctlcluster",
    30_000,
  );
  return client!;
}

/** The features of every (user, window) by a plain loop: what the job must produce. */
function expectedFeatures(clicks: readonly Click[]) {
  const windows = new Map<string, { user: string; start: number; clicks: number; pages: Set<string> }>();
  for (const c of clicks) {
    const last = c.ts - (((c.ts % SLIDE) + SLIDE) % SLIDE);
    for (let start = last; start > c.ts - WINDOW; start -= SLIDE) {
      const k = `${c.user}@${start}`;
      let w = windows.get(k);
      if (w === undefined) windows.set(k, (w = { user: c.user, start, clicks: 0, pages: new Set() }));
      w.clicks++;
      w.pages.add(c.page);
    }
  }
  const rows = [...windows.values()].map((w) => ({
    user: w.user,
    start: w.start,
    end: w.start + WINDOW,
    clicks: w.clicks,
    pages: w.pages.size,
  }));
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if ((latest.get(r.user)?.end ?? -1) < r.end) latest.set(r.user, r);
  return { rows, latest };
}

function runWeir(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin", "weir.mjs"), ...args],
      { cwd: ROOT, timeout: 240_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let nats: NatsTestServer;
let redis: RedisTestServer;
let admin: pg.Client;
const stream = `FEATURE_CLICKS_${suffix}`;
const table = `weir_features_${suffix}`;

before(async () => {
  nats = await startNats();
  redis = await startRedis();
  admin = await connectPostgres();
});

after(async () => {
  await nats?.jsm.streams.delete(stream).catch(() => {});
  await nats?.stop();
  await redis?.stop();
  await admin?.query(`DROP TABLE IF EXISTS "${table}"`);
  await admin?.end();
});

describe("examples/feature-pipeline.ts", () => {
  it("weir run -p 2 --bounded: Redis and PostgreSQL hold the features of a plain loop", async () => {
    const clicks = generateClicks({
      clicks: 400,
      users: 8,
      end: Date.UTC(2026, 0, 1, 12, 0, 7),
      intervalMs: 1000,
      maxDisorderMs: 20_000,
      seed: 7,
    });
    const subjectPrefix = `weir-fp-${suffix}`;
    await publishClicks({ servers: nats.servers, stream, subjectPrefix }, clicks);
    const redisPrefix = redis.prefix("features");

    const r = await runWeir([
      "run",
      "examples/feature-pipeline.ts",
      "-p",
      "2",
      "--checkpoint-interval",
      "100",
      "--",
      "--bounded",
      "--nats",
      nats.servers,
      "--stream",
      stream,
      "--subject-prefix",
      subjectPrefix,
      "--redis-url",
      redis.url,
      "--redis-prefix",
      redisPrefix,
      "--pg-url",
      PG_URL,
      "--pg-table",
      table,
    ]);
    assert.equal(r.code, 0, `weir run failed:\n${r.stderr}`);
    assert.match(r.stdout, /Clicks \(p=2\): 400 records/, r.stdout);
    const checkpoints = Number(/(\d+) checkpoints?/.exec(r.stdout)?.[1] ?? 0);
    assert.ok(checkpoints >= 1, `the run took checkpoints:\n${r.stdout}`);

    const { rows, latest } = expectedFeatures(clicks);
    assert.ok(rows.length > 50 && latest.size === 8, "the clicks span several windows of every user");

    // Offline store: one row per (user, window).
    const got = await admin.query(
      `SELECT user_id, (extract(epoch FROM window_start) * 1000)::bigint AS start,
              (extract(epoch FROM window_end) * 1000)::bigint AS end, clicks, distinct_pages
         FROM "${table}"`,
    );
    const key = (x: { user: string; end: number }) => `${x.user}@${x.end}`;
    const actualRows = got.rows
      .map((g) => ({
        user: g.user_id as string,
        start: Number(g.start),
        end: Number(g.end),
        clicks: g.clicks as number,
        pages: g.distinct_pages as number,
      }))
      .sort((a, b) => (key(a) < key(b) ? -1 : 1));
    assert.deepEqual(
      actualRows,
      [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
    );

    // Online store: per user, the features of the user's latest window.
    const actualOnline: Record<string, Record<string, string>> = {};
    for await (const keys of redis.client.scanIterator({ MATCH: `${redisPrefix}*`, COUNT: 1000 })) {
      for (const k of keys) actualOnline[k.slice(redisPrefix.length)] = await redis.client.hGetAll(k);
    }
    const expectedOnline: Record<string, Record<string, string>> = {};
    for (const [user, w] of latest) {
      expectedOnline[user] = {
        clicks: String(w.clicks),
        distinct_pages: String(w.pages),
        window_start: String(w.start),
        window_end: String(w.end),
      };
    }
    assert.deepEqual(actualOnline, expectedOnline);

    // The golden output: the exact features of these seeded clicks, checked in.
    const sortedOnline = Object.fromEntries(
      Object.entries(actualOnline).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    if (process.env.WEIR_UPDATE_GOLDEN === "1")
      writeFileSync(GOLDEN, `${JSON.stringify({ offline: actualRows, online: sortedOnline }, null, 2)}\n`);
    const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as { offline: unknown; online: unknown };
    assert.deepEqual(actualRows, golden.offline, "the offline store equals the golden output");
    assert.deepEqual(sortedOnline, golden.online, "the online store equals the golden output");
  });
});
