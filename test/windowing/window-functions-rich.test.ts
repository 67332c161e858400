// The window operator's user functions, through the harness: a reduce function, an
// AggregateFunction or a window function that has only open() or only close() is still opened and
// closed (a rich function is one with either), with or without an evictor (whose path reduces or
// aggregates when the window fires), the reduce/aggregate function first; and a reduce over a
// window whose evictor removed every element emits nothing. Found by mutation testing of
// window-functions.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type AggregateFunction,
  CountEvictor,
  type DataStream,
  type Evictor,
  type GlobalWindow,
  GlobalWindows,
  type ProcessWindowFunction,
  type ReduceFunction,
  type TimeWindow,
  type Trigger,
  TriggerResult,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

/** A reduce function (sum) with only the lifecycle methods named, each logging to `calls`. */
function reducer(
  calls: string[],
  name: string,
  methods: ReadonlyArray<"open" | "close">,
): ReduceFunction<Ev> {
  const f: ReduceFunction<Ev> = { reduce: (a, b) => ({ k: a.k, v: a.v + b.v }) };
  if (methods.includes("open")) f.open = () => void calls.push(`${name} open`);
  if (methods.includes("close")) f.close = () => void calls.push(`${name} close`);
  return f;
}

/** An AggregateFunction (sum) with only the lifecycle methods named, each logging to `calls`. */
function summer(
  calls: string[],
  name: string,
  methods: ReadonlyArray<"open" | "close">,
): AggregateFunction<Ev, number, number> & { open?: () => void; close?: () => void } {
  const f: AggregateFunction<Ev, number, number> & { open?: () => void; close?: () => void } = {
    createAccumulator: () => 0,
    add: (e, acc) => acc + e.v,
    getResult: (acc) => acc,
  };
  if (methods.includes("open")) f.open = () => void calls.push(`${name} open`);
  if (methods.includes("close")) f.close = () => void calls.push(`${name} close`);
  return f;
}

/** Passes the one pre-aggregated value on as text, with only the lifecycle methods named. */
function describer<V>(
  calls: string[],
  methods: ReadonlyArray<"open" | "close">,
  text: (v: V) => string,
): ProcessWindowFunction<V, string, string, TimeWindow> {
  const f: ProcessWindowFunction<V, string, string, TimeWindow> = {
    process: (key, ctx, elements, out) =>
      out.collect(`${key}@${ctx.window.start}: ${elements.map(text).join(",")}`),
  };
  if (methods.includes("open")) f.open = () => void calls.push("process open");
  if (methods.includes("close")) f.close = () => void calls.push("process close");
  return f;
}

const sumEv = (e: Ev): string => String(e.v);
const num = (n: number): string => String(n);

/** Pushes two elements of key "a" into window [0, 1000), fires it, closes: the output. */
async function run(h: KeyedOneInputHarness<string, Ev, unknown>): Promise<unknown[]> {
  await h.open();
  h.processElement({ k: "a", v: 1 }, 100);
  h.processElement({ k: "a", v: 2 }, 200);
  h.processWatermark(999);
  const out = h.values();
  await h.close();
  return out;
}

const windowed = (s: DataStream<Ev>) => s.keyBy((e) => e.k).window(TumblingEventTimeWindows.of(1_000));
/** Keeps every element (an evictor that evicts nothing): the operator's evicting path. */
const keepAll = CountEvictor.of<Ev>(1_000);

for (const evicting of [false, true]) {
  const path = evicting ? "with an evictor" : "without an evictor";

  describe(`window functions' open and close, ${path}`, () => {
    for (const only of ["open", "close"] as const) {
      it(`a reduce function with only ${only}() gets it called`, async () => {
        const calls: string[] = [];
        const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
          const w = windowed(s);
          return (evicting ? w.evictor(keepAll) : w).reduce(reducer(calls, "reduce", [only]));
        });
        assert.deepEqual(await run(h), [{ k: "a", v: 3 }]);
        assert.deepEqual(calls, [`reduce ${only}`]);
      });

      it(`an AggregateFunction with only ${only}() gets it called`, async () => {
        const calls: string[] = [];
        const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
          const w = windowed(s);
          return (evicting ? w.evictor(keepAll) : w).aggregate(summer(calls, "aggregate", [only]));
        });
        assert.deepEqual(await run(h), [3]);
        assert.deepEqual(calls, [`aggregate ${only}`]);
      });

      it(`a ProcessWindowFunction with only ${only}() after a reduce gets it called`, async () => {
        const calls: string[] = [];
        const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
          const w = windowed(s);
          return (evicting ? w.evictor(keepAll) : w).reduce(
            reducer(calls, "reduce", []),
            describer<Ev>(calls, [only], sumEv),
          );
        });
        assert.deepEqual(await run(h), ["a@0: 3"]);
        assert.deepEqual(calls, [`process ${only}`]);
      });
    }

    it("opens the reduce function before the window function, and closes them in the same order", async () => {
      const calls: string[] = [];
      const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
        const w = windowed(s);
        return (evicting ? w.evictor(keepAll) : w).reduce(
          reducer(calls, "reduce", ["open", "close"]),
          describer<Ev>(calls, ["open", "close"], sumEv),
        );
      });
      assert.deepEqual(await run(h), ["a@0: 3"]);
      assert.deepEqual(calls, ["reduce open", "process open", "reduce close", "process close"]);
    });

    it("opens the AggregateFunction before the window function, and closes them in the same order", async () => {
      const calls: string[] = [];
      const h = KeyedOneInputHarness.of((s: DataStream<Ev>) => {
        const w = windowed(s);
        return (evicting ? w.evictor(keepAll) : w).aggregate(
          summer(calls, "aggregate", ["open", "close"]),
          describer<number>(calls, ["open", "close"], num),
        );
      });
      assert.deepEqual(await run(h), ["a@0: 3"]);
      assert.deepEqual(calls, ["aggregate open", "process open", "aggregate close", "process close"]);
    });
  });
}

describe("a reduce over the elements an evictor left", () => {
  /** Removes every element before the function runs. */
  const evictAll: Evictor<Ev, GlobalWindow> = {
    evictBefore: (elements) => void elements.splice(0),
    evictAfter: () => {},
    toString: () => "EvictAll",
  };
  const fireOnEach: Trigger<Ev, GlobalWindow> = {
    onElement: () => TriggerResult.FIRE,
    onEventTime: () => TriggerResult.CONTINUE,
    onProcessingTime: () => TriggerResult.CONTINUE,
    clear: () => {},
    toString: () => "FireOnEach",
  };

  it("emits nothing when the evictor left no element", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(fireOnEach)
        .evictor(evictAll)
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v })),
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }, 1);
    h.processElement({ k: "a", v: 2 }, 2);
    assert.deepEqual(h.values(), []);
    await h.close();
  });

  it("reduces exactly the elements the evictor left, in order", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(fireOnEach)
        .evictor(CountEvictor.of(3))
        .reduce((a: Ev, b: Ev) => ({ k: a.k, v: a.v * 10 + b.v })),
    );
    await h.open();
    for (const v of [1, 2, 3, 4]) h.processElement({ k: "a", v }, v);
    assert.deepEqual(
      h.values().map((e) => (e as Ev).v),
      [1, 12, 123, 234],
    );
    await h.close();
  });
});
