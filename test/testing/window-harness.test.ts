// KeyedOneInputHarness with window operators built as a job builds them: event-time windows with
// allowed lateness and a late-data side output (through a snapshot in the middle), a custom
// trigger, and processing-time windows restored at another parallelism.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type DataStream,
  OutputTag,
  type ProcessWindowFunction,
  type TimeWindow,
  Time,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness, subtaskForKey } from "../../src/testing/index.ts";

interface Sale {
  shop: string;
  amount: number;
}

const LATE = new OutputTag<Sale>("late-sales");

/** The window and its total: "shop [start, end): total". */
const describeWindow: ProcessWindowFunction<Sale, string, string, TimeWindow> = {
  process(shop, ctx, elements, out) {
    const total = elements.reduce((sum, s) => sum + s.amount, 0);
    out.collect(`${shop} [${ctx.window.start}, ${ctx.window.end}): ${total}`);
  },
};

/** The job's window: 10 s tumbling event-time windows, 5 s lateness, late sales to a side output. */
const salesPerShop = (sales: DataStream<Sale>) =>
  sales
    .keyBy((s) => s.shop)
    .window(TumblingEventTimeWindows.of(Time.seconds(10)))
    .allowedLateness(Time.seconds(5))
    .sideOutputLateData(LATE)
    .reduce((a, b) => ({ shop: a.shop, amount: a.amount + b.amount }), describeWindow)
    .uid("sales-per-shop");

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`KeyedOneInputHarness, event-time window (${stateBackend})`, () => {
    it("fires at the watermark, fires again for a late sale within the lateness, then sends later ones to the side output", async () => {
      const h = KeyedOneInputHarness.of(salesPerShop, { stateBackend });
      assert.equal(h.operatorUid, "sales-per-shop");
      await h.open();
      h.processElement({ shop: "a", amount: 1 }, 1_000);
      h.processElement({ shop: "a", amount: 2 }, 9_999);
      h.processElement({ shop: "b", amount: 5 }, 3_000);
      h.processElement({ shop: "a", amount: 7 }, 10_000); // the next window
      h.processWatermark(9_998);
      assert.deepEqual(h.values(), []);
      h.processWatermark(9_999);
      assert.deepEqual(
        h.records().sort((x, y) => x.value.localeCompare(y.value)),
        [
          { value: "a [0, 10000): 3", timestamp: 9_999 },
          { value: "b [0, 10000): 5", timestamp: 9_999 },
        ],
      );
      h.clearOutput();

      // Late, but within the allowed lateness: the window fires again with the late sale in it.
      h.processElement({ shop: "a", amount: 10 }, 2_000);
      assert.deepEqual(h.values(), ["a [0, 10000): 13"]);

      // The snapshot holds the windows' contents and their cleanup timers (at 9999 + 5000).
      const snapshot = await h.snapshot();
      await h.close();
      const restored = KeyedOneInputHarness.of(salesPerShop, { stateBackend });
      await restored.initializeState(snapshot);
      await restored.open();
      assert.equal(
        restored.numEventTimeTimers(),
        4,
        "cleanup of a and b at 14999; a's next window: fire at 19999 and cleanup at 24999",
      );
      restored.processWatermark(14_998);
      restored.processElement({ shop: "b", amount: 1 }, 9_000);
      assert.deepEqual(restored.values(), ["b [0, 10000): 6"]);
      restored.processWatermark(14_999);
      restored.processElement({ shop: "b", amount: 100 }, 4_000);
      assert.deepEqual(restored.sideOutput(LATE), [{ value: { shop: "b", amount: 100 }, timestamp: 4_000 }]);
      assert.equal(
        restored.getAccumulator("numLateRecordsDropped") ?? 0,
        0,
        "sent to the side output, not dropped",
      );
      assert.deepEqual(restored.values(), ["b [0, 10000): 6"]);
      restored.processWatermark(Number.POSITIVE_INFINITY);
      assert.deepEqual(restored.values(), ["b [0, 10000): 6", "a [10000, 20000): 7"]);
      assert.equal(restored.numKeyedStateEntries(), 0, "every window's state is gone after its cleanup time");
      assert.equal(restored.numEventTimeTimers(), 0);
      await restored.close();
    });
  });
}

describe("KeyedOneInputHarness, window triggers", () => {
  it("a CountTrigger fires every 2 sales; without a side output late sales are counted as dropped", async () => {
    const h = KeyedOneInputHarness.of((sales: DataStream<Sale>) =>
      sales
        .keyBy((s) => s.shop)
        .window(TumblingEventTimeWindows.of(Time.seconds(10)))
        .trigger(CountTrigger.of(2))
        .reduce((a, b) => ({ shop: a.shop, amount: a.amount + b.amount })),
    );
    await h.open();
    h.processElement({ shop: "a", amount: 1 }, 1);
    assert.deepEqual(h.values(), []);
    h.processElement({ shop: "a", amount: 2 }, 2);
    h.processElement({ shop: "a", amount: 3 }, 3);
    h.processElement({ shop: "a", amount: 4 }, 4);
    assert.deepEqual(
      h.records().map((r) => [r.value.amount, r.timestamp]),
      [
        [3, 9_999],
        [10, 9_999],
      ],
    );
    h.processWatermark(10_000);
    assert.equal(h.values().length, 2, "the count trigger does not fire on time");
    h.processElement({ shop: "a", amount: 9 }, 5);
    assert.equal(h.getAccumulator("numLateRecordsDropped"), 1);
  });

  it("processing-time windows fire by the harness's clock, also after a restore at parallelism 2", async () => {
    const shops = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const build = (sales: DataStream<Sale>) =>
      sales
        .keyBy((s) => s.shop)
        .window(TumblingProcessingTimeWindows.of(Time.minutes(1)))
        .reduce((a, b) => ({ shop: a.shop, amount: a.amount + b.amount }));
    const h = KeyedOneInputHarness.of(build, { processingTime: 5_000 });
    await h.open();
    for (const [i, shop] of shops.entries()) h.processElement({ shop, amount: i + 1 });
    h.processElement({ shop: "a", amount: 100 });
    const snapshot = await h.snapshot();

    const halves = [0, 1].map((subtaskIndex) =>
      KeyedOneInputHarness.of(build, { parallelism: 2, subtaskIndex, processingTime: 5_000 }),
    );
    const fired: Array<{ shop: string; amount: number }> = [];
    for (const [k, half] of halves.entries()) {
      await half.initializeState(snapshot);
      await half.open();
      half.setProcessingTime(59_998);
      assert.deepEqual(half.values(), []);
      half.setProcessingTime(59_999);
      for (const r of half.records()) {
        assert.equal(r.timestamp, 59_999);
        assert.equal(subtaskForKey(r.value.shop, 2), k, "each half fires the shops it owns");
        fired.push(r.value);
      }
    }
    assert.deepEqual(
      fired.sort((x, y) => x.shop.localeCompare(y.shop)),
      shops.map((shop, i) => ({ shop, amount: i + 1 + (shop === "a" ? 100 : 0) })),
    );
  });
});
