// The default restart strategy of a checkpointing job: exponential delay with Flink 1.19's
// defaults (1 s, x1.5 per failure, at most 1 min, ±10% jitter, starting over after an hour).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestartBackoff, RestartStrategies } from "../../src/checkpoint/restart-strategy.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";

describe("the default restart strategy", () => {
  it("is exponential delay for a checkpointing job, none otherwise", () => {
    const checkpointing = new StreamExecutionEnvironment({ parallelism: 1, checkpointInterval: 1000 });
    checkpointing.fromSequence(1, 2).print();
    assert.deepEqual(checkpointing.compile().restart, RestartStrategies.exponentialDelay());
    const plain = new StreamExecutionEnvironment({ parallelism: 1 });
    plain.fromSequence(1, 2).print();
    assert.deepEqual(plain.compile().restart, { kind: "none" });
  });

  it("has Flink 1.19's defaults", () => {
    assert.deepEqual(RestartStrategies.exponentialDelay(), {
      kind: "exponential-delay",
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      multiplier: 1.5,
      resetThresholdMs: 3_600_000,
      jitter: 0.1,
      attempts: Number.POSITIVE_INFINITY,
    });
  });

  it("waits 1 s, then x1.5 per failure up to a minute, and starts over after an hour without failures", () => {
    const middle = () => 0.5; // no jitter
    const b = new RestartBackoff(RestartStrategies.exponentialDelay(), middle);
    const delays = Array.from({ length: 12 }, (_, i) => b.onFailure(1 + i * 1000));
    assert.deepEqual(delays, [1000, 1500, 2250, 3375, 5063, 7594, 11391, 17086, 25629, 38443, 57665, 60000]);
    assert.equal(b.onFailure(12_000 + 3_600_000), 1000, "an hour later it starts over");
    const low = new RestartBackoff(RestartStrategies.exponentialDelay(), () => 0);
    const high = new RestartBackoff(RestartStrategies.exponentialDelay(), () => 1);
    assert.equal(low.onFailure(1), 900, "-10%");
    assert.equal(high.onFailure(1), 1100, "+10%");
  });
});
