// Timer facts a Flink user relies on (Flink's KeyedProcessOperator and timer service): a timer
// registered behind the watermark fires at the next watermark that advances, not at once; a
// processing-time timer already due fires at the next clock advance; a restored processing-time
// timer fires once the clock passes it; at the end of a bounded job every event-time timer fires
// (even at Number.MAX_SAFE_INTEGER, Flink's Long.MAX_VALUE) and pending processing-time timers
// do not.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

/** Registers an event-time and a processing-time timer at 5 for every element; reports firings. */
const atFive: KeyedProcessFunction<string, string, string> = {
  processElement(_v, ctx) {
    ctx.timerService().registerEventTimeTimer(5);
    ctx.timerService().registerProcessingTimeTimer(5);
  },
  onTimer(time, ctx, out) {
    out.collect(`${ctx.timeDomain()}@${time}`);
  },
};

describe("timers as in Flink", () => {
  it("timers behind the watermark or the clock fire at the next advance, not when registered", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(atFive, (s: string) => s, { processingTime: 100 });
    await h.open();
    h.processWatermark(10);
    h.processElement("a", 20);
    assert.deepEqual(h.values(), [], "nothing fires inside processElement");
    h.setProcessingTime(100);
    assert.deepEqual(h.values(), ["PROCESSING_TIME@5"]);
    h.processWatermark(10);
    assert.deepEqual(h.values(), ["PROCESSING_TIME@5"], "a watermark that does not advance fires nothing");
    h.processWatermark(11);
    assert.deepEqual(h.values(), ["PROCESSING_TIME@5", "EVENT_TIME@5"]);
    await h.close();
  });

  it("a restored processing-time timer fires once the clock passes it, also when already due", async () => {
    const at50: KeyedProcessFunction<string, string, string> = {
      processElement: (_v, ctx) => ctx.timerService().registerProcessingTimeTimer(50),
      onTimer: (time, _ctx, out) => out.collect(`@${time}`),
    };
    const before = KeyedOneInputHarness.forKeyedProcessFunction(at50, (s: string) => s);
    await before.open();
    before.processElement("a");
    const snapshot = await before.snapshot();
    await before.close();
    for (const start of [10, 70]) {
      const after = KeyedOneInputHarness.forKeyedProcessFunction(at50, (s: string) => s, {
        processingTime: start,
      });
      await after.initializeState(snapshot);
      await after.open();
      assert.equal(after.numProcessingTimeTimers(), 1);
      after.setProcessingTime(start === 10 ? 49 : start);
      assert.deepEqual(after.values(), start === 10 ? [] : ["@50"]);
      after.setProcessingTime(80);
      assert.deepEqual(after.values(), ["@50"], `restored at ${start}: fires exactly once`);
      await after.close();
    }
  });

  it("at the end of a bounded job event-time timers fire (even at MAX_SAFE_INTEGER), processing-time ones do not", async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ parallelism: 2 });
    const out = await env
      .fromElements(1, 2)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x),
      )
      .keyBy((x) => x % 2)
      .process({
        processElement(_v: number, ctx: KeyedProcessContext<number>) {
          ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER);
          ctx
            .timerService()
            .registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 3_600_000);
        },
        onTimer(time: number, ctx: OnTimerContext<number>, o: Collector<string>) {
          o.collect(
            `${ctx.getCurrentKey()} ${ctx.timeDomain()} ${time === Number.MAX_SAFE_INTEGER ? "max" : time}`,
          );
        },
      } satisfies KeyedProcessFunction<number, number, string>)
      .executeAndCollect();
    assert.deepEqual(out.sort(), ["0 EVENT_TIME max", "1 EVENT_TIME max"]);
  });
});
