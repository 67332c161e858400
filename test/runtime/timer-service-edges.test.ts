// Timer service edges the unit test (timer-service-unit.test.ts) left open, found by mutation
// testing: the service keeps nothing for a timer that fired or was deleted (its index by time,
// namespace and key drops the emptied levels, so a long-running job's memory does not grow with
// every distinct timer time it ever used; checked on the private index, there is no other way to
// see it; the heap drops deleted timers lazily and is not checked; a time's firing order drops
// its deleted timers once they outnumber the live ones), and a restored processing-time
// timer later than the one already scheduled does not move the schedule back.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { InternalTimerService } from "../../src/runtime/time/internal-timer-service.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

type Index = Map<number, Map<unknown, Map<unknown, unknown>>>;

function service() {
  const clock = new ManualClock(0);
  const pts = new ProcessingTimeService(clock);
  let key: unknown = "a";
  const s = new InternalTimerService<string>(
    "edges",
    { getCurrentKey: () => key, setCurrentKey: (k) => void (key = k) },
    128,
    pts,
    { onEventTime: () => {}, onProcessingTime: () => {} },
  );
  // biome-ignore lint/complexity/useLiteralKeys: private fields, read on purpose
  const index = (domain: "eventTimers" | "processingTimers"): Index => (s as any)[domain]["index"];
  return { s, clock, pts, index, setKey: (k: unknown) => void (key = k) };
}

describe("InternalTimerService memory", () => {
  it("deleting timers drops the emptied key, namespace and time levels of the index", () => {
    const t = service();
    t.s.registerEventTimeTimer("w", 10);
    t.s.registerEventTimeTimer("v", 10);
    t.setKey("b");
    t.s.registerEventTimeTimer("w", 10);
    t.s.registerEventTimeTimer("w", 20);
    t.s.deleteEventTimeTimer("w", 10); // b's: (10, w) keeps a's
    assert.equal(t.index("eventTimers").get(10)?.get("w")?.size, 1);
    t.setKey("a");
    t.s.deleteEventTimeTimer("w", 10); // (10, w) empty: gone; (10, v) stays
    assert.deepEqual([...t.index("eventTimers").get(10)!.keys()], ["v"]);
    t.s.deleteEventTimeTimer("v", 10); // time 10 empty: gone
    assert.deepEqual([...t.index("eventTimers").keys()], [20]);
    t.s.advanceWatermark(20); // fired timers go too
    assert.equal(t.index("eventTimers").size, 0);
  });

  it("fired processing-time timers leave nothing in the index", () => {
    const t = service();
    for (let time = 1; time <= 50; time++) t.s.registerProcessingTimeTimer("w", time);
    t.clock.setTime(50);
    t.pts.fireDue();
    assert.equal(t.s.numProcessingTimeTimers(), 0);
    assert.equal(t.index("processingTimers").size, 0);
  });

  it("a time whose timers are deleted and registered again over and over keeps its slot small", () => {
    // The "reset the timeout" pattern on a time that is long in the future: each delete leaves a
    // dead entry in the slot's firing order until the slot fires; they must be dropped as they
    // pile up, or memory grows with every reset.
    const t = service();
    const fired: string[] = [];
    let key: unknown = "keep";
    const s = new InternalTimerService<string>(
      "resets",
      { getCurrentKey: () => key, setCurrentKey: (k) => void (key = k) },
      128,
      t.pts,
      { onEventTime: (timer) => void fired.push(`${String(key)}@${timer.time}`), onProcessingTime: () => {} },
    );
    s.registerEventTimeTimer("w", 1_000);
    key = "reset";
    for (let i = 0; i < 1_000; i++) {
      s.deleteEventTimeTimer("w", 1_000);
      s.registerEventTimeTimer("w", 1_000);
    }
    // biome-ignore lint/complexity/useLiteralKeys: private fields, read on purpose
    const slot = (s as any)["eventTimers"]["index"].get(1_000);
    assert.ok(
      slot.order.length <= 2 + 2 * 33,
      `firing order of ${slot.order.length} entries for 2 live timers`,
    );
    assert.equal(s.numEventTimeTimers(), 2);
    s.advanceWatermark(1_000);
    assert.deepEqual(fired, ["keep@1000", "reset@1000"]);
  });
});

describe("InternalTimerService restore", () => {
  it("a restored processing-time timer later than the scheduled one leaves the schedule", () => {
    const t = service();
    const fired: number[] = [];
    const s = new InternalTimerService<string>(
      "restore",
      { getCurrentKey: () => "a", setCurrentKey: () => {} },
      128,
      t.pts,
      { onEventTime: () => {}, onProcessingTime: (timer) => void fired.push(timer.time) },
    );
    s.restoreTimer("processing", "p", "w", 50);
    s.restoreTimer("processing", "q", "w", 100);
    assert.equal(t.pts.nextDue(), 50);
    t.clock.setTime(50);
    t.pts.fireDue();
    assert.deepEqual(fired, [50]);
  });

  it("a manual clock refuses to go backwards and keeps its time", () => {
    const clock = new ManualClock(100);
    let ticks = 0;
    clock.onAdvance(() => ticks++);
    assert.throws(() => clock.setTime(99), /a clock does not go backwards \(99 < 100\)/);
    assert.equal(clock.now(), 100);
    assert.equal(ticks, 0, "no listener told of a refused time");
    clock.setTime(100);
    assert.equal(ticks, 1, "the same time again is allowed");
  });
});
