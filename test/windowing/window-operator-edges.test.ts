// Window operator edges found by mutation testing of window-operator.ts, through the harness: a
// rich window function (and a reduce function with open/close) is opened before the first window
// fires and closed with the operator; an event-time window refuses a record without a
// timestamp; late session elements are each late on their own (a late session is not kept to
// merge with the next), and an element behind the watermark whose session is not late is not
// late; a global window's trigger timers survive a snapshot and restore and fire on the same
// window's contents.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  EventTimeSessionWindows,
  GlobalWindows,
  OutputTag,
  GlobalWindow,
  type ProcessWindowFunction,
  type RuntimeContext,
  type Trigger,
  TriggerResult,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

describe("window operator: rich window functions", () => {
  it("opens the window function before the first window fires and closes it with the operator", async () => {
    const calls: string[] = [];
    class Labelled implements ProcessWindowFunction<Ev, string, string, GlobalWindow> {
      private label = "not opened";
      open(_ctx: RuntimeContext): void {
        this.label = "opened";
        calls.push("open");
      }
      close(): void {
        calls.push("close");
      }
      process(key: string, _ctx: unknown, elements: readonly Ev[], out: { collect(v: string): void }): void {
        out.collect(`${key} ${elements.length} (${this.label})`);
      }
    }
    const fire: Trigger<Ev, GlobalWindow> = {
      onElement: () => TriggerResult.FIRE,
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear: () => {},
      toString: () => "FireEveryElement",
    };
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(fire)
        .process(new Labelled()),
    );
    await h.open();
    assert.deepEqual(calls, ["open"]);
    h.processElement({ k: "a", v: 1 }, 1);
    assert.deepEqual(h.values(), ["a 1 (opened)"]);
    await h.close();
    assert.deepEqual(calls, ["open", "close"]);
  });
});

describe("window operator: timestamps", () => {
  it("an event-time window refuses a record without a timestamp, saying how to give one", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
    );
    await h.open();
    assert.throws(() => h.processElement({ k: "a", v: 1 }), /without a timestamp.*withTimestampAssigner/s);
    assert.equal(h.numKeyedStateEntries(), 0);
  });
});

describe("window operator: late session elements", () => {
  const LATE = new OutputTag<Ev>("late");
  const sessions = (s: DataStream<Ev>) =>
    s
      .keyBy((e) => e.k)
      .window(EventTimeSessionWindows.withGap(1_000))
      .sideOutputLateData(LATE)
      .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }));

  it("late elements of one session region go to the side output, each on its own, without failing", async () => {
    const h = KeyedOneInputHarness.of(sessions);
    await h.open();
    h.processWatermark(10_000);
    h.processElement({ k: "a", v: 1 }, 5_000); // session [5000, 6000): late
    h.processElement({ k: "a", v: 2 }, 5_500); // would merge with it: late as well
    assert.deepEqual(
      h.sideOutput(LATE).map((r) => r.timestamp),
      [5_000, 5_500],
    );
    assert.equal(h.numKeyedStateEntries(), 0, "a late session leaves no state behind");
    assert.equal(h.numEventTimeTimers(), 0);
    await h.close();
  });

  it("an element behind the watermark whose session is not late joins it, and is not late", async () => {
    const h = KeyedOneInputHarness.of(sessions);
    await h.open();
    h.processWatermark(5_000);
    h.processElement({ k: "a", v: 1 }, 4_500); // session [4500, 5500) ends after the watermark
    h.processElement({ k: "a", v: 2 }, 5_200);
    assert.deepEqual(h.sideOutput(LATE), []);
    h.processWatermark(6_199);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }]);
    await h.close();
  });
});

describe("window operator: global windows through a restore", () => {
  /** Fires and purges a global window at event time 1000, a timer its first element registers. */
  const at1000: Trigger<Ev, GlobalWindow> = {
    onElement(_e, _t, _w, ctx) {
      ctx.registerEventTimeTimer(1_000);
      return TriggerResult.CONTINUE;
    },
    onEventTime: (time) => (time === 1_000 ? TriggerResult.FIRE_AND_PURGE : TriggerResult.CONTINUE),
    onProcessingTime: () => TriggerResult.CONTINUE,
    clear(_w, ctx) {
      ctx.deleteEventTimeTimer(1_000);
    },
    toString: () => "At1000",
  };
  const build = (s: DataStream<Ev>) =>
    s
      .keyBy((e) => e.k)
      .window(GlobalWindows.create())
      .trigger(at1000)
      .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }))
      .uid("global-sum");

  it("a trigger timer of a global window fires after the restore, on the window's contents", async () => {
    const h = KeyedOneInputHarness.of(build);
    await h.open();
    h.processElement({ k: "a", v: 1 }, 10);
    h.processElement({ k: "a", v: 2 }, 20);
    h.processElement({ k: "b", v: 5 }, 30);
    const snapshot = await h.snapshot();
    await h.close();

    const restored = KeyedOneInputHarness.of(build);
    await restored.initializeState(snapshot);
    await restored.open();
    assert.equal(restored.numEventTimeTimers(), 2);
    restored.processElement({ k: "a", v: 4 }, 40);
    restored.processWatermark(1_000);
    // Fired as the global window: at its max timestamp.
    const max = GlobalWindow.get().maxTimestamp();
    assert.deepEqual(
      restored.records().sort((x, y) => x.value.k.localeCompare(y.value.k)),
      [
        { value: { k: "a", v: 7 }, timestamp: max },
        { value: { k: "b", v: 5 }, timestamp: max },
      ],
    );
    assert.equal(restored.numEventTimeTimers(), 0);
    await restored.close();
  });
});
