// Window functions with state of their own: an evicting window whose function uses the context's
// global state writes what the evictor kept back to the window's contents (not to the namespace
// the function's state access left current), and per-window state (context.windowState) goes with
// the window at its cleanup time. Found by mutation testing of window-operator.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountEvictor,
  CountTrigger,
  type DataStream,
  GlobalWindows,
  TumblingEventTimeWindows,
  type TimeWindow,
  type GlobalWindow,
  type ProcessWindowFunction,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

/** Emits "firing n: values", counting its firings per key in global state. */
const numbered: ProcessWindowFunction<Ev, string, string, GlobalWindow> = {
  process(_key, ctx, elements, out) {
    const firings = ctx.globalState.getState(new ValueStateDescriptor<number>("firings"));
    const n = (firings.value() ?? 0) + 1;
    firings.update(n);
    out.collect(`firing ${n}: ${elements.map((e) => e.v).join(",")}`);
  },
};

describe("window operator: evictor and function state", () => {
  it("keeps what the evictor left after the function used its global state", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(CountTrigger.of(2))
        .evictor(CountEvictor.of(1, true)) // after the function: keep the last element
        .process(numbered),
    );
    await h.open();
    for (const v of [1, 2, 3, 4]) h.processElement({ k: "a", v }, v);
    assert.deepEqual(h.values(), ["firing 1: 1,2", "firing 2: 2,3,4"]);
    await h.close();
  });
});

describe("window operator: per-window function state", () => {
  /** Counts its firings per window in per-window state. */
  const perWindow: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
    process(_key, ctx, elements, out) {
      const firings = ctx.windowState.getState(new ValueStateDescriptor<number>("firings"));
      const n = (firings.value() ?? 0) + 1;
      firings.update(n);
      out.collect(`[${ctx.window.start}] firing ${n}: ${elements.length}`);
    },
  };

  it("is kept across a window's firings and cleared at its cleanup time", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .allowedLateness(500)
        .process(perWindow),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 100);
    h.processWatermark(999);
    h.processElement({ k: "a", v: 2 }, 200); // late but allowed: fires again
    assert.deepEqual(h.values(), ["[0] firing 1: 1", "[0] firing 2: 2"]);
    h.processWatermark(1_499); // cleanup time
    assert.equal(h.numKeyedStateEntries(), 0, "the window's contents and its function's state are gone");
    await h.close();
  });

  it("without allowed lateness, a reduced window's function state goes when it fires", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1_000))
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }), {
          process(_key, ctx, elements, out) {
            const firings = ctx.windowState.getState(new ValueStateDescriptor<number>("firings"));
            firings.update((firings.value() ?? 0) + 1);
            out.collect(`[${ctx.window.start}] ${elements[0]!.v}`);
          },
        } satisfies ProcessWindowFunction<Ev, string, string, TimeWindow>),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 100);
    h.processElement({ k: "a", v: 2 }, 200);
    h.processWatermark(999); // the window's one timer: fire and remove at once
    assert.deepEqual(h.values(), ["[0] 3"]);
    assert.equal(h.numKeyedStateEntries(), 0, "the window's contents and its function's state are gone");
    await h.close();
  });
});
