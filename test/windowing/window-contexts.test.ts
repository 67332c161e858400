// The contexts the window operator hands to user code, through the harness: a window function's
// per-window and global state stores refuse a state name reused with another kind of state (the
// check also on the store's second request, whose handle is cached). Found by mutation testing of
// window-contexts.ts. Map, reducing and aggregating state work per window and per key alike,
// and the per-window ones go with the window; with merging (session) windows per-window state
// is refused, saying what to use instead. A merging trigger's state merges right after a
// restore, before this operator instance asked for it (the trigger context registers it first:
// a backend skips a merge of a state it does not know). A trigger that moves its timer with each element ("fire 10 ms after the
// latest element", in event and processing time) deletes the one it registered before, so only
// the latest fires; a trigger, an evictor and a window function read the operator's processing
// time and watermark from their contexts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AggregatingStateDescriptor,
  CountTrigger,
  type DataStream,
  EventTimeSessionWindows,
  type Evictor,
  type GlobalWindow,
  GlobalWindows,
  ListStateDescriptor,
  MapStateDescriptor,
  type ProcessWindowFunction,
  ReducingStateDescriptor,
  type TimeWindow,
  type Trigger,
  TriggerResult,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

describe("window function state stores", () => {
  for (const store of ["windowState", "globalState"] as const) {
    it(`${store}: a name first used as value state cannot be had as list state`, async () => {
      const errors: string[] = [];
      const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
        process(key, ctx, elements, out) {
          const states = ctx[store];
          const seen = states.getState(new ValueStateDescriptor<number>("seen"));
          seen.update((seen.value() ?? 0) + elements.length);
          try {
            states.getListState(new ListStateDescriptor<number>("seen"));
          } catch (e) {
            errors.push((e as Error).message);
          }
          out.collect(`${key}: ${seen.value()}`);
        },
      };
      const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(TumblingEventTimeWindows.of(1_000))
          .process(fn),
      );
      await h.open();
      h.processElement({ k: "a", v: 1 }, 100);
      h.processElement({ k: "a", v: 2 }, 1_100);
      h.processWatermark(1_999);
      // globalState counts over both windows, windowState each window alone
      assert.deepEqual(h.values(), store === "globalState" ? ["a: 1", "a: 2"] : ["a: 1", "a: 1"]);
      assert.equal(errors.length, 2, "each firing's second request is refused");
      for (const m of errors)
        assert.match(m, /state 'seen' is registered as .*value.* and is now requested as .*list/);
      await h.close();
    });
  }
});

/** Fires (and purges) `delay` ms after the window's latest element, in event or processing time. */
function timeoutTrigger(domain: "event" | "processing", delay: number): Trigger<Ev, GlobalWindow> {
  const due = new ValueStateDescriptor<number>("due");
  return {
    onElement(_e, timestamp, _w, ctx) {
      const state = ctx.getPartitionedState(due);
      const previous = state.value();
      const at = (domain === "event" ? timestamp : ctx.getCurrentProcessingTime()) + delay;
      if (previous !== undefined) {
        if (domain === "event") ctx.deleteEventTimeTimer(previous);
        else ctx.deleteProcessingTimeTimer(previous);
      }
      if (domain === "event") ctx.registerEventTimeTimer(at);
      else ctx.registerProcessingTimeTimer(at);
      state.update(at);
      return TriggerResult.CONTINUE;
    },
    onEventTime: (time, _w, ctx) =>
      domain === "event" && time === ctx.getPartitionedState(due).value()
        ? TriggerResult.FIRE_AND_PURGE
        : TriggerResult.CONTINUE,
    onProcessingTime: (time, _w, ctx) =>
      domain === "processing" && time === ctx.getPartitionedState(due).value()
        ? TriggerResult.FIRE_AND_PURGE
        : TriggerResult.CONTINUE,
    clear: (_w, ctx) => ctx.getPartitionedState(due).clear(),
    toString: () => `Timeout(${domain}, ${delay})`,
  };
}

describe("trigger context: deleting timers", () => {
  for (const domain of ["event", "processing"] as const) {
    it(`a ${domain}-time timeout moved by each element fires once, at the latest element + 10`, async () => {
      const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(GlobalWindows.create())
          .trigger(timeoutTrigger(domain, 10))
          .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
      );
      await h.open();
      const timers = () => (domain === "event" ? h.numEventTimeTimers() : h.numProcessingTimeTimers());
      const advance = (t: number) => (domain === "event" ? h.processWatermark(t) : h.setProcessingTime(t));
      h.processElement({ k: "a", v: 1 }, 1); // due at 11
      advance(5);
      h.processElement({ k: "a", v: 2 }, 5); // due at 15 (in event time: 5 + 10)
      assert.equal(timers(), 1, "the timer at 11 was deleted");
      advance(11);
      assert.deepEqual(h.values(), [], "nothing at the deleted timer");
      advance(15);
      assert.deepEqual(h.values(), [{ k: "a", v: 3 }]);
      assert.equal(timers(), 0);
      await h.close();
    });
  }
});

describe("contexts: processing time and watermark", () => {
  it("a trigger, an evictor and a window function see the operator's processing time and watermark", async () => {
    const seen: string[] = [];
    const trigger: Trigger<Ev, GlobalWindow> = {
      onElement(_e, _t, _w, ctx) {
        seen.push(`trigger ${ctx.getCurrentProcessingTime()} ${ctx.getCurrentWatermark()}`);
        return TriggerResult.FIRE;
      },
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear: () => {},
      toString: () => "FireOnEach",
    };
    const evictor: Evictor<Ev, GlobalWindow> = {
      evictBefore: (_els, _n, _w, ctx) =>
        void seen.push(`evictor ${ctx.getCurrentProcessingTime()} ${ctx.getCurrentWatermark()}`),
      evictAfter: () => {},
      toString: () => "Watching",
    };
    const fn: ProcessWindowFunction<Ev, string, string, GlobalWindow> = {
      process(_k, ctx, elements, out) {
        seen.push(`process ${ctx.currentProcessingTime()} ${ctx.currentWatermark()}`);
        out.collect(String(elements.length));
      },
    };
    const h = KeyedOneInputHarness.of(
      (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(GlobalWindows.create())
          .trigger(trigger)
          .evictor(evictor)
          .process(fn),
      { processingTime: 1_000 },
    );
    await h.open();
    h.processWatermark(42);
    h.setProcessingTime(1_234);
    h.processElement({ k: "a", v: 1 }, 50);
    assert.deepEqual(seen, ["trigger 1234 42", "evictor 1234 42", "process 1234 42"]);
    assert.deepEqual(h.values(), ["1"]);
    await h.close();
  });
});

describe("window function state stores: every kind of state", () => {
  it("map, reducing and aggregating state, per window and per key, the per-window ones gone with the window", async () => {
    const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        const parts: string[] = [];
        for (const store of ["windowState", "globalState"] as const) {
          const states = ctx[store];
          const byValue = states.getMapState(new MapStateDescriptor<number, number>("byValue"));
          const total = states.getReducingState(
            new ReducingStateDescriptor<number>("total", (a, b) => a + b),
          );
          const count = states.getAggregatingState(
            new AggregatingStateDescriptor<Ev, number, string>("count", {
              createAccumulator: () => 0,
              add: (_e, n) => n + 1,
              getResult: (n) => `#${n}`,
            }),
          );
          for (const e of elements) {
            byValue.put(e.v, (byValue.get(e.v) ?? 0) + 1);
            total.add(e.v);
            count.add(e);
          }
          parts.push(`${store} ${[...byValue.keys()].sort().join("/")} ${total.get()} ${count.get()}`);
        }
        out.collect(`${key}@${ctx.window.start}: ${parts.join("; ")}`);
      },
    };
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .process(fn),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 100);
    h.processElement({ k: "a", v: 2 }, 200);
    h.processElement({ k: "a", v: 3 }, 1_100);
    h.processWatermark(1_999);
    assert.deepEqual(h.values(), [
      "a@0: windowState 1/2 3 #2; globalState 1/2 3 #2",
      "a@1000: windowState 3 3 #1; globalState 1/2/3 6 #3",
    ]);
    for (const name of ["byValue", "total", "count"]) {
      assert.equal(h.numKeyedStateEntries(name), 1, `only the global ${name} is left (one per key)`);
    }
    await h.close();
  });
});

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`trigger context: merging trigger state after a restore (${stateBackend})`, () => {
    it("a count trigger counts the elements of two restored sessions an element bridges", async () => {
      const build = (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(EventTimeSessionWindows.withGap(2_500))
          .trigger(CountTrigger.of(3))
          .process({
            process: (key, ctx, elements, out) =>
              out.collect(
                `${key} [${ctx.window.start},${ctx.window.end}) ${elements.map((e) => e.v).join(",")}`,
              ),
          } satisfies ProcessWindowFunction<Ev, string, string, TimeWindow>);
      const h = KeyedOneInputHarness.of(build, { stateBackend });
      await h.open();
      h.processElement({ k: "a", v: 1 }, 1_000); // [1000, 3500), count 1
      h.processElement({ k: "a", v: 2 }, 5_000); // [5000, 7500), count 1
      const snapshot = await h.snapshot();
      await h.close();

      const restored = KeyedOneInputHarness.of(build, { stateBackend });
      await restored.initializeState(snapshot);
      await restored.open();
      restored.processElement({ k: "a", v: 3 }, 3_000); // bridges both: one session of 3 elements
      assert.deepEqual(restored.values(), ["a [1000,7500) 1,2,3"]);
      await restored.close();
    });
  });
}

describe("window function state stores with merging windows", () => {
  it("refuses per-window state, naming the stores to use instead", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(EventTimeSessionWindows.withGap(1_000))
        .process({
          process(key, ctx, elements, out) {
            ctx.windowState.getState(new ValueStateDescriptor<number>("n")).update(elements.length);
            out.collect(key);
          },
        } satisfies ProcessWindowFunction<Ev, string, string, TimeWindow>),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 100);
    assert.throws(
      () => h.processWatermark(2_000),
      /per-window state \(context\.windowState\) is not available with merging \(session\) windows.*globalState/,
    );
    assert.deepEqual(h.values(), []);
  });
});
