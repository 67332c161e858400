// A timer needs a time in ms. NaN (e.g. `ctx.timestamp()! + 1000` on a record without a
// timestamp) used to enter the timer queue and break its order, so that other keys' timers fired
// out of time order; it is now refused where it is registered, saying why and what to do.
// Infinite times stay allowed: +Infinity fires at the end of input (Flink's Long.MAX_VALUE timer),
// -Infinity at the first watermark.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GlobalWindows,
  InvalidArgumentError,
  type KeyedProcessFunction,
  type Trigger,
  TriggerResult,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

/** "<key>:<domain>:<time>" registers that timer for that key. */
const setter: KeyedProcessFunction<string, string, string> = {
  processElement(v, ctx) {
    const [, domain, at] = v.split(":");
    if (domain === "event") ctx.timerService().registerEventTimeTimer(Number(at));
    else ctx.timerService().registerProcessingTimeTimer(Number(at));
  },
  onTimer(time, ctx, out) {
    out.collect(`${ctx.getCurrentKey()}@${time}`);
  },
};
const byKey = (v: string) => v.split(":")[0]!;

describe("timer times", () => {
  it("an event-time timer at NaN is refused, naming the operator and the cause", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(setter, byKey);
    await h.open();
    assert.throws(
      () => h.processElement("b:event:not-a-number", 1),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        /registerEventTimeTimer\(\) needs a time in ms, got NaN/.test(e.message) &&
        /KeyedProcess/.test(e.message) &&
        /ctx\.timestamp\(\) is undefined/.test(e.message),
    );
    await h.close();
  });

  it("a processing-time timer at NaN is refused", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(setter, byKey);
    await h.open();
    assert.throws(
      () => h.processElement("b:proc:x", 1),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        /registerProcessingTimeTimer\(\) needs a time in ms, got NaN/.test(e.message),
    );
    await h.close();
  });

  it("the other keys' timers still fire in time order; infinite times fire at the first and the last watermark", async () => {
    const h = KeyedOneInputHarness.forKeyedProcessFunction(setter, byKey);
    await h.open();
    for (const v of ["a:event:8", "c:event:3", "d:event:5", "e:event:1", "f:event:9", "g:event:2"])
      h.processElement(v, 1);
    assert.throws(() => h.processElement("b:event:x", 1), InvalidArgumentError);
    h.processElement("h:event:Infinity", 1);
    h.processElement("i:event:-Infinity", 1);
    h.processWatermark(10);
    assert.deepEqual(h.values(), ["i@-Infinity", "e@1", "g@2", "c@3", "d@5", "a@8", "f@9"]);
    h.processWatermark(Number.POSITIVE_INFINITY);
    assert.deepEqual(h.values().at(-1), "h@Infinity");
    await h.close();
  });

  it("a trigger's timer at NaN is refused, naming the window operator", async () => {
    const nanTrigger: Trigger<unknown, never> = {
      onElement(_e, _t, _w, ctx) {
        ctx.registerEventTimeTimer(Number.NaN);
        return TriggerResult.CONTINUE;
      },
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear() {},
    };
    const h = KeyedOneInputHarness.of((s: import("../../src/index.ts").DataStream<number>) =>
      s
        .keyBy((x) => x)
        .window(GlobalWindows.create())
        .trigger(nanTrigger as never)
        .reduce((a, b) => a + b),
    );
    await h.open();
    assert.throws(
      () => h.processElement(1, 1),
      (e: Error) =>
        e instanceof InvalidArgumentError && /window operator/.test(e.message) && /got NaN/.test(e.message),
    );
    await h.close();
  });
});
