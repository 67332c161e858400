// Exactly-once end to end against a real NATS server: JetStream → keyed running totals →
// JetStream (fixtures/nats-totals-job.ts). Runs whose stateful operator fails at random moments,
// or whose worker thread is killed at a random moment (seeded; the seed is printed and
// WEIR_NATS_SEED replays it), restore from their checkpoints each time — the source rewinds to
// the checkpointed sequences, the sink commits the restored checkpoint's records again under the
// same message ids — and their target streams must hold exactly what a failure-free run's holds.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { buildTotals, type Click, type TotalsParams } from "./fixtures/nats-totals-job.ts";
import { type NatsTestServer, startNats, waitFor } from "./nats-server.ts";
import { prng as mulberry32 } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("./fixtures/nats-totals-job.ts", import.meta.url));
const EVENTS = 1500;
const USERS = 9;
const FAILURES = 3;

const seed = Number(process.env.WEIR_NATS_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`# nats exactly-once seed ${seed} (replay with WEIR_NATS_SEED=${seed})`);

const random = mulberry32(seed);

let nats: NatsTestServer;
let source: string;
let dir: string;
/** The failure-free run's target content, sorted. */
let expected: string[];

function params(target: string, extra: Partial<TotalsParams> = {}): TotalsParams {
  return {
    servers: nats.servers,
    source,
    target,
    checkpoints: mkdtempSync(join(dir, "cp-")),
    bounded: true,
    spinMicros: 150,
    ...extra,
  };
}

async function contentOf(stream: string): Promise<string[]> {
  return (await nats.readStream(stream)).map((m) => m.data).sort();
}

before(async () => {
  nats = await startNats();
  dir = mkdtempSync(join(tmpdir(), "weir-nats-eo-"));
  source = await nats.createStream("weir_eo_src");
  // Each user's clicks are on one subject (one split), so its running totals are deterministic.
  const clicks: Click[] = [];
  for (let i = 0; i < EVENTS; i++) {
    clicks.push({ user: `u${Math.floor(random() * USERS)}`, i, value: 1 + Math.floor(random() * 100) });
  }
  // Published in order (one connection keeps it), 100 acks awaited at a time.
  for (let from = 0; from < EVENTS; from += 100) {
    await Promise.all(
      clicks
        .slice(from, from + 100)
        .map((c) => nats.publish(`${source}.p${Number(c.user.slice(1)) % 3}`, JSON.stringify(c))),
    );
  }
  const clean = await nats.createStream("weir_eo_clean");
  const env = new StreamExecutionEnvironment({ parallelism: 2 });
  buildTotals(env, params(clean));
  const r = await env.execute("nats-clean");
  assert.equal(r.restarts, 0);
  expected = await contentOf(clean);
  assert.equal(expected.length, EVENTS, "one output per click in the failure-free run");
});

after(async () => {
  await nats?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("exactly-once JetStream → keyed state → JetStream", () => {
  it("an operator failing at random moments: the target equals the failure-free run's", async () => {
    // Each attempt fails within its first 1/(FAILURES + 1) of the records, so every attempt gets
    // there: a restored attempt reads only what followed its checkpoint (seed 28553720 had attempt 1
    // fail at record 1334 of the ~400 left to it, so it never failed).
    const share = Math.floor(EVENTS / (FAILURES + 1));
    const failAt = Array.from({ length: FAILURES }, () => 100 + Math.floor(random() * (share - 100)));
    console.log(`# failures at records ${failAt.join(", ")} of attempts 0..${FAILURES - 1}`);
    const target = await nats.createStream("weir_eo_faulty");
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildTotals(env, params(target, { failAt, restarts: FAILURES + 2 }));
    const r = await env.execute("nats-failing");
    assert.equal(r.restarts, FAILURES, `the job restarted after each injected failure (seed ${seed})`);
    assert.deepEqual(
      await contentOf(target),
      expected,
      `target equals the failure-free run's (seed ${seed})`,
    );
  });

  it("a worker thread killed at a random moment: the target equals the failure-free run's", async () => {
    const target = await nats.createStream("weir_eo_killed");
    // Kill a random slot when the target holds a random share of the output (once: a worker
    // thread takes seconds to start on a loaded machine, and the in-thread test covers repeats).
    const kills = [{ after: Math.floor(random() * EVENTS * 0.6), slot: Math.floor(random() * 2) }];
    console.log(`# kills: ${kills.map((k) => `slot ${k.slot} after ${k.after} outputs`).join(", ")}`);
    process.env.WEIR_NATS_JOB = JSON.stringify(params(target, { restarts: 5, spinMicros: 300 }));
    const client = await submitJob({ job: JOB, parallelism: 2 });
    let killed = 0;
    const killer = (async () => {
      for (const k of kills) {
        await waitFor(
          async () =>
            client.getStatus() !== "RUNNING" ||
            (await nats.jsm.streams.info(target)).state.messages >= k.after,
          `${k.after} outputs in the target`,
          60_000,
        );
        if (client.getStatus() !== "RUNNING") return;
        client.killWorker(k.slot);
        killed++;
      }
    })();
    const r = await client.wait();
    await killer;
    console.log(`# ${killed} workers killed, ${r.restarts} restarts`);
    // A kill that lands after the worker's tasks have finished does not fail the job.
    assert.ok(r.restarts >= 1 && r.restarts <= killed, `killed ${killed} workers, ${r.restarts} restarts`);
    assert.deepEqual(
      await contentOf(target),
      expected,
      `target equals the failure-free run's (seed ${seed})`,
    );
  });
});
