// GET /jobs/:jid/exceptions keeps Flink's shape when a job fails many times: the newest first,
// `maxExceptions` entries (default 20), and `truncated` whenever some are left out of the answer
// or no longer kept (the job keeps its last 100).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { answer } from "../../src/web/rest-handlers.ts";

function failingJob(failures: number): JobMetrics {
  const job = new JobMetrics("j1", "flaky", []);
  for (let i = 0; i < failures; i++) job.recordFailure(i, new Error(`failure ${i}`));
  return job;
}

function exceptions(job: JobMetrics, query = "") {
  const a = answer([job], "/jobs/j1/exceptions", new URLSearchParams(query));
  assert.ok(a !== undefined);
  return a as { status: number; body: any };
}

describe("GET /jobs/:jid/exceptions", () => {
  it("a few failures: all of them, newest first, not truncated", () => {
    const { status, body } = exceptions(failingJob(3));
    assert.equal(status, 200);
    assert.deepEqual(
      body.exceptionHistory.entries.map((e: any) => e.message),
      ["failure 2", "failure 1", "failure 0"],
    );
    assert.match(body["root-exception"], /failure 2/);
    assert.equal(body.truncated, false);
    assert.equal(body.exceptionHistory.truncated, false);
  });

  it("more than maxExceptions: the newest N and truncated", () => {
    const job = failingJob(30);
    const def = exceptions(job).body;
    assert.equal(def.exceptionHistory.entries.length, 20, "Flink's default");
    assert.equal(def.exceptionHistory.entries[0].message, "failure 29");
    assert.equal(def.truncated, true);
    const five = exceptions(job, "maxExceptions=5").body;
    assert.deepEqual(
      five.exceptionHistory.entries.map((e: any) => e.attempt),
      [29, 28, 27, 26, 25],
    );
    assert.equal(five["all-exceptions"].length, 5);
    assert.equal(exceptions(job, "maxExceptions=30").body.truncated, false, "all 30 fit");
  });

  it("more failures than the job keeps: the oldest are dropped and the answer says truncated", () => {
    const job = failingJob(130);
    assert.equal(job.exceptions.length, 100);
    const all = exceptions(job, "maxExceptions=1000").body;
    assert.equal(all.exceptionHistory.entries.length, 100);
    assert.equal(all.exceptionHistory.entries.at(-1).message, "failure 30");
    assert.equal(all.truncated, true);
  });

  it("a bad maxExceptions is a 400 naming it", () => {
    const { status, body } = exceptions(failingJob(1), "maxExceptions=-1");
    assert.equal(status, 400);
    assert.match(body.errors[0], /maxExceptions must be a whole number >= 0, got '-1'/);
  });
});
