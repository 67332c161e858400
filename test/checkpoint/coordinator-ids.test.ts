// The checkpoint coordinator with a shared checkpoint id source (high availability: the job's
// counter in etcd): two coordinators of one job — a deposed leader still triggering and the new
// leader — never trigger the same id; a savepoint waits for an id; a source that cannot reserve
// ids fails periodic triggers as checkpoint failures, tolerated like any other. Mock timers, as
// in coordinator-unit.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { harness, SINK, SOURCE, testIdSource, until } from "../harness/coordinator-harness.ts";

const turns = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

describe("checkpoint coordinator with a shared id source", () => {
  it("a deposed leader and the new leader never trigger checkpoints of the same id", async (t) => {
    const source = testIdSource();
    const old = harness(t, { interval: 100, maxConcurrentCheckpoints: 10 }, undefined, undefined, undefined, {
      source,
    });
    await turns();
    old.coordinator.start();
    t.mock.timers.tick(100);
    await old.ack(SOURCE, 1);
    await old.ack(SINK, 1);
    await until(() => old.completed.includes(1), "checkpoint 1 completes");
    // The new leader restores checkpoint 1 while the old one, unaware, goes on triggering.
    const fresh = harness(
      t,
      { interval: 100, maxConcurrentCheckpoints: 10 },
      undefined,
      undefined,
      undefined,
      {
        source,
        first: 2,
      },
    );
    await turns();
    fresh.coordinator.start();
    for (let i = 0; i < 12; i++) {
      t.mock.timers.tick(100);
      await turns();
    }
    const both = [...old.triggered, ...fresh.triggered];
    assert.ok(
      old.triggered.length > 3 && fresh.triggered.length > 3,
      `old ${old.triggered}, new ${fresh.triggered}`,
    );
    assert.equal(new Set(both).size, both.length, `old ${old.triggered}, new ${fresh.triggered}`);
    assert.ok(Math.min(...fresh.triggered) > Math.max(...old.triggered.slice(0, 2)));
  });

  it("a savepoint asked for before any id is reserved is triggered once one is", async (t) => {
    const source = testIdSource();
    let release = () => {};
    source.hold = new Promise<void>((r) => {
      release = r;
    });
    const h = harness(t, {}, undefined, undefined, undefined, { source, first: 5 });
    const savepoint = h.coordinator.triggerSavepoint("/nonexistent-savepoint-target");
    savepoint.catch(() => {});
    await turns();
    assert.deepEqual(h.triggered, [], "no id yet: nothing triggered");
    release();
    await until(() => h.triggered.length === 1, "the savepoint is triggered");
    assert.deepEqual(h.triggered, [5]);
  });

  it("ids that cannot be reserved fail periodic triggers, counted against the tolerable failures", async (t) => {
    const source = testIdSource();
    source.fail = new Error("etcd: connection refused");
    const h = harness(t, { interval: 100, tolerableFailedCheckpoints: 1 }, undefined, undefined, undefined, {
      source,
    });
    await turns();
    h.coordinator.start();
    t.mock.timers.tick(100);
    await turns();
    assert.deepEqual(h.triggered, []);
    assert.equal(h.coordinator.stats.failed, 1);
    assert.equal(h.failures.length, 0, "one failure is tolerated");
    t.mock.timers.tick(25);
    await turns();
    assert.equal(h.failures.length, 1);
    assert.match(
      h.failures[0]!.message,
      /cannot trigger a checkpoint of job 'unit': no checkpoint id: etcd: connection refused; 2 checkpoint\(s\) failed in a row, more than the 1 tolerated/,
    );
  });

  it("a savepoint fails with the source's error when no id can be reserved", async (t) => {
    const source = testIdSource();
    source.fail = new Error("etcd: connection refused");
    const h = harness(t, {}, undefined, undefined, undefined, { source });
    await assert.rejects(
      h.coordinator.triggerSavepoint("/nonexistent-savepoint-target"),
      /cannot take a checkpoint: no checkpoint id: etcd: connection refused/,
    );
    assert.deepEqual(h.triggered, []);
  });
});
