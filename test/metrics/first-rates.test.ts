// A task's rates (records/s, busy time/s…) are there from its first metric snapshot: every meter
// starts from a sample of 0 at the task's start, so a worker thread's first report (a second in)
// does not read 0 records/s while records flow (it needed two samples before).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TaskMetricGroup } from "../../src/runtime/metrics/task-metric-group.ts";

describe("first rates", () => {
  it("the first sample of a count already has a rate, from the task's start", () => {
    const group = new TaskMetricGroup({
      jobId: "j",
      jobName: "job",
      taskName: "Map",
      vertexId: 0,
      subtaskIndex: 0,
      attempt: 0,
    });
    const start = performance.now();
    // The group started before `start`: 1000 records counted 500 ms or more after it.
    const now = start + 500;
    const rate = group.rate("numRecordsIn", 1000, now);
    assert.ok(rate > 0, `a rate at the first sample, got ${rate}`);
    assert.ok(rate <= 2000, `1000 records over at least 500 ms, got ${rate}`);
    // Later samples go on from there.
    assert.ok(group.rate("numRecordsIn", 3000, now + 1000) > 0);
  });
});
