// Backpressure: a fast source behind a slow sink may run ahead only by what the network buffers
// hold. Every assertion is on counts and pool usage, none on time.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { JobCancelledError, StreamExecutionEnvironment } from "../../src/index.ts";
import {
  COUNTERS,
  EMITTED,
  MAX_LAG,
  SEEN,
  buildBackpressureJob,
  recordBytes,
} from "../fixtures/backpressure-job.ts";
import { sharedCounters, waitFor } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("../fixtures/backpressure-job.ts", import.meta.url));
const BUFFER_SIZE = 32 * 1024;
const CREDITS = 4;
/** Source subtasks; each may overshoot by one generator batch (1024 records) per poll. */
const SOURCES = 2;
const SOURCE_BATCH = 32;
/** 2 producers x 2 consumers (rebalance). */
const CHANNELS = 4;
const CAPACITY = Math.max(16, CHANNELS * (CREDITS + 3));

/**
 * The most records that may be emitted but not yet seen by the sink: what the network buffers of
 * the pool hold, plus one source batch per source subtask, with a factor 2 of slack. Without
 * backpressure the source runs ahead by hundreds of thousands of records.
 */
function lagBound(recordSize: number): number {
  const perBuffer = Math.ceil(BUFFER_SIZE / recordBytes(recordSize)) + 1;
  return 2 * (CAPACITY * perBuffer + SOURCES * SOURCE_BATCH);
}

const POOL_BUG = {};

const counters = sharedCounters(COUNTERS);
function resetCounters(): void {
  for (let i = 0; i < counters.length; i++) Atomics.store(counters, i, 0);
}

describe("backpressure in-thread", () => {
  it("an unbounded source stays within the buffers' worth of records ahead of a slow sink; cancel stops it", async () => {
    resetCounters();
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    buildBackpressureJob(env, Number.POSITIVE_INFINITY, 100, 2000);
    const client = await env.executeAsync("backpressure");
    const n = 30_000;
    await waitFor(() => Atomics.load(counters, SEEN) >= n, `the sink to see ${n} records`);
    await client.cancel();
    await assert.rejects(client.wait(), JobCancelledError);
    assert.equal(client.getStatus(), "CANCELED");
    const emitted = Atomics.load(counters, EMITTED);
    const seen = Atomics.load(counters, SEEN);
    assert.ok(seen >= n);
    assert.ok(
      emitted - seen <= lagBound(100),
      `source emitted ${emitted} records but the sink saw only ${seen}: ${emitted - seen} in flight, bound ${lagBound(100)}`,
    );
    assert.ok(Atomics.load(counters, MAX_LAG) <= lagBound(100), `max lag ${Atomics.load(counters, MAX_LAG)}`);
  });

  for (const size of [100, 1000]) {
    it(
      `a bounded run with ${size}-byte records: lag bounded, every pool's peak use within its capacity`,
      POOL_BUG,
      async () => {
        resetCounters();
        const env = new StreamExecutionEnvironment({ parallelism: 2 });
        buildBackpressureJob(env, 60_000, size, 500);
        const r = await env.execute("backpressure-bounded");
        assert.equal(Atomics.load(counters, SEEN), 60_000);
        const maxLag = Atomics.load(counters, MAX_LAG);
        assert.ok(maxLag <= lagBound(size), `max lag ${maxLag} > bound ${lagBound(size)}`);
        assert.ok(r.bufferPools.length > 0);
        for (const pool of r.bufferPools) {
          assert.equal(pool.capacity, CAPACITY);
          assert.ok(
            pool.peakInUse <= pool.capacity,
            `pool peak use ${pool.peakInUse} > capacity ${pool.capacity} (${pool.overdraftAllocations} overdraft allocations)`,
          );
          assert.equal(pool.inUse, 0, "buffers leaked after the job finished");
        }
      },
    );
  }
});

describe("backpressure on worker threads", () => {
  it("an unbounded source stays within the buffers' worth of records ahead of a slow sink; cancel stops it", async () => {
    resetCounters();
    process.env.WEIR_TEST_BP_COUNT = "-1";
    process.env.WEIR_TEST_BP_SIZE = "100";
    process.env.WEIR_TEST_BP_WORK = "2000";
    const client = await submitJob({ job: JOB, parallelism: 2 });
    const n = 30_000;
    await waitFor(() => Atomics.load(counters, SEEN) >= n, `the sink to see ${n} records`);
    assert.equal(client.getStatus(), "RUNNING");
    await client.cancel();
    await assert.rejects(client.wait(), JobCancelledError);
    assert.equal(client.getStatus(), "CANCELED");
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
    const emitted = Atomics.load(counters, EMITTED);
    const seen = Atomics.load(counters, SEEN);
    assert.ok(
      emitted - seen <= lagBound(100),
      `source emitted ${emitted} records but the sink saw only ${seen}: ${emitted - seen} in flight, bound ${lagBound(100)}`,
    );
  });

  for (const size of [100, 1000]) {
    it(
      `a bounded run with ${size}-byte records: lag bounded, every pool's peak use within its capacity`,
      size === 1000 ? POOL_BUG : {},
      async () => {
        resetCounters();
        process.env.WEIR_TEST_BP_COUNT = "60000";
        process.env.WEIR_TEST_BP_SIZE = String(size);
        process.env.WEIR_TEST_BP_WORK = "500";
        const client = await submitJob({ job: JOB, parallelism: 2 });
        const r = await client.wait();
        assert.equal(Atomics.load(counters, SEEN), 60_000);
        const maxLag = Atomics.load(counters, MAX_LAG);
        assert.ok(maxLag <= lagBound(size), `max lag ${maxLag} > bound ${lagBound(size)}`);
        assert.equal(r.bufferPools.length, 2, "one pool per slot");
        for (const pool of r.bufferPools) {
          assert.ok(
            pool.peakInUse <= pool.capacity,
            `pool peak use ${pool.peakInUse} > capacity ${pool.capacity} (${pool.overdraftAllocations} overdraft allocations)`,
          );
        }
        await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
      },
    );
  }
});
