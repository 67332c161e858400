// The checkpoint coordinator's edges that coordinator-unit.test.ts leaves open, found by mutation
// testing (TESTING.md): checkpointing disabled triggers nothing, the in-progress count (a metric),
// and the settings' limits at their exact values. Same setup as coordinator-unit.test.ts: Node's
// mock timers (setTimeout and Date) and the real file-system storage in a temporary directory.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { CheckpointSettings } from "../../src/checkpoint/checkpoint-config.ts";
import type { TaskRef } from "../../src/checkpoint/coordinator.ts";
import { type DurableFs, nodeDurableFs, type SubtaskStateHandle } from "../../src/checkpoint/fs-storage.ts";
import { harness, harnessJob, SINK, SOURCE, savepointDir, until } from "../harness/coordinator-harness.ts";

harnessJob.name = "edges";

describe("checkpoint coordinator edges", () => {
  it("with checkpointing disabled (interval 0), start() triggers nothing", (t) => {
    const h = harness(t, { interval: 0 });
    h.coordinator.start();
    t.mock.timers.tick(10_000);
    assert.deepEqual(h.triggered, []);
  });

  it("counts the checkpoints in progress (the numberOfInProgressCheckpoints metric)", async (t) => {
    const h = harness(t, { maxConcurrentCheckpoints: 2 });
    assert.equal(h.coordinator.numInProgress, 0);
    const a = h.coordinator.trigger(undefined)!;
    const b = h.coordinator.trigger(undefined)!;
    assert.equal(h.coordinator.numInProgress, 2);
    await h.ack(SOURCE, a);
    await h.ack(SINK, a);
    await until(() => h.completed.includes(a), "the first checkpoint completes");
    assert.equal(h.coordinator.numInProgress, 1);
    h.coordinator.decline(b, "a task declined");
    assert.equal(h.coordinator.numInProgress, 0);
  });

  it("pause() stops periodic checkpoints until the next attempt attaches; then the interval goes on", (t) => {
    const h = harness(t);
    h.coordinator.start();
    t.mock.timers.tick(100);
    assert.deepEqual(h.triggered, [1]);
    h.coordinator.decline(1, "the attempt is failing");
    h.coordinator.pause();
    t.mock.timers.tick(1000);
    assert.deepEqual(h.triggered, [1], "paused: nothing triggered");
    const next: number[] = [];
    h.coordinator.attach(
      { trigger: (id) => next.push(id), notifyComplete() {}, notifyAborted() {} },
      () => ({}),
    );
    t.mock.timers.tick(100);
    assert.deepEqual(next, [2], "the new attempt gets checkpoints again, without start()");
    assert.deepEqual(h.triggered, [1]);
  });

  it("hold() stops periodic checkpoints until as many release() calls; a release too many is ignored", (t) => {
    const h = harness(t, { tolerableFailedCheckpoints: 10 });
    h.coordinator.release(); // nothing held: must not let a later hold() count for nothing
    h.coordinator.hold();
    h.coordinator.hold();
    h.coordinator.start();
    t.mock.timers.tick(1000);
    assert.deepEqual(h.triggered, [], "held twice");
    h.coordinator.release();
    t.mock.timers.tick(1000);
    assert.deepEqual(h.triggered, [], "still held once");
    h.coordinator.release();
    t.mock.timers.tick(100);
    assert.deepEqual(h.triggered, [1], "released: the next interval triggers");
  });

  it("a task whose final state could not be written fails every checkpoint from then on, naming it", (t) => {
    const h = harness(t, { tolerableFailedCheckpoints: 1 });
    const pending = h.coordinator.trigger(undefined)!;
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED, "disk full");
    assert.deepEqual(h.aborted, [pending], "the pending checkpoint is aborted at once");
    assert.equal(h.failures.length, 0, "one failure is tolerated");
    assert.equal(h.coordinator.trigger(undefined), undefined, "no checkpoint can complete: none starts");
    assert.deepEqual(h.triggered, [pending], "no source is asked for a barrier of the second");
    assert.equal(h.coordinator.numInProgress, 0);
    assert.equal(h.coordinator.stats.failed, 2);
    assert.equal(h.failures.length, 1);
    assert.match(
      h.failures[0]!.message,
      /^checkpoint 2 of job 'edges' failed: task 2\/0 finished, but its final state could not be written: disk full/,
    );
  });
});

const FINISHED: SubtaskStateHandle = {
  subtask: 0,
  file: undefined,
  keyGroups: undefined,
  size: 0,
  finished: true,
};

describe("finished tasks and the final checkpoint", () => {
  it("completes at once when every task has finished: published, not triggered, no task told", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED);
    const path = await h.coordinator.finalCheckpoint();
    assert.equal(path, h.storage.checkpointDir(1));
    assert.ok(existsSync(join(path, "_metadata")), "its metadata is published before it resolves");
    assert.equal(h.coordinator.latest?.id, 1);
    assert.deepEqual([h.triggered, h.completed], [[], []], "the job master runs the final commits");
  });

  it("waits for the final states still being written", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED);
    let done = false;
    const final = h.coordinator.finalCheckpoint().then((p) => {
      done = true;
      return p;
    });
    await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(5000); // five checkpoint timeouts: no timeout applies to the final checkpoint
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, "the sink has not finished");
    assert.deepEqual(h.aborted, []);
    assert.equal(h.coordinator.numInProgress, 1);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED);
    await final;
    assert.equal(h.coordinator.latest?.id, 1);
  });

  it("fails when a final state could not be written", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED, "no space left");
    await assert.rejects(h.coordinator.finalCheckpoint(), /final checkpoint 1 .*no space left/);
  });

  it("a checkpoint started after a task finished holds that task's final state", async (t) => {
    const h = harness(t);
    const sinkFinal: SubtaskStateHandle = { ...FINISHED, size: 17 };
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, sinkFinal);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    await until(() => h.completed.includes(id), "completion without the finished sink");
    assert.deepEqual(h.coordinator.latest?.metadata.tasks["2"]?.subtasks, [sinkFinal]);
  });
});

describe("acknowledgements that come too late", () => {
  it("the state of an aborted checkpoint is removed, also when an older one completed", async (t) => {
    const removals: string[] = [];
    const fs: DurableFs = {
      ...nodeDurableFs,
      remove: (path) => nodeDurableFs.remove(path).then(() => void removals.push(path)),
    };
    const h = harness(
      t,
      { timeout: 1000, tolerableFailedCheckpoints: 5, maxConcurrentCheckpoints: 2 },
      undefined,
      fs,
    );
    const one = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, one);
    await h.ack(SINK, one);
    await until(() => h.completed.includes(one), "checkpoint 1 completes");
    const two = h.coordinator.trigger(undefined)!;
    t.mock.timers.tick(1000);
    assert.deepEqual(h.aborted, [two]);
    await until(() => removals.includes(h.storage.checkpointDir(two)), "the abort's removal ran");
    await h.ack(SOURCE, two); // written after the abort removed the directory
    await until(() => !existsSync(h.storage.checkpointDir(two)), "the late state is removed");
    assert.ok(existsSync(join(h.storage.checkpointDir(one), "_metadata")), "checkpoint 1 is kept");
  });

  it("a late acknowledgement of a stateless task (no file) is dropped quietly", async (t) => {
    const h = harness(t, { timeout: 1000, tolerableFailedCheckpoints: 5 });
    const id = h.coordinator.trigger(undefined)!;
    t.mock.timers.tick(1000);
    h.coordinator.acknowledge(SINK.vertexId, SINK.subtask, id, { ...FINISHED, finished: false });
    await until(() => !existsSync(h.storage.checkpointDir(id)), "nothing left of it");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // a failed removal would surface here
    assert.deepEqual(h.failures, []);
  });

  it("an acknowledgement of a checkpoint that already completed leaves it intact", async (t) => {
    const removals: string[] = [];
    const fs: DurableFs = {
      ...nodeDurableFs,
      remove: (path) => {
        removals.push(path); // asked for synchronously: no wait needed to see it
        return nodeDurableFs.remove(path);
      },
    };
    const h = harness(t, {}, undefined, fs);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    await until(() => h.completed.includes(id), "completion");
    const before = removals.length;
    await h.ack(SOURCE, id); // a duplicate
    assert.deepEqual(removals.slice(before), [], "nothing of the completed checkpoint is removed");
    assert.ok(existsSync(join(h.storage.checkpointDir(id), "_metadata")), "the completed checkpoint is kept");
    assert.ok(existsSync(join(h.storage.checkpointDir(id), "task-1.state")), "with its state");
  });
});

describe("what a completed checkpoint records", () => {
  it("its metadata: not a savepoint, each task's edges when it has any, and the size of its state", async (t) => {
    const source: TaskRef = { ...SOURCE, outputs: [{ edge: "1->2", partitioner: "forward" }] };
    const sink: TaskRef = { ...SINK, inputs: [{ edge: "1->2", partitioner: "forward" }] };
    const h = harness(t, {}, [source, sink]);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(source, id);
    await h.ack(sink, id);
    await until(() => h.completed.includes(id), "completion");
    const meta = h.coordinator.latest!.metadata;
    assert.equal(meta.savepoint, false);
    assert.deepEqual(meta.tasks["1"]?.outputs, source.outputs);
    assert.equal("inputs" in meta.tasks["1"]!, false, "no edges: no key");
    assert.deepEqual(meta.tasks["2"]?.inputs, sink.inputs);
    assert.equal("outputs" in meta.tasks["2"]!, false);
    const size = meta.tasks["1"]!.subtasks[0]!.size + meta.tasks["2"]!.subtasks[0]!.size;
    assert.ok(size > 0);
    assert.equal(h.coordinator.stats.lastSizeBytes, size);
  });
});

describe("a restart", () => {
  it("makes finished tasks live again: the next checkpoint waits for their acknowledgement", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED);
    h.coordinator.resetForRestart();
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    await h.ack(SINK, id);
    await until(() => h.completed.includes(id), "completion");
    const sink = h.coordinator.latest!.metadata.tasks["2"]!.subtasks[0]!;
    assert.equal(sink.finished, false, "the sink's new acknowledgement, not its final state of before");
    assert.notEqual(sink.file, undefined);
  });

  it("forgets a final state that could not be written", async (t) => {
    const h = harness(t, { tolerableFailedCheckpoints: 5 });
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED, "disk full");
    h.coordinator.resetForRestart();
    const id = h.coordinator.trigger(undefined);
    assert.notEqual(id, undefined);
    await h.ack(SOURCE, id!);
    await h.ack(SINK, id!);
    await until(() => h.completed.includes(id!), "completion");
  });
});

describe("in-flight data and failed publication", () => {
  async function complete(t: TestContext, overrides: Partial<CheckpointSettings>) {
    const h = harness(t, overrides);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    await h.ack(SINK, id);
    await until(() => h.completed.includes(id), "completion");
    return h.coordinator.latest!.metadata.inFlightData;
  }

  it("only an unaligned exactly-once checkpoint says it holds in-flight data", async (t) => {
    assert.equal(await complete(t, { unaligned: true, mode: "EXACTLY_ONCE" }), true);
    assert.equal(await complete(t, { unaligned: false, mode: "EXACTLY_ONCE" }), false);
    assert.equal(await complete(t, { unaligned: true, mode: "AT_LEAST_ONCE" }), false);
  });

  it("the final checkpoint holds no in-flight data, also with unaligned checkpoints", async (t) => {
    const h = harness(t, { unaligned: true });
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED);
    await h.coordinator.finalCheckpoint();
    assert.equal(h.coordinator.latest!.metadata.inFlightData, false);
  });

  it("metadata that cannot be written fails the checkpoint and leaves nothing of it", async (t) => {
    const failing: DurableFs = {
      ...nodeDurableFs,
      rename: (from, to) =>
        to.endsWith("_metadata") ? Promise.reject(new Error("disk full")) : nodeDurableFs.rename(from, to),
    };
    const h = harness(t, { tolerableFailedCheckpoints: 0 }, [SOURCE, SINK], failing);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, id);
    await h.ack(SINK, id);
    await until(() => h.failures.length > 0, "the job fails");
    assert.match(h.failures[0]!.message, /checkpoint 1 .*cannot write its metadata: disk full/);
    assert.deepEqual([h.completed, h.aborted], [[], [id]]);
    await until(() => !existsSync(h.storage.checkpointDir(id)), "its files are removed");
    assert.equal(h.coordinator.latest, undefined);
  });
});

/** Let real file work run for `ms` (the harness mocks setTimeout). */
async function realTime(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((r) => setImmediate(r));
}

/** A file system whose `_metadata` renames wait for release(); `writes` counts them. */
function heldMetadata() {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const m = {
    writes: 0,
    release: () => release(),
    fs: {
      ...nodeDurableFs,
      rename: async (from: string, to: string) => {
        if (to.endsWith("_metadata")) {
          m.writes++;
          await held;
        }
        return nodeDurableFs.rename(from, to);
      },
    } as DurableFs,
  };
  return m;
}

describe("an acknowledgement while its checkpoint is being published", () => {
  // Seen in CI (Redis worker-kill chaos, Node 24): a task's final state arrived before its
  // acknowledgement of a checkpoint it had already taken; the acknowledgement, arriving while the
  // checkpoint's metadata was written, completed the checkpoint a second time, and that second
  // completion found it no longer pending and removed it as aborted: the restart then chose a
  // "latest" checkpoint whose directory was gone.
  it("a second acknowledgement of the same task completes nothing twice: the checkpoint stays", async (t) => {
    const m = heldMetadata();
    const h = harness(t, {}, undefined, m.fs);
    const id = h.coordinator.trigger(undefined)!;
    const sourceHandle = await h.write(SOURCE, id);
    h.coordinator.acknowledge(SOURCE.vertexId, SOURCE.subtask, id, sourceHandle);
    await h.ack(SINK, id);
    await until(() => m.writes > 0, "its metadata is being written");
    h.coordinator.acknowledge(SOURCE.vertexId, SOURCE.subtask, id, sourceHandle); // again
    m.release();
    await until(() => h.completed.includes(id), "completion");
    await realTime(300); // a second completion's file work would be done by then
    assert.equal(m.writes, 1, "its metadata is written once");
    assert.deepEqual(h.completed, [id], "told once");
    assert.equal(h.coordinator.latest?.id, id);
    assert.equal(h.coordinator.stats.completed, 1);
    assert.ok(existsSync(join(h.storage.checkpointDir(id), "_metadata")), "the completed checkpoint is kept");
    assert.ok(existsSync(join(h.storage.checkpointDir(id), "task-1.state")), "with its state");
  });

  it("an acknowledgement after the task's final state completes nothing twice", async (t) => {
    const m = heldMetadata();
    const h = harness(t, {}, undefined, m.fs);
    const id = h.coordinator.trigger(undefined)!;
    await h.ack(SINK, id);
    const sourceHandle = await h.write(SOURCE, id);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED); // its final state first
    await until(() => m.writes > 0, "its metadata is being written");
    h.coordinator.acknowledge(SOURCE.vertexId, SOURCE.subtask, id, sourceHandle); // then its ack
    m.release();
    await until(() => h.completed.includes(id), "completion");
    await realTime(300);
    assert.equal(m.writes, 1, "its metadata is written once");
    assert.deepEqual(h.completed, [id]);
    assert.ok(existsSync(join(h.storage.checkpointDir(id), "_metadata")), "the completed checkpoint is kept");
  });
});

describe("completion order and stats", () => {
  it("an older checkpoint published after a newer one stays older: the newer is the latest, the older is pruned", async (t) => {
    let releaseOlder: () => void = () => {};
    const olderHeld = new Promise<void>((r) => {
      releaseOlder = r;
    });
    const fs: DurableFs = {
      ...nodeDurableFs,
      rename: async (from, to) => {
        if (to.endsWith(join("chk-1", "_metadata"))) await olderHeld;
        return nodeDurableFs.rename(from, to);
      },
    };
    const h = harness(t, { maxConcurrentCheckpoints: 2, retainedCheckpoints: 1 }, undefined, fs);
    const one = h.coordinator.trigger(undefined)!;
    const two = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, one);
    await h.ack(SINK, one); // every task acknowledged 1: it is being published, not subsumed
    await h.ack(SOURCE, two);
    await h.ack(SINK, two);
    await until(() => h.completed.includes(two), "checkpoint 2 completes first");
    releaseOlder();
    await until(() => h.completed.includes(one), "checkpoint 1 completes");
    assert.equal(h.coordinator.latest?.id, two, "the newest checkpoint is the one to restore from");
    await until(() => !existsSync(h.storage.checkpointDir(one)), "the older one is pruned");
    assert.ok(existsSync(join(h.storage.checkpointDir(two), "_metadata")));
  });

  it("records how long the last checkpoint took", async (t) => {
    const h = harness(t);
    const id = h.coordinator.trigger(undefined)!;
    t.mock.timers.tick(250);
    await h.ack(SOURCE, id);
    await h.ack(SINK, id);
    await until(() => h.completed.includes(id), "completion");
    assert.equal(h.coordinator.stats.lastDurationMs, 250);
    assert.equal(h.coordinator.stats.completed, 1);
  });
});

describe("stopping and restarting", () => {
  it("a job stopped by a periodic checkpoint that could not start gets no further checkpoint", (t) => {
    const h = harness(t);
    h.onFailure = () => void h.coordinator.stop(false);
    h.coordinator.taskFinished(SINK.vertexId, SINK.subtask, FINISHED, "disk full");
    h.coordinator.start();
    t.mock.timers.tick(100);
    assert.equal(h.failures.length, 1);
    t.mock.timers.tick(1000);
    assert.equal(h.failures.length, 1, "stopped: no checkpoint after the failure");
  });

  it("a savepoint asked for when every source has finished is rejected at once", async (t) => {
    const h = harness(t);
    h.coordinator.taskFinished(SOURCE.vertexId, SOURCE.subtask, FINISHED);
    await assert.rejects(
      h.coordinator.triggerSavepoint(savepointDir("savepoint-finished")),
      /cannot take a checkpoint: every source has finished/,
    );
    assert.deepEqual(h.triggered, []);
  });

  it("a savepoint pending when the job restarts is rejected, not left waiting", async (t) => {
    const h = harness(t);
    const savepoint = h.coordinator.triggerSavepoint(savepointDir("savepoint"));
    assert.deepEqual(h.triggered, [1]);
    h.coordinator.resetForRestart();
    await assert.rejects(savepoint, /checkpoint 1 was aborted: the job is restarting/);
    assert.deepEqual(h.failures, [], "a restart is not a checkpoint failure");
  });

  it("stop() ends what is pending: its files go, a savepoint is rejected, a late ack completes nothing", async (t) => {
    const h = harness(t, { maxConcurrentCheckpoints: 3 });
    const done = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, done);
    await h.ack(SINK, done);
    await until(() => h.completed.includes(done), "the first checkpoint completes");
    const pending = h.coordinator.trigger(undefined)!;
    await h.ack(SOURCE, pending);
    const savepoint = h.coordinator.triggerSavepoint(savepointDir("savepoint-stop"));
    const rejected = assert.rejects(savepoint, /the job stopped before the savepoint completed/);
    await h.coordinator.stop(false);
    await rejected;
    assert.equal(h.coordinator.numInProgress, 0);
    assert.equal(
      existsSync(h.storage.checkpointDir(pending)),
      false,
      "the pending checkpoint's state is removed",
    );
    assert.ok(existsSync(join(h.storage.checkpointDir(done), "_metadata")), "the completed one is kept");
    await h.ack(SINK, pending);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(h.completed, [done], "nothing completes after stop()");
  });

  it("stop(true) deletes every checkpoint of the run; stop(false) keeps them", async (t) => {
    for (const discard of [true, false]) {
      const h = harness(t);
      const id = h.coordinator.trigger(undefined)!;
      await h.ack(SOURCE, id);
      await h.ack(SINK, id);
      await until(() => h.completed.includes(id), "completion");
      await h.coordinator.stop(discard);
      assert.equal(existsSync(h.storage.root), !discard, `stop(${discard})`);
    }
  });
});
