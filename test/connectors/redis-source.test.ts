// The Redis Streams source against a real Redis server (see redis-server.ts): it reads exactly the
// streams from each start position (earliest, after an entry ID, a timestamp, latest), stamps
// records with the entry ID's time, resumes exactly from a savepoint at another parallelism,
// handles malformed entries per its policy, and names host and port (never the password) when the
// server is down or goes away. Every test uses its own key prefix and deletes its keys.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DEAD_LETTER_COUNTER,
  jsonFieldDeserializer,
  RedisStreamSource,
  type RedisStreamSourceOptions,
} from "../../src/connectors/redis/index.ts";
import {
  JobCancelledError,
  RestartStrategies,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import { freePort, type RedisTestServer, startRedis, waitFor } from "./redis-server.ts";

let redis: RedisTestServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

/** Entry i of a test stream: ID (1000 + 10·⌊i/2⌋)-(i mod 2), so two entries share each millisecond. */
const idOf = (i: number) => `${1000 + 10 * Math.floor(i / 2)}-${i % 2}`;

async function fill(keys: string[], from: number, to: number, explicitIds = true): Promise<void> {
  for (let i = from; i < to; i++) {
    await redis.client.xAdd(keys[i % keys.length]!, explicitIds ? idOf(i) : "*", { value: `m${i}` });
  }
}

async function readBounded(
  options: Omit<RedisStreamSourceOptions<string>, "url" | "bounded">,
  parallelism = 2,
): Promise<string[]> {
  const env = new StreamExecutionEnvironment({ parallelism });
  const h = env
    .fromSource(
      new RedisStreamSource<string>({
        deserializer: (f) => f.value!,
        ...options,
        url: redis.url,
        bounded: true,
      }),
      "redis",
    )
    .process<string>({
      processElement(v, ctx, out) {
        out.collect(`${v}@${ctx.timestamp()}`);
      },
    })
    .collect();
  await env.execute("redis-read");
  return h.values;
}

const range = (from: number, to: number, keep: (i: number) => boolean = () => true) =>
  Array.from({ length: to - from }, (_, k) => from + k)
    .filter(keep)
    .map((i) => `m${i}`);
const stamped = (from: number, to: number) =>
  range(from, to).map((m) => `${m}@${1000 + 10 * Math.floor(Number(m.slice(1)) / 2)}`);
const sortNum = (vs: string[]) => [...vs].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));

describe("RedisStreamSource (Redis Streams)", () => {
  it("reads exactly the stream from each start position, stamped with the entry ID's time", async () => {
    const key = `${redis.prefix("src-pos")}s`;
    await fill([key], 0, 30);
    assert.deepEqual(await readBounded({ streams: [key] }), stamped(0, 30));
    // After an entry ID: strictly after it (m7 has ID 1030-1).
    assert.deepEqual(await readBounded({ streams: [key], startFrom: { afterId: idOf(7) } }), stamped(8, 30));
    // A timestamp: every entry whose ID's time is at or after it (m10 and m11 are at 1050).
    assert.deepEqual(await readBounded({ streams: [key], startFrom: { timestamp: 1050 } }), stamped(10, 30));
    assert.deepEqual(
      await readBounded({ streams: [key], startFrom: { timestamp: new Date(1051) } }),
      stamped(12, 30),
    );
    // Latest, bounded: nothing (the stream's end at start is where it stops).
    assert.deepEqual(await readBounded({ streams: [key], startFrom: "latest" }), []);
    // Several streams, one split each, each in ID order; a missing key is an empty split.
    const p = redis.prefix("src-multi");
    const keys = [`${p}a`, `${p}b`, `${p}c`];
    await fill(keys, 0, 30);
    const got = await readBounded({ streams: [...keys, `${p}missing`] }, 3);
    assert.deepEqual(sortNum(got.map((v) => v.split("@")[0]!)), range(0, 30));
    for (let k = 0; k < 3; k++) {
      const of = got.map((v) => v.split("@")[0]!).filter((m) => Number(m.slice(1)) % 3 === k);
      assert.deepEqual(
        of,
        range(0, 30, (i) => i % 3 === k),
        `stream ${keys[k]} in ID order`,
      );
    }
  });

  it("a timestamp assigner overrides the entry ID's time", async () => {
    const key = `${redis.prefix("src-assigner")}s`;
    for (let i = 0; i < 5; i++)
      await redis.client.xAdd(key, `${10 + i}-0`, { value: `m${i}`, t: String(7000 + i) });
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const h = env
      .fromSource(
        new RedisStreamSource<Record<string, string>>({ url: redis.url, streams: [key], bounded: true }),
        WatermarkStrategy.forMonotonousTimestamps<Record<string, string>>().withTimestampAssigner((f, ts) =>
          (ts ?? 1e9) < 100 ? Number(f.t) : -1,
        ),
        "redis",
      )
      .process<string>({
        processElement(f, ctx, out) {
          out.collect(`${f.value}@${ctx.timestamp()}`);
        },
      })
      .collect();
    await env.execute("redis-assigner");
    assert.deepEqual(h.values, ["m0@7000", "m1@7001", "m2@7002", "m3@7003", "m4@7004"]);
  });

  it("latest (unbounded) reads only what is added after the job started", async () => {
    const key = `${redis.prefix("src-latest")}s`;
    await fill([key], 0, 5, false);
    const env = new StreamExecutionEnvironment({ parallelism: 1, checkpointInterval: 50 });
    const h = env
      .fromSource(
        new RedisStreamSource<string>({
          url: redis.url,
          streams: [key],
          startFrom: "latest",
          blockMs: 100,
          deserializer: (f) => f.value!,
        }),
        "redis",
      )
      .collect();
    const client = await env.executeAsync("redis-latest");
    try {
      let marker = 0;
      await waitFor(async () => {
        if (h.values.length > 0) return true;
        await redis.client.xAdd(key, "*", { value: `x${marker++}` });
        return false;
      }, "the first record after the start");
      await fill([key], 100, 110, false);
      await waitFor(() => h.values.includes("m109"), "the records added after the start");
      const got = h.values;
      assert.ok(!got.some((v) => /^m[0-4]$/.test(v)), `no record from before the start: ${got}`);
      const stored = (await redis.readStream(key)).map((e) => e.fields.value!);
      assert.deepEqual(got, stored.slice(stored.length - got.length), "a contiguous suffix, each entry once");
    } finally {
      await client.cancel();
    }
  });

  for (const [p1, p2] of [
    [1, 3],
    [3, 2],
  ] as const) {
    it(`a savepoint at p=${p1} restored at p=${p2} resumes each split exactly after its last entry`, async () => {
      const p = redis.prefix("src-restore");
      const keys = [`${p}a`, `${p}b`, `${p}c`];
      const dir = mkdtempSync(join(tmpdir(), "weir-redis-sp-"));
      const job = (parallelism: number, restore?: string) => {
        const env = new StreamExecutionEnvironment({
          parallelism,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, `cp-${parallelism}`),
        });
        if (restore !== undefined) env.restoreFrom(restore);
        const source = new RedisStreamSource<string>({
          url: redis.url,
          streams: keys,
          bufferSize: 16,
          blockMs: 100,
          deserializer: (f) => f.value!,
        });
        const h = env
          .fromSource(source, "redis")
          .uid("redis-source")
          .map((v) => v)
          .uid("identity")
          .collect();
        return { env, h };
      };
      try {
        await fill(keys, 0, 600);
        const first = job(p1);
        const c1 = await first.env.executeAsync("redis-restore-1");
        await waitFor(() => first.h.values.length >= 50, "some records");
        const savepoint = await c1.stopWithSavepoint(join(dir, "sp"));
        await assert.rejects(c1.wait(), JobCancelledError);
        const before = first.h.values;
        await fill(keys, 600, 900);
        const second = job(p2, savepoint);
        const c2 = await second.env.executeAsync("redis-restore-2");
        try {
          await waitFor(() => before.length + second.h.values.length >= 900, "the rest of the streams");
        } finally {
          await c2.cancel();
        }
        const all = [...before, ...second.h.values];
        assert.deepEqual(
          sortNum(all),
          range(0, 900),
          `each entry exactly once (${before.length} before the savepoint)`,
        );
        for (let k = 0; k < 3; k++) {
          const of = (vs: string[]) => vs.filter((v) => Number(v.slice(1)) % 3 === k);
          assert.deepEqual(
            [...of(before), ...of(second.h.values)],
            range(0, 900, (i) => i % 3 === k),
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a malformed entry fails the job naming stream and entry ID, or is dead-lettered and counted", async () => {
    const p = redis.prefix("src-bad");
    const key = `${p}s`;
    const dead = `${p}dead`;
    for (const [i, v] of ['{"n":1}', '{"n":2}', "not json", '{"n":4}'].entries()) {
      await redis.client.xAdd(key, `${i + 1}-0`, { value: v });
    }
    const run = (onMalformed: RedisStreamSourceOptions<unknown>["onMalformed"]) => {
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        restartStrategy: RestartStrategies.noRestart(),
      });
      const source = new RedisStreamSource<{ n: number }>({
        url: redis.url,
        streams: [key],
        bounded: true,
        deserializer: jsonFieldDeserializer(),
        onMalformed,
      });
      const h = env.fromSource(source, "redis").collect();
      return { h, done: env.execute("redis-malformed") };
    };
    const failing = run("fail");
    const err = await failing.done.then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    assert.match(String(err), /RedisMalformedEntryError/);
    assert.match(String(err), new RegExp(`entry 3-0 of stream '${key}' is malformed`));

    for (let round = 0; round < 2; round++) {
      // The second round replays the same entry: the dead letter is not appended twice.
      const routed = run({ deadLetterStream: dead });
      const result = await routed.done;
      assert.deepEqual(routed.h.values, [{ n: 1 }, { n: 2 }, { n: 4 }]);
      assert.equal(result.getAccumulatorResult(DEAD_LETTER_COUNTER), 1);
      const dl = await redis.readStream(dead);
      assert.equal(dl.length, 1);
      assert.equal(dl[0]!.fields.value, "not json");
      assert.equal(dl[0]!.fields["weir-source-stream"], key);
      assert.equal(dl[0]!.fields["weir-source-id"], "3-0");
    }
  });

  it("a server that is down: an error naming host and port, never the password; restarts take over", async () => {
    const port = await freePort();
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.fixedDelay(1, 0),
    });
    env
      .fromSource(
        new RedisStreamSource({
          url: `redis://weir:s3cret@127.0.0.1:${port}`,
          streams: ["nope"],
          startFrom: "latest",
          bounded: true,
          maxReconnectAttempts: 2,
        }),
        "redis",
      )
      .collect();
    const err = await env.execute("redis-down").then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    // The job's error carries the reader's error by name and message (it may cross a thread).
    const text = allText(err);
    assert.match(
      text,
      new RegExp(`RedisConnectorError: .*cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(`),
    );
    assert.doesNotMatch(text, /s3cret/);
    assert.match(text, /after 1 restarts?\)/, "the restart strategy ran the job again");
  });

  it("a server that goes away fails the reading job with an error naming host and port", async () => {
    const port = await freePort();
    assert.equal(
      spawnSync("redis-server", ["--version"]).status,
      0,
      "this test needs the redis-server binary",
    );
    const dir = mkdtempSync(join(tmpdir(), "weir-redis-gone-"));
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
      {
        stdio: "ignore",
      },
    );
    try {
      const url = `redis://127.0.0.1:${port}`;
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        checkpointInterval: 50,
        restartStrategy: RestartStrategies.noRestart(),
      });
      const h = env
        .fromSource(
          new RedisStreamSource<string>({ url, streams: ["s"], blockMs: 100, deserializer: (f) => f.value! }),
          "redis",
        )
        .collect();
      const { createClient } = await import("redis");
      const feeder = createClient({ url });
      feeder.on("error", () => {});
      await waitFor(async () => {
        try {
          if (!feeder.isOpen) await feeder.connect();
          return true;
        } catch {
          return false;
        }
      }, "the private redis-server");
      const done = env.execute("redis-gone").then(
        () => assert.fail("the job should fail"),
        (e: unknown) => e,
      );
      await waitFor(async () => {
        await feeder.xAdd("s", "*", { value: "x" });
        return h.values.length > 0;
      }, "the job to read");
      feeder.destroy();
      server.kill("SIGKILL");
      const err = await done;
      // The job's error carries the reader's error by name and message (it may cross a thread).
      assert.match(
        allText(err),
        new RegExp(`RedisConnectorError: .*lost the connection to Redis at 127\\.0\\.0\\.1:${port}`),
      );
    } finally {
      server.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function allText(err: unknown): string {
  const parts: string[] = [];
  for (let c = err; c !== undefined && c !== null; c = (c as Error).cause)
    parts.push(String((c as Error).message ?? c));
  return parts.join(" | ");
}
