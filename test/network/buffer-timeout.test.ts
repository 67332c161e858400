// The buffer timeout: when a partly filled buffer is sent. Tested by what reaches the consumer
// before the source ends, never by how long it takes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { runJob } from "../../src/cluster/index.ts";
import { type Observation, buildBufferTimeoutJob } from "../fixtures/buffer-timeout-job.ts";
import { waitFor } from "../fixtures/helpers.ts";

const JOB = fileURLToPath(new URL("../fixtures/buffer-timeout-job.ts", import.meta.url));

function split(values: unknown[]): { records: unknown[]; observation: Observation } {
  const observation = values.find((v) => typeof v === "object") as Observation | undefined;
  assert.ok(observation !== undefined, `no observation among ${JSON.stringify(values)}`);
  return { records: values.filter((v) => typeof v === "string"), observation };
}

describe("buffer timeout in-thread", () => {
  it("0: a single record reaches the consumer while the source is still running", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1, bufferTimeout: 0 });
    const out = buildBufferTimeoutJob(env, "until-seen");
    await env.execute();
    const { records, observation } = split(out.values);
    assert.deepStrictEqual(records, ["the only record"]);
    assert.equal(observation.seenBeforeEnd, true, "the record waited for a full buffer");
  });

  it("default (100 ms): a single record arrives once the timeout has passed, before the end", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    assert.equal(env.getBufferTimeout(), 100);
    const out = buildBufferTimeoutJob(env, "until-seen");
    await env.execute();
    const { records, observation } = split(out.values);
    assert.deepStrictEqual(records, ["the only record"]);
    assert.equal(observation.seenBeforeEnd, true, "the partly filled buffer was never flushed");
  });

  it("-1: a never-filling buffer is not sent before the end of input, then it is", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1, bufferTimeout: -1 });
    const out = buildBufferTimeoutJob(env, "idle-polls", 200);
    await env.execute();
    const { records, observation } = split(out.values);
    assert.equal(observation.idlePolls, 200);
    assert.equal(observation.seenBeforeEnd, false, "a partly filled buffer was sent with bufferTimeout -1");
    assert.deepStrictEqual(records, ["the only record"], "the end of input must flush the last buffer");
  });
});

describe("buffer timeout on worker threads", () => {
  for (const [timeout, label] of [
    [0, "0"],
    [undefined, "default"],
  ] as const) {
    it(`${label}: a single record reaches the consumer while the source is still running`, async () => {
      process.env.WEIR_TEST_BT_MODE = "until-seen";
      const r = await runJob({
        job: JOB,
        parallelism: 1,
        ...(timeout === undefined ? {} : { bufferTimeout: timeout }),
      });
      const { records, observation } = split(r.collected.get("out")!);
      assert.deepStrictEqual(records, ["the only record"]);
      assert.equal(observation.seenBeforeEnd, true);
      await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
    });
  }

  it("-1: a never-filling buffer is not sent before the end of input", async () => {
    process.env.WEIR_TEST_BT_MODE = "idle-polls";
    process.env.WEIR_TEST_BT_POLLS = "200";
    const r = await runJob({ job: JOB, parallelism: 1, bufferTimeout: -1 });
    const { records, observation } = split(r.collected.get("out")!);
    assert.equal(observation.seenBeforeEnd, false);
    assert.deepStrictEqual(records, ["the only record"]);
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });
});
