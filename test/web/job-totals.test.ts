// The dashboard's throughput chart takes its rates from the subtasks' own per-second metrics: a
// rate from the counts between two polls read 0 or double whenever a poll fell between two of the
// workers' once-a-second reports (seen in a browser as a saw-tooth on a steady job).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type TotalsInput, type TotalsMetrics, totalsOf } from "../../dashboard/src/job-totals.ts";

function row(numRecordsIn: number, numRecordsInPerSecond: number): TotalsMetrics {
  return { numRecordsIn, numRecordsInPerSecond, currentInputWatermark: Number.NaN };
}

function snapshot(metrics: Record<string, TotalsMetrics[]>): TotalsInput {
  const node = (id: string, inputs: string[]) => ({ id, inputs: inputs.map((i, num) => ({ num, id: i })) });
  return {
    details: {
      vertices: Object.keys(metrics).map((id) => ({ id })),
      plan: { nodes: [node("1", []), node("2", ["1"]), node("3", ["2"])] },
    },
    metrics: new Map(Object.entries(metrics)),
  };
}

describe("the dashboard's job totals", () => {
  it("take the lowest input watermark of the non-source subtasks for the lag", () => {
    const at = (w: number): TotalsMetrics => ({
      numRecordsIn: 0,
      numRecordsInPerSecond: 0,
      currentInputWatermark: w,
    });
    const now = Date.now();
    const { lag } = totalsOf(
      snapshot({ "1": [at(now - 1)], "2": [at(now - 5000), at(now - 2000)], "3": [at(now)] }),
    );
    assert.ok(lag !== null && lag >= 5000 && lag < 60_000, `lag ${lag}`);
    assert.equal(totalsOf(snapshot({ "1": [at(now)], "2": [], "3": [] })).lag, null, "no watermark, no lag");
  });

  it("sum the sources' and the sinks' own rates, and their counts", () => {
    const { totals } = totalsOf(
      snapshot({
        "1": [row(1000, 400), row(900, 350)],
        "2": [row(1900, 750)],
        "3": [row(1800, 700), row(Number.NaN, Number.NaN)],
      }),
    );
    assert.equal(totals.sourceRate, 750);
    assert.equal(totals.sinkRate, 700);
    assert.equal(totals.sourceIn, 1900);
    assert.equal(totals.sinkIn, 1800);
  });
});
