// The dashboard's throughput chart fits its time axis to the samples it has: a job watched for a
// few seconds fills the chart (a fixed minute left the points in a corner).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timeAxisRange } from "../../dashboard/src/chart-range.ts";

describe("throughput chart time axis", () => {
  it("spans the samples, not a fixed minute", () => {
    const t0 = 1_765_000_000;
    assert.deepEqual(timeAxisRange([t0, t0 + 1, t0 + 2, t0 + 3]), { min: t0, max: t0 + 3 });
  });

  it("gives one sample a second around it, and no samples no range", () => {
    assert.deepEqual(timeAxisRange([100]), { min: 99.5, max: 100.5 });
    assert.equal(timeAxisRange([]), undefined);
  });
});
