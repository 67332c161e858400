// The executor's end, with stand-in tasks: a cancel aborts every task as cancelled and rejects
// with CancelledSignal; a failure from outside (failWith) aborts every task as failed and rejects
// with that error; a task that fails to step aborts every task as failed. No job runs.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamTask } from "../../src/runtime/stream-task.ts";
import { CancelledSignal, TaskExecutor } from "../../src/runtime/task-executor.ts";

/** A running task with nothing to do (it would sleep); it logs how it is aborted. */
function idleTask(name: string, log: string[], failStep = false): StreamTask {
  const clock = { now: () => 0 };
  return {
    state: "running",
    setup: { processingTime: clock },
    metrics: { account() {} },
    async open() {},
    step() {
      if (failStep) throw new Error(`${name} broke`);
      return false;
    },
    nextTimerDue: () => Number.POSITIVE_INFINITY,
    flushTimedOut: () => Number.POSITIVE_INFINITY,
    async abort(state: string) {
      log.push(`${name} ${state}`);
    },
  } as unknown as StreamTask;
}

describe("task executor: how a run ends", () => {
  it("cancel(): every task aborted as cancelled, run() rejects with CancelledSignal", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(idleTask("a", log));
    ex.add(idleTask("b", log));
    const run = ex.run();
    setImmediate(() => ex.cancel());
    await assert.rejects(run, CancelledSignal);
    assert.deepEqual(log, ["a cancelled", "b cancelled"]);
  });

  it("failWith(error): every task aborted as failed, run() rejects with that error", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(idleTask("a", log));
    ex.add(idleTask("b", log));
    const boom = new Error("another thread failed");
    const run = ex.run();
    setImmediate(() => ex.failWith(boom));
    await assert.rejects(run, (e) => e === boom);
    assert.deepEqual(log, ["a failed", "b failed"]);
  });

  it("a task whose step throws: every task aborted as failed, the failure names the task", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    const a = idleTask("a", log);
    ex.add(a);
    ex.add(idleTask("b", log, true));
    await assert.rejects(
      ex.run(),
      (e: { task?: StreamTask; error?: Error }) => e.error?.message === "b broke",
    );
    assert.deepEqual(log, ["a failed", "b failed"]);
  });
});
