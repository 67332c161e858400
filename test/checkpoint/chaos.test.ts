// Exactly-once under failure, on worker threads: a keyed, windowed job writes through the
// exactly-once file sink while the test kills random worker threads (or user code throws) at
// random moments. The committed output must equal the output computed without failures: no
// record lost, none duplicated. Every scenario draws its moments from a seed; a failure prints
// the seed and the command that runs that scenario again (CHAOS_SEED=n: the same moments, though
// a thread's progress at a moment varies from run to run).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { chaosSeeds, replayCommand } from "./fixtures/chaos-double-restore.ts";
import { type ChaosParams, WINDOW_MS, event } from "./fixtures/chaos-job.ts";

const JOB = fileURLToPath(new URL("./fixtures/chaos-job.ts", import.meta.url));

/** Registers a seeded scenario (only the replayed one under CHAOS_SEED); a failure names its replay. */
function seeded(seed: number, name: string, fn: () => Promise<void>): void {
  if (!chaosSeeds([seed]).includes(seed)) return;
  it(`seed ${seed}: ${name}`, async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error)
        e.message += `\nseed ${seed}; replay: ${replayCommand(seed, "test/checkpoint/chaos.test.ts")}`;
      throw e;
    }
  });
}

function expected(events: number, keys: number): string[] {
  const m = new Map<string, { key: string; window: number; count: number; sum: number }>();
  for (let i = 0; i < events; i++) {
    const e = event(i, keys);
    const w = Math.floor(e.time / WINDOW_MS) * WINDOW_MS;
    const k = `${e.key}@${w}`;
    const r = m.get(k) ?? { key: e.key, window: w, count: 0, sum: 0 };
    r.count++;
    r.sum += e.value;
    m.set(k, r);
  }
  return [...m.values()].map((r) => JSON.stringify(r)).sort();
}

function committed(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith(".")) continue;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) if (l.length > 0) lines.push(l);
  }
  return lines.sort();
}

/** A seeded PRNG for the moments of failure. */
function rng(seed: number): () => number {
  let s = Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  for (let i = 0; i < 4; i++) next(); // mix small seeds
  return next;
}

async function runOnce(
  params: ChaosParams,
  parallelism: number,
  kills: Array<[number, number]>,
): Promise<{ restarts: number }> {
  process.env.WEIR_CHAOS_JOB = JSON.stringify(params);
  const client = await submitJob({ job: JOB, parallelism });
  const timers = kills.map(([delay, slot]) => setTimeout(() => client.killWorker(slot), delay));
  try {
    const r = await client.wait();
    return { restarts: r.restarts };
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

describe("exactly-once under failures (worker threads, file sink)", () => {
  const EVENTS = 30_000;
  const KEYS = 13;
  const ref = expected(EVENTS, KEYS);

  /** Run the chaos job with `extra` settings in a fresh directory; its committed output must equal the reference. */
  async function check(
    extra: Partial<ChaosParams>,
    parallelism: number,
    kills: Array<[number, number]>,
  ): Promise<{ restarts: number }> {
    const dir = mkdtempSync(join(tmpdir(), "weir-chaos-"));
    try {
      const params: ChaosParams = {
        out: join(dir, "out"),
        checkpoints: join(dir, "checkpoints"),
        events: EVENTS,
        keys: KEYS,
        rate: 20_000,
        ...extra,
      };
      const r = await runOnce(params, parallelism, kills);
      assert.deepEqual(committed(params.out), ref, `p=${parallelism}, kills ${JSON.stringify(kills)}`);
      return r;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  for (const seed of [1, 2, 3]) {
    seeded(seed, "workers killed at random moments", async () => {
      const random = rng(seed);
      const parallelism = 2 + Math.floor(random() * 3); // 2..4
      const kills: Array<[number, number]> = [];
      const n = 1 + Math.floor(random() * 2);
      for (let i = 0; i < n; i++)
        kills.push([200 + Math.floor(random() * 1200), Math.floor(random() * parallelism)]);
      const r = await check({}, parallelism, kills);
      assert.ok(r.restarts >= 1, "the job restarted after the kills");
    });
  }

  for (const alignedTimeout of [0, 20]) {
    const seed = 11 + alignedTimeout;
    seeded(
      seed,
      `unaligned checkpoints (aligned timeout ${alignedTimeout} ms) under backpressure: a worker killed`,
      async () => {
        const random = rng(seed);
        const kill: [number, number] = [400 + Math.floor(random() * 800), Math.floor(random() * 3)];
        const r = await check({ rate: 40_000, unaligned: true, alignedTimeout, slow: 20_000 }, 3, [kill]);
        assert.ok(r.restarts >= 1, "the job restarted after the kill");
      },
    );
  }

  seeded(7, "embedded state backend: a worker killed at a random moment", async () => {
    const random = rng(7);
    const r = await check({ stateBackend: "embedded" }, 3, [
      [300 + Math.floor(random() * 900), Math.floor(random() * 3)],
    ]);
    assert.ok(r.restarts >= 1, "the job restarted after the kill");
  });

  for (const seed of [97, 99]) {
    seeded(seed, "user code throwing in a random operator at a random record", async () => {
      const random = rng(seed);
      const throwIn = random() < 0.5 ? "unwrap" : "slow";
      const r = await check({ throwAt: [Math.floor(random() * EVENTS)], throwIn, slow: 1 }, 3, []);
      assert.equal(r.restarts, 1, `the job restarted once after the failure in '${throwIn}'`);
    });
  }

  it("leaves no worker thread behind", async () => {
    const deadline = Date.now() + 30_000;
    while (liveWorkerCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(liveWorkerCount(), 0);
  });
});
