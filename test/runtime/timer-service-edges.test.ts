// Timer service edges the unit test (timer-service-unit.test.ts) left open, found by mutation
// testing: the service keeps nothing for a timer that fired or was deleted (its index by time,
// namespace and key drops the emptied levels, so a long-running job's memory does not grow with
// every distinct timer time it ever used; checked on the private index, there is no other way to
// see it; the heap drops deleted timers lazily and is not checked), and a restored processing-time
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
