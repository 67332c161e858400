// The window operator's default event-time trigger knows a window's timers exist when an add
// found its reduced or aggregated contents there; list contents (a ProcessWindowFunction, or any
// function with an evictor) cannot tell, so each element's timers are looked up: an element of a
// window that has elements must not register its end and cleanup timers again, or the window
// fires once per element at its end. Reduced and aggregated contents fire and go at once at the
// window's end (the heap backend hands them over and removes them in one lookup, the embedded one
// reads, then clears): on both backends the window's contents are gone after it fired. Found by
// mutation testing of window-contents.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type AggregateFunction,
  CountEvictor,
  type DataStream,
  type ProcessWindowFunction,
  type TimeWindow,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

const listing: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
  process: (key, ctx, elements, out) =>
    out.collect(`${key}@${ctx.window.start}: ${elements.map((e) => e.v).join(",")}`),
};

for (const evicting of [false, true]) {
  describe(`list window contents${evicting ? " with an evictor" : ""}: one set of timers per window`, () => {
    for (const lateness of [0, 500]) {
      it(`fires each window once at its end (allowed lateness ${lateness})`, async () => {
        const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
          const w = s
            .keyBy((e) => e.k)
            .window(TumblingEventTimeWindows.of(1_000))
            .allowedLateness(lateness);
          return (evicting ? w.evictor(CountEvictor.of<Ev>(1_000)) : w).process(listing);
        });
        await h.open();
        // Interleaved keys and windows, so no registration repeats the one just before it.
        h.processElement({ k: "a", v: 1 }, 100);
        h.processElement({ k: "b", v: 2 }, 150);
        h.processElement({ k: "a", v: 3 }, 1_100);
        h.processElement({ k: "a", v: 4 }, 200);
        h.processElement({ k: "b", v: 5 }, 250);
        h.processElement({ k: "a", v: 6 }, 300);
        const timers = lateness === 0 ? 3 : 6; // (a, [0,1000)), (b, [0,1000)), (a, [1000,2000))
        assert.equal(h.numEventTimeTimers(), timers, "each window's end (and cleanup) timer, once");
        h.processWatermark(999);
        assert.deepEqual(h.values().sort(), ["a@0: 1,4,6", "b@0: 2,5"]);
        h.processWatermark(1_999);
        assert.deepEqual(h.values().sort(), ["a@0: 1,4,6", "a@1000: 3", "b@0: 2,5"]);
        h.processWatermark(3_000);
        assert.equal(h.values().length, 3);
        assert.equal(h.numEventTimeTimers(), 0);
        assert.equal(h.numKeyedStateEntries(), 0);
        await h.close();
      });
    }
  });
}

const sum: AggregateFunction<Ev, number, number> = {
  createAccumulator: () => 0,
  add: (e, acc) => acc + e.v,
  getResult: (acc) => acc,
};

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`reduced and aggregated window contents (${stateBackend})`, () => {
    for (const contents of ["reduce", "aggregate"] as const) {
      for (const lateness of [0, 500]) {
        it(`${contents}: fires each window once at its end and removes its contents (allowed lateness ${lateness})`, async () => {
          const h = KeyedOneInputHarness.of(
            (s: DataStream<Ev>) => {
              const w = s
                .keyBy((e) => e.k)
                .window(TumblingEventTimeWindows.of(1_000))
                .allowedLateness(lateness);
              return contents === "reduce"
                ? w.reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }), listing)
                : w.aggregate(sum, {
                    process: (key, ctx, sums, out) =>
                      out.collect(`${key}@${ctx.window.start}: ${sums.join(",")}`),
                  } satisfies ProcessWindowFunction<number, string, string, TimeWindow>);
            },
            { stateBackend },
          );
          await h.open();
          h.processElement({ k: "a", v: 1 }, 100);
          h.processElement({ k: "b", v: 2 }, 150);
          h.processElement({ k: "a", v: 3 }, 1_100);
          h.processElement({ k: "a", v: 4 }, 200);
          assert.equal(
            h.numEventTimeTimers(),
            lateness === 0 ? 3 : 6,
            "each window's end (and cleanup) timer, once",
          );
          h.processWatermark(999);
          assert.deepEqual(h.values().sort(), ["a@0: 5", "b@0: 2"]);
          // without lateness the window's contents go as it fires; with it, at its cleanup time
          assert.equal(h.numKeyedStateEntries(), lateness === 0 ? 1 : 3);
          h.processElement({ k: "a", v: 5 }, 1_200);
          h.processWatermark(1_999);
          assert.deepEqual(h.values().sort(), ["a@0: 5", "a@1000: 8", "b@0: 2"]);
          h.processWatermark(3_000);
          assert.equal(h.values().length, 3);
          assert.equal(h.numKeyedStateEntries(), 0);
          assert.equal(h.numEventTimeTimers(), 0);
          await h.close();
        });
      }
    }
  });
}
