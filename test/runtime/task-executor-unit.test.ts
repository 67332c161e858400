// The executor's end, with stand-in tasks: a cancel aborts every task as cancelled and rejects
// with CancelledSignal; a failure from outside (failWith) aborts every task as failed and rejects
// with that error; a task that fails to step aborts every task as failed. No job runs.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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

/**
 * A running stand-in task whose step runs `onStep(n)` (n counts from 1) and returns whether it did
 * work; its next processing-time timer is `timerIn` ms away and its writers' flush `flushIn` ms.
 */
function scriptedTask(
  onStep: (n: number) => boolean,
  opts: { timerIn?: number; flushIn?: number; state?: string } = {},
): StreamTask {
  let n = 0;
  const clock = { now: () => 1_000 };
  return {
    state: opts.state ?? "running",
    setup: { processingTime: clock },
    metrics: { account() {} },
    async open() {},
    step: () => onStep(++n),
    nextTimerDue: () => 1_000 + (opts.timerIn ?? Number.POSITIVE_INFINITY),
    flushTimedOut: (now: number) => now + (opts.flushIn ?? Number.POSITIVE_INFINITY),
    async abort() {},
  } as unknown as StreamTask;
}

/**
 * Runs `ex` with setTimeout recorded: each sleep is logged as "sleep <ms>" (and still sleeps that
 * long, at most 50 ms). `done(log)` says when to cancel; returns the log.
 */
async function runLogged(
  ex: TaskExecutor,
  log: string[],
  done: (log: string[]) => boolean,
): Promise<string[]> {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    log.push(`sleep ${ms}`);
    if (done(log)) ex.cancel();
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  try {
    await assert.rejects(ex.run(), CancelledSignal);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  return log;
}

describe("task executor: when it sleeps", () => {
  it("with no work it sleeps until the earliest timer or flush of a running task, at most 50 ms", async () => {
    const cases: Array<[string, StreamTask[], number]> = [
      ["nothing due", [scriptedTask(() => false)], 50],
      [
        "a timer in 7 ms",
        [scriptedTask(() => false, { timerIn: 7 }), scriptedTask(() => false, { flushIn: 20 })],
        7,
      ],
      [
        "a flush in 3 ms",
        [scriptedTask(() => false, { timerIn: 30 }), scriptedTask(() => false, { flushIn: 3 })],
        3,
      ],
      [
        "the earlier flush first",
        [scriptedTask(() => false, { flushIn: 3 }), scriptedTask(() => false, { flushIn: 20 })],
        3,
      ],
      [
        "the earlier timer first",
        [scriptedTask(() => false, { timerIn: 7 }), scriptedTask(() => false, { timerIn: 30 })],
        7,
      ],
      ["a timer overdue", [scriptedTask(() => false, { timerIn: -5 })], 0],
      ["beyond 50 ms", [scriptedTask(() => false, { timerIn: 80, flushIn: 60 })], 50],
      [
        "a finished task's timer does not count",
        [scriptedTask(() => false, { timerIn: 1, flushIn: 1, state: "finished" }), scriptedTask(() => false)],
        50,
      ],
    ];
    for (const [name, tasks, ms] of cases) {
      const ex = new TaskExecutor();
      for (const t of tasks) ex.add(t);
      const log = await runLogged(ex, [], (l) => l.length === 1);
      assert.deepEqual(log, [`sleep ${ms}`], name);
    }
  });

  it("does not sleep after a round that did work, nor when woken during the round", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(
      scriptedTask((n) => {
        log.push(`step ${n}`);
        if (n === 2) ex.wake(); // as a channel does when data arrives
        return n === 1; // work only in the first step
      }),
    );
    await runLogged(ex, log, (l) => l.length >= 4);
    assert.deepEqual(log, ["step 1", "step 2", "step 3", "sleep 50"]);
  });
});

describe("task executor: the event loop's turn within a round", () => {
  let perfNow = 0;
  const realPerformanceNow = performance.now.bind(performance);
  before(() => {
    performance.now = () => perfNow;
  });
  after(() => {
    performance.now = realPerformanceNow;
  });

  /** A task whose step takes `ms` (of the frozen clock), then lets the event loop log it. */
  function busy(name: string, ms: number, log: string[], then: () => void = () => {}): StreamTask {
    return scriptedTask((n) => {
      log.push(`${name} ${n}`);
      perfNow += ms;
      setImmediate(() => {
        log.push(`turn after ${name} ${n}`);
        then();
      });
      return true;
    });
  }

  it("after more than 10 ms of work the next task waits for the event loop's turn", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(busy("a", 11, log));
    ex.add(busy("b", 0, log));
    ex.add(busy("c", 0, log, () => ex.cancel()));
    await assert.rejects(ex.run(), CancelledSignal);
    assert.deepEqual(log.slice(0, 6), [
      "a 1",
      "turn after a 1",
      "b 1",
      "c 1",
      "turn after b 1",
      "turn after c 1",
    ]);
  });

  it("exactly 10 ms of work does not yield within the round", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(busy("a", 10, log));
    ex.add(busy("b", 0, log, () => ex.cancel()));
    await assert.rejects(ex.run(), CancelledSignal);
    assert.deepEqual(log.slice(0, 4), ["a 1", "b 1", "turn after a 1", "turn after b 1"]);
  });

  it("a cancel during that turn stops the round before the next task", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(busy("a", 11, log, () => ex.cancel()));
    ex.add(busy("b", 0, log));
    await assert.rejects(ex.run(), CancelledSignal);
    assert.deepEqual(log, ["a 1", "turn after a 1"]);
  });
});

describe("task executor: a task's life", () => {
  /** A task that logs its calls; after `steps` steps it is finishing, finish() makes it finished. */
  function finishingTask(name: string, steps: number, log: string[]): StreamTask {
    let n = 0;
    const task = {
      state: "created",
      setup: { processingTime: { now: () => 0 } },
      metrics: {
        account(start: number, end: number, did: boolean) {
          log.push(`${name} account ${end >= start} ${did}`);
        },
      },
      async open() {
        log.push(`${name} open`);
        task.state = "running";
      },
      step() {
        n++;
        log.push(`${name} step ${n}`);
        if (n === steps) task.state = "finishing";
        return false;
      },
      async finish() {
        log.push(`${name} finish`);
        task.state = "finished";
      },
      nextTimerDue: () => Number.POSITIVE_INFINITY,
      flushTimedOut: () => Number.POSITIVE_INFINITY,
      async abort(state: string) {
        log.push(`${name} abort ${state}`);
      },
    };
    return task as unknown as StreamTask;
  }

  it("opens every task, steps the running ones, finishes the finishing ones, ends when all finished", async () => {
    const log: string[] = [];
    const ex = new TaskExecutor();
    ex.add(finishingTask("a", 1, log));
    ex.add(finishingTask("b", 2, log));
    const sleeps: string[] = [];
    await runUntilDone(ex, sleeps);
    assert.deepEqual(log, [
      "a open",
      "b open",
      "a step 1",
      "a account true false",
      "a finish",
      "b step 1",
      "b account true false",
      // a finished: no step; finishing a counted as work, so no sleep before this round
      "b step 2",
      "b account true false",
      "b finish",
    ]);
    assert.deepEqual(sleeps, []);
  });
});

/** run() to its end, the sleeps it asked for logged. */
async function runUntilDone(ex: TaskExecutor, sleeps: string[]): Promise<void> {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    sleeps.push(`sleep ${ms}`);
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  try {
    await ex.run();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}
