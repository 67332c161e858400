// The interval join operator driven directly (KeyedTwoInputHarness): exact lateness, side outputs
// and state cleanup.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DataStream, OutputTag, type ProcessJoinFn } from "../../src/index.ts";
import { KeyedTwoInputHarness } from "../../src/testing/index.ts";

type E = { k: string; id: string };
const fn: ProcessJoinFn<E, E, string> = {
  processElement: (l, r, ctx, out) => out.collect(`${l.id}+${r.id}@${ctx.timestamp}`),
};
const LATE_LEFT = new OutputTag<E>("late-left");
const LATE_RIGHT = new OutputTag<E>("late-right");

/** The join as a job builds it (named "op"), driven by a KeyedTwoInputHarness; late data to side outputs when asked. */
async function harness(lower: number, upper: number, late?: { sideOutputs: true }) {
  const h = KeyedTwoInputHarness.of((left: DataStream<E>, right: DataStream<E>) => {
    const join = left
      .keyBy((e) => e.k)
      .intervalJoin(right.keyBy((e) => e.k))
      .between(lower, upper);
    if (late !== undefined) join.sideOutputLeftLateData(LATE_LEFT).sideOutputRightLateData(LATE_RIGHT);
    return join.process(fn, "op");
  });
  await h.open();
  return h;
}

const LEFT_STATE = "interval-join-left-buffer";
const RIGHT_STATE = "interval-join-right-buffer";

describe("interval join operator", () => {
  it("joins both ways, stamps results with the larger timestamp, and matches only equal keys", async () => {
    const h = await harness(-10, 20);
    h.processElement1({ k: "a", id: "l1" }, 100);
    h.processElement2({ k: "a", id: "r1" }, 90); // 90 in [90, 120]
    h.processElement2({ k: "b", id: "r2" }, 100); // other key
    h.processElement2({ k: "a", id: "r3" }, 121); // out of range
    h.processElement2({ k: "a", id: "r4" }, 120); // upper bound, inclusive
    h.processElement1({ k: "a", id: "l2" }, 111); // joins r3 (121 in [101, 131]) and r4
    assert.deepEqual(
      h.records().map((o) => [o.value, o.timestamp]),
      [
        ["l1+r1@100", 100],
        ["l1+r4@120", 120],
        ["l2+r3@121", 121],
        ["l2+r4@120", 120],
      ],
    );
  });

  it("drops buffered elements once the watermark shows nothing can join them", async () => {
    const h = await harness(-10, 20);
    h.processElement1({ k: "a", id: "l1" }, 100); // can still join rights up to 120
    h.processElement2({ k: "a", id: "r1" }, 100); // can still join lefts down to 80 (left t in [r - 20, r + 10])
    assert.equal(h.numKeyedStateEntries(LEFT_STATE), 1);
    assert.equal(h.numKeyedStateEntries(RIGHT_STATE), 1);
    h.processWatermark(109);
    // right r1 at 100 joins lefts in [80, 110]: a left at 110 could still come
    assert.equal(h.numKeyedStateEntries(RIGHT_STATE), 1);
    h.processWatermark(110);
    assert.equal(h.numKeyedStateEntries(RIGHT_STATE), 0);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE), 1);
    h.processWatermark(119);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE), 1);
    h.processElement2({ k: "a", id: "r2" }, 120); // the last right that can join l1
    h.processWatermark(120);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE), 0);
    assert.deepEqual(h.values(), ["l1+r1@100", "l1+r2@120"]);
    assert.deepEqual(h.watermarks(), [109, 110, 119, 120]);
  });

  it("drops late elements (behind the watermark) and counts them", async () => {
    const h = await harness(0, 100);
    h.processElement1({ k: "a", id: "l1" }, 500);
    h.processWatermark(400);
    h.processElement2({ k: "a", id: "r-late" }, 399); // 1 ms behind the watermark: late
    h.processElement1({ k: "a", id: "l-late" }, 300);
    h.processElement2({ k: "a", id: "r-ok" }, 501);
    assert.deepEqual(h.values(), ["l1+r-ok@501"]);
    assert.equal(h.getAccumulator("op.numLateRecordsDropped"), 2);
  });

  it("an element at the watermark is not late, and joins (Flink: late means timestamp < watermark)", async () => {
    const h = await harness(-10, 10, { sideOutputs: true });
    h.processElement1({ k: "a", id: "l1" }, 500);
    // A generator that emits watermark == max timestamp (not max - 1) makes this common.
    h.processWatermark(500);
    h.processElement2({ k: "a", id: "r1" }, 500);
    h.processElement2({ k: "a", id: "r0" }, 499);
    assert.deepEqual(h.values(), ["l1+r1@500"]);
    assert.deepEqual(h.sideOutputValues(LATE_LEFT), []);
    assert.deepEqual(h.sideOutputValues(LATE_RIGHT), [{ k: "a", id: "r0" }]);
    // Both buffered elements are cleaned up once nothing can join them (at 500 + 10).
    h.processWatermark(509);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE), 1);
    assert.equal(h.numKeyedStateEntries(RIGHT_STATE), 1);
    h.processWatermark(510);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE) + h.numKeyedStateEntries(RIGHT_STATE), 0);
  });

  it("sends late elements to the side outputs when asked", async () => {
    const h = await harness(0, 100, { sideOutputs: true });
    h.processWatermark(1000);
    h.processElement1({ k: "a", id: "l" }, 10);
    h.processElement2({ k: "a", id: "r" }, 999);
    assert.deepEqual(h.sideOutputValues(LATE_LEFT), [{ k: "a", id: "l" }]);
    assert.deepEqual(h.sideOutputValues(LATE_RIGHT), [{ k: "a", id: "r" }]);
    assert.equal(h.getAccumulator("op.numLateRecordsDropped") ?? 0, 0);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE) + h.numKeyedStateEntries(RIGHT_STATE), 0);
  });

  it("cleans all state up by the end of input (final watermark)", async () => {
    const h = await harness(-1000, -500);
    for (let i = 0; i < 200; i++) {
      const e = { k: `k${i % 13}`, id: `${i}` };
      if (i % 2 === 0) h.processElement1(e, i * 37);
      else h.processElement2(e, i * 37);
      if (i % 10 === 0) h.processWatermark(i * 37 - 2000);
    }
    assert.ok(h.numKeyedStateEntries(LEFT_STATE) > 0);
    h.processWatermark(Number.POSITIVE_INFINITY);
    assert.equal(h.numKeyedStateEntries(LEFT_STATE) + h.numKeyedStateEntries(RIGHT_STATE), 0);
  });
});
