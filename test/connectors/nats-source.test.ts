// The JetStream source against a real NATS server (see nats-server.ts): it reads exactly the
// stream from each start position (earliest, a sequence, a timestamp, latest; with and without
// subject filters), stamps records with their JetStream time, resumes exactly from a savepoint at
// another parallelism, handles malformed messages per its policy, and names host and port (never
// credentials) when the server is down. Every test uses its own streams and deletes them.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DEAD_LETTER_COUNTER,
  JetStreamSource,
  type JetStreamSourceOptions,
  jsonDeserializer,
} from "../../src/connectors/nats/index.ts";
import {
  JobCancelledError,
  RestartStrategies,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import { type NatsTestServer, startNats, waitFor } from "./nats-server.ts";

let nats: NatsTestServer;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

const SUBJECTS = ["a", "b", "c"];

/** Publish m<i> for i in [from, to) to <stream>.a/b/c round-robin; returns their sequences. */
async function fill(stream: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await nats.publish(`${stream}.${SUBJECTS[i % 3]}`, `m${i}`);
}

async function readBounded(
  options: Omit<JetStreamSourceOptions<string>, "servers" | "bounded">,
  parallelism = 2,
): Promise<string[]> {
  const env = new StreamExecutionEnvironment({ parallelism });
  const h = env
    .fromSource(new JetStreamSource({ ...options, servers: nats.servers, bounded: true }), "js")
    .process<string>({
      processElement(v, ctx, out) {
        out.collect(`${v}@${ctx.timestamp()}`);
      },
    })
    .collect();
  await env.execute("nats-read");
  return h.values;
}

const dataOf = (vs: string[]) => vs.map((v) => v.split("@")[0]!);
const sortNum = (vs: string[]) => [...vs].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
const range = (from: number, to: number, keep: (i: number) => boolean = () => true) =>
  Array.from({ length: to - from }, (_, k) => from + k)
    .filter(keep)
    .map((i) => `m${i}`);

describe("JetStreamSource (NATS JetStream)", () => {
  it("reads exactly the stream from each start position, stamped with JetStream time", async () => {
    const stream = await nats.createStream("weir_src_pos");
    await fill(stream, 0, 20);
    const stored20 = (await nats.readStream(stream)).at(-1)!;
    // The next message must be stored in a later millisecond than message 20 (seq 20).
    await waitFor(() => Date.now() > stored20.timestamp + 2, "the clock to pass message 20's millisecond");
    await fill(stream, 20, 30);
    const stored = await nats.readStream(stream);
    assert.equal(stored.length, 30);

    // Earliest, whole stream: one split, so stream order; each record's timestamp is its JetStream time.
    const all = await readBounded({ stream });
    assert.deepEqual(
      all,
      stored.map((m) => `${m.data}@${m.timestamp}`),
    );

    // Filter subjects: one split each, each in stream order.
    const ac = dataOf(await readBounded({ stream, subjects: [`${stream}.a`, `${stream}.c`] }, 3));
    assert.deepEqual(
      sortNum(ac),
      range(0, 30, (i) => i % 3 !== 1),
    );
    assert.deepEqual(
      ac.filter((v) => Number(v.slice(1)) % 3 === 0),
      range(0, 30, (i) => i % 3 === 0),
    );

    // A sequence: from that sequence on (sequences start at 1: m10 has sequence 11).
    assert.deepEqual(dataOf(await readBounded({ stream, startFrom: { sequence: 11 } }, 1)), range(10, 30));

    // A timestamp: the first message stored at or after it.
    const t21 = stored[20]!.timestamp;
    assert.deepEqual(dataOf(await readBounded({ stream, startFrom: { timestamp: t21 } }, 1)), range(20, 30));
    assert.deepEqual(
      dataOf(await readBounded({ stream, startFrom: { timestamp: new Date(t21) } }, 1)),
      range(20, 30),
    );

    // Latest, bounded: nothing (the stream's end at start is where it stops).
    assert.deepEqual(await readBounded({ stream, startFrom: "latest" }), []);
  });

  it("watermarks per split: the reader's watermark is the minimum over its subjects", async () => {
    const stream = await nats.createStream("weir_src_wm");
    // Subject a carries old event times, b new ones; a user timestamp assigner reads them.
    for (let i = 0; i < 60; i++) {
      await nats.publish(`${stream}.a`, JSON.stringify({ s: "a", ts: 1_000 + i }));
      await nats.publish(`${stream}.b`, JSON.stringify({ s: "b", ts: 1_000_000 + i }));
    }
    type E = { s: "a" | "b"; ts: number };
    const punctuated = WatermarkStrategy.forGenerator<E>(() => ({
      onEvent: (_e, ts, out) => out.emitWatermark(ts),
      onPeriodicEmit: () => {},
    })).withTimestampAssigner((e) => e.ts);
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const source = new JetStreamSource<E>({
      servers: nats.servers,
      stream,
      subjects: [`${stream}.a`, `${stream}.b`],
      bounded: true,
      deserializer: jsonDeserializer,
      bufferSize: 4,
    });
    const h = env
      .fromSource(source, punctuated, "js")
      .process<string>({
        processElement(e, ctx, out) {
          out.collect(`${e.s} ${ctx.timestamp()} ${ctx.timerService().currentWatermark()}`);
        },
      })
      .collect();
    await env.execute("nats-watermarks");
    assert.equal(h.values.length, 120);
    // Before each record, the watermark never passed the older subject's latest event time.
    const maxTs = { a: Number.NEGATIVE_INFINITY, b: Number.NEGATIVE_INFINITY };
    let interleaved = 0;
    for (const line of h.values) {
      const [s, ts, wm] = line.split(" ") as ["a" | "b", string, string];
      assert.ok(Number(wm) <= Math.min(maxTs.a, maxTs.b), `watermark ${wm} ahead of a split at ${line}`);
      if (s === "a" && maxTs.b > Number.NEGATIVE_INFINITY) interleaved++;
      // A split that has ended (its 60th record) no longer holds the watermark back.
      maxTs[s] = Number(ts) % 1_000 === 59 ? Number.POSITIVE_INFINITY : Math.max(maxTs[s], Number(ts));
    }
    console.log(`# ${interleaved} records of subject a came after records of b`);
    // And it does advance: the last records see at least the older subject's event times.
    const lastWatermark = Number(h.values.at(-1)!.split(" ")[2]);
    assert.ok(lastWatermark >= 1_000, `the watermark advanced (last seen ${lastWatermark})`);
  });

  it("latest (unbounded) reads only what is published after the job started", async () => {
    const stream = await nats.createStream("weir_src_latest");
    await fill(stream, 0, 5);
    const env = new StreamExecutionEnvironment({ parallelism: 1, checkpointInterval: 50 });
    const h = env
      .fromSource(new JetStreamSource({ servers: nats.servers, stream, startFrom: "latest" }), "js")
      .collect();
    const client = await env.executeAsync("nats-latest");
    try {
      // Markers until one arrives: from then on the source is reading.
      let marker = 0;
      await waitFor(async () => {
        if (h.values.length > 0) return true;
        await nats.publish(`${stream}.a`, `x${marker++}`);
        return false;
      }, "the first record after the start");
      await fill(stream, 100, 110);
      await waitFor(() => h.values.includes("m109"), "the records published after the start");
      const got = h.values;
      assert.ok(!got.some((v) => /^m[0-4]$/.test(v)), `no record from before the start: ${got}`);
      const published = (await nats.readStream(stream)).map((m) => m.data);
      // A contiguous suffix of the stream, each message once.
      assert.deepEqual(got, published.slice(published.length - got.length));
    } finally {
      await client.cancel();
    }
  });

  // Filtered splits at another parallelism; and the whole stream as one split, where the next
  // message after the savepoint is at exactly the checkpointed sequence (an off-by-one shows).
  for (const [p1, p2, filtered] of [
    [1, 3, true],
    [3, 2, true],
    [2, 1, false],
  ] as const) {
    const what = filtered ? "each subject split" : "the whole-stream split";
    it(`a savepoint at p=${p1} restored at p=${p2} resumes ${what} exactly after its last record`, async () => {
      const stream = await nats.createStream("weir_src_restore");
      const dir = mkdtempSync(join(tmpdir(), "weir-nats-sp-"));
      const job = (parallelism: number, restore?: string) => {
        const env = new StreamExecutionEnvironment({
          parallelism,
          checkpointInterval: 50,
          checkpointDirectory: join(dir, `cp-${parallelism}`),
        });
        if (restore !== undefined) env.restoreFrom(restore);
        const source = new JetStreamSource({
          servers: nats.servers,
          stream,
          subjects: filtered ? SUBJECTS.map((s) => `${stream}.${s}`) : undefined,
          bufferSize: 16,
        });
        const h = env
          .fromSource(source, "js")
          .uid("js-source")
          .map((v) => v)
          .uid("identity")
          .collect();
        return { env, h };
      };
      try {
        await fill(stream, 0, 600);
        const first = job(p1);
        const c1 = await first.env.executeAsync("nats-restore-1");
        await waitFor(() => first.h.values.length >= 50, "some committed records");
        const savepoint = await c1.stopWithSavepoint(join(dir, "sp"));
        await assert.rejects(c1.wait(), JobCancelledError);
        const before = first.h.values;
        await fill(stream, 600, 900);
        const second = job(p2, savepoint);
        const c2 = await second.env.executeAsync("nats-restore-2");
        try {
          await waitFor(() => before.length + second.h.values.length >= 900, "the rest of the stream");
        } finally {
          await c2.cancel();
        }
        const all = [...before, ...second.h.values];
        assert.deepEqual(
          sortNum(all),
          range(0, 900),
          `each message exactly once (${before.length} before the savepoint)`,
        );
        // Per subject, in stream order across the restore.
        for (let k = 0; k < 3; k++) {
          const ofSubject = (vs: string[]) => vs.filter((v) => Number(v.slice(1)) % 3 === k);
          assert.deepEqual(
            [...ofSubject(before), ...ofSubject(second.h.values)],
            range(0, 900, (i) => i % 3 === k),
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a malformed message fails the job naming stream and sequence, or is dead-lettered and counted", async () => {
    const stream = await nats.createStream("weir_src_bad");
    const dead = await nats.createStream("weir_src_dead");
    for (const p of ['{"n":1}', '{"n":2}', "not json", '{"n":4}']) await nats.publish(`${stream}.a`, p);
    const run = (onMalformed: JetStreamSourceOptions<unknown>["onMalformed"]) => {
      const env = new StreamExecutionEnvironment({
        parallelism: 1,
        restartStrategy: RestartStrategies.noRestart(),
      });
      const source = new JetStreamSource<{ n: number }>({
        servers: nats.servers,
        stream,
        bounded: true,
        deserializer: jsonDeserializer,
        onMalformed,
      });
      const h = env.fromSource(source, "js").collect();
      return { h, done: env.execute("nats-malformed") };
    };
    const failing = run("fail");
    const err = await failing.done.then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    // The job's error carries the reader's error by name and message (it may cross a thread).
    assert.match(String(err), /JetStreamMalformedMessageError/);
    assert.match(
      String(err),
      new RegExp(`message 3 of stream '${stream}' \\(subject ${stream}\\.a\\) is malformed`),
    );

    const routed = run({ deadLetterSubject: `${dead}.bad` });
    const result = await routed.done;
    assert.deepEqual(routed.h.values, [{ n: 1 }, { n: 2 }, { n: 4 }]);
    assert.equal(result.getAccumulatorResult(DEAD_LETTER_COUNTER), 1);
    const dl = await nats.readStream(dead);
    assert.deepEqual(
      dl.map((m) => m.data),
      ["not json"],
    );
  });

  it("a server that is down: an error naming host and port (never the password), after the restarts", async () => {
    const port = 1 + (await freeTcpPort());
    const env = new StreamExecutionEnvironment({
      parallelism: 1,
      restartStrategy: RestartStrategies.fixedDelay(2, 10),
    });
    env
      .fromSource(
        new JetStreamSource({
          servers: `nats://weir:s3cret@127.0.0.1:${port}`,
          stream: "nope",
          bounded: true,
        }),
        "js",
      )
      .collect();
    const err = await env.execute("nats-down").then(
      () => assert.fail("the job should fail"),
      (e: unknown) => e,
    );
    const text = String(err instanceof Error ? `${err.message} ${String(err.cause)}` : err);
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(text, /s3cret/);
    assert.match(text, /NatsConnectorError: .*cannot connect to NATS at/);
    assert.match(text, /after 2 restarts/, "the restart strategy took over");
  });
});

async function freeTcpPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port - 1));
    });
  });
}
