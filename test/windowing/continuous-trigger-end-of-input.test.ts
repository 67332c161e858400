// ContinuousEventTimeTrigger on windows that never end (GlobalWindows), as Flink's window operator
// tests drive it: it fires every interval of event time, each interval once even when one
// watermark passes several. At the end of input (the watermark MAX_WATERMARK) it used to register
// interval after interval up to the end of time, so a bounded job never finished; now it fires
// its pending interval and, once, the window's end, and stops.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ContinuousEventTimeTrigger,
  type DataStream,
  GlobalWindows,
  MAX_WATERMARK,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

type Count = [string, number];

const everyThreeSeconds = (s: DataStream<Count>) =>
  s
    .keyBy((c) => c[0])
    .window(GlobalWindows.create())
    .trigger(ContinuousEventTimeTrigger.of(3000))
    .reduce((a, b): Count => [a[0], a[1] + b[1]]);

describe("ContinuousEventTimeTrigger on global windows", () => {
  it("fires each key at every interval its first element started, with the global window's max timestamp", async () => {
    const h = KeyedOneInputHarness.of(everyThreeSeconds);
    await h.open();
    h.processElement(["a", 1], 1500); // first fire at 3000
    h.processElement(["a", 1], 2500);
    h.processElement(["b", 1], 3100); // first fire at 6000
    h.processWatermark(2999);
    assert.deepEqual(h.values(), []);
    h.processWatermark(3000);
    assert.deepEqual(h.values(), [["a", 2]]);
    h.processElement(["a", 1], 4000);
    h.processWatermark(9000); // a at 6000 and 9000, b at 6000 and 9000
    assert.deepEqual(h.values().slice(1).sort(), [
      ["a", 3],
      ["a", 3],
      ["b", 1],
      ["b", 1],
    ]);
    assert.ok(h.records().every((r) => r.timestamp === Number.MAX_SAFE_INTEGER));
    await h.close();
  });

  it("at the end of input fires the pending interval and the window's end once per key, then stops", async () => {
    const h = KeyedOneInputHarness.of(everyThreeSeconds);
    await h.open();
    h.processElement(["a", 1], 1500);
    h.processElement(["b", 1], 1600);
    h.processWatermark(3000);
    h.clearOutput();
    h.processElement(["a", 1], 3500);
    h.processWatermark(MAX_WATERMARK);
    assert.deepEqual(h.values().sort(), [
      ["a", 2],
      ["a", 2],
      ["b", 1],
      ["b", 1],
    ]);
    assert.equal(h.numEventTimeTimers(), 0);
    await h.close();
  });

  it("a bounded job with it finishes", async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ parallelism: 2 });
    const out = await env
      .fromElements<Count>(["a", 1], ["b", 1], ["a", 1])
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Count>().withTimestampAssigner(() => 1000),
      )
      .keyBy((c) => c[0])
      .window(GlobalWindows.create())
      .trigger(ContinuousEventTimeTrigger.of(60_000))
      .reduce((a, b): Count => [a[0], a[1] + b[1]])
      .executeAndCollect();
    assert.deepEqual(out.sort(), [
      ["a", 2],
      ["a", 2],
      ["b", 1],
      ["b", 1],
    ]);
  });

  it("on windows that end, the end of input still fires every interval up to the end (as Flink)", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Count>) =>
      s
        .keyBy((c) => c[0])
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(ContinuousEventTimeTrigger.of(3000))
        .reduce((a, b): Count => [a[0], a[1] + b[1]]),
    );
    await h.open();
    h.processElement(["a", 1], 1000);
    h.processWatermark(MAX_WATERMARK);
    // intervals at 3000, 6000, 9000, then the window's end at 9999
    assert.deepEqual(h.values(), [
      ["a", 1],
      ["a", 1],
      ["a", 1],
      ["a", 1],
    ]);
    await h.close();
  });
});
