// A worker killed while the attempt is finishing ends that attempt, even when the worker had
// posted its "completed" just before the kill (the message still on its way). The slots here are
// scripted, so the order of the kill, the late message and the exit is fixed, not a matter of
// timing. Found by the Redis exactly-once chaos test: a kill reported as "finishing" ended
// nothing, because the queued "completed" completed the attempt before the exit was seen.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type SlotLauncher,
  type SlotListener,
  launchAttempt,
} from "../../src/cluster/attempt-coordinator.ts";
import type { ToWorker } from "../../src/cluster/protocol.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";

/** Slots that do only what the test tells them: their listeners, and what was posted to each. */
function scriptedSlots(n: number) {
  const listeners: SlotListener[] = [];
  const posted: ToWorker[][] = Array.from({ length: n }, () => []);
  const terminated = new Set<number>();
  const launcher: SlotLauncher = {
    describe: (slot) => `scripted slot ${slot}`,
    async start(data, ls) {
      listeners.push(...ls);
      return data.map((_, slot) => {
        let exit!: () => void;
        const exited = new Promise<void>((resolve) => {
          exit = resolve;
        });
        return {
          post: (m: ToWorker) => void posted[slot]!.push(m),
          terminate() {
            if (terminated.has(slot)) return;
            terminated.add(slot);
            // As a thread's exit event: seen after what the worker had posted before.
            setImmediate(() => {
              ls[slot]!.exited(1);
              exit();
            });
          },
          exited,
        };
      });
    },
  };
  return { launcher, listeners, posted };
}

async function finishingAttempt() {
  const env = new StreamExecutionEnvironment({ parallelism: 2 });
  env
    .fromSequence(1, 10)
    .map((x) => x * 2)
    .sinkTo({ createWriter: () => ({ write() {} }) });
  const job = env.compile("kill race");
  const n = job.executionGraph.numSlots;
  const slots = scriptedSlots(n);
  const attempt = await launchAttempt({
    job,
    jobId: "kill-race",
    modulePath: "unused.ts",
    config: {} as never,
    ctx: {
      attempt: 0,
      metrics: new JobMetrics("kill-race", "kill race", []),
      restore: undefined,
      checkpointing: undefined,
    },
    onCollect: () => {},
    onCancelled: () => {},
    slots: slots.launcher,
  });
  for (const l of slots.listeners) l.message({ t: "ready" });
  const pool = { bufferSize: 0, capacity: 0, inUse: 0, peakInUse: 0, overdraftAllocations: 0 };
  for (const l of slots.listeners) l.message({ t: "done", reports: [], pool });
  await attempt.done;
  return { attempt, n, ...slots };
}

describe("a worker killed while its attempt finishes", () => {
  it("ends the attempt even if its 'completed' was already on its way", async () => {
    const { attempt, n, listeners, posted } = await finishingAttempt();
    assert.ok(n >= 2, "two slots");
    const completing = attempt.complete();
    assert.ok(
      posted.every((p) => p.some((m) => m.t === "complete")),
      "every slot was asked for its final commits",
    );
    for (let slot = 0; slot < n - 1; slot++) listeners[slot]!.message({ t: "completed" });
    const last = n - 1;
    const kill = attempt.killWorker(last);
    assert.deepEqual(kill, { attempt: 0, phase: "finishing" });
    // The last slot's "completed", posted before the kill, arrives after it; then its exit.
    listeners[last]!.message({ t: "completed" });
    await assert.rejects(completing, /scripted slot 1 was killed/);
    await assert.rejects(attempt.failure, /was killed/);
    assert.deepEqual(attempt.killWorker(last), { attempt: 0, phase: "over" }, "a second kill ends nothing");
  });

  it("a kill after every slot completed ends nothing", async () => {
    const { attempt, n, listeners } = await finishingAttempt();
    const completing = attempt.complete();
    for (let slot = 0; slot < n; slot++) listeners[slot]!.message({ t: "completed" });
    await completing;
    assert.deepEqual(attempt.killWorker(0), { attempt: 0, phase: "over" });
  });
});
