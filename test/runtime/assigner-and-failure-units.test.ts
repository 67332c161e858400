// A thrown value that looks like an error but is not one is described as a thrown non-error (no
// name or stack taken from it); a timestamp assigner counts the records it stamped (what the
// watermark doctor reads to tell an assigner that has had no records), keeps the record's own
// timestamp without an assigner function, refuses a timestamp that is NaN or not a number, and
// without a watermark generator has nothing to emit periodically.

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

  it("without an assigner function the record's own timestamp is kept", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) =>
      s.assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>()),
    );
    await h.open();
    h.processElement(1, 500);
    h.processElement(2, 700);
    assert.deepEqual(
      h.records().map((r) => [r.value, r.timestamp]),
      [
        [1, 500],
        [2, 700],
      ],
    );
    await h.close();
  });

  it("a timestamp that is NaN or not a number is refused", async () => {
    for (const bad of [Number.NaN, "12", undefined]) {
      const h = OneInputHarness.of((s: DataStream<number>) =>
        s.assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner(() => bad as number),
        ),
      );
      await h.open();
      assert.throws(() => h.processElement(1, 5), /record without a usable timestamp/, String(bad));
      assert.deepEqual(h.values(), [], String(bad));
      await h.close();
    }
  });

  it("without a watermark generator, processing time passing emits nothing and fails nothing", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) =>
      s.assignTimestampsAndWatermarks(
        WatermarkStrategy.noWatermarks<number>().withTimestampAssigner((v) => v),
      ),
    );
    await h.open();
    h.processElement(10);
    h.advanceProcessingTime(1000); // five auto-watermark intervals
    assert.deepEqual(h.watermarks(), []);
    assert.deepEqual(h.values(), [10]);
    await h.close();
  });
});
