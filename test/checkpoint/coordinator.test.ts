// Checkpoint failures and restart strategies: a checkpoint that times out is discarded with its
// files and the job goes on, until more fail in a row than tolerated; restart strategies decide
// whether and when a failed job restarts.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RestartBackoff } from "../../src/checkpoint/restart-strategy.ts";
import {
  InvalidArgumentError,
  NumberSequenceSource,
  RestartStrategies,
  StreamExecutionEnvironment,
} from "../../src/index.ts";

/** A sequence whose readers take 5 ms to snapshot: a checkpoint cannot finish within 1 ms. */
class SlowSnapshotSequence extends NumberSequenceSource {
  override createReader(ctx: Parameters<NumberSequenceSource["createReader"]>[0]) {
    const reader = super.createReader(ctx);
    const snapshot = reader.snapshotState.bind(reader);
    reader.snapshotState = (id: number) => {
      const until = performance.now() + 5;
      while (performance.now() < until) {}
      return snapshot(id);
    };
    return reader;
  }
}

function slowJob(dir: string, tolerable: number): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment({ parallelism: 1, checkpointDirectory: dir });
  env
    .enableCheckpointing(5)
    .getCheckpointConfig()
    .setCheckpointTimeout(1)
    .setTolerableCheckpointFailureNumber(tolerable)
    .setExternalizedCheckpointRetention("RETAIN_ON_CANCELLATION");
  env.setRestartStrategy(RestartStrategies.noRestart());
  env
    .fromSource(new SlowSnapshotSequence(1, 3_000), "slow snapshots")
    .map((n) => {
      const until = performance.now() + 0.05;
      while (performance.now() < until) {}
      return n;
    })
    .sinkTo({ createWriter: () => ({ write() {} }) });
  return env;
}

describe("checkpoint failures", () => {
  it("timed-out checkpoints are discarded with their files; the job goes on while tolerated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-cpfail-"));
    try {
      const env = slowJob(dir, 1_000_000);
      const r = await env.execute("slow");
      assert.ok(r.checkpoints !== undefined && r.checkpoints.failed > 0, "some checkpoints timed out");
      assert.equal(r.restarts, 0);
      // Every checkpoint directory left is a complete one (discarded ones were removed).
      for (const job of readdirSync(dir)) {
        for (const d of readdirSync(join(dir, job))) {
          if (d.startsWith("chk-")) assert.ok(existsSync(join(dir, job, d, "_metadata")), `${d} is complete`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("more failed checkpoints in a row than tolerated fail the job, with a clear message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-cpfail-"));
    try {
      const env = slowJob(dir, 0);
      const stdout = process.stdout.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      try {
        await assert.rejects(
          env.execute("slow"),
          /checkpoint \d+ of job 'slow' failed: timed out.*more than the 0 tolerated/s,
        );
      } finally {
        process.stdout.write = stdout;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("restart strategies", () => {
  it("fixed delay: N restarts with the delay, then none", () => {
    const b = new RestartBackoff(RestartStrategies.fixedDelay(2, 50));
    assert.equal(b.onFailure(0), 50);
    assert.equal(b.onFailure(1), 50);
    assert.equal(b.onFailure(2), undefined);
  });

  it("no restart", () => {
    assert.equal(new RestartBackoff(RestartStrategies.noRestart()).onFailure(0), undefined);
  });

  it("exponential delay: grows by the multiplier up to the max, with jitter, and resets after a quiet period", () => {
    const b = new RestartBackoff(
      RestartStrategies.exponentialDelay({
        initialDelayMs: 10,
        maxDelayMs: 50,
        multiplier: 2,
        resetThresholdMs: 1000,
        jitter: 0,
      }),
    );
    assert.deepEqual(
      [b.onFailure(0), b.onFailure(1), b.onFailure(2), b.onFailure(3), b.onFailure(4)],
      [10, 20, 40, 50, 50],
    );
    assert.equal(b.onFailure(5000), 10, "a failure after the reset threshold starts over");
    const j = new RestartBackoff(
      RestartStrategies.exponentialDelay({ initialDelayMs: 100, jitter: 0.5 }),
      () => 1,
    );
    assert.equal(j.onFailure(0), 150, "jitter adds up to ±jitter of the delay");
    const k = new RestartBackoff(
      RestartStrategies.exponentialDelay({ initialDelayMs: 100, jitter: 0.5 }),
      () => 0,
    );
    assert.equal(k.onFailure(0), 50);
  });

  it("failure rate: restarts while failures within the interval stay at most the maximum", () => {
    const b = new RestartBackoff(RestartStrategies.failureRate(2, 1000, 5));
    assert.equal(b.onFailure(0), 5);
    assert.equal(b.onFailure(100), 5);
    assert.equal(b.onFailure(200), undefined, "a third failure within 1 s");
    const c = new RestartBackoff(RestartStrategies.failureRate(2, 1000, 5));
    assert.equal(c.onFailure(0), 5);
    assert.equal(c.onFailure(100), 5);
    assert.equal(c.onFailure(1500), 5, "older failures left the interval");
  });

  it("bad settings are refused", () => {
    assert.throws(() => RestartStrategies.fixedDelay(-1, 10), InvalidArgumentError);
    assert.throws(() => RestartStrategies.exponentialDelay({ multiplier: 0.5 }), InvalidArgumentError);
    assert.throws(() => RestartStrategies.failureRate(0, 10, 10), InvalidArgumentError);
    assert.throws(
      () => new StreamExecutionEnvironment().setRestartStrategy({} as never),
      /RestartStrategies/,
    );
    assert.throws(
      () => new StreamExecutionEnvironment().enableCheckpointing(0),
      /checkpoint interval must be > 0/,
    );
    assert.throws(
      () => new StreamExecutionEnvironment().getCheckpointConfig().setCheckpointingMode("SOMETIMES" as never),
      /EXACTLY_ONCE/,
    );
  });

  it("a job restarts after a failure and reports restarts and failures", async () => {
    const env = new StreamExecutionEnvironment({
      parallelism: 2,
      checkpointDirectory: mkdtempSync(join(tmpdir(), "weir-rs-")),
    });
    env.enableCheckpointing(20).setRestartStrategy(RestartStrategies.fixedDelay(3, 1));
    const out = env
      .fromSequence(1, 5_000)
      .map((n, ctx) => {
        if (ctx.attemptNumber < 2 && n === 2_500) throw new Error(`attempt ${ctx.attemptNumber}`);
        return n;
      })
      .collect();
    const r = await env.execute();
    assert.equal(r.restarts, 2);
    assert.equal(r.failures, 2);
    assert.equal(out.values.length, 5_000);
    assert.equal(new Set(out.values).size, 5_000);
  });
});
