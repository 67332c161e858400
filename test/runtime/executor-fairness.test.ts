// The executor gives the event loop (timers, I/O) a turn on a time budget, not only between
// rounds: periodic checkpoints keep coming while sources always have data and each of their
// records takes a while. Before, a source step polled its reader 64 times with no look at the
// clock, and the event loop had a turn only after every task had stepped: here a round took
// seconds, and checkpoints (triggered from a timer) came one per round at best.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/index.ts";
import { JobCancelledError, StreamExecutionEnvironment, Types } from "../../src/index.ts";
import { waitFor } from "../fixtures/helpers.ts";

const BUSY_JOB = fileURLToPath(new URL("../fixtures/busy-source-job.ts", import.meta.url));

/** Spin for `ms` of wall time: a record that takes a while to produce. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("the in-thread executor and timers", () => {
  it("periodic checkpoints complete while busy unbounded sources always have data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fair-"));
    try {
      const env = new StreamExecutionEnvironment({
        parallelism: 2,
        checkpointInterval: 50,
        checkpointDirectory: dir,
      });
      env
        .fromGenerator(
          (i) => {
            spin(0.5);
            return i;
          },
          { type: Types.INT },
        )
        .keyBy((i) => i % 7)
        .reduce((a, b) => Math.max(a, b))
        .filter(() => false)
        .print();
      const client = await env.executeAsync("busy-sources");
      const completed = () => client.metrics.jobMetrics().numberOfCompletedCheckpoints ?? 0;
      try {
        // Before the fix a round took 2 s (2 × 2048 records of 0.5 ms) and the checkpoint's file
        // writes had one event-loop turn per round: none completed in 20 s. ~0.5 s apart after.
        await waitFor(() => completed() >= 5, "5 completed checkpoints while the job runs", 20_000);
        assert.equal(client.getStatus(), "RUNNING");
      } finally {
        await client.cancel();
      }
      await assert.rejects(client.wait(), JobCancelledError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("worker threads (the same executor): checkpoints complete while busy sources always have data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fair-"));
    try {
      const client = await submitJob({
        job: BUSY_JOB,
        parallelism: 2,
        checkpointInterval: 50,
        checkpointDirectory: dir,
      });
      const completed = () => client.metrics.jobMetrics().numberOfCompletedCheckpoints ?? 0;
      try {
        // Before the fix a worker's round was 2,048 records of 0.5 ms, and each of a checkpoint's
        // messages and file writes waited for one. About 0.5 s apart after.
        await waitFor(() => completed() >= 5, "5 completed checkpoints on worker threads", 20_000);
      } finally {
        await client.cancel();
      }
      await assert.rejects(client.wait(), JobCancelledError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
