// Event-time windows end to end on out-of-order input: every window function, triggers,
// evictors, count windows, windowAll, allowed lateness with late firings and the late-data side
// output, and sessions bridged by a late-but-allowed element. Expected results worked out by hand.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ContinuousEventTimeTrigger,
  CountEvictor,
  CountTrigger,
  DeltaEvictor,
  EventTimeSessionWindows,
  GlobalWindows,
  OutputTag,
  PurgingTrigger,
  SlidingEventTimeWindows,
  StreamExecutionEnvironment,
  TimeEvictor,
  type TimeWindow,
  type Trigger,
  TriggerResult,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { type Ev, ev, punctuated } from "./helpers.ts";

const sumV = (a: Ev, b: Ev): Ev => ({ ...a, v: a.v + b.v });
const label = (key: unknown, w: TimeWindow, x: unknown) => `${String(key)}|${w.start}|${w.end}=${String(x)}`;
const sorted = (xs: readonly unknown[]) => xs.map(String).sort();

function env(p = 1) {
  return new StreamExecutionEnvironment({ parallelism: p, bufferTimeout: 0 });
}
function keyed(e: StreamExecutionEnvironment, events: Ev[], bound: number) {
  return e
    .fromCollection(events)
    .assignTimestampsAndWatermarks(punctuated<Ev>(bound))
    .setParallelism(1) // one watermark generator sees every event, in order
    .keyBy((x) => x.k);
}

// a: 1000, 5000, 3000 (late by 2 s, within the bound), 12000, 19999; b: 2000, 9999, 10000
const OOO = [
  ev("a", 1000, 1),
  ev("a", 5000, 2),
  ev("b", 2000, 10),
  ev("a", 12000, 4),
  ev("a", 3000, 8),
  ev("b", 9999, 20),
  ev("b", 10000, 30),
  ev("a", 19999, 16),
];

describe("event-time window functions on out-of-order input", () => {
  for (const p of [1, 2]) {
    it(`tumbling reduce, reduce + process, aggregate, process, apply (p=${p})`, async () => {
      const e = env(p);
      const s = keyed(e, OOO, 5000).window(TumblingEventTimeWindows.of(10_000));
      const reduced = s
        .reduce(sumV)
        .map((x) => `${x.k}=${x.v}`)
        .collect();
      const withWindow = s
        .reduce(sumV, { process: (key, ctx, els, out) => out.collect(label(key, ctx.window, els[0]!.v)) })
        .collect();
      const agg = s
        .aggregate({
          createAccumulator: () => ({ n: 0, sum: 0 }),
          add: (x, acc) => ({ n: acc.n + 1, sum: acc.sum + x.v }),
          getResult: (acc) => `${acc.sum}/${acc.n}`,
          merge: (a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum }),
        })
        .collect();
      const processed = s
        .process<string>({
          process: (key, ctx, els, out) =>
            out.collect(
              label(
                key,
                ctx.window,
                els
                  .map((x) => x.v)
                  .sort((a, b) => a - b)
                  .join(","),
              ),
            ),
        })
        .collect();
      const applied = s
        .apply<string>({ apply: (key, w, els, out) => out.collect(label(key, w, els.length)) })
        .collect();
      // The result's timestamp is the window's maxTimestamp.
      const stamps = s
        .sum("v")
        .process<string>({ processElement: (x, ctx, out) => out.collect(`${x.k}@${ctx.timestamp()}`) })
        .collect();
      await e.execute();
      assert.deepEqual(sorted(reduced.values), ["a=11", "a=20", "b=30", "b=30"]);
      assert.deepEqual(sorted(withWindow.values), [
        "a|0|10000=11",
        "a|10000|20000=20",
        "b|0|10000=30",
        "b|10000|20000=30",
      ]);
      assert.deepEqual(sorted(agg.values), ["11/3", "20/2", "30/1", "30/2"]);
      assert.deepEqual(sorted(processed.values), [
        "a|0|10000=1,2,8",
        "a|10000|20000=4,16",
        "b|0|10000=10,20",
        "b|10000|20000=30",
      ]);
      assert.deepEqual(sorted(applied.values), [
        "a|0|10000=3",
        "a|10000|20000=2",
        "b|0|10000=2",
        "b|10000|20000=1",
      ]);
      assert.deepEqual(sorted(stamps.values), ["a@19999", "a@9999", "b@19999", "b@9999"]);
    });
  }

  it("sliding aggregate + process (size 10 s, slide 5 s)", async () => {
    const e = env(2);
    const out = keyed(e, OOO, 5000)
      .window(SlidingEventTimeWindows.of(10_000, 5_000))
      .aggregate(
        {
          createAccumulator: () => 0,
          add: (x: Ev, a: number) => a + x.v,
          getResult: (a: number) => a,
          merge: (a: number, b: number) => a + b,
        },
        { process: (key, ctx, sums, o) => o.collect(label(key, ctx.window, sums[0])) },
      )
      .collect();
    await e.execute();
    assert.deepEqual(
      sorted(out.values),
      sorted([
        "a|-5000|5000=1", // 1000; 3000 comes when the watermark (6999) has passed this window
        "a|0|10000=11", // 1000 5000 3000
        "a|5000|15000=6", // 5000 12000
        "a|10000|20000=20", // 12000 19999
        "a|15000|25000=16",
        "b|-5000|5000=10",
        "b|0|10000=30",
        "b|5000|15000=50",
        "b|10000|20000=30",
      ]),
    );
  });

  it("sessions merge out of order; windowState is per window, globalState per key; clear() runs at cleanup", async () => {
    const e = env(2);
    const cleared: string[] = [];
    const count = new ValueStateDescriptor<number>("fired");
    // a: 1000, 7000, 2500 (joins the first), 5000 (bridges both) -> one session [1000, 10000)
    const events = [
      ev("a", 1000),
      ev("a", 7000),
      ev("b", 1000),
      ev("a", 2500),
      ev("a", 5000),
      ev("b", 9000),
      ev("c", 30000),
    ];
    const out = keyed(e, events, 10_000)
      .window(EventTimeSessionWindows.withGap(3000))
      .process<string>({
        process: (key, ctx, els, o) => {
          const g = ctx.globalState.getState(count);
          g.update((g.value() ?? 0) + 1);
          o.collect(`${label(key, ctx.window, els.length)} #${g.value()}`);
        },
        clear: (ctx) => void cleared.push(`${(ctx.window as TimeWindow).start}`),
      })
      .collect();
    await e.execute();
    assert.deepEqual(sorted(out.values), [
      "a|1000|10000=4 #1",
      "b|1000|4000=1 #1",
      "b|9000|12000=1 #2",
      "c|30000|33000=1 #1",
    ]);
    assert.deepEqual(sorted(cleared), ["1000", "1000", "30000", "9000"]);
  });

  it("per-window state survives late firings of the same window and is cleared with it", async () => {
    const e = env(1);
    const fired = new ValueStateDescriptor<number>("fired-in-window");
    const events = [
      ev("a", 1000, 1),
      ev("a", 12000, 2),
      ev("a", 3000, 4),
      ev("a", 5000, 8),
      ev("a", 40000, 16),
    ];
    const out = keyed(e, events, 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .allowedLateness(5000)
      .process<string>({
        process: (key, ctx, els, o) => {
          const w = ctx.windowState.getState(fired);
          w.update((w.value() ?? 0) + 1);
          o.collect(`${label(key, ctx.window, els.length)} firing ${w.value()}`);
        },
      })
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [
      "a|0|10000=1 firing 1", // watermark 11999
      "a|0|10000=2 firing 2", // late 3000, within lateness
      "a|0|10000=3 firing 3", // late 5000
      "a|10000|20000=1 firing 1",
      "a|40000|50000=1 firing 1",
    ]);
  });

  it("windowAll: one window over every key, at parallelism 1", async () => {
    const e = env(4);
    const out = e
      .fromCollection(OOO)
      .assignTimestampsAndWatermarks(punctuated<Ev>(5000))
      .setParallelism(1)
      .windowAll(TumblingEventTimeWindows.of(10_000))
      .process<string>({
        process: (ctx, els, o) =>
          o.collect(
            label(
              "all",
              ctx.window,
              els.reduce((s, x) => s + x.v, 0),
            ),
          ),
      })
      .collect();
    const summed = e
      .fromCollection(OOO)
      .assignTimestampsAndWatermarks(punctuated<Ev>(5000))
      .setParallelism(1)
      .windowAll(TumblingEventTimeWindows.of(10_000))
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, ["all|0|10000=41", "all|10000|20000=50"]);
    assert.deepEqual(summed.values, [41, 50]);
  });
});

describe("count windows", () => {
  const numbers = [1, 2, 3, 4, 5, 6, 7].map((v) => ev("a", v, v)).concat([ev("b", 0, 100), ev("b", 0, 200)]);

  it("countWindow(n): tumbling counts; an incomplete window is not emitted", async () => {
    const e = env(2);
    const out = e
      .fromCollection(numbers)
      .keyBy((x) => x.k)
      .countWindow(3)
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(sorted(out.values.map(String)), ["15", "6"]);
  });

  it("countWindow(n, s): the last n elements every s elements", async () => {
    const e = env(2);
    const out = e
      .fromCollection(numbers)
      .keyBy((x) => x.k)
      .countWindow(3, 2)
      .sum("v")
      .map((x) => `${x.k}=${x.v}`)
      .collect();
    await e.execute();
    // a: fires at 2 [1,2], 4 [2,3,4], 6 [4,5,6]; b: fires at 2 [100,200]
    assert.deepEqual(sorted(out.values), ["a=15", "a=3", "a=9", "b=300"]);
  });

  it("countWindowAll(n)", async () => {
    const e = env(2);
    const out = e
      .fromCollection([1, 2, 3, 4, 5])
      .countWindowAll(2)
      .reduce((a, b) => a + b)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [3, 7]);
  });
});

describe("triggers", () => {
  const stream = [ev("a", 0, 1), ev("a", 3500, 2), ev("a", 7000, 4), ev("a", 9500, 8)];

  it("ContinuousEventTimeTrigger fires every interval of event time and at the window's end", async () => {
    const e = env(1);
    const out = keyed(e, stream, 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .trigger(ContinuousEventTimeTrigger.of(3000))
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [3, 7, 15, 15]);
  });

  it("PurgingTrigger turns each firing into fire-and-purge", async () => {
    const e = env(1);
    const out = keyed(e, stream, 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .trigger(PurgingTrigger.of(ContinuousEventTimeTrigger.of(3000)))
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [3, 4, 8]);
  });

  it("CountTrigger replaces the event-time trigger (no firing at the window's end)", async () => {
    const e = env(1);
    const out = keyed(e, [ev("a", 1, 1), ev("a", 3, 2), ev("a", 2, 4), ev("a", 4, 8), ev("a", 5, 16)], 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .trigger(CountTrigger.of(2))
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [3, 15]);
  });

  it("CountTrigger on sessions: counts merge with the windows", async () => {
    const e = env(1);
    // [0,100) and [150,250) hold 1 element each; 90 bridges them: merged count 3 -> fires
    const out = keyed(e, [ev("a", 0, 1), ev("a", 150, 2), ev("a", 90, 4), ev("a", 1000, 8)], 10_000)
      .window(EventTimeSessionWindows.withGap(100))
      .trigger(CountTrigger.of(3))
      .sum("v")
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [7]);
  });

  it("a user Trigger: early fire-and-purge on a big element, with its own per-window state, then at the end", async () => {
    const e = env(1);
    const seen = new ValueStateDescriptor<number>("seen");
    const early: Trigger<Ev, TimeWindow> = {
      onElement(x, _t, w, ctx) {
        const s = ctx.getPartitionedState(seen);
        s.update((s.value() ?? 0) + 1);
        ctx.registerEventTimeTimer(w.maxTimestamp());
        return x.v >= 100 ? TriggerResult.FIRE_AND_PURGE : TriggerResult.CONTINUE;
      },
      onEventTime: (time, w) => (time === w.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE),
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear(w, ctx) {
        ctx.deleteEventTimeTimer(w.maxTimestamp());
        ctx.getPartitionedState(seen).clear();
      },
    };
    const out = keyed(e, [ev("a", 5, 1), ev("a", 1, 100), ev("a", 3, 5), ev("b", 2, 7), ev("a", 12000, 1)], 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .trigger(early)
      .process<string>({
        process: (k, ctx, els, o) => o.collect(label(k, ctx.window, els.map((x) => x.v).join("+"))),
      })
      .collect();
    await e.execute();
    assert.deepEqual(out.values, ["a|0|10000=1+100", "a|0|10000=5", "b|0|10000=7", "a|10000|20000=1"]);
  });
});

describe("evictors", () => {
  const run = async (
    evictor: Parameters<ReturnType<ReturnType<typeof keyed>["window"]>["evictor"]>[0],
    events: Ev[],
  ) => {
    const e = env(1);
    const out = keyed(e, events, 10_000)
      .window(TumblingEventTimeWindows.of(10_000))
      .evictor(evictor)
      .process<string>({ process: (_k, _c, els, o) => o.collect(els.map((x) => x.v).join(",")) })
      .collect();
    await e.execute();
    return out.values;
  };

  it("CountEvictor keeps the last n elements (arrival order)", async () => {
    assert.deepEqual(await run(CountEvictor.of(2), [ev("a", 5, 1), ev("a", 1, 2), ev("a", 3, 4)]), ["2,4"]);
  });

  it("TimeEvictor keeps the elements of the last n ms before the newest timestamp", async () => {
    const events = [
      ev("a", 1000, 1),
      ev("a", 5000, 2),
      ev("a", 4000, 4),
      ev("a", 2500, 8),
      ev("a", 3001, 16),
    ];
    assert.deepEqual(await run(TimeEvictor.of(2000), events), ["2,4,16"]);
  });

  it("DeltaEvictor removes elements too far from the last one", async () => {
    const events = [ev("a", 1, 1), ev("a", 2, 15), ev("a", 3, 20), ev("a", 4, 12)];
    assert.deepEqual(
      await run(
        DeltaEvictor.of(10, (a: Ev, b: Ev) => Math.abs(a.v - b.v)),
        events,
      ),
      ["15,20,12"],
    );
  });

  it("evicting after the function: the function sees everything, the next firing what was kept", async () => {
    const e = env(1);
    const out = e
      .fromCollection([1, 2, 3, 4].map((v) => ev("a", v, v)))
      .keyBy((x) => x.k)
      .window(GlobalWindows.create())
      .trigger(CountTrigger.of(2))
      .evictor(CountEvictor.of(1, true))
      .reduce(sumV)
      .map((x) => x.v)
      .collect();
    await e.execute();
    assert.deepEqual(out.values, [3, 9]);
  });

  it("reduce and aggregate with an evictor run over what the evictor left", async () => {
    const e = env(1);
    const events = [ev("a", 5, 1), ev("a", 1, 2), ev("a", 3, 4)];
    const reduced = keyed(e, events, 100)
      .window(TumblingEventTimeWindows.of(10_000))
      .evictor(CountEvictor.of(2))
      .reduce(sumV)
      .map((x) => x.v)
      .collect();
    const aggregated = keyed(e, events, 100)
      .window(TumblingEventTimeWindows.of(10_000))
      .evictor(CountEvictor.of(1))
      .aggregate({
        createAccumulator: () => 0,
        add: (x: Ev, a: number) => a + x.v,
        getResult: (a: number) => a,
      })
      .collect();
    await e.execute();
    assert.deepEqual(reduced.values, [6]);
    assert.deepEqual(aggregated.values, [4]);
  });
});

describe("allowed lateness and late data", () => {
  it("late-but-allowed elements fire the window again; later ones go to the side output", async () => {
    const e = env(2);
    const late = new OutputTag<Ev>("late");
    const events = [
      ev("a", 1000, 1),
      ev("a", 2000, 2),
      ev("a", 12000, 4),
      ev("a", 3000, 8),
      ev("a", 16000, 16),
      ev("a", 4000, 32),
      ev("b", 100, 64),
    ];
    const main = keyed(e, events, 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .allowedLateness(5000)
      .sideOutputLateData(late)
      .reduce(sumV, { process: (k, ctx, s, o) => o.collect(label(k, ctx.window, s[0]!.v)) });
    const out = main.collect();
    const side = main
      .getSideOutput(late)
      .map((x) => `${x.k}@${x.t}`)
      .collect();
    const r = await e.execute();
    assert.deepEqual(sorted(out.values), sorted(["a|0|10000=3", "a|0|10000=11", "a|10000|20000=20"]));
    assert.deepEqual(sorted(side.values), ["a@4000", "b@100"]);
    assert.equal(r.getAccumulatorResult("numLateRecordsDropped"), 0);
  });

  it("without a side output, dropped late elements are counted in numLateRecordsDropped", async () => {
    const e = env(2);
    const events = [ev("a", 1000, 1), ev("a", 12000, 4), ev("a", 3000, 8), ev("b", 5, 1), ev("a", 9999, 1)];
    const out = keyed(e, events, 0)
      .window(TumblingEventTimeWindows.of(10_000))
      .sum("v")
      .map((x) => x.v)
      .collect();
    const r = await e.execute();
    assert.deepEqual(sorted(out.values.map(String)), ["1", "4"]);
    assert.equal(r.getAccumulatorResult("numLateRecordsDropped"), 3);
  });

  it("sessions: a late-but-allowed element bridges two fired sessions into one, which fires again", async () => {
    const e = env(2);
    const late = new OutputTag<Ev>("late");
    // a@1000 -> [1000,4000); a@6000 -> [6000,9000), watermark 5999 fires the first;
    // b@12000: watermark 11999 fires [6000,9000); a@3500 (late, within 10 s lateness) opens
    // [3500,6500), which bridges both into [1000,9000): a late firing with all three elements.
    // a@-20000 is beyond the lateness: side output.
    const events = [
      ev("a", 1000, 1),
      ev("a", 6000, 2),
      ev("b", 12000, 4),
      ev("a", 3500, 8),
      ev("a", -20000, 16),
    ];
    const main = keyed(e, events, 0)
      .window(EventTimeSessionWindows.withGap(3000))
      .allowedLateness(10_000)
      .sideOutputLateData(late)
      .process<string>({
        process: (k, ctx, els, o) =>
          o.collect(
            label(
              k,
              ctx.window,
              els
                .map((x) => x.v)
                .sort((x, y) => x - y)
                .join("+"),
            ),
          ),
      });
    const out = main.collect();
    const side = main
      .getSideOutput(late)
      .map((x) => x.t)
      .collect();
    const r = await e.execute();
    assert.deepEqual(
      sorted(out.values),
      sorted(["a|1000|4000=1", "a|6000|9000=2", "a|1000|9000=1+2+8", "b|12000|15000=4"]),
    );
    assert.deepEqual(side.values, [-20000]);
    assert.equal(r.getAccumulatorResult("numLateRecordsDropped"), 0);
  });
});
