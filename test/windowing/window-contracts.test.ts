// The window contracts on their own (as Flink's TimeWindowTest and TriggerResult pin them) and
// as a user meets them: TimeWindow's start with offsets and negative timestamps, intersects,
// cover, equals and mergeWindows; the global window; the state namespace a custom assigner's
// windows get by default; what each TriggerResult does to a window; which triggers the operator
// may run inline; and the error a trigger that is not one gets.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type DataStream,
  EventTimeSessionWindows,
  EventTimeTrigger,
  GlobalWindows,
  InvalidArgumentError,
  type ProcessWindowFunction,
  PurgingTrigger,
  StreamExecutionEnvironment,
  type Trigger,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import {
  GlobalWindow,
  isEventTimeEndTrigger,
  isMergingAssigner,
  MAX_WINDOW_TIMESTAMP,
  type Window,
  WindowAssigner,
  TimeWindow,
  TriggerResult,
} from "../../src/runtime/operators/window/window-contracts.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

const w = (start: number, end: number) => new TimeWindow(start, end);

describe("TimeWindow", () => {
  it("holds [start, end): maxTimestamp is end - 1, toString names both ends", () => {
    assert.equal(w(0, 10).maxTimestamp(), 9);
    assert.equal(w(-10, -5).maxTimestamp(), -6);
    assert.equal(String(w(-3, 7)), "TimeWindow{start=-3, end=7}");
  });

  it("getWindowStartWithOffset: windows of 7 without an offset, [0, 7), [7, 14), and before 0", () => {
    const starts = [0, 1, 6, 7, 8, 13, 14, -1, -6, -7, -8, -14, -15].map((t) => [
      t,
      TimeWindow.getWindowStartWithOffset(t, 0, 7),
    ]);
    assert.deepEqual(starts, [
      [0, 0],
      [1, 0],
      [6, 0],
      [7, 7],
      [8, 7],
      [13, 7],
      [14, 14],
      [-1, -7],
      [-6, -7],
      [-7, -7],
      [-8, -14],
      [-14, -14],
      [-15, -21],
    ]);
  });

  it("getWindowStartWithOffset: an offset of 3 gives [-4, 3), [3, 10); one of -2 gives [-2, 5), [5, 12)", () => {
    const plus3 = [-5, -4, 0, 2, 3, 9, 10].map((t) => TimeWindow.getWindowStartWithOffset(t, 3, 7));
    assert.deepEqual(plus3, [-11, -4, -4, -4, 3, 3, 10]);
    const minus2 = [-3, -2, 0, 4, 5, 11, 12].map((t) => TimeWindow.getWindowStartWithOffset(t, -2, 7));
    assert.deepEqual(minus2, [-9, -2, -2, -2, 5, 5, 12]);
    // An offset larger than the window acts as its remainder (an hourly window at 15 minutes past).
    assert.equal(TimeWindow.getWindowStartWithOffset(3_600_000, 900_000, 3_600_000), 900_000);
    assert.equal(TimeWindow.getWindowStartWithOffset(899_999, 4_500_000, 3_600_000), -2_700_000);
  });

  it("intersects: windows that overlap or touch intersect, either way round; a gap of 1 does not", () => {
    const cases: Array<[TimeWindow, TimeWindow, boolean]> = [
      [w(0, 10), w(5, 15), true],
      [w(0, 10), w(10, 20), true],
      [w(10, 20), w(0, 10), true],
      [w(0, 10), w(2, 3), true],
      [w(0, 10), w(11, 20), false],
      [w(11, 20), w(0, 10), false],
      [w(-20, -11), w(-10, 0), false],
    ];
    for (const [a, b, expected] of cases) {
      assert.equal(a.intersects(b), expected, `${a} intersects ${b}`);
    }
  });

  it("so sessions exactly one gap apart are one session, as in Flink; one more and they are two", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(EventTimeSessionWindows.withGap(10))
        .process({
          process(key, ctx, elements, out) {
            const x = ctx.window;
            out.collect(`${key} [${x.start}, ${x.end}) ${elements.map((e) => e.v).join("+")}`);
          },
        } satisfies ProcessWindowFunction<Ev, string, string, TimeWindow>),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 0);
    h.processElement({ k: "a", v: 2 }, 10); // [10, 20) touches [0, 10)
    h.processElement({ k: "b", v: 1 }, 0);
    h.processElement({ k: "b", v: 2 }, 11); // [11, 21) leaves a gap after [0, 10)
    h.processWatermark(100);
    assert.deepEqual(h.values().sort(), ["a [0, 20) 1+2", "b [0, 10) 1", "b [11, 21) 2"]);
    await h.close();
  });

  it("cover is the smallest window around both", () => {
    assert.equal(String(w(5, 10).cover(w(0, 7))), "TimeWindow{start=0, end=10}");
    assert.equal(String(w(0, 7).cover(w(5, 10))), "TimeWindow{start=0, end=10}");
    assert.equal(String(w(0, 20).cover(w(5, 10))), "TimeWindow{start=0, end=20}");
  });

  it("equals: same start and end; not another start, another end, or a look-alike object", () => {
    assert.equal(w(0, 10).equals(w(0, 10)), true);
    assert.equal(w(0, 10).equals(w(1, 10)), false);
    assert.equal(w(0, 10).equals(w(0, 11)), false);
    assert.equal(w(0, 10).equals({ start: 0, end: 10 }), false);
    assert.equal(w(0, 10).equals(undefined), false);
  });

  it("mergeWindows: each group of overlapping or touching windows once, with its cover; lone windows never", () => {
    const calls: string[] = [];
    TimeWindow.mergeWindows(
      [w(40, 50), w(20, 30), w(5, 15), w(100, 110), w(0, 10), w(45, 60), w(15, 18), w(105, 120), w(70, 80)],
      (merged, result) =>
        calls.push(`${merged.map((x) => `${x.start}-${x.end}`).join(",")} => ${result.start}-${result.end}`),
    );
    assert.deepEqual(calls, [
      "0-10,5-15,15-18 => 0-18",
      "40-50,45-60 => 40-60",
      "100-110,105-120 => 100-120",
    ]);
  });

  it("mergeWindows: nothing to merge calls nothing, and an empty list is fine", () => {
    const calls: unknown[] = [];
    TimeWindow.mergeWindows([], (m) => calls.push(m));
    TimeWindow.mergeWindows([w(0, 10)], (m) => calls.push(m));
    TimeWindow.mergeWindows([w(20, 30), w(0, 10)], (m) => calls.push(m));
    assert.deepEqual(calls, []);
  });
});

describe("GlobalWindow", () => {
  it("is one instance, ends never, and prints as GlobalWindow", () => {
    assert.equal(GlobalWindow.get(), GlobalWindow.INSTANCE);
    assert.equal(GlobalWindow.get().maxTimestamp(), MAX_WINDOW_TIMESTAMP);
    assert.equal(String(GlobalWindow.get()), "GlobalWindow");
  });
});

/** A window of the user's own: the elements with one remainder of their value. */
class RemainderWindow implements Window {
  constructor(readonly remainder: number) {}
  maxTimestamp(): number {
    return MAX_WINDOW_TIMESTAMP;
  }
  toString(): string {
    return `RemainderWindow(${this.remainder})`;
  }
}

interface Ev {
  k: string;
  v: number;
}

/** Puts each element in the window of its value modulo `n` (processing time, no merging). */
class RemainderWindows extends WindowAssigner<Ev, RemainderWindow> {
  constructor(private readonly n: number) {
    super();
  }
  assignWindows(e: Ev): RemainderWindow[] {
    return [new RemainderWindow(e.v % this.n)];
  }
  getDefaultTrigger(): Trigger<Ev, RemainderWindow> {
    return CountTrigger.of(1) as unknown as Trigger<Ev, RemainderWindow>;
  }
  isEventTime(): boolean {
    return false;
  }
}

describe("WindowAssigner's default state namespace", () => {
  it("keeps a custom assigner's own windows apart (each window's contents its own)", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(new RemainderWindows(2))
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
    );
    await h.open();
    for (const v of [1, 2, 3, 4, 5]) h.processElement({ k: "a", v });
    // Odd values sum in one window (1, 4, 9), even ones in the other (2, 6).
    assert.deepEqual(
      h.values().map((e) => e.v),
      [1, 2, 4, 6, 9],
    );
    await h.close();
  });

  it("is one per window: start:end for a time window, 0 for the global window, the text otherwise", () => {
    // Window contents are stored under these namespaces in checkpoints and savepoints (session
    // windows use this default): another format would lose them when a savepoint is restored
    // by the next version.
    const a = new RemainderWindows(3);
    assert.equal(a.stateNamespace(w(-5, 10) as unknown as RemainderWindow), "-5:10");
    assert.equal(a.stateNamespace(GlobalWindow.get() as unknown as RemainderWindow), 0);
    assert.equal(a.stateNamespace(new RemainderWindow(2)), "RemainderWindow(2)");
    assert.equal(String(a), "RemainderWindows");
    assert.equal(isMergingAssigner(a), false);
  });
});

describe("TriggerResult", () => {
  it("CONTINUE neither fires nor purges, FIRE fires, PURGE purges, FIRE_AND_PURGE does both", () => {
    const table = [
      TriggerResult.CONTINUE,
      TriggerResult.FIRE,
      TriggerResult.PURGE,
      TriggerResult.FIRE_AND_PURGE,
    ].map((r) => `${r}: fire=${r.isFire()} purge=${r.isPurge()} (${r.fire}, ${r.purge})`);
    assert.deepEqual(table, [
      "CONTINUE: fire=false purge=false (false, false)",
      "FIRE: fire=true purge=false (true, false)",
      "PURGE: fire=false purge=true (false, true)",
      "FIRE_AND_PURGE: fire=true purge=true (true, true)",
    ]);
  });

  it("in a window: what each result does to its output and its contents", async () => {
    // A trigger that answers the result named by the element: the window is the global one.
    const byName: Trigger<Ev & { r: string }, GlobalWindow> = {
      onElement: (e) => (TriggerResult as unknown as Record<string, TriggerResult>)[e.r]!,
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear: () => {},
      toString: () => "ByName",
    };
    const h = KeyedOneInputHarness.of((s: DataStream<Ev & { r: string }>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(byName)
        .reduce((a, b) => ({ k: a.k, v: a.v + b.v, r: b.r })),
    );
    await h.open();
    const sums = () => h.values().map((e) => e.v);
    h.processElement({ k: "a", v: 1, r: "CONTINUE" });
    assert.deepEqual(sums(), [], "CONTINUE: no output");
    h.processElement({ k: "a", v: 2, r: "FIRE" });
    assert.deepEqual(sums(), [3], "FIRE: the contents so far");
    h.processElement({ k: "a", v: 4, r: "FIRE_AND_PURGE" });
    assert.deepEqual(sums(), [3, 7], "FIRE kept them; FIRE_AND_PURGE fires them all");
    h.processElement({ k: "a", v: 8, r: "FIRE" });
    assert.deepEqual(sums(), [3, 7, 8], "FIRE_AND_PURGE left nothing behind");
    h.processElement({ k: "a", v: 16, r: "PURGE" });
    assert.deepEqual(sums(), [3, 7, 8], "PURGE: no output");
    h.processElement({ k: "a", v: 32, r: "FIRE" });
    assert.deepEqual(sums(), [3, 7, 8, 32], "PURGE dropped the 8 and the 16");
    await h.close();
  });
});

describe("triggers the window operator runs inline", () => {
  it("only the event-time trigger itself: not its subclasses, other triggers or plain objects", () => {
    assert.equal(isEventTimeEndTrigger(EventTimeTrigger.create()), true);
    // One that overrides a method on top of an event-time trigger is a trigger of its own.
    const derived = Object.assign(Object.create(EventTimeTrigger.create()), {
      onElement: () => TriggerResult.FIRE,
    }) as Trigger<unknown, Window>;
    assert.equal(isEventTimeEndTrigger(derived), false);
    assert.equal(isEventTimeEndTrigger(CountTrigger.of(3)), false);
    assert.equal(isEventTimeEndTrigger(PurgingTrigger.of(EventTimeTrigger.create())), false);
    const plain = Object.create(null) as Trigger<unknown, Window>;
    assert.equal(isEventTimeEndTrigger(plain), false);
  });

  it("a count trigger on event-time windows is run, not taken for the end-of-window trigger", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .trigger(CountTrigger.of(2))
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 10);
    h.processElement({ k: "a", v: 2 }, 20);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }], "fired by the count");
    h.processElement({ k: "a", v: 4 }, 30);
    h.processWatermark(5_000);
    assert.deepEqual(h.values(), [{ k: "a", v: 3 }], "the window's end fires nothing by itself");
    await h.close();
  });
});

describe("a trigger that is not one", () => {
  const full = {
    onElement: () => TriggerResult.CONTINUE,
    onEventTime: () => TriggerResult.CONTINUE,
    onProcessingTime: () => TriggerResult.CONTINUE,
    clear: () => {},
  };
  const notTriggers: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a number", 100],
    ["a function", () => TriggerResult.FIRE],
    ["an empty object", {}],
    ["no onElement", { ...full, onElement: undefined }],
    ["no onEventTime", { ...full, onEventTime: undefined }],
    ["no onProcessingTime", { ...full, onProcessingTime: "later" }],
    ["no clear", { ...full, clear: undefined }],
  ];

  const needs = (where: string) =>
    `${where} needs a Trigger: an object with onElement, onEventTime, onProcessingTime and clear (e.g. CountTrigger.of(100))`;
  const windowed = () =>
    new StreamExecutionEnvironment({ parallelism: 1 })
      .fromCollection<Ev>([{ k: "a", v: 1 }])
      .keyBy((e) => e.k)
      .window(GlobalWindows.create());

  it("is refused by trigger() and PurgingTrigger.of(), saying what a trigger needs", () => {
    for (const [what, t] of notTriggers) {
      for (const [where, use] of [
        ["trigger()", () => windowed().trigger(t as never)],
        ["PurgingTrigger.of()", () => PurgingTrigger.of(t as never)],
      ] as const) {
        assert.throws(
          use,
          (e: unknown) => e instanceof InvalidArgumentError && e.message === needs(where),
          `${where} with ${what}`,
        );
      }
    }
  });

  it("an object with the four methods is one, even without toString or canMerge", () => {
    assert.doesNotThrow(() => windowed().trigger(full as never));
    assert.doesNotThrow(() => PurgingTrigger.of(full as never));
    const bare = Object.assign(Object.create(null), full);
    assert.doesNotThrow(() => PurgingTrigger.of(bare));
  });
});
