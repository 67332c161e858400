// The interval join operator driven directly: exact lateness, side outputs and state cleanup.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IntervalJoinOperator, type ProcessJoinFunction } from "../../src/runtime/operators/interval-join.ts";
import { OperatorHarness } from "./operator-harness.ts";

type E = { k: string; id: string };
const fn: ProcessJoinFunction<E, E, string> = {
  processElement: (l, r, ctx, out) => out.collect(`${l.id}+${r.id}@${ctx.timestamp}`),
};

async function harness(lower: number, upper: number, late?: { left?: string; right?: string }) {
  const op = new IntervalJoinOperator(fn as ProcessJoinFunction<unknown, unknown, unknown>, {
    lower,
    upper,
    lowerExclusive: false,
    upperExclusive: false,
    leftLateTag: late?.left,
    rightLateTag: late?.right,
  });
  const h = new OperatorHarness(op, [(e: E) => e.k, (e: E) => e.k]);
  await h.open();
  return h;
}

const LEFT_STATE = "interval-join-left-buffer";
const RIGHT_STATE = "interval-join-right-buffer";

describe("interval join operator", () => {
  it("joins both ways, stamps results with the larger timestamp, and matches only equal keys", async () => {
    const h = await harness(-10, 20);
    h.record(0, { k: "a", id: "l1" }, 100);
    h.record(1, { k: "a", id: "r1" }, 90); // 90 in [90, 120]
    h.record(1, { k: "b", id: "r2" }, 100); // other key
    h.record(1, { k: "a", id: "r3" }, 121); // out of range
    h.record(1, { k: "a", id: "r4" }, 120); // upper bound, inclusive
    h.record(0, { k: "a", id: "l2" }, 111); // joins r3 (121 in [101, 131]) and r4
    assert.deepEqual(
      h.output.map((o) => [o.value, o.timestamp]),
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
    h.record(0, { k: "a", id: "l1" }, 100); // can still join rights up to 120
    h.record(1, { k: "a", id: "r1" }, 100); // can still join lefts down to 80 (left t in [r - 20, r + 10])
    assert.equal(h.stateSize(LEFT_STATE), 1);
    assert.equal(h.stateSize(RIGHT_STATE), 1);
    h.watermark(109);
    // right r1 at 100 joins lefts in [80, 110]: a left at 110 could still come
    assert.equal(h.stateSize(RIGHT_STATE), 1);
    h.watermark(110);
    assert.equal(h.stateSize(RIGHT_STATE), 0);
    assert.equal(h.stateSize(LEFT_STATE), 1);
    h.watermark(119);
    assert.equal(h.stateSize(LEFT_STATE), 1);
    h.record(1, { k: "a", id: "r2" }, 120); // the last right that can join l1
    h.watermark(120);
    assert.equal(h.stateSize(LEFT_STATE), 0);
    assert.deepEqual(
      h.output.map((o) => o.value),
      ["l1+r1@100", "l1+r2@120"],
    );
    assert.deepEqual(h.watermarks, [109, 110, 119, 120]);
  });

  it("drops late elements (behind the watermark) and counts them", async () => {
    const h = await harness(0, 100);
    h.record(0, { k: "a", id: "l1" }, 500);
    h.watermark(400);
    h.record(1, { k: "a", id: "r-late" }, 399); // 1 ms behind the watermark: late
    h.record(0, { k: "a", id: "l-late" }, 300);
    h.record(1, { k: "a", id: "r-ok" }, 501);
    assert.deepEqual(
      h.output.map((o) => o.value),
      ["l1+r-ok@501"],
    );
    assert.equal(h.counter("op.numLateRecordsDropped"), 2);
  });

  it("an element at the watermark is not late, and joins (Flink: late means timestamp < watermark)", async () => {
    const h = await harness(-10, 10, { left: "late-left", right: "late-right" });
    h.record(0, { k: "a", id: "l1" }, 500);
    // A generator that emits watermark == max timestamp (not max - 1) makes this common.
    h.watermark(500);
    h.record(1, { k: "a", id: "r1" }, 500);
    h.record(1, { k: "a", id: "r0" }, 499);
    assert.deepEqual(
      h.output.map((o) => o.value),
      ["l1+r1@500"],
    );
    assert.deepEqual(h.side, [{ tag: "late-right", value: { k: "a", id: "r0" } }]);
    // Both buffered elements are cleaned up once nothing can join them (at 500 + 10).
    h.watermark(509);
    assert.equal(h.stateSize(LEFT_STATE), 1);
    assert.equal(h.stateSize(RIGHT_STATE), 1);
    h.watermark(510);
    assert.equal(h.stateSize(LEFT_STATE) + h.stateSize(RIGHT_STATE), 0);
  });

  it("sends late elements to the side outputs when asked", async () => {
    const h = await harness(0, 100, { left: "late-left", right: "late-right" });
    h.watermark(1000);
    h.record(0, { k: "a", id: "l" }, 10);
    h.record(1, { k: "a", id: "r" }, 999);
    assert.deepEqual(h.side, [
      { tag: "late-left", value: { k: "a", id: "l" } },
      { tag: "late-right", value: { k: "a", id: "r" } },
    ]);
    assert.equal(h.counter("op.numLateRecordsDropped"), 0);
    assert.equal(h.stateSize(LEFT_STATE) + h.stateSize(RIGHT_STATE), 0);
  });

  it("cleans all state up by the end of input (final watermark)", async () => {
    const h = await harness(-1000, -500);
    for (let i = 0; i < 200; i++) {
      h.record(i % 2, { k: `k${i % 13}`, id: `${i}` }, i * 37);
      if (i % 10 === 0) h.watermark(i * 37 - 2000);
    }
    assert.ok(h.stateSize(LEFT_STATE) > 0);
    h.watermark(Number.POSITIVE_INFINITY);
    assert.equal(h.stateSize(LEFT_STATE) + h.stateSize(RIGHT_STATE), 0);
  });
});
