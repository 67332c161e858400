// What ctx.timestamp() tells inside onTimer, as in Flink: the firing timer's time, in both time
// domains (Flink's OnTimerContext: "timestamp of a firing timer"). Records emitted from a
// processing-time timer still carry no timestamp; those of an event-time timer carry its time.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Collector,
  type KeyedBroadcastProcessFunction,
  type KeyedCoProcessFunction,
  type KeyedProcessFunction,
  MapStateDescriptor,
  type OnTimerContext,
} from "../../src/index.ts";
import {
  KeyedBroadcastHarness,
  KeyedOneInputHarness,
  KeyedTwoInputHarness,
} from "../../src/testing/index.ts";

/** What one onTimer call saw. */
interface Seen {
  domain: string;
  time: number;
  timestamp: number | undefined;
}

/** Sets a processing-time timer at 50 and an event-time timer at 7 per element; records what onTimer sees. */
function timerSetter(seen: Seen[], elementTimestamps: Array<number | undefined>) {
  return {
    setTimers(ctx: {
      timestamp(): number | undefined;
      timerService(): {
        registerProcessingTimeTimer(t: number): void;
        registerEventTimeTimer(t: number): void;
      };
    }): void {
      elementTimestamps.push(ctx.timestamp());
      ctx.timerService().registerProcessingTimeTimer(50);
      ctx.timerService().registerEventTimeTimer(7);
    },
    onTimer(time: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
      seen.push({ domain: ctx.timeDomain(), time, timestamp: ctx.timestamp() });
      out.collect(`${ctx.timeDomain()}@${time}`);
    },
  };
}

const EXPECTED: Seen[] = [
  { domain: "PROCESSING_TIME", time: 50, timestamp: 50 },
  { domain: "EVENT_TIME", time: 7, timestamp: 7 },
];
const EXPECTED_RECORDS = [
  { value: "PROCESSING_TIME@50", timestamp: undefined },
  { value: "EVENT_TIME@7", timestamp: 7 },
];

describe("onTimer's ctx.timestamp() is the timer's time, in both domains", () => {
  it("KeyedProcessFunction; an element after the timer sees its own (missing) timestamp again", async () => {
    const seen: Seen[] = [];
    const stamps: Array<number | undefined> = [];
    const t = timerSetter(seen, stamps);
    const fn: KeyedProcessFunction<string, string, string> = {
      processElement: (_v, ctx) => t.setTimers(ctx),
      onTimer: (time, ctx, out) => t.onTimer(time, ctx, out),
    };
    const h = KeyedOneInputHarness.forKeyedProcessFunction(fn, (s: string) => s);
    await h.open();
    h.processElement("a", 3);
    h.setProcessingTime(60);
    h.processWatermark(10);
    assert.deepEqual(seen, EXPECTED);
    assert.deepEqual(h.records(), EXPECTED_RECORDS);
    h.processElement("b");
    assert.deepEqual(stamps, [3, undefined], "the timer's time does not leak into the next element");
    await h.close();
  });

  it("KeyedCoProcessFunction", async () => {
    const seen: Seen[] = [];
    const stamps: Array<number | undefined> = [];
    const t = timerSetter(seen, stamps);
    const fn: KeyedCoProcessFunction<string, string, string, string> = {
      processElement1: (_v, ctx) => t.setTimers(ctx),
      processElement2: (_v, ctx) => t.setTimers(ctx),
      onTimer: (time, ctx, out) => t.onTimer(time, ctx, out),
    };
    const h = KeyedTwoInputHarness.forKeyedCoProcessFunction(
      fn,
      (s: string) => s,
      (s: string) => s,
    );
    await h.open();
    h.processElement1("a", 3);
    h.setProcessingTime(60);
    h.processWatermark(10);
    assert.deepEqual(seen, EXPECTED);
    assert.deepEqual(h.records(), EXPECTED_RECORDS);
    h.processElement2("b");
    assert.deepEqual(stamps, [3, undefined]);
    await h.close();
  });

  it("KeyedBroadcastProcessFunction", async () => {
    const seen: Seen[] = [];
    const stamps: Array<number | undefined> = [];
    const t = timerSetter(seen, stamps);
    const rules = new MapStateDescriptor<string, string>("rules");
    const fn: KeyedBroadcastProcessFunction<string, string, string, string> = {
      processElement: (_v, ctx) => t.setTimers(ctx),
      processBroadcastElement: () => {},
      onTimer: (time, ctx, out) => t.onTimer(time as number, ctx as unknown as OnTimerContext<string>, out),
    };
    const h = KeyedBroadcastHarness.forKeyedBroadcastProcessFunction(fn, (s: string) => s, [rules]);
    await h.open();
    h.processElement("a", 3);
    h.setProcessingTime(60);
    h.processWatermark(10);
    assert.deepEqual(seen, EXPECTED);
    assert.deepEqual(h.records(), EXPECTED_RECORDS);
    h.processElement("b");
    assert.deepEqual(stamps, [3, undefined]);
    await h.close();
  });
});
