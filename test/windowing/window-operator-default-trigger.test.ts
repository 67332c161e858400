// The window operator runs the default EventTimeTrigger itself and registers a window's timers
// only when its contents are created (a reduce or aggregate tells). What must still hold: windows
// restored from a checkpoint taken with another allowed lateness get the cleanup timer of the new
// one on their next element; elements within the allowed lateness fire the window again and keep
// its timers; an object that only inherits from an EventTimeTrigger instance (its own onElement)
// is called as any custom trigger.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  EventTimeTrigger,
  type Trigger,
  TriggerResult,
  type TimeWindow,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

const sum = (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v });

describe("window operator with the default event-time trigger", () => {
  it("a window restored from a checkpoint with less allowed lateness gets the new cleanup timer", async () => {
    const build = (lateness: number) => (s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10_000))
        .allowedLateness(lateness)
        .reduce(sum)
        .uid("sum");
    const h = KeyedOneInputHarness.of(build(0));
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1_000);
    assert.equal(h.numEventTimeTimers(), 1); // end = cleanup
    const snapshot = await h.snapshot();
    await h.close();

    const restored = KeyedOneInputHarness.of(build(5_000));
    await restored.initializeState(snapshot);
    await restored.open();
    restored.processElement({ k: "a", v: 2 }, 2_000); // contents existed: from the checkpoint
    assert.equal(restored.numEventTimeTimers(), 2); // end, and cleanup at end + 5 s
    restored.processWatermark(9_999);
    assert.deepEqual(restored.values(), [{ k: "a", v: 3 }]);
    assert.equal(restored.numEventTimeTimers(), 1);
    restored.processElement({ k: "a", v: 4 }, 3_000); // within the lateness: fires at once
    assert.deepEqual(restored.values(), [
      { k: "a", v: 3 },
      { k: "a", v: 7 },
    ]);
    restored.processWatermark(14_999); // cleanup: the window's contents go
    assert.equal(restored.numEventTimeTimers(), 0);
    restored.processElement({ k: "a", v: 8 }, 4_000); // late now: dropped
    assert.equal(restored.values().length, 2);
    assert.equal(restored.getAccumulator("numLateRecordsDropped"), 1);
    await restored.close();
  });

  it("elements within the allowed lateness fire again; the window keeps its cleanup timer", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10_000))
        .allowedLateness(2_000)
        .aggregate({
          createAccumulator: () => 0,
          add: (e: Ev, acc: number) => acc + e.v,
          getResult: (acc: number) => acc,
        }),
    );
    await h.open();
    for (let i = 0; i < 5; i++) h.processElement({ k: "a", v: 1 }, 1_000 + i);
    h.processElement({ k: "b", v: 10 }, 5_000);
    assert.equal(h.numEventTimeTimers(), 4); // per key: end and cleanup
    h.processWatermark(10_000);
    assert.deepEqual(h.values().sort(), [10, 5]);
    assert.equal(h.numEventTimeTimers(), 2); // the cleanup timers
    h.processElement({ k: "a", v: 1 }, 9_000);
    h.processElement({ k: "a", v: 1 }, 9_500);
    assert.deepEqual(h.values().slice(2), [6, 7]);
    assert.equal(h.numEventTimeTimers(), 2);
    h.processWatermark(11_999);
    assert.equal(h.numEventTimeTimers(), 0);
    h.processElement({ k: "a", v: 1 }, 2_000); // a new window for its key? no: late, dropped
    h.processWatermark(20_000);
    assert.deepEqual(h.values().slice(2), [6, 7]);
    await h.close();
  });

  it("an object inheriting from an EventTimeTrigger with its own onElement is called", async () => {
    let calls = 0;
    const custom = Object.create(EventTimeTrigger.create()) as Trigger<Ev, TimeWindow>;
    custom.onElement = () => {
      calls++;
      return TriggerResult.FIRE;
    };
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(custom)
        .reduce(sum),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1_000);
    h.processElement({ k: "a", v: 2 }, 2_000);
    assert.equal(calls, 2);
    assert.deepEqual(h.values(), [
      { k: "a", v: 1 },
      { k: "a", v: 3 },
    ]);
    assert.equal(h.numEventTimeTimers(), 1); // the cleanup timer only: this onElement sets none
    await h.close();
  });

  it("windows restored with another lateness get its cleanup timer, whatever order the timers come in", async () => {
    const build = (lateness: number) => (s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .allowedLateness(lateness)
        .reduce(sum)
        .uid("sum");
    const h = KeyedOneInputHarness.of(build(0));
    await h.open();
    h.processElement({ k: "a", v: 1 }, 2_500); // the later window's timer first
    h.processElement({ k: "a", v: 1 }, 500);
    h.processElement({ k: "a", v: 1 }, 1_500);
    assert.equal(h.numEventTimeTimers(), 3);
    const snapshot = await h.snapshot();
    await h.close();

    const restored = KeyedOneInputHarness.of(build(400));
    await restored.initializeState(snapshot);
    await restored.open();
    // Each window's contents existed (from the checkpoint), with the old lateness's timers only.
    for (const ts of [2_600, 600, 1_600]) restored.processElement({ k: "a", v: 10 }, ts);
    assert.equal(restored.numEventTimeTimers(), 6, "each window: its end and its new cleanup time");
    restored.processWatermark(5_000);
    assert.deepEqual(
      restored.values().map((e) => e.v),
      [11, 11, 11],
    );
    assert.equal(restored.numEventTimeTimers(), 0);
    assert.equal(restored.numKeyedStateEntries(), 0, "every window's contents removed at its cleanup time");
    await restored.close();
  });

  it("a window kept for good (lateness past the largest timestamp) has no cleanup timer", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .allowedLateness(Number.MAX_SAFE_INTEGER)
        .reduce(sum),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 500);
    assert.equal(h.numEventTimeTimers(), 1, "its end only");
    h.processWatermark(5_000);
    h.processElement({ k: "a", v: 2 }, 600); // within the lateness: fires at once
    assert.deepEqual(
      h.values().map((e) => e.v),
      [1, 3],
    );
    assert.equal(h.numEventTimeTimers(), 0);
    await h.close();
  });
});
