// The sink operator with asynchronous commits and stagings, one operator in a harness: a commit
// still running is not started again by a later notification (each staged checkpoint is committed
// once), commits run one after another in checkpoint order, and a staging that rejects while an
// earlier one is still pending (or failed) is reported through its snapshot, never as an unhandled
// rejection. close() waits for every commit still running (also one chained after a finished one);
// a failed commit fails close() only after the final checkpoint (an aborted task's restart commits
// again); it closes the writer, then the committer. A synchronous staging behind a pending
// asynchronous one is recorded after it (a snapshot holds both). A sink without two-phase commit
// checkpoints and restores with nothing to commit, and its writer's finish() runs at the end of input.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataStream } from "../../src/index.ts";
import type {
  Committer,
  PrecommittingSinkWriter,
  Sink,
  TwoPhaseCommittingSink,
} from "../../src/core/sink.ts";
import { FINAL_CHECKPOINT_ID } from "../../src/runtime/snapshot.ts";
import { OneInputHarness } from "../../src/testing/index.ts";

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Macrotask turns: every promise callback queued so far has run (and unhandled rejections fired). */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Stages what was written since the last prepareCommit as one committable "id:a,b" (through
 * `staging` when set: the test answers the staging); commits through `commitWith` when set.
 */
class ControlledSink implements TwoPhaseCommittingSink<string, string> {
  readonly log: string[] = [];
  staging: ((id: number, staged: string[]) => string[] | Promise<string[]>) | undefined;
  commitWith: ((cs: string[]) => Promise<void>) | undefined;
  createWriter(): PrecommittingSinkWriter<string, string> {
    let buffered: string[] = [];
    return {
      write: (v) => {
        buffered.push(v);
      },
      prepareCommit: (id) => {
        const out = buffered.length === 0 ? [] : [`${id}:${buffered.join(",")}`];
        buffered = [];
        return this.staging === undefined ? out : this.staging(id, out);
      },
    };
  }
  createCommitter(): Committer<string> {
    return {
      commit: (cs) => {
        this.log.push(`commit ${cs.join(" ")}`);
        return this.commitWith?.(cs);
      },
    };
  }
}

function sinkHarness(sink: ControlledSink) {
  const build = (s: DataStream<string>) => s.sinkTo(sink).uid("sink") as unknown as DataStream<never>;
  return OneInputHarness.of(build);
}

describe("sink operator: asynchronous commits and stagings", () => {
  it("a commit still running is not started again; the next one waits for it", async () => {
    const sink = new ControlledSink();
    const running: Deferred<void>[] = [];
    sink.commitWith = () => {
      const d = deferred<void>();
      running.push(d);
      return d.promise;
    };
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.snapshot(1);
    h.notifyCheckpointComplete(1);
    assert.deepEqual(sink.log, ["commit 1:a"]);
    h.processElement("b");
    await h.snapshot(2);
    // 1's commit has not resolved: 2's notification starts 2's commit only, after 1's.
    h.notifyCheckpointComplete(2);
    h.notifyCheckpointComplete(2);
    await settle();
    assert.deepEqual(sink.log, ["commit 1:a"], "2's commit waits for 1's; 1's is not started again");
    running[0]!.resolve();
    await settle();
    assert.deepEqual(sink.log, ["commit 1:a", "commit 2:b"]);
    running[1]!.resolve();
    await settle();
    h.processElement("c");
    const after = await h.snapshot(3);
    assert.deepEqual(sink.log, ["commit 1:a", "commit 2:b"]);
    // What the snapshot keeps: only 3's staged committable (1 and 2 are known to be committed).
    const restoredSink = new ControlledSink();
    const r = sinkHarness(restoredSink);
    await r.initializeState(after);
    await r.open();
    assert.deepEqual(restoredSink.log, ["commit 3:c"]);
    await r.close();
    await h.close();
  });

  it("a failed commit fails the task once, though the commits chained on it fail with it", async () => {
    const sink = new ControlledSink();
    const first = deferred<void>();
    sink.commitWith = (cs) => (cs[0]!.startsWith("1:") ? first.promise : Promise.resolve());
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.snapshot(1);
    h.notifyCheckpointComplete(1);
    h.processElement("b");
    await h.snapshot(2);
    h.notifyCheckpointComplete(2); // chained after 1's commit: fails with it
    first.reject(new Error("commit 1 refused"));
    await settle();
    assert.throws(() => h.runMailbox(), /commit 1 refused/);
    // 2's commit failed with 1's: the same failure, not reported a second time.
    assert.doesNotThrow(() => h.runMailbox());
    assert.deepEqual(sink.log, ["commit 1:a"]);
  });

  it("open() after a restore waits for the restored commits; close() for the ones still running", async () => {
    const sink = new ControlledSink();
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    const snap = await h.snapshot(1);
    await h.close();

    const restored = new ControlledSink();
    const commits: Deferred<void>[] = [];
    restored.commitWith = () => {
      const d = deferred<void>();
      commits.push(d);
      return d.promise;
    };
    const r = sinkHarness(restored);
    await r.initializeState(snap);
    let opened = false;
    const opening = r.open().then(() => {
      opened = true;
    });
    await settle();
    assert.deepEqual(restored.log, ["commit 1:a"]);
    assert.equal(opened, false, "no new input before the restored committables are committed");
    commits[0]!.resolve();
    await opening;

    r.processElement("b");
    await r.snapshot(2);
    r.notifyCheckpointComplete(2);
    let closed = false;
    const closing = r.close().then(() => {
      closed = true;
    });
    await settle();
    assert.equal(closed, false, "close waits for the commit still running");
    commits[1]!.resolve();
    await closing;
    assert.deepEqual(restored.log, ["commit 1:a", "commit 2:b"]);
  });

  it("close() waits for a commit chained after one that already finished", async () => {
    const sink = new ControlledSink();
    const running: Deferred<void>[] = [];
    sink.commitWith = () => {
      const d = deferred<void>();
      running.push(d);
      return d.promise;
    };
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.snapshot(1);
    h.notifyCheckpointComplete(1);
    h.processElement("b");
    await h.snapshot(2);
    h.notifyCheckpointComplete(2); // chained after 1's commit
    running[0]!.resolve();
    await settle();
    assert.deepEqual(sink.log, ["commit 1:a", "commit 2:b"]);
    let closed = false;
    const closing = h.close().then(() => {
      closed = true;
    });
    await settle();
    assert.equal(closed, false, "2's commit is still running");
    running[1]!.resolve();
    await closing;
  });

  it("an aborted task's close() waits for a failed commit without throwing it again", async () => {
    const sink = new ControlledSink();
    const commit = deferred<void>();
    sink.commitWith = () => commit.promise;
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.snapshot(1);
    h.notifyCheckpointComplete(1);
    commit.reject(new Error("commit 1 refused"));
    await settle();
    assert.throws(() => h.runMailbox(), /commit 1 refused/, "reported once, through the mailbox");
    // The task fails and is closed: the restart commits checkpoint 1 again.
    await h.close();
  });

  it("after the final checkpoint, a failed final commit fails close(): the job must not report success", async () => {
    const sink = new ControlledSink();
    const commit = deferred<void>();
    sink.commitWith = () => commit.promise;
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    await h.endInput(); // stages what is left for the final checkpoint
    h.notifyCheckpointComplete(FINAL_CHECKPOINT_ID);
    assert.deepEqual(sink.log, [`commit ${FINAL_CHECKPOINT_ID}:a`]);
    commit.reject(new Error("final commit refused"));
    await settle();
    assert.throws(() => h.runMailbox(), /final commit refused/);
    await assert.rejects(h.close(), /final commit refused/);
  });
});

describe("sink operator: closing", () => {
  it("close() closes the writer, then the committer", async () => {
    const log: string[] = [];
    const sink: TwoPhaseCommittingSink<string, string> = {
      createWriter: () => ({
        write: () => {},
        prepareCommit: () => [],
        close: () => void log.push("writer close"),
      }),
      createCommitter: () => ({
        commit: () => {},
        close: async () => {
          await settle(1);
          log.push("committer close");
        },
      }),
    };
    const h = OneInputHarness.of(
      (s: DataStream<string>) => s.sinkTo(sink).uid("sink") as unknown as DataStream<never>,
    );
    await h.open();
    h.processElement("a");
    await h.close();
    assert.deepEqual(log, ["writer close", "committer close"]);
  });
});

describe("sink operator: a sink without two-phase commit", () => {
  /** Buffers what it is given; finish() (the end of input) moves it to `flushed`. */
  function bufferingSink() {
    const buffered: string[] = [];
    const flushed: string[] = [];
    const sink: Sink<string> = {
      createWriter: () => ({
        write: (v) => void buffered.push(v),
        finish: () => void flushed.push(...buffered.splice(0)),
      }),
    };
    const h = OneInputHarness.of(
      (s: DataStream<string>) => s.sinkTo(sink).uid("sink") as unknown as DataStream<never>,
    );
    return { h, buffered, flushed };
  }

  it("checkpoints and restores with nothing to stage or commit", async () => {
    const { h, buffered } = bufferingSink();
    await h.open();
    h.processElement("a");
    const snap = await h.snapshot(1);
    h.notifyCheckpointComplete(1);
    await h.close();
    assert.deepEqual(buffered, ["a"]);
    const { h: restored, buffered: again } = bufferingSink();
    await restored.initializeState(snap);
    await restored.open();
    restored.processElement("b");
    await restored.snapshot(2);
    await restored.close();
    assert.deepEqual(again, ["b"]);
  });

  it("its writer's finish() runs at the end of input", async () => {
    const { h, buffered, flushed } = bufferingSink();
    await h.open();
    h.processElement("a");
    h.processElement("b");
    assert.deepEqual(flushed, []);
    await h.endInput();
    assert.deepEqual(flushed, ["a", "b"]);
    assert.deepEqual(buffered, []);
    await h.close();
  });
});

describe("sink operator: asynchronous stagings", () => {
  it("a synchronous staging behind a pending one waits for it: the snapshot holds both, in order", async () => {
    const sink = new ControlledSink();
    const stagings = [deferred<string[]>(), deferred<string[]>()];
    // Checkpoints 1 and 2 stage asynchronously, 3 at once.
    sink.staging = (id, staged) => (id <= 2 ? stagings[id - 1]!.promise : staged);
    const h = sinkHarness(sink);
    await h.open();
    h.processElement("a");
    const s1 = h.snapshot(1);
    h.processElement("b");
    const s2 = h.snapshot(2);
    stagings[0]!.resolve(["1:a"]);
    await s1; // 2's staging is still pending
    h.processElement("c");
    const s3 = h.snapshot(3);
    stagings[1]!.resolve(["2:b"]);
    await s2;
    const third = await s3;
    assert.deepEqual(sink.log, [], "nothing committed yet");
    const restored = new ControlledSink();
    const r = sinkHarness(restored);
    await r.initializeState(third);
    await r.open();
    assert.deepEqual(restored.log, ["commit 1:a", "commit 2:b", "commit 3:c"]);
    await r.close();
    await h.close();
  });

  it("a staging that rejects behind a pending one is reported by its snapshot, not left unhandled", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const sink = new ControlledSink();
      const first = deferred<string[]>();
      sink.staging = (id, staged) =>
        id === 1 ? first.promise : Promise.reject(new Error(`staging ${id} refused (${staged.join(" ")})`));
      const h = sinkHarness(sink);
      await h.open();
      h.processElement("a");
      const s1 = h.snapshot(1);
      h.processElement("b");
      const s2 = h.snapshot(2);
      const r1 = assert.rejects(s1, /staging 1 failed/);
      const r2 = assert.rejects(s2);
      // 2's staging rejected while 1's is pending; then 1's fails too: 2's is never awaited.
      await settle();
      first.reject(new Error("staging 1 failed"));
      await r1;
      await r2;
      await settle();
      assert.deepEqual(unhandled, [], "an unhandled rejection");
      assert.deepEqual(sink.log, [], "nothing committed");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
