// Two sums the dashboard shows, by hand: a task's time split (busy, back-pressured, idle) from
// the executor's step accounting, gaps between steps included (also when the clock reads 0), and
// the job's total number of checkpoints (completed + failed + in progress). No job runs.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobMetrics } from "../../src/runtime/metrics/job-metrics.ts";
import { TaskMetricGroup } from "../../src/runtime/metrics/task-metric-group.ts";

const scope = { jobId: "j", jobName: "job", taskName: "t", vertexId: 1, subtaskIndex: 0, attempt: 0 };

describe("task time accounting", () => {
  it("steps and the gaps before them: busy, idle, back-pressured", () => {
    const m = new TaskMetricGroup(scope);
    m.account(0, 0, true); // a first step ending at clock 0 (a frozen clock, as in tests)
    m.account(5, 6, false); // a 5 ms gap, then an idle step: 6 ms idle
    m.backPressured = true;
    m.account(10, 13, false); // a 4 ms gap and a 3 ms step, back-pressured
    m.backPressured = false;
    m.account(13, 20, true); // no gap
    assert.deepEqual([m.busyMs, m.idleMs, m.backPressuredMs], [7, 6, 7]);
  });

  it("the gap before the first step is not counted", () => {
    const m = new TaskMetricGroup(scope);
    m.account(100, 101, false);
    assert.deepEqual([m.busyMs, m.idleMs, m.backPressuredMs], [0, 1, 0]);
  });
});

describe("job checkpoint counts", () => {
  it("the total is completed + failed + in progress", () => {
    const jm = new JobMetrics("j", "job", []);
    jm.setJobLevelSource(() => ({
      numRestarts: 0,
      checkpoints: {
        completed: 5,
        failed: 2,
        inProgress: 1,
        lastDurationMs: 7,
        lastSizeBytes: 9,
        lastCompletedId: 6,
      },
    }));
    const m = jm.jobMetrics();
    assert.equal(m.totalNumberOfCheckpoints, 8);
    assert.deepEqual(
      [m.numberOfCompletedCheckpoints, m.numberOfFailedCheckpoints, m.numberOfInProgressCheckpoints],
      [5, 2, 1],
    );
  });
});
