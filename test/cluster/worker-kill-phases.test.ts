// A worker thread killed in any phase of an attempt ends that attempt, and the restart strategy
// runs the next one: while the workers load the job module (deploying), while the tasks run, and
// once every task has finished (the final commits). The job (fixtures/kill-phases-job.ts) holds
// in the phase under test until the kill, so the phase is certain, not a matter of timing. A kill
// after the job completed ends nothing, and says so.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { AttemptPhase } from "../../src/cluster/attempt-coordinator.ts";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { RestartStrategies } from "../../src/index.ts";
import { sharedCounters, waitFor } from "../fixtures/helpers.ts";
import { AT, HOLD, KILL_PHASES } from "../fixtures/kill-phases-job.ts";

const JOB = fileURLToPath(new URL("../fixtures/kill-phases-job.ts", import.meta.url));
const counters = sharedCounters(KILL_PHASES);

/**
 * Runs the job with hold `hold` on, waits until `waiters` threads wait there, kills the worker of
 * slot 1, releases the hold, and checks the phase the kill reports and that the job restarted once.
 */
async function killWhileHeld(hold: number, at: number, waiters: number, phase: AttemptPhase) {
  for (let i = 0; i < counters.length; i++) Atomics.store(counters, i, 0);
  Atomics.store(counters, hold, 1);
  const client = await submitJob({
    job: JOB,
    parallelism: 2,
    restartStrategy: RestartStrategies.fixedDelay(1, 0),
  });
  try {
    await waitFor(
      () => Atomics.load(counters, at) >= waiters,
      `${waiters} thread(s) held (${phase})`,
      120_000,
    );
    const kill = client.killWorker(1);
    assert.deepEqual(kill, { attempt: 0, phase }, "the kill hit the first attempt in the phase held");
  } finally {
    Atomics.store(counters, hold, 0);
  }
  // An unnoticed kill hangs the attempt (the killed worker never reports): fail, don't hang.
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    client.wait(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the job did not end within 120 s of a kill while ${phase}: unnoticed?`)),
        120_000,
      );
    }),
  ])
    .catch(async (e: unknown) => {
      await client.cancel().catch(() => {});
      throw e;
    })
    .finally(() => clearTimeout(timer));
  assert.equal(client.getStatus(), "FINISHED");
  assert.equal(r.restarts, 1, `the kill while ${phase} ended the attempt: one restart`);
  assert.deepEqual(client.killWorker(1), { attempt: 1, phase: "over" }, "a kill after the end ends nothing");
  await waitFor(() => liveWorkerCount() === 0, "no worker thread left", 30_000);
}

describe("a worker thread killed in each phase of an attempt", () => {
  it("while the workers load the job module (deploying)", async () => {
    await killWhileHeld(HOLD.LOAD, AT.LOAD, 2, "deploying");
  });

  it("while the tasks run", async () => {
    await killWhileHeld(HOLD.RUN, AT.RUN, 2, "running");
  });

  it("once every task has finished, during the final commits (finishing)", async () => {
    await killWhileHeld(HOLD.CLOSE, AT.CLOSE, 1, "finishing");
  });
});
