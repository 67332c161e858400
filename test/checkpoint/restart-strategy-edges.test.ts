// Every restart strategy, failure after failure: how many restarts each allows, after which delay,
// where its windows and thresholds end, and which configurations it refuses up front. The
// exponential defaults are pinned in restart-strategy.test.ts; these are the other kinds and the
// edges mutation testing found unguarded (TESTING.md).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestartBackoff, RestartStrategies } from "../../src/checkpoint/restart-strategy.ts";
import { InvalidArgumentError } from "../../src/core/errors.ts";

const refused = (e: unknown) => e instanceof InvalidArgumentError && /restart strategy/.test(e.message);

describe("no restart", () => {
  it("never restarts", () => {
    const b = new RestartBackoff(RestartStrategies.noRestart());
    assert.equal(b.onFailure(1), undefined);
    assert.equal(b.onFailure(2), undefined);
  });
});

describe("fixed delay", () => {
  it("restarts `attempts` times after the same delay, then gives up", () => {
    const b = new RestartBackoff(RestartStrategies.fixedDelay(2, 50));
    assert.deepEqual(
      [b.onFailure(1), b.onFailure(2), b.onFailure(3), b.onFailure(4)],
      [50, 50, undefined, undefined],
    );
    assert.equal(new RestartBackoff(RestartStrategies.fixedDelay(0, 5)).onFailure(1), undefined);
    const forever = new RestartBackoff(RestartStrategies.fixedDelay(Number.POSITIVE_INFINITY, 0));
    for (let i = 1; i <= 100; i++) assert.equal(forever.onFailure(i), 0);
  });

  it("refuses negative or fractional attempts and a negative delay", () => {
    for (const [attempts, delay] of [
      [-1, 0],
      [1.5, 0],
      [Number.NaN, 0],
      [1, -1],
      [1, Number.NaN],
    ])
      assert.throws(() => RestartStrategies.fixedDelay(attempts, delay), refused, `${attempts}, ${delay}`);
    assert.deepEqual(RestartStrategies.fixedDelay(0, 0), { kind: "fixed-delay", attempts: 0, delayMs: 0 });
  });
});

describe("exponential delay", () => {
  const noJitter = () => 0.5;

  it("gives up after `attempts` restarts, and counts again once it starts over", () => {
    const c = RestartStrategies.exponentialDelay({ attempts: 2, jitter: 0, resetThresholdMs: 10_000 });
    const b = new RestartBackoff(c, noJitter);
    assert.deepEqual([b.onFailure(1), b.onFailure(2), b.onFailure(3)], [1000, 1500, undefined]);
    assert.equal(b.onFailure(3 + 10_000), 1000, "a failure a reset threshold later starts over");
    assert.equal(b.onFailure(3 + 10_001), 1500);
  });

  it("starts over exactly at the reset threshold, not a millisecond before", () => {
    const c = RestartStrategies.exponentialDelay({ jitter: 0, resetThresholdMs: 5000 });
    const before = new RestartBackoff(c, noJitter);
    before.onFailure(100);
    assert.equal(before.onFailure(100 + 4999), 1500);
    const at = new RestartBackoff(c, noJitter);
    at.onFailure(100);
    assert.equal(at.onFailure(100 + 5000), 1000);
  });

  it("measures the reset threshold from the latest failure, not the first", () => {
    const b = new RestartBackoff(
      RestartStrategies.exponentialDelay({ jitter: 0, resetThresholdMs: 5000 }),
      noJitter,
    );
    assert.equal(b.onFailure(1000), 1000);
    assert.equal(b.onFailure(5000), 1500);
    assert.equal(b.onFailure(9000), 2250, "8 s after the first failure but only 4 s after the last");
  });

  it("caps the delay at maxDelayMs and grows from 1 ms when the initial delay is 0", () => {
    const capped = new RestartBackoff(
      RestartStrategies.exponentialDelay({ initialDelayMs: 100, maxDelayMs: 250, multiplier: 2, jitter: 0 }),
      noJitter,
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((t) => capped.onFailure(t)),
      [100, 200, 250, 250],
    );
    const fromZero = new RestartBackoff(
      RestartStrategies.exponentialDelay({ initialDelayMs: 0, maxDelayMs: 1000, multiplier: 4, jitter: 0 }),
      noJitter,
    );
    assert.deepEqual(
      [1, 2, 3].map((t) => fromZero.onFailure(t)),
      [0, 4, 16],
    );
  });

  it("jitter moves a delay by at most ±jitter of itself and never below 0", () => {
    const c = RestartStrategies.exponentialDelay({ initialDelayMs: 1000, jitter: 0.5 });
    assert.equal(new RestartBackoff(c, () => 0).onFailure(1), 500);
    assert.equal(new RestartBackoff(c, () => 1).onFailure(1), 1500);
    assert.equal(new RestartBackoff(c, () => 0.75).onFailure(1), 1250);
    const full = RestartStrategies.exponentialDelay({ initialDelayMs: 1000, jitter: 1 });
    assert.equal(new RestartBackoff(full, () => 0).onFailure(1), 0);
  });

  it("refuses a negative initial delay, a max below it, a multiplier below 1 and jitter outside 0..1", () => {
    for (const bad of [
      { initialDelayMs: -1 },
      { initialDelayMs: 2000, maxDelayMs: 1999 },
      { multiplier: 0.99 },
      { jitter: -0.01 },
      { jitter: 1.01 },
    ])
      assert.throws(() => RestartStrategies.exponentialDelay(bad), refused, JSON.stringify(bad));
    for (const ok of [
      { initialDelayMs: 0 },
      { initialDelayMs: 500, maxDelayMs: 500 },
      { multiplier: 1 },
      { jitter: 0 },
      { jitter: 1 },
    ])
      assert.equal(RestartStrategies.exponentialDelay(ok).kind, "exponential-delay", JSON.stringify(ok));
  });
});

describe("failure rate", () => {
  it("restarts while at most maxFailures fall within the interval, then gives up", () => {
    const b = new RestartBackoff(RestartStrategies.failureRate(2, 1000, 30));
    assert.equal(b.onFailure(0), 30);
    assert.equal(b.onFailure(400), 30);
    assert.equal(b.onFailure(900), undefined, "a third failure within 1 s");
  });

  it("forgets failures an interval old: one exactly intervalMs earlier no longer counts", () => {
    const b = new RestartBackoff(RestartStrategies.failureRate(2, 1000, 30));
    assert.equal(b.onFailure(0), 30);
    assert.equal(b.onFailure(500), 30);
    assert.equal(b.onFailure(1000), 30, "the failure at 0 is an interval old");
    assert.equal(b.onFailure(1499), undefined, "500, 1000 and 1499 are within one interval");
  });

  it("refuses maxFailures below 1 or fractional, a non-positive interval and a negative delay", () => {
    for (const [n, interval, delay] of [
      [0, 1000, 0],
      [1.5, 1000, 0],
      [1, 0, 0],
      [1, 1000, -1],
    ])
      assert.throws(
        () => RestartStrategies.failureRate(n, interval, delay),
        refused,
        `${n}, ${interval}, ${delay}`,
      );
    assert.deepEqual(RestartStrategies.failureRate(1, 1, 0), {
      kind: "failure-rate",
      maxFailures: 1,
      intervalMs: 1,
      delayMs: 0,
    });
  });
});
