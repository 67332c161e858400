// The Redis sinks against a real Redis server (see redis-server.ts). RedisStreamSink: a
// checkpoint's entries and its commit marker appear together; a replayed commit (same committer,
// a restored committer, two racing committers) appends nothing; a job's output lands in the
// stream once. RedisUpsertSink: the latest value per key, hashes replaced or merged, string keys,
// TTLs, tombstones; replaying a batch or a whole run leaves the keys exactly as they were.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisStreamSink, RedisUpsertSink, redisCommitMarkerKey } from "../../src/connectors/redis/index.ts";
import {
  RestartStrategies,
  type RuntimeContext,
  type SinkWriterContext,
  StreamExecutionEnvironment,
} from "../../src/index.ts";
import { freePort, type RedisTestServer, startRedis } from "./redis-server.ts";

let redis: RedisTestServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

/** A subtask's context as the sink operator gives it (the runtime fields the sinks read). */
function sinkContext(subtask: number, parallelism: number, attempt = "a0"): SinkWriterContext {
  const runtime = {
    jobId: "job-1",
    jobName: "redis-sink-test",
    operatorUid: "sink",
    getCounter: () => ({ add() {} }),
  } as unknown as RuntimeContext;
  return { runtime, subtaskIndex: subtask, parallelism, checkpointing: true, attemptTag: attempt };
}

interface Click {
  user: string;
  n: number;
}

describe("RedisStreamSink", () => {
  it("commits a checkpoint's entries with its marker once; replayed and racing commits are no-ops", async () => {
    const p = redis.prefix("sink-replay");
    const key = `${p}out`;
    const sink = new RedisStreamSink<Click>({ url: redis.url, stream: key, markerPrefix: `${p}marker:` });
    const ctx = sinkContext(0, 1);
    const writer = sink.createWriter(ctx);
    for (let n = 0; n < 5; n++) writer.write({ user: `u${n % 2}`, n });
    const chk1 = await writer.prepareCommit(1);
    writer.write({ user: "u9", n: 5 });
    const chk2 = await writer.prepareCommit(2);
    assert.equal((await redis.readStream(key)).length, 0, "nothing is visible before the commit");

    const committer = sink.createCommitter(ctx);
    await committer.commit(chk1);
    const afterOne = await redis.readStream(key);
    assert.deepEqual(
      afterOne.map((e) => JSON.parse(e.fields.value!).n),
      [0, 1, 2, 3, 4],
    );
    const marker = await redis.client.get(redisCommitMarkerKey(`${p}marker:`, chk1[0]!.transactionId));
    assert.equal(JSON.parse(marker!).entries, 5);
    assert.ok((await redis.client.pTTL(redisCommitMarkerKey(`${p}marker:`, chk1[0]!.transactionId))) > 0);

    await committer.commit(chk1);
    // A restored attempt (a new committer, another parallelism) commits the restored checkpoint again.
    const restored = sink.createCommitter(sinkContext(0, 2, "a1"));
    await restored.commit(chk1);
    assert.equal((await redis.readStream(key)).length, 5, "replayed commits append nothing");

    // Two committers racing on the same transaction: WATCH lets exactly one of them write.
    const racers = [0, 1, 2].map(() => sink.createCommitter(sinkContext(0, 1, "race")));
    await Promise.all(racers.map((c) => c.commit(chk2)));
    const all = await redis.readStream(key);
    assert.deepEqual(
      all.map((e) => JSON.parse(e.fields.value!).n),
      [0, 1, 2, 3, 4, 5],
    );
    for (const c of [committer, restored, ...racers]) await c.close?.();
  });

  it("a job writes every record once, to the stream its function chooses, with the fields given", async () => {
    const p = redis.prefix("sink-job");
    const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointInterval: 20 });
    const clicks = Array.from({ length: 200 }, (_, n): Click => ({ user: `u${n % 4}`, n }));
    env.fromCollection(clicks).sinkTo(
      new RedisStreamSink<Click>({
        url: redis.url,
        stream: (c) => `${p}${c.user}`,
        fields: (c) => ({ user: c.user, n: c.n }),
        markerPrefix: `${p}marker:`,
        maxLen: 1000,
      }),
    );
    await env.execute("redis-sink-job");
    for (let u = 0; u < 4; u++) {
      const got = (await redis.readStream(`${p}u${u}`)).map((e) => Number(e.fields.n));
      const want = clicks.filter((c) => c.user === `u${u}`).map((c) => c.n);
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        want,
      );
    }
  });

  it("a key of another type fails the commit naming it, and writes no marker", async () => {
    const p = redis.prefix("sink-type");
    await redis.client.set(`${p}taken`, "x");
    const sink = new RedisStreamSink<string>({ url: redis.url, stream: `${p}taken`, markerPrefix: `${p}m:` });
    const ctx = sinkContext(0, 1);
    const w = sink.createWriter(ctx);
    w.write("a");
    const t = await w.prepareCommit(1);
    const c = sink.createCommitter(ctx);
    await assert.rejects(Promise.resolve(c.commit(t)), /holds a string, not a stream/);
    assert.equal(await redis.client.exists(redisCommitMarkerKey(`${p}m:`, t[0]!.transactionId)), 0);
    await c.close?.();
  });

  it("a server that is down fails the job naming host and port, never the password", async () => {
    const port = await freePort();
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.noRestart(),
    });
    env
      .fromElements("a", "b")
      .sinkTo(new RedisStreamSink<string>({ url: `redis://:s3cret@127.0.0.1:${port}`, stream: "s" }));
    const err = await env.execute("redis-sink-down").then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    const text = `${String(err)} ${String((err as Error).cause)}`;
    assert.match(text, new RegExp(`RedisConnectorError.*Redis at 127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(text, /s3cret/);
  });
});

interface Feature {
  user: string;
  clicks: number;
  last: string;
  gone?: boolean;
}

describe("RedisUpsertSink", () => {
  async function hashes(p: string, users: string[]): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const u of users) out[u] = { ...(await redis.client.hGetAll(`${p}${u}`)) };
    return out;
  }

  it("writes the latest value per key; a replayed batch leaves the keys exactly as they were", async () => {
    const p = redis.prefix("upsert-replay");
    const sink = new RedisUpsertSink<Feature>({
      url: redis.url,
      key: (f) => `${p}${f.user}`,
      hash: (f) => ({ clicks: f.clicks, last: f.last }),
      ttlMs: 60_000,
      isDelete: (f) => f.gone === true,
    });
    const ctx = sinkContext(0, 1);
    const w = sink.createWriter(ctx);
    const c = sink.createCommitter(ctx);
    w.write({ user: "a", clicks: 1, last: "x" });
    w.write({ user: "b", clicks: 1, last: "y" });
    w.write({ user: "a", clicks: 2, last: "z" });
    w.write({ user: "c", clicks: 1, last: "q" });
    const b1 = await w.prepareCommit(1);
    await c.commit(b1);
    await redis.client.hSet(`${p}a`, "stale", "1");
    w.write({ user: "c", clicks: 0, last: "", gone: true });
    const b2 = await w.prepareCommit(2);
    await c.commit(b2);
    const first = await hashes(p, ["a", "b", "c"]);
    assert.deepEqual(first, {
      a: { clicks: "2", last: "z", stale: "1" },
      b: { clicks: "1", last: "y" },
      c: {},
    });
    assert.ok((await redis.client.pTTL(`${p}b`)) > 0, "the TTL is set");

    // A restore replays both checkpoints' batches through a new committer: same values ("replace"
    // drops the field written outside the sink, as a fresh write of the record would).
    const restored = sink.createCommitter(sinkContext(0, 1, "a1"));
    await restored.commit([...b1, ...b2]);
    assert.deepEqual(await hashes(p, ["a", "b", "c"]), {
      a: { clicks: "2", last: "z" },
      b: { clicks: "1", last: "y" },
      c: {},
    });
    await restored.commit([...b1, ...b2]);
    assert.deepEqual(await hashes(p, ["a", "b", "c"]), {
      a: { clicks: "2", last: "z" },
      b: { clicks: "1", last: "y" },
      c: {},
    });
    await w.close?.();
    await c.close?.();
    await restored.close?.();
  });

  it("a job run twice (a full replay) leaves the same keys; string keys and merge mode", async () => {
    const p = redis.prefix("upsert-job");
    const clicks = Array.from({ length: 300 }, (_, n) => ({ user: `u${n % 7}`, n }));
    const run = async () => {
      const env = new StreamExecutionEnvironment({ parallelism: 2, checkpointInterval: 20 });
      const counts = env
        .fromCollection(clicks)
        .keyBy((c) => c.user)
        .map((c) => ({ user: c.user, clicks: 1, last: String(c.n) }))
        .keyBy((f) => f.user)
        .reduce((a, b) => ({ user: a.user, clicks: a.clicks + b.clicks, last: b.last }));
      counts.sinkTo(
        new RedisUpsertSink<Feature>({
          url: redis.url,
          key: (f) => `${p}h:${f.user}`,
          hash: (f) => ({ clicks: f.clicks }),
          hashMode: "merge",
        }),
      );
      counts.sinkTo(
        new RedisUpsertSink<Feature>({
          url: redis.url,
          key: (f) => `${p}s:${f.user}`,
          value: (f) => f.clicks,
        }),
      );
      await env.execute("redis-upsert-job");
    };
    await run();
    const snapshot = async () => {
      const out: Record<string, unknown> = {};
      for (let u = 0; u < 7; u++) {
        out[`h${u}`] = { ...(await redis.client.hGetAll(`${p}h:u${u}`)) };
        out[`s${u}`] = await redis.client.get(`${p}s:u${u}`);
      }
      return out;
    };
    const once = await snapshot();
    for (let u = 0; u < 7; u++) {
      const want = clicks.filter((c) => c.user === `u${u}`).length;
      assert.deepEqual(once[`h${u}`], { clicks: String(want) });
      assert.equal(once[`s${u}`], String(want));
    }
    await run();
    assert.deepEqual(await snapshot(), once);
  });
});
