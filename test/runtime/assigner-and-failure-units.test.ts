// A thrown value that looks like an error but is not one is described as a thrown non-error (no
// name or stack taken from it), and a timestamp assigner counts the records it stamped (what the
// watermark doctor reads to tell an assigner that has had no records).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DataStream, WatermarkStrategy } from "../../src/index.ts";
import { describeFailure } from "../../src/runtime/operator-failure.ts";
import type { TimestampsAndWatermarksOperator } from "../../src/runtime/operators/timestamps-and-watermarks.ts";
import { OneInputHarness } from "../../src/testing/index.ts";

describe("assigner and failure units", () => {
  it("a thrown object with an error's fields is described as a thrown non-error", () => {
    const lookalike = { name: "Fake", message: "looks like one", stack: "Fake: at nowhere" };
    const d = describeFailure(lookalike, { name: "parse", uid: "parse-1" }, 0, 1);
    assert.equal(d.errorName, "Error");
    assert.equal(d.message, "[object Object]");
    assert.equal(d.stack, undefined);
  });

  it("a timestamp assigner counts the records it stamped", async () => {
    for (const strategy of [
      WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((v) => v),
      // Without a generator: the records are stamped and counted all the same.
      WatermarkStrategy.noWatermarks<number>().withTimestampAssigner((v) => v),
    ]) {
      const h = OneInputHarness.of((s: DataStream<number>) => s.assignTimestampsAndWatermarks(strategy));
      await h.open();
      for (const v of [10, 20, 30]) h.processElement(v);
      const op = (h as unknown as { operator: TimestampsAndWatermarksOperator }).operator;
      assert.equal(op.watermarkAssignment().records, 3);
      assert.deepEqual(h.values(), [10, 20, 30]);
      await h.close();
    }
  });
});
