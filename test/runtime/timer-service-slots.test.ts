// The timer queue keeps one heap entry per distinct time (the timers of that time in registration
// order), not one per timer. It must fire exactly as a heap of single timers ordered by (time,
// registration) would: a timer registered while others fire, at an earlier time than theirs,
// fires before the rest of them; one at the same time fires after them; many deletions in one
// time leave the others firing in order; re-identifying namespaces keeps the order. A fired timer
// stays in its slot's per-key Map until the slot drains: it must count as gone (registered again,
// it fires again; deleted, nothing happens; a snapshot leaves it out). Timers registered as known
// to be new skip the per-key Maps until something looks into their slot: then they are found.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { type InternalTimer, InternalTimerService } from "../../src/runtime/time/internal-timer-service.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

function service(onFire: (t: InternalTimer<string>, s: InternalTimerService<string>) => void = () => {}) {
  let key: unknown = "a";
  const fired: string[] = [];
  const s: InternalTimerService<string> = new InternalTimerService<string>(
    "slots",
    { getCurrentKey: () => key, setCurrentKey: (k) => void (key = k) },
    128,
    new ProcessingTimeService(new ManualClock(0)),
    {
      onEventTime: (t) => {
        fired.push(`${String(key)}/${t.namespace}@${t.time}`);
        onFire(t, s);
      },
      onProcessingTime: () => {},
    },
  );
  return { s, fired, setKey: (k: unknown) => void (key = k) };
}

describe("InternalTimerService, timers grouped by time", () => {
  it("a timer registered while firing, earlier than the rest of its time, fires before them", () => {
    let once = true;
    const t = service((timer, s) => {
      if (once && timer.time === 20) {
        once = false;
        s.registerEventTimeTimer("early", 15); // key "b" is current: behind the watermark
        s.registerEventTimeTimer("same", 20);
        s.registerEventTimeTimer("late", 40);
      }
    });
    for (const k of ["b", "c", "d"]) {
      t.setKey(k);
      t.s.registerEventTimeTimer("w", 20);
    }
    t.s.advanceWatermark(30);
    assert.deepEqual(t.fired, ["b/w@20", "b/early@15", "c/w@20", "d/w@20", "b/same@20"]);
    assert.equal(t.s.numEventTimeTimers(), 1);
    t.s.advanceWatermark(40);
    assert.deepEqual(t.fired.at(-1), "b/late@40");
  });

  it("deleting most timers of one time leaves the others firing in registration order", () => {
    const t = service();
    for (let i = 0; i < 200; i++) {
      t.setKey(i);
      t.s.registerEventTimeTimer("w", 50);
    }
    for (let i = 0; i < 200; i++) {
      if (i % 10 === 3) continue;
      t.setKey(i);
      t.s.deleteEventTimeTimer("w", 50);
    }
    t.setKey(1000);
    t.s.registerEventTimeTimer("w", 50);
    t.setKey(3); // deleted-and-registered-again keeps its place? no: it is live already
    t.s.registerEventTimeTimer("w", 50);
    t.setKey(4); // registered again after its delete: now the last
    t.s.registerEventTimeTimer("w", 50);
    assert.equal(t.s.numEventTimeTimers(), 22);
    t.s.advanceWatermark(50);
    const expected = [];
    for (let i = 3; i < 200; i += 10) expected.push(`${i}/w@50`);
    expected.push("1000/w@50", "4/w@50");
    assert.deepEqual(t.fired, expected);
    assert.equal(t.s.numEventTimeTimers(), 0);
  });

  it("a timer that fired, while the rest of its time has yet to fire, counts as gone", () => {
    let snapshot: string[] = [];
    let once = true;
    const t = service((timer, s) => {
      if (timer.time !== 20 || !once) return;
      once = false;
      // Key "a" is current: its timer at 20 has just fired; "b" and "c" wait in the same slot.
      s.deleteEventTimeTimer("w", 20); // gone already: a no-op, not a delete of another timer
      snapshot = s.capture().flatMap(([, ts]) => ts.map((x) => `${String(x.key)}/${x.namespace}@${x.time}`));
      s.registerEventTimeTimer("w", 20); // registered again: fires again, after the others
    });
    for (const k of ["a", "b", "c"]) {
      t.setKey(k);
      t.s.registerEventTimeTimer("w", 20);
    }
    assert.equal(t.s.numEventTimeTimers(), 3);
    t.s.advanceWatermark(20);
    assert.deepEqual(snapshot, ["b/w@20", "c/w@20"]);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20", "c/w@20", "a/w@20"]);
    assert.equal(t.s.numEventTimeTimers(), 0);
    // The drained slot is gone: the same timer registered later is new and fires.
    t.setKey("a");
    t.s.registerEventTimeTimer("w", 20);
    assert.equal(t.s.numEventTimeTimers(), 1);
    t.s.advanceWatermark(25);
    assert.deepEqual(t.fired.at(-1), "a/w@20");
  });

  it("re-identifying namespaces keeps the firing order; timers that become equal merge", () => {
    const t = service();
    t.setKey("x");
    t.s.registerEventTimeTimer("w2", 10);
    t.setKey("y");
    t.s.registerEventTimeTimer("v1", 10);
    t.setKey("x");
    t.s.registerEventTimeTimer("w1", 10); // becomes equal to x's w2 timer
    t.s.registerEventTimeTimer("w1", 5);
    t.s.useNamespaceIdentity((ns) => ns[0]);
    assert.equal(t.s.numEventTimeTimers(), 3);
    t.s.advanceWatermark(10);
    assert.deepEqual(t.fired, ["x/w1@5", "x/w2@10", "y/v1@10"]);
  });

  it("a snapshot holds timers registered as new that nothing has looked up yet", () => {
    // The window operator's usual case: its timers are registered as new and never looked up, so
    // the slots are not indexed when a checkpoint captures them.
    const t = service();
    for (const [k, time] of [
      ["a", 20],
      ["b", 20],
      ["a", 30],
    ] as const) {
      t.setKey(k);
      t.s.registerNewEventTimeTimer("w", time);
    }
    const snapshot = t.s
      .capture()
      .flatMap(([, ts]) => ts.map((x) => `${String(x.key)}/${x.namespace}@${x.time}`));
    assert.deepEqual(snapshot.sort(), ["a/w@20", "a/w@30", "b/w@20"]);
  });

  it("timers registered as new are found by later registrations, deletes and snapshots", () => {
    const t = service();
    for (const k of ["a", "b", "c", "d"]) {
      t.setKey(k);
      t.s.registerNewEventTimeTimer("w", 20);
    }
    t.setKey("e");
    t.s.registerNewEventTimeTimer("v", 20);
    t.setKey("b");
    t.s.registerEventTimeTimer("w", 20); // there already: not a second timer
    t.setKey("c");
    t.s.deleteEventTimeTimer("w", 20);
    t.setKey("f");
    t.s.registerNewEventTimeTimer("w", 20); // after the slot was indexed
    t.setKey("d");
    t.s.registerEventTimeTimer("w", 20);
    t.s.registerEventTimeTimer("w", 30);
    const snapshot = t.s
      .capture()
      .flatMap(([, ts]) => ts.map((x) => `${String(x.key)}/${x.namespace}@${x.time}`))
      .sort();
    assert.deepEqual(snapshot, ["a/w@20", "b/w@20", "d/w@20", "d/w@30", "e/v@20", "f/w@20"]);
    assert.equal(t.s.numEventTimeTimers(), 6);
    t.s.advanceWatermark(30);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20", "d/w@20", "e/v@20", "f/w@20", "d/w@30"]);
    assert.equal(t.s.numEventTimeTimers(), 0);
  });

  it("a timer registered as new joins a slot a recent lookup remembered: a later registration finds it", () => {
    const t = service();
    t.s.registerEventTimeTimer("w", 20); // key a: the queue remembers (20, w)
    t.setKey("b");
    t.s.registerNewEventTimeTimer("w", 20);
    t.setKey("c");
    t.s.registerEventTimeTimer("w", 20); // a lookup of (20, w): b's timer is indexed now
    t.setKey("b");
    t.s.registerEventTimeTimer("w", 20); // there already: not a second timer
    assert.equal(t.s.numEventTimeTimers(), 3);
    t.s.advanceWatermark(20);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20", "c/w@20"]);
  });

  it("a timer registered as new and deleted before any lookup does not fire", () => {
    const t = service();
    t.s.registerNewEventTimeTimer("w", 20);
    t.setKey("b");
    t.s.registerNewEventTimeTimer("w", 20);
    t.s.deleteEventTimeTimer("w", 20);
    assert.equal(t.s.numEventTimeTimers(), 1);
    t.s.advanceWatermark(20);
    assert.deepEqual(t.fired, ["a/w@20"]);
  });

  it("timers registered as new keep their order when namespaces are re-identified", () => {
    const t = service();
    for (const k of ["a", "b", "c"]) {
      t.setKey(k);
      t.s.registerNewEventTimeTimer("w", 20);
    }
    t.setKey("d");
    t.s.registerEventTimeTimer("w", 20);
    t.s.useNamespaceIdentity((ns) => `id:${ns}`);
    t.s.advanceWatermark(20);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20", "c/w@20", "d/w@20"]);
  });

  it("a time whose timers registered as new all fired takes new timers, which fire", () => {
    const t = service();
    t.s.registerNewEventTimeTimer("w", 20);
    t.setKey("b");
    t.s.registerNewEventTimeTimer("w", 20);
    t.s.advanceWatermark(20);
    assert.equal(t.s.numEventTimeTimers(), 0);
    t.setKey("c");
    t.s.registerEventTimeTimer("w", 20); // behind the watermark: fires with the next one
    t.setKey("d");
    t.s.registerNewEventTimeTimer("w", 20);
    assert.equal(t.s.numEventTimeTimers(), 2);
    t.s.advanceWatermark(21);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20", "c/w@20", "d/w@20"]);
    assert.equal(t.s.numEventTimeTimers(), 0);
  });

  it("a namespace emptied by deletes, registered again, can be deleted again", () => {
    const t = service();
    t.s.registerEventTimeTimer("w", 20);
    t.setKey("c");
    t.s.registerEventTimeTimer("v", 20); // keeps time 20 in the index
    t.setKey("a");
    t.s.deleteEventTimeTimer("w", 20); // (20, w) has no key left
    t.s.registerEventTimeTimer("w", 20);
    t.s.deleteEventTimeTimer("w", 20);
    assert.equal(t.s.numEventTimeTimers(), 1);
    t.s.advanceWatermark(20);
    assert.deepEqual(t.fired, ["c/v@20"]);
  });

  it("re-identifying namespaces with ids equal to the old ones keeps every timer", () => {
    // The queue remembers the slots it looked up last; after re-identifying they are the old
    // index's, and a timer put back must not land in them.
    const t = service();
    t.s.registerEventTimeTimer("w", 20);
    t.setKey("b");
    t.s.registerEventTimeTimer("w", 20);
    t.s.useNamespaceIdentity((ns) => ns);
    assert.equal(t.s.numEventTimeTimers(), 2);
    t.s.advanceWatermark(20);
    assert.deepEqual(t.fired, ["a/w@20", "b/w@20"]);
  });
});
