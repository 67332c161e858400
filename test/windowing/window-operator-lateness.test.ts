// The window operator's lateness and cleanup rules, one operator at a time through the harness:
// an element no window takes is late only when its timestamp + allowed lateness is at or behind
// the watermark; a window's state and timers go at exactly its cleanup time and not before; a
// trigger's processing-time timer at that same time does not clean an event-time window; global
// windows get no cleanup timer; merged session windows leave no timer of the windows they
// replaced; a trigger firing on an emptied window emits nothing. (Written from mutation testing of
// window-operator.ts: each case pins a behaviour a one-token change broke without another test
// noticing.)

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  EventTimeTrigger,
  type DataStream,
  EventTimeSessionWindows,
  GlobalWindows,
  OutputTag,
  TimeWindow,
  type Trigger,
  type TriggerContext,
  TriggerResult,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  WindowAssigner,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
  /** Taken by no window (see SometimesNoWindow). */
  none?: boolean;
}

const LATE = new OutputTag<Ev>("late");
const sum = (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v });

/** 10 s tumbling event-time windows, except for elements marked `none`: no window at all. */
class SometimesNoWindow extends WindowAssigner<Ev, TimeWindow> {
  assignWindows(e: Ev, ts: number): TimeWindow[] {
    if (e.none === true) return [];
    const start = ts - (ts % 10_000);
    return [new TimeWindow(start, start + 10_000)];
  }
  getDefaultTrigger(): Trigger<Ev, TimeWindow> {
    return EventTimeTrigger.create() as unknown as Trigger<Ev, TimeWindow>;
  }
  isEventTime(): boolean {
    return true;
  }
}

describe("window operator: late elements", () => {
  it("an element no window takes is late when timestamp + lateness <= watermark, else ignored", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(new SometimesNoWindow())
        .allowedLateness(1_000)
        .sideOutputLateData(LATE)
        .reduce(sum),
    );
    await h.open();
    h.processWatermark(5_000);
    h.processElement({ k: "a", v: 1, none: true }, 4_000); // 4000 + 1000 = watermark: late
    h.processElement({ k: "a", v: 2, none: true }, 4_001); // 1 ms short of late: ignored
    h.processElement({ k: "a", v: 4 }, 1_000); // behind the watermark, but its window is not late
    assert.deepEqual(h.sideOutput(LATE), [{ value: { k: "a", v: 1, none: true }, timestamp: 4_000 }]);
    assert.equal(h.getAccumulator("numLateRecordsDropped") ?? 0, 0);
    h.processWatermark(9_999);
    assert.deepEqual(h.values(), [{ k: "a", v: 4 }]);
    await h.close();
  });

  it("without a side output, only the late ones are counted as dropped", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(new SometimesNoWindow())
        .allowedLateness(1_000)
        .reduce(sum),
    );
    await h.open();
    h.processWatermark(5_000);
    h.processElement({ k: "a", v: 1, none: true }, 4_000);
    h.processElement({ k: "a", v: 2, none: true }, 4_001);
    h.processElement({ k: "a", v: 4 }, 1_000);
    assert.equal(h.getAccumulator("numLateRecordsDropped"), 1);
    await h.close();
  });

  it("processing-time windows are never late, whatever the watermark", async () => {
    const h = KeyedOneInputHarness.of(
      (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(TumblingProcessingTimeWindows.of(60_000))
          .sideOutputLateData(LATE)
          .reduce(sum),
      { processingTime: 1_000 },
    );
    await h.open();
    h.processWatermark(1_000_000);
    h.processElement({ k: "a", v: 3 }, 10);
    assert.deepEqual(h.sideOutput(LATE), []);
    h.setProcessingTime(59_999);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }]);
    assert.equal(h.numKeyedStateEntries(), 0, "cleaned at the window's end");
    assert.equal(h.numProcessingTimeTimers(), 0);
    await h.close();
  });
});

describe("window operator: cleanup", () => {
  for (const lateness of [0, 500]) {
    it(`an event-time window's state and timers go at maxTimestamp + ${lateness}, not 1 ms earlier`, async () => {
      const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(TumblingEventTimeWindows.of(10_000))
          .allowedLateness(lateness)
          .reduce(sum),
      );
      await h.open();
      h.processElement({ k: "a", v: 1 }, 3_000);
      assert.equal(
        h.numEventTimeTimers(),
        lateness === 0 ? 1 : 2,
        "fire at 9999, cleanup at 9999 + lateness",
      );
      h.processWatermark(9_998);
      assert.deepEqual(h.values(), []);
      assert.ok(h.numKeyedStateEntries() > 0);
      h.processWatermark(9_999);
      assert.deepEqual(h.values(), [{ k: "a", v: 1 }]);
      if (lateness > 0) {
        h.processWatermark(9_999 + lateness - 1);
        assert.ok(h.numKeyedStateEntries() > 0, "the window is kept until its cleanup time");
      }
      h.processWatermark(9_999 + lateness);
      assert.equal(h.numKeyedStateEntries(), 0);
      assert.equal(h.numEventTimeTimers(), 0);
      h.processElement({ k: "a", v: 5 }, 9_000); // late now: no late firing
      h.processWatermark(Number.POSITIVE_INFINITY);
      assert.deepEqual(h.values(), [{ k: "a", v: 1 }]);
      assert.equal(h.getAccumulator("numLateRecordsDropped"), 1);
      await h.close();
    });
  }

  it("a trigger's processing-time timer at the cleanup time does not clean an event-time window", async () => {
    /** Fires at the window's end in event time; also asks for a processing-time call then. */
    const trigger: Trigger<Ev, TimeWindow> = {
      onElement(_e, _t, w, ctx: TriggerContext) {
        ctx.registerEventTimeTimer(w.maxTimestamp());
        ctx.registerProcessingTimeTimer(w.maxTimestamp());
        return TriggerResult.CONTINUE;
      },
      onEventTime: (time, w) => (time === w.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE),
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear(w, ctx) {
        ctx.deleteEventTimeTimer(w.maxTimestamp());
        ctx.deleteProcessingTimeTimer(w.maxTimestamp());
      },
      toString: () => "EventAndProcessingTrigger",
    };
    const h = KeyedOneInputHarness.of(
      (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(TumblingEventTimeWindows.of(10_000))
          .trigger(trigger)
          .reduce(sum),
      { processingTime: 0 },
    );
    await h.open();
    h.processElement({ k: "a", v: 7 }, 2_000);
    h.setProcessingTime(9_999); // the processing-time timer at 9999 = the window's cleanup time
    assert.ok(h.numKeyedStateEntries() > 0, "a processing-time timer cleans no event-time window");
    h.processWatermark(9_999);
    assert.deepEqual(h.values(), [{ k: "a", v: 7 }]);
    assert.equal(h.numKeyedStateEntries(), 0);
    await h.close();
  });

  it("global windows get no cleanup timer", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(CountTrigger.of(2))
        .reduce(sum),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1);
    h.processElement({ k: "a", v: 2 }, 2);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }]);
    assert.equal(h.numEventTimeTimers(), 0);
    assert.equal(h.numProcessingTimeTimers(), 0);
    h.processWatermark(Number.MAX_SAFE_INTEGER);
    assert.ok(h.numKeyedStateEntries() > 0, "a global window is never cleaned");
    await h.close();
  });

  it("merged session windows leave only the merged window's timers", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(EventTimeSessionWindows.withGap(1_000))
        .allowedLateness(100)
        .reduce(sum),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 0); // [0, 1000): timers 999 and 1099
    assert.equal(h.numEventTimeTimers(), 2);
    h.processElement({ k: "a", v: 2 }, 500); // merged into [0, 1500): timers 1499 and 1599
    assert.equal(h.numEventTimeTimers(), 2);
    h.processElement({ k: "a", v: 4 }, 5_000); // a session of its own
    assert.equal(h.numEventTimeTimers(), 4);
    h.processWatermark(1_499);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }]);
    h.processWatermark(1_599);
    assert.equal(h.numEventTimeTimers(), 2);
    h.processWatermark(Number.POSITIVE_INFINITY);
    assert.deepEqual(h.values(), [
      { k: "a", v: 3 },
      { k: "a", v: 4 },
    ]);
    assert.equal(h.numKeyedStateEntries(), 0);
    assert.equal(h.numEventTimeTimers(), 0);
    await h.close();
  });
});

describe("window operator: firing an empty window", () => {
  /** Fires and purges on every element; fires again (on nothing) at the window's end. */
  const purgeThenFire: Trigger<Ev, TimeWindow> = {
    onElement(_e, _t, w, ctx) {
      ctx.registerEventTimeTimer(w.maxTimestamp());
      return TriggerResult.FIRE_AND_PURGE;
    },
    onEventTime: () => TriggerResult.FIRE,
    onProcessingTime: () => TriggerResult.CONTINUE,
    clear(w, ctx) {
      ctx.deleteEventTimeTimer(w.maxTimestamp());
    },
    toString: () => "PurgeThenFire",
  };

  it("a reduced window emptied by a purge emits nothing when fired again", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(purgeThenFire)
        .reduce(sum),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1_000);
    assert.deepEqual(h.values(), [{ k: "a", v: 1 }]);
    h.processWatermark(9_999);
    assert.deepEqual(h.values(), [{ k: "a", v: 1 }]);
    await h.close();
  });

  it("a listed window emptied by a purge emits nothing when fired again", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(purgeThenFire)
        .process({
          process: (k, ctx, elements, out) =>
            out.collect(`${String(k)} [${ctx.window.start}]: ${elements.map((e) => e.v).join(",")}`),
        }),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1_000);
    h.processElement({ k: "a", v: 2 }, 1_500);
    h.processWatermark(9_999);
    assert.deepEqual(h.values(), ["a [0]: 1", "a [0]: 2"]);
    await h.close();
  });
});
