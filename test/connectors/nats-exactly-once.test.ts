// Exactly-once end to end against a real NATS server: JetStream → keyed running totals →
// JetStream. A run whose stateful operator fails at random moments (seeded; the seed is printed,
// WEIR_NATS_SEED replays it) restores from its checkpoints each time — the source rewinds to the
// checkpointed sequences, the sink commits the restored checkpoint's records again under the same
// message ids — and its target stream must hold exactly what a failure-free run's holds.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JetStreamSink, JetStreamSource, jsonDeserializer } from "../../src/connectors/nats/index.ts";
import { RestartStrategies, StreamExecutionEnvironment, ValueStateDescriptor } from "../../src/index.ts";
import { type NatsTestServer, startNats } from "./nats-server.ts";

let nats: NatsTestServer;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
});

const EVENTS = 1500;
const USERS = 9;
const FAILURES = 3;

interface Click {
  user: string;
  i: number;
  value: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keep the task busy a little per record, so that checkpoints complete between failures. */
function spin(micros: number): void {
  const until = performance.now() + micros / 1000;
  while (performance.now() < until) {}
}

/**
 * Run the pipeline from `source` to `target`; with `failAt`, attempt a (< failAt.length) throws
 * when the operator has seen failAt[a] records in that attempt.
 */
async function runPipeline(source: string, target: string, failAt: number[]) {
  const dir = mkdtempSync(join(tmpdir(), "weir-nats-eo-"));
  const seen = new Map<number, number>();
  try {
    const env = new StreamExecutionEnvironment({
      parallelism: 2,
      checkpointInterval: 25,
      checkpointDirectory: dir,
      restartStrategy: RestartStrategies.fixedDelay(FAILURES + 2, 0),
    });
    env
      .fromSource(
        new JetStreamSource<Click>({
          servers: nats.servers,
          stream: source,
          subjects: [0, 1, 2].map((p) => `${source}.p${p}`),
          bounded: true,
          deserializer: jsonDeserializer,
          bufferSize: 32,
        }),
        "clicks",
      )
      .uid("clicks")
      .keyBy((c) => c.user)
      .process<string>({
        processElement(c, ctx, out) {
          const attempt = ctx.runtime.attemptNumber;
          const n = (seen.get(attempt) ?? 0) + 1;
          seen.set(attempt, n);
          if (attempt < failAt.length && n === failAt[attempt]) {
            throw new Error(`injected failure at record ${n} of attempt ${attempt}`);
          }
          spin(150);
          const total = ctx.runtime.getState(new ValueStateDescriptor<number>("total"));
          const count = ctx.runtime.getState(new ValueStateDescriptor<number>("count"));
          const t = (total.value() ?? 0) + c.value;
          const k = (count.value() ?? 0) + 1;
          total.update(t);
          count.update(k);
          out.collect(JSON.stringify({ user: c.user, count: k, total: t, last: c.i }));
        },
      })
      .uid("totals")
      .sinkTo(new JetStreamSink<string>({ servers: nats.servers, subject: `${target}.totals` }))
      .uid("totals-sink");
    return await env.execute("nats-exactly-once");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("exactly-once JetStream → keyed state → JetStream", () => {
  it("restarts at random moments leave the target stream equal to a failure-free run's", async () => {
    const seed = Number(process.env.WEIR_NATS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`# nats exactly-once seed ${seed} (replay with WEIR_NATS_SEED=${seed})`);
    const random = mulberry32(seed);
    const failAt = Array.from({ length: FAILURES }, () => 100 + Math.floor(random() * (EVENTS - 200)));

    const source = await nats.createStream("weir_eo_src");
    // Each user's clicks are on one subject (one split), so its running totals are deterministic.
    for (let i = 0; i < EVENTS; i++) {
      const u = Math.floor(random() * USERS);
      const click: Click = { user: `u${u}`, i, value: 1 + Math.floor(random() * 100) };
      await nats.publish(`${source}.p${u % 3}`, JSON.stringify(click));
    }
    const clean = await nats.createStream("weir_eo_clean");
    const faulty = await nats.createStream("weir_eo_faulty");
    const ok = await runPipeline(source, clean, []);
    assert.equal(ok.restarts ?? 0, 0);
    const withFailures = await runPipeline(source, faulty, failAt);
    const restarts = withFailures.restarts ?? 0;
    console.log(
      `# failures at records ${failAt.join(", ")} of attempts 0..${FAILURES - 1}; restarts ${restarts}`,
    );
    assert.equal(restarts, FAILURES, `the job restarted after each injected failure (seed ${seed})`);

    const expected = (await nats.readStream(clean)).map((m) => m.data).sort();
    const got = (await nats.readStream(faulty)).map((m) => m.data).sort();
    assert.equal(expected.length, EVENTS, "one output per click in the failure-free run");
    assert.deepEqual(got, expected, `target content equals the failure-free run's (seed ${seed})`);
  });
});
