// Watching and cancelling running jobs: executeAsync (in-thread) and submitJob (worker threads).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { submitJob } from "../../src/cluster/mini-cluster.ts";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { JobCancelledError, StreamExecutionEnvironment, Types } from "../../src/index.ts";
import { waitFor } from "../fixtures/helpers.ts";

const UNBOUNDED = fileURLToPath(new URL("../fixtures/unbounded-job.ts", import.meta.url));
const WORDCOUNT = fileURLToPath(new URL("../fixtures/wordcount-job.ts", import.meta.url));

describe("executeAsync (in-thread)", () => {
  it("RUNNING -> cancel -> CANCELED; wait rejects with JobCancelledError", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    let seen = 0;
    env
      .fromGenerator((i) => i, { type: Types.INT })
      .rebalance()
      .sinkTo({ createWriter: () => ({ write: () => void seen++ }) });
    const client = await env.executeAsync("forever");
    assert.equal(client.jobName, "forever");
    assert.equal(typeof client.jobId, "string");
    assert.equal(client.getStatus(), "RUNNING");
    await waitFor(() => seen >= 10_000, "records to flow");
    assert.equal(client.getStatus(), "RUNNING");
    await client.cancel();
    assert.equal(client.getStatus(), "CANCELED");
    await assert.rejects(client.wait(), (e: unknown) => {
      assert.ok(e instanceof JobCancelledError);
      assert.equal(e.code, "JOB_CANCELLED");
      assert.match(e.message, /'forever'/);
      return true;
    });
    const after = seen;
    await client.cancel(); // a second cancel is harmless
    assert.equal(seen, after, "records still flow after cancel() resolved");
  });

  it("a bounded job: RUNNING -> FINISHED; cancel afterwards changes nothing", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const out = env.fromSequence(1, 1000).collect();
    const client = await env.executeAsync();
    assert.equal(client.getStatus(), "RUNNING");
    const r = await client.wait();
    assert.equal(client.getStatus(), "FINISHED");
    assert.equal(r.jobId, client.jobId);
    assert.equal(out.values.length, 1000);
    await client.cancel();
    assert.equal(client.getStatus(), "FINISHED");
  });
});

describe("submitJob (worker threads)", () => {
  it("RUNNING -> cancel -> CANCELED; wait rejects with JobCancelledError; no worker left alive", async () => {
    const client = await submitJob({ job: UNBOUNDED, parallelism: 2 });
    assert.equal(client.jobName, "unbounded-fixture");
    assert.equal(client.getStatus(), "RUNNING");
    assert.ok(liveWorkerCount() > 0);
    await client.cancel();
    assert.equal(client.getStatus(), "CANCELED");
    await assert.rejects(client.wait(), JobCancelledError);
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });

  it("a bounded job finishes: FINISHED, results collected, no worker left alive", async () => {
    process.env.WEIR_TEST_WC_WORDS = "1000";
    process.env.WEIR_TEST_WC_VOCAB = "50";
    const client = await submitJob({ job: WORDCOUNT, parallelism: 2, jobName: "small-wordcount" });
    assert.equal(client.jobName, "small-wordcount");
    const r = await client.wait();
    assert.equal(client.getStatus(), "FINISHED");
    assert.equal(r.jobName, "small-wordcount");
    assert.equal(r.collected.get("counts")!.length, 1000);
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
    await client.cancel();
    assert.equal(client.getStatus(), "FINISHED");
  });

  it("a job module without a job is refused with the path named", async () => {
    const notAJob = fileURLToPath(new URL("../fixtures/helpers.ts", import.meta.url));
    await assert.rejects(submitJob({ job: notAJob, parallelism: 1 }), (e: unknown) => {
      assert.match((e as Error).message, /helpers\.ts/);
      assert.match((e as Error).message, /defineJob/);
      return true;
    });
    await assert.rejects(submitJob({ job: "/no/such/job.ts" }), /\/no\/such\/job\.ts/);
    assert.equal(liveWorkerCount(), 0);
  });
});
