// Session windows with a trigger that leaves its timers behind when a window merges away (its
// clear() deletes nothing, as a hand-written trigger may): the timer of the merged-away window
// still fires, and must be ignored (as Flink does), not handed to the trigger as a window of its
// own: it is no longer in the merging window set. Found by mutation testing of window-operator.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  EventTimeSessionWindows,
  type TimeWindow,
  type Trigger,
  TriggerResult,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

/** The windows the trigger was asked about, by timer: "[start, end)@time". */
const asked: string[] = [];

/** Fires at the window's end; registers that timer again on a merge; clear() deletes nothing. */
const sloppy: Trigger<Ev, TimeWindow> = {
  onElement(_e, _t, w, ctx) {
    ctx.registerEventTimeTimer(w.maxTimestamp());
    return TriggerResult.CONTINUE;
  },
  onEventTime(time, w) {
    asked.push(`[${w.start}, ${w.end})@${time}`);
    return time === w.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE;
  },
  onProcessingTime: () => TriggerResult.CONTINUE,
  canMerge: () => true,
  onMerge(w, ctx) {
    ctx.registerEventTimeTimer(w.maxTimestamp());
  },
  clear: () => {},
  toString: () => "SloppyEventTimeTrigger",
};

describe("window operator: timers of merged-away session windows", () => {
  it("are ignored when they fire; the merged session fires once at its end", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(EventTimeSessionWindows.withGap(1_000))
        .trigger(sloppy)
        .allowedLateness(100)
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 0); // [0, 1000): trigger timer 999, cleanup 1099
    h.processElement({ k: "a", v: 2 }, 500); // merged into [0, 1500): 1499 and 1599; 999 stays
    h.processWatermark(999); // the merged-away window's timer fires: nobody is asked
    assert.deepEqual(asked, []);
    assert.deepEqual(h.values(), []);
    h.processWatermark(1_599);
    assert.deepEqual(asked, ["[0, 1500)@1499", "[0, 1500)@1599"]); // its firing and cleanup timers
    assert.deepEqual(h.records(), [{ value: { k: "a", v: 3 }, timestamp: 1_499 }]);
    assert.equal(h.numKeyedStateEntries(), 0);
    await h.close();
  });
});
