// A real-time feature pipeline: clicks from NATS JetStream (published by
// examples/feature-pipeline-publish.ts) → per user, event-time sliding windows (default 5 min,
// sliding by 1 min, on the click's own timestamp, watermarks 30 s behind the largest one seen) →
// the user's features in each window: clicks and distinct pages. They go to two stores:
//   - online, Redis: hash <redis-prefix><user> (default features:user:<user>) = the features of
//     the user's latest window (RedisUpsertSink, written at every checkpoint);
//   - offline, PostgreSQL: one row per user and window in table user_features (created when
//     missing), upserted on (user_id, window_end), so a replay after a failure writes no duplicates.
//
//   npx tsx examples/feature-pipeline-publish.ts
//   node bin/weir.mjs run examples/feature-pipeline.ts -p 2 --checkpoint-interval 1000 -- --bounded
//
// Job arguments (after --): --bounded (read what the stream holds when the job starts, then end),
// --nats host:port, --stream, --subject-prefix, --redis-url, --redis-prefix, --pg-url, --pg-table,
// --window-ms, --slide-ms, --out-of-orderness-ms. Servers default to WEIR_NATS_SERVER
// (127.0.0.1:4222), WEIR_REDIS_URL (redis://127.0.0.1:6379), WEIR_PG_URL
// (postgres://postgres@127.0.0.1:5432/test).

import pg from "pg";
import {
  type ProcessWindowFunction,
  SlidingEventTimeWindows,
  type TimeWindow,
  WatermarkStrategy,
  defineJob,
} from "weir-stream";
import { JetStreamSource, jsonDeserializer } from "weir-stream/connectors/nats";
import { PostgresUpsertSink } from "weir-stream/connectors/postgres";
import { RedisUpsertSink } from "weir-stream/connectors/redis";
import type { Click } from "./feature-pipeline-publish.ts";

/** One user's features over one window [windowStart, windowEnd). */
export interface UserFeatures {
  user: string;
  windowStart: number;
  windowEnd: number;
  clicks: number;
  distinctPages: number;
}

/** Counts a window's clicks and distinct pages. */
const features: ProcessWindowFunction<Click, UserFeatures, string, TimeWindow> = {
  process(user, ctx, clicks, out) {
    out.collect({
      user,
      windowStart: ctx.window.start,
      windowEnd: ctx.window.end,
      clicks: clicks.length,
      distinctPages: new Set(clicks.map((c) => c.page)).size,
    });
  },
};

/** A setup problem of this example (bad argument, PostgreSQL not reachable). */
export class FeaturePipelineError extends Error {
  override name = "FeaturePipelineError";
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Creates the offline table when missing. The build function runs in every worker at once, so
 * the CREATE is serialized by an advisory lock (CREATE TABLE IF NOT EXISTS alone can race).
 */
async function ensureTable(url: string, table: string): Promise<void> {
  if (!TABLE_NAME.test(table))
    throw new FeaturePipelineError(
      `feature-pipeline: --pg-table must be a plain table name (letters, digits, _), got '${table}'`,
    );
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`weir-feature-pipeline:${table}`]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${table}" (
         user_id text NOT NULL,
         window_start timestamptz NOT NULL,
         window_end timestamptz NOT NULL,
         clicks integer NOT NULL,
         distinct_pages integer NOT NULL,
         PRIMARY KEY (user_id, window_end))`,
    );
    await client.query("COMMIT");
  } catch (e) {
    // The message names no credentials: pg's errors do not include the connection string.
    throw new FeaturePipelineError(
      `feature-pipeline: cannot create table "${table}" in PostgreSQL (${(e as Error).message}); check --pg-url / WEIR_PG_URL and that the server is up`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export default defineJob("feature-pipeline", async (env, params) => {
  const nats = params.get("nats", process.env.WEIR_NATS_SERVER ?? "127.0.0.1:4222");
  const stream = params.get("stream", "WEIR_CLICKS");
  const subjectPrefix = params.get("subject-prefix", "weir-clicks");
  const redisUrl = params.get("redis-url", process.env.WEIR_REDIS_URL ?? "redis://127.0.0.1:6379");
  const redisPrefix = params.get("redis-prefix", "features:user:");
  const pgUrl = params.get("pg-url", process.env.WEIR_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test");
  const table = params.get("pg-table", "user_features");
  const windowMs = params.getInt("window-ms", 5 * 60_000);
  const slideMs = params.getInt("slide-ms", 60_000);
  const outOfOrderness = params.getInt("out-of-orderness-ms", 30_000);
  const bounded = params.getBoolean("bounded", false);

  await ensureTable(pgUrl, table);

  const perUser = env
    .fromSource(
      new JetStreamSource<Click>({
        servers: nats,
        stream,
        subjects: [`${subjectPrefix}.app`, `${subjectPrefix}.web`], // one split each
        bounded,
        deserializer: jsonDeserializer<Click>,
      }),
      WatermarkStrategy.forBoundedOutOfOrderness<Click>(outOfOrderness).withTimestampAssigner((c) => c.ts),
      "Clicks",
    )
    .uid("clicks")
    .keyBy((c) => c.user)
    .window(SlidingEventTimeWindows.of(windowMs, slideMs))
    .process(features)
    .name("Features per user")
    .uid("features");

  perUser
    .sinkTo(
      new RedisUpsertSink<UserFeatures>({
        url: redisUrl,
        key: (f) => `${redisPrefix}${f.user}`,
        hash: (f) => ({
          clicks: f.clicks,
          distinct_pages: f.distinctPages,
          window_start: f.windowStart,
          window_end: f.windowEnd,
        }),
      }),
      "Online store (Redis)",
    )
    .uid("online-store");

  perUser
    .sinkTo(
      new PostgresUpsertSink<UserFeatures>({
        connection: pgUrl,
        table,
        columns: {
          user_id: (f) => f.user,
          window_start: (f) => new Date(f.windowStart),
          window_end: (f) => new Date(f.windowEnd),
          clicks: (f) => f.clicks,
          distinct_pages: (f) => f.distinctPages,
        },
        keyColumns: ["user_id", "window_end"],
      }),
      "Offline store (PostgreSQL)",
    )
    .uid("offline-store");
});
