// The checkpoint coordinator on its own, without a job: triggering on the interval, collecting
// acknowledgements, timeouts, declines, subsumption, notification of completion, pruning of
// retained checkpoints (and of shared files nobody references), tolerable failures. Time is Node's
// mock timers (setTimeout and Date), so every timeout and pause is exact; the storage is the real
// file-system storage in a temporary directory.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Harness, harness, SINK, SOURCE, until } from "../harness/coordinator-harness.ts";

/** Let pending file work finish (a bounded number of event-loop turns with I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

const chk = (h: Harness, id: number) => existsSync(join(h.storage.checkpointDir(id), "_metadata"));

describe("checkpoint coordinator: triggering", () => {
  it("triggers at the sources on the interval, never more than maxConcurrentCheckpoints at once", async (t) => {
    const h = harness(t);
    h.coordinator.start();
    t.mock.timers.tick(99);
    assert.deepEqual(h.triggered, []);
    t.mock.timers.tick(1);
    assert.deepEqual(h.triggered, [1]);
    t.mock.timers.tick(500);
    assert.deepEqual(h.triggered, [1], "checkpoint 1 is pending: no second one");
    await h.ack(SOURCE, 1);
    await h.ack(SINK, 1);
    await until(() => h.completed.includes(1), "checkpoint 1 completes");
    t.mock.timers.tick(100);
    assert.deepEqual(h.triggered, [1, 2]);
  });

  it("waits minPauseBetweenCheckpoints after a completion", async (t) => {
    const h = harness(t, { interval: 100, minPauseBetweenCheckpoints: 300 });
    h.coordinator.start();
    t.mock.timers.tick(100);
    assert.deepEqual(h.triggered, [1]);
    await h.ack(SOURCE, 1);
    await h.ack(SINK, 1);
    await until(() => h.completed.includes(1), "checkpoint 1 completes");
    t.mock.timers.tick(100); // the interval passed, the pause did not
    t.mock.timers.tick(199);
    assert.deepEqual(h.triggered, [1]);
    t.mock.timers.tick(1);
    assert.deepEqual(h.triggered, [1, 2], "300 ms after checkpoint 1 completed");
  });

  it("triggers nothing when every source has finished, and nothing after stop()", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, {
      subtask: 0,
      file: undefined,
      keyGroups: undefined,
      size: 0,
      finished: true,
    });
    assert.equal(h.coordinator.trigger(undefined), undefined);
    const g = harness(t);
    g.coordinator.start();
    await g.coordinator.stop(false);
    t.mock.timers.tick(1000);
    assert.deepEqual([...h.triggered, ...g.triggered], []);
  });
});

describe("checkpoint coordinator: acknowledgements and completion", () => {
  it("completes only once every task has acknowledged; publishes the metadata before notifying", async (t) => {
    const h = harness(t);
    const id = h.coordinator.trigger(undefined)!;
    assert.equal(id, 1);
    await h.ack(SOURCE, id);
    await settle();
    assert.deepEqual(h.completed, [], "the sink has not acknowledged");
    assert.equal(chk(h, id), false, "no metadata before every acknowledgement");
    await h.ack(SINK, id);
    await until(() => h.completed.length === 1, "completion");
    assert.deepEqual(h.completed, [1]);
    assert.deepEqual(h.publishedBeforeNotify, [true], "the tasks are told once the metadata is on disk");
    assert.equal(h.coordinator.latest?.id, 1);
    assert.equal(h.coordinator.stats.completed, 1);
    assert.deepEqual(Object.keys(h.coordinator.latest!.metadata.tasks).sort(), ["1", "2"]);
  });

  it("a finished task's final state stands in for its acknowledgement", async (t) => {
    const h = harness(t);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, {
      subtask: 0,
      file: undefined,
      keyGroups: undefined,
      size: 0,
      finished: true,
    });
    await until(() => h.completed.includes(id), "completion with the finished task's state");
  });
});

describe("checkpoint coordinator: timeouts and declines", () => {
  it("a checkpoint not complete within the timeout is aborted and its files removed; a late ack is dropped", async (t) => {
    const h = harness(t, { timeout: 1000, tolerableFailedCheckpoints: 5 });
    const id = h.coordinator.trigger(undefined)!;
    const first = await h.ack(SOURCE, id);
    t.mock.timers.tick(999);
    assert.deepEqual(h.aborted, []);
    t.mock.timers.tick(1);
    assert.deepEqual(h.aborted, [id]);
    assert.equal(h.coordinator.stats.failed, 1);
    await until(() => !existsSync(h.storage.checkpointDir(id)), "the aborted checkpoint's directory goes");
    assert.ok(!existsSync(join(h.storage.root, first.file!)));
    // A slow task writes its state after the abort (recreating chk-1) and acknowledges it.
    const late = await h.ack(SINK, id);
    await until(() => !existsSync(h.storage.checkpointDir(id)), "the late state's directory goes again");
    assert.ok(!existsSync(join(h.storage.root, late.file!)));
    await settle();
    assert.deepEqual(h.completed, []);
    assert.deepEqual(h.failures, [], "one failure is tolerated");
  });

  it("a decline aborts the checkpoint; more failures in a row than tolerated fail the job", async (t) => {
    const h = harness(t, { tolerableFailedCheckpoints: 2 });
    for (let i = 1; i <= 2; i++) h.coordinator.decline(h.coordinator.trigger(undefined)!, "task declined");
    assert.deepEqual(h.aborted, [1, 2]);
    assert.equal(h.failures.length, 0, "two failures in a row are tolerated");
    // A completed checkpoint resets the count.
    const ok = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, ok);
    await h.ack(SINK, ok);
    await until(() => h.completed.includes(ok), "completion");
    for (let i = 0; i < 2; i++) h.coordinator.decline(h.coordinator.trigger(undefined)!, "task declined");
    assert.equal(h.failures.length, 0, "the count started over after checkpoint 3");
    h.coordinator.decline(h.coordinator.trigger(undefined)!, "the disk is full");
    assert.equal(h.failures.length, 1);
    assert.match(h.failures[0]!.message, /checkpoint 6 of job 'unit' failed: the disk is full/);
    assert.match(h.failures[0]!.message, /3 checkpoint\(s\) failed in a row, more than the 2 tolerated/);
  });

  it("with no tolerated failure, the first timeout fails the job", async (t) => {
    const h = harness(t, { timeout: 50 });
    h.coordinator.trigger(undefined);
    t.mock.timers.tick(50);
    assert.equal(h.failures.length, 1);
    assert.match(h.failures[0]!.message, /timed out after 50 ms/);
  });
});

describe("checkpoint coordinator: subsumption", () => {
  it("a newer checkpoint completing aborts the older pending one, without counting a failure", async (t) => {
    const h = harness(t, { maxConcurrentCheckpoints: 2 });
    const older = h.coordinator.trigger(undefined)!;
    const newer = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, older);
    const lateOlder = await h.write(SINK, older); // acknowledged only after the newer one completed
    await h.ack(SOURCE, newer);
    await h.ack(SINK, newer);
    await until(() => h.completed.includes(newer), "the newer checkpoint completes");
    assert.deepEqual(h.aborted, [older], "the older one is subsumed");
    assert.deepEqual(h.completed, [newer]);
    assert.equal(h.coordinator.stats.failed, 0);
    assert.deepEqual(h.failures, []);
    // Its last acknowledgement comes late: nothing completes.
    h.coordinator.acknowledge(SINK.vertexId, SINK.subtask, older, lateOlder);
    await settle();
    assert.deepEqual(h.completed, [newer]);
    assert.equal(h.coordinator.latest?.id, newer);
  });
});

describe("checkpoint coordinator: pruning", () => {
  it("keeps the newest retainedCheckpoints and the shared files they still reference", async (t) => {
    const h = harness(t, { retainedCheckpoints: 2, maxConcurrentCheckpoints: 1 });
    const complete = async (shared: Record<string, string>) => {
      const id = h.coordinator.trigger(undefined)!;
      await h.ack(SOURCE, id, shared);
      await h.ack(SINK, id);
      await until(() => h.completed.includes(id), `checkpoint ${id} completes`);
      await settle();
      return id;
    };
    const a = join("shared", "a.kg");
    const b = join("shared", "b.kg");
    const exists = (rel: string) => existsSync(join(h.storage.root, rel));
    await complete({ 0: a });
    await complete({ 0: a });
    assert.ok(chk(h, 1) && chk(h, 2));
    await complete({ 0: b });
    await until(() => !existsSync(h.storage.checkpointDir(1)), "checkpoint 1 is pruned");
    assert.ok(chk(h, 2) && chk(h, 3), "the two newest remain");
    assert.ok(exists(a), "a is still referenced by checkpoint 2");
    await complete({ 0: b });
    await until(() => !existsSync(h.storage.checkpointDir(2)), "checkpoint 2 is pruned");
    await until(() => !exists(a), "a is referenced by no retained checkpoint: deleted");
    await settle();
    assert.ok(exists(b));
    assert.ok(chk(h, 3) && chk(h, 4));
    // The order of removals: a shared file goes only with the last checkpoint that references it.
    const pruned = h.removed.filter((r) => r === a || r === b || /^chk-\d+$/.test(r));
    assert.deepEqual(pruned, ["chk-1", "chk-2", a]);
  });
});
