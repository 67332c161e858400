// The keyed timer service and its heap on their own, with a manual clock: one timer per (key,
// namespace, time) and domain, deletion, firing order and key, the processing-time schedule,
// namespace identity, restore and capture. Nothing waits on a real clock. (Written from mutation
// testing of internal-timer-service.ts and timer-heap.ts: each case pins a behaviour a one-token
// change broke without any other test noticing.)

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { type InternalTimer, InternalTimerService } from "../../src/runtime/time/internal-timer-service.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";
import { TimerHeap } from "../../src/runtime/time/timer-heap.ts";

const MAX_PARALLELISM = 128;

function timerService<N = unknown>() {
  const clock = new ManualClock(0);
  const pts = new ProcessingTimeService(clock);
  let key: unknown = "a";
  let keyGroup = -1;
  const fired: string[] = [];
  const seen: Array<{ domain: string; key: unknown; keyGroup: number; timer: InternalTimer<N> }> = [];
  const onFire = (domain: string) => (t: InternalTimer<N>) => {
    // The key the service set before calling back, not the timer's own field.
    fired.push(`${domain} ${String(key)}/${String(t.namespace)}@${t.time}`);
    seen.push({ domain, key, keyGroup, timer: t });
  };
  const service = new InternalTimerService<N>(
    "unit",
    {
      getCurrentKey: () => key,
      setCurrentKey: (k, g) => {
        key = k;
        keyGroup = g;
      },
    },
    MAX_PARALLELISM,
    pts,
    { onEventTime: onFire("event"), onProcessingTime: onFire("processing") },
  );
  const setKey = (k: unknown) => {
    key = k;
  };
  /** Move the clock to `time` and run what is due, as the task does. */
  const advanceTo = (time: number) => {
    clock.setTime(time);
    pts.fireDue();
  };
  return { clock, pts, service, fired, seen, setKey, advanceTo };
}

/** A window-like namespace: equal windows are different objects with the same text. */
class Win {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
  toString(): string {
    return `[${this.start},${this.end})`;
  }
}

describe("TimerHeap", () => {
  const entry = (time: number, tag: number) => ({ time, seq: 0, tag });

  it("pops in time order, ties in insertion order, and is empty at the end", () => {
    const heap = new TimerHeap<{ time: number; seq: number; tag: number }>();
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.pop(), undefined);
    // A fixed shuffle with repeated times: 61 entries, times 0..19, each several times.
    const pushed = Array.from({ length: 61 }, (_, i) => entry((i * 37) % 20, i));
    for (const e of pushed) heap.push(e);
    assert.equal(heap.size, 61);
    assert.equal(heap.values().length, 61);
    assert.deepEqual(new Set(heap.values()), new Set(pushed));
    const expected = [...pushed].sort((a, b) => a.time - b.time || a.tag - b.tag).map((e) => e.tag);
    const popped: number[] = [];
    for (;;) {
      const top = heap.peek();
      const e = heap.pop();
      if (e === undefined) break;
      assert.equal(top, e);
      popped.push(e.tag);
    }
    assert.deepEqual(popped, expected);
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
  });

  it("keeps its order when pushes and pops interleave", () => {
    const heap = new TimerHeap<{ time: number; seq: number; tag: number }>();
    const popped: number[] = [];
    let tag = 0;
    for (let round = 0; round < 12; round++) {
      for (let j = 0; j < 5; j++) heap.push(entry((round * 7 + j * 13) % 17, tag++));
      popped.push(heap.pop()!.time, heap.pop()!.time);
    }
    while (heap.size > 0) popped.push(heap.pop()!.time);
    assert.equal(popped.length, 60);
    // Every pop is the least time still in the heap: check against a plain list.
    const model: number[] = [];
    const check: number[] = [];
    tag = 0;
    for (let round = 0; round < 12; round++) {
      for (let j = 0; j < 5; j++) model.push((round * 7 + j * 13) % 17);
      for (let k = 0; k < 2; k++) {
        model.sort((a, b) => a - b);
        check.push(model.shift()!);
      }
    }
    model.sort((a, b) => a - b);
    check.push(...model);
    assert.deepEqual(popped, check);
  });

  it("a single entry pops and leaves the heap empty", () => {
    const heap = new TimerHeap<{ time: number; seq: number; tag: number }>();
    heap.push(entry(5, 1));
    assert.equal(heap.pop()?.tag, 1);
    assert.equal(heap.size, 0);
    assert.equal(heap.pop(), undefined);
  });
});

describe("InternalTimerService, event time", () => {
  it("fires every timer at or before the watermark in time order, with its key set", () => {
    const t = timerService<string>();
    t.setKey("b");
    t.service.registerEventTimeTimer("w", 20);
    t.setKey("a");
    t.service.registerEventTimeTimer("w", 10);
    t.service.registerEventTimeTimer("w", 30);
    t.setKey(7);
    t.service.registerEventTimeTimer("w", 20);
    assert.equal(t.service.numEventTimeTimers(), 4);
    assert.equal(t.service.currentWatermark(), Number.NEGATIVE_INFINITY);
    t.service.advanceWatermark(9);
    assert.deepEqual(t.fired, []);
    assert.equal(t.service.currentWatermark(), 9);
    t.setKey("elsewhere");
    t.service.advanceWatermark(20);
    assert.deepEqual(t.fired, ["event a/w@10", "event b/w@20", "event 7/w@20"]);
    assert.equal(t.service.currentWatermark(), 20);
    assert.deepEqual(
      t.seen.map((s) => s.keyGroup),
      [
        assignToKeyGroup("a", MAX_PARALLELISM),
        assignToKeyGroup("b", MAX_PARALLELISM),
        assignToKeyGroup(7, MAX_PARALLELISM),
      ],
    );
    assert.equal(t.service.numEventTimeTimers(), 1);
    t.service.advanceWatermark(30);
    assert.deepEqual(t.fired.at(-1), "event a/w@30");
    assert.equal(t.service.numEventTimeTimers(), 0);
    t.service.advanceWatermark(1000);
    assert.equal(t.fired.length, 4);
  });

  it("registers a timer once per (key, namespace, time); any part differing makes another", () => {
    const t = timerService<string | number>();
    t.service.registerEventTimeTimer("w", 100);
    t.service.registerEventTimeTimer("w", 100);
    t.service.registerEventTimeTimer("w", 200); // same key and namespace, other time
    t.service.registerEventTimeTimer("v", 200); // same key and time, other namespace
    t.service.registerEventTimeTimer("u", 300); // same key, other namespace and time
    t.setKey("b");
    t.service.registerEventTimeTimer("u", 300); // other key
    t.service.registerEventTimeTimer("w", 100);
    t.setKey("a");
    t.service.registerEventTimeTimer("w", 100); // registered before, not the last one
    assert.equal(t.service.numEventTimeTimers(), 6);
    t.service.advanceWatermark(300);
    assert.deepEqual(t.fired, [
      "event a/w@100",
      "event b/w@100",
      "event a/w@200",
      "event a/v@200",
      "event a/u@300",
      "event b/u@300",
    ]);
  });

  it("tells numeric and text namespaces apart, and windows by their text", () => {
    const t = timerService<unknown>();
    t.service.registerEventTimeTimer(1, 50);
    t.service.registerEventTimeTimer("1", 50);
    t.service.registerEventTimeTimer(new Win(0, 50), 50);
    t.service.registerEventTimeTimer(new Win(0, 50), 50); // an equal window: the same timer
    t.service.registerEventTimeTimer(1, 50);
    assert.equal(t.service.numEventTimeTimers(), 3);
    t.service.deleteEventTimeTimer(new Win(0, 50), 50);
    assert.equal(t.service.numEventTimeTimers(), 2);
    t.service.advanceWatermark(50);
    assert.deepEqual(t.fired, ["event a/1@50", "event a/1@50"]);
    assert.deepEqual(
      t.seen.map((s) => typeof s.timer.namespace),
      ["number", "string"],
    );
  });

  it("deletes only the timer named, and deleting one that is not there changes nothing", () => {
    const t = timerService<string>();
    t.service.registerEventTimeTimer("w", 100);
    t.service.registerEventTimeTimer("v", 100);
    t.setKey("b");
    t.service.registerEventTimeTimer("w", 100);
    t.service.registerEventTimeTimer("w", 200);
    assert.equal(t.service.numEventTimeTimers(), 4);
    t.service.deleteEventTimeTimer("w", 300); // no timer at that time
    t.service.deleteEventTimeTimer("x", 100); // no timer in that namespace
    t.setKey("c");
    t.service.deleteEventTimeTimer("w", 100); // no timer for that key
    assert.equal(t.service.numEventTimeTimers(), 4);
    t.setKey("a");
    t.service.deleteEventTimeTimer("w", 100); // b's timer at (w, 100) stays, and a's at (v, 100)
    assert.equal(t.service.numEventTimeTimers(), 3);
    t.service.deleteEventTimeTimer("w", 100);
    assert.equal(t.service.numEventTimeTimers(), 3, "deleting twice counts once");
    t.service.deleteEventTimeTimer("v", 100); // the last at time 100 for key a
    assert.equal(t.service.numEventTimeTimers(), 2);
    t.service.advanceWatermark(200);
    assert.deepEqual(t.fired, ["event b/w@100", "event b/w@200"]);
    assert.equal(t.service.numEventTimeTimers(), 0);
  });

  it("a timer that fired can be registered again and fires again", () => {
    const t = timerService<string>();
    t.service.registerEventTimeTimer("w", 10);
    t.service.advanceWatermark(10);
    t.service.registerEventTimeTimer("w", 10);
    assert.equal(t.service.numEventTimeTimers(), 1);
    t.service.advanceWatermark(11);
    assert.deepEqual(t.fired, ["event a/w@10", "event a/w@10"]);
  });

  it("after a delete, registering the last-registered timer again registers it", () => {
    const t = timerService<string>();
    t.service.registerEventTimeTimer("w", 10);
    t.service.deleteEventTimeTimer("w", 10);
    t.service.registerEventTimeTimer("w", 10);
    t.service.advanceWatermark(10);
    assert.deepEqual(t.fired, ["event a/w@10"]);
  });
});

describe("InternalTimerService, processing time", () => {
  it("fires each timer when the clock reaches it, in time order, with its key set", () => {
    const t = timerService<string>();
    t.service.registerProcessingTimeTimer("w", 100);
    t.setKey("b");
    t.service.registerProcessingTimeTimer("w", 50); // earlier: the schedule moves up
    t.service.registerProcessingTimeTimer("w", 70);
    t.setKey("c");
    t.service.registerProcessingTimeTimer("w", 50);
    assert.equal(t.service.numProcessingTimeTimers(), 4);
    assert.equal(t.pts.nextDue(), 50);
    t.advanceTo(49);
    assert.deepEqual(t.fired, []);
    t.setKey("elsewhere");
    t.advanceTo(50);
    assert.deepEqual(t.fired, ["processing b/w@50", "processing c/w@50"]);
    assert.equal(t.pts.nextDue(), 70, "the next timer is scheduled");
    assert.equal(t.service.currentProcessingTime(), 50);
    t.advanceTo(100);
    assert.deepEqual(t.fired.slice(2), ["processing b/w@70", "processing a/w@100"]);
    assert.deepEqual(
      t.seen.map((s) => s.keyGroup),
      ["b", "c", "b", "a"].map((k) => assignToKeyGroup(k, MAX_PARALLELISM)),
    );
    assert.equal(t.service.numProcessingTimeTimers(), 0);
    assert.equal(t.pts.nextDue(), Number.POSITIVE_INFINITY);
  });

  it("a later timer does not move the schedule back", () => {
    const t = timerService<string>();
    t.service.registerProcessingTimeTimer("w", 50);
    t.service.registerProcessingTimeTimer("w", 100);
    assert.equal(t.pts.nextDue(), 50);
    t.advanceTo(60);
    assert.deepEqual(t.fired, ["processing a/w@50"]);
  });

  it("a deleted timer does not fire; the others still do", () => {
    const t = timerService<string>();
    t.service.registerProcessingTimeTimer("w", 50);
    t.service.registerProcessingTimeTimer("w", 80);
    t.service.deleteProcessingTimeTimer("w", 50);
    assert.equal(t.service.numProcessingTimeTimers(), 1);
    t.advanceTo(50);
    assert.deepEqual(t.fired, []);
    t.advanceTo(80);
    assert.deepEqual(t.fired, ["processing a/w@80"]);
  });

  it("a timer registered after the schedule emptied is scheduled again", () => {
    const t = timerService<string>();
    t.service.registerProcessingTimeTimer("w", 10);
    t.advanceTo(10);
    t.service.registerProcessingTimeTimer("w", 30);
    t.advanceTo(30);
    assert.deepEqual(t.fired, ["processing a/w@10", "processing a/w@30"]);
  });

  it("event and processing timers are separate", () => {
    const t = timerService<string>();
    t.service.registerEventTimeTimer("w", 10);
    t.service.registerProcessingTimeTimer("w", 10);
    assert.equal(t.service.numEventTimeTimers(), 1);
    assert.equal(t.service.numProcessingTimeTimers(), 1);
    t.service.deleteEventTimeTimer("w", 10);
    assert.equal(t.service.numProcessingTimeTimers(), 1);
    t.advanceTo(10);
    t.service.advanceWatermark(10);
    assert.deepEqual(t.fired, ["processing a/w@10"]);
  });
});

describe("InternalTimerService, namespace identity", () => {
  it("re-identifies the live timers of both domains; timers that become equal merge", () => {
    const t = timerService<Win>();
    // By text by default: these are three different timers.
    t.service.registerEventTimeTimer(new Win(0, 10), 10);
    t.service.registerEventTimeTimer(new Win(5, 10), 10);
    t.service.registerEventTimeTimer(new Win(0, 20), 20);
    t.service.registerProcessingTimeTimer(new Win(0, 10), 10);
    t.service.registerProcessingTimeTimer(new Win(5, 10), 10);
    assert.equal(t.service.numEventTimeTimers(), 3);
    assert.equal(t.service.numProcessingTimeTimers(), 2);
    // The new identity is the window's end: the two windows ending at 10 become one timer.
    t.service.useNamespaceIdentity((w) => w.end);
    assert.equal(t.service.numEventTimeTimers(), 2);
    assert.equal(t.service.numProcessingTimeTimers(), 1);
    // Deleting goes through the new identity, in both domains.
    t.service.deleteEventTimeTimer(new Win(99, 20), 20);
    assert.equal(t.service.numEventTimeTimers(), 1);
    t.service.deleteProcessingTimeTimer(new Win(99, 10), 10);
    assert.equal(t.service.numProcessingTimeTimers(), 0);
    // And registering too.
    t.service.registerEventTimeTimer(new Win(7, 10), 10);
    assert.equal(t.service.numEventTimeTimers(), 1);
    t.service.advanceWatermark(20);
    t.advanceTo(10);
    assert.equal(t.fired.length, 1);
    assert.match(t.fired[0]!, /^event a\/\[\d,10\)@10$/);
  });
});

describe("InternalTimerService, namespace identity: order", () => {
  it("re-identifying keeps the registration order of timers due at the same time", () => {
    const t = timerService<Win>();
    // Registered a/[0,10), a/[1,10), b/[0,10): the index holds them by namespace, then key.
    t.service.registerEventTimeTimer(new Win(0, 10), 10);
    t.service.registerEventTimeTimer(new Win(1, 10), 10);
    t.setKey("b");
    t.service.registerEventTimeTimer(new Win(0, 10), 10);
    t.service.useNamespaceIdentity((w) => `${w.start}/${w.end}`);
    t.service.advanceWatermark(10);
    assert.deepEqual(t.fired, ["event a/[0,10)@10", "event a/[1,10)@10", "event b/[0,10)@10"]);
  });
});

describe("InternalTimerService, restore and capture", () => {
  it("captures the live timers of each domain with their key groups", () => {
    const t = timerService<string>();
    t.service.registerEventTimeTimer("w", 10);
    t.setKey(42);
    t.service.registerProcessingTimeTimer("v", 20);
    t.service.registerEventTimeTimer("w", 30);
    t.service.deleteEventTimeTimer("w", 30);
    const captured = t.service
      .capture()
      .map(([domain, timers]) => [domain, timers.map((x) => [x.key, x.keyGroup, x.namespace, x.time])]);
    assert.deepEqual(captured, [
      ["event", [["a", assignToKeyGroup("a", MAX_PARALLELISM), "w", 10]]],
      ["processing", [[42, assignToKeyGroup(42, MAX_PARALLELISM), "v", 20]]],
    ]);
  });

  it("restored timers fire in their own domain, for their own key, earliest first", () => {
    const t = timerService<string>();
    t.service.restoreTimer("processing", "p", "w", 50);
    t.service.restoreTimer("processing", "q", "w", 100); // later: the schedule stays at 50
    t.service.restoreTimer("processing", "r", "w", 30); // earlier: the schedule moves up
    t.service.restoreTimer("processing", "r", "w", 30);
    t.service.restoreTimer("event", "e", "w", 5);
    t.service.restoreTimer("event", "e", "w", 5);
    assert.equal(t.service.numEventTimeTimers(), 1);
    assert.equal(t.service.numProcessingTimeTimers(), 3);
    assert.equal(t.pts.nextDue(), 30);
    t.advanceTo(30);
    assert.deepEqual(t.fired, ["processing r/w@30"]);
    t.advanceTo(50);
    assert.deepEqual(t.fired.slice(1), ["processing p/w@50"]);
    t.service.advanceWatermark(5);
    assert.deepEqual(t.fired.slice(2), ["event e/w@5"]);
    t.advanceTo(100);
    assert.deepEqual(t.fired.slice(3), ["processing q/w@100"]);
  });
});
