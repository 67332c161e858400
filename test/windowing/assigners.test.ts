// Window assigners in isolation (window starts with offsets and negative timestamps, sliding
// windows, session merging) and the bad input refused when a windowed job is built or run.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  EventTimeSessionWindows,
  GlobalWindow,
  GlobalWindows,
  InvalidArgumentError,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  StreamExecutionEnvironment,
  Time,
  TimeWindow,
  TriggerResult,
  TumblingEventTimeWindows,
  type Window,
  TumblingProcessingTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import { type Ev, ev, punctuated, windowStart } from "./helpers.ts";

const ctx = (now: number) => ({ getCurrentProcessingTime: () => now });
const ids = (ws: Window[]) => ws.map((w) => (w instanceof TimeWindow ? `${w.start}..${w.end}` : String(w)));

describe("window assigners", () => {
  it("Time helpers are milliseconds", () => {
    assert.equal(Time.milliseconds(5), 5);
    assert.equal(Time.seconds(10), 10_000);
    assert.equal(Time.minutes(2), 120_000);
    assert.equal(Time.hours(1), 3_600_000);
  });

  it("TimeWindow: maxTimestamp is end - 1; window starts are correct for negative timestamps and offsets", () => {
    assert.equal(new TimeWindow(0, 10).maxTimestamp(), 9);
    for (const [t, off, size] of [
      [-1, 0, 10_000],
      [-10_000, 0, 10_000],
      [-10_001, 0, 10_000],
      [0, 0, 10_000],
      [9_999, 0, 10_000],
      [1_000, 2_000, 10_000],
      [2_000, 2_000, 10_000],
      [-5, -3, 7],
      [123_456, 789, 1_000],
    ] as const) {
      assert.equal(
        TimeWindow.getWindowStartWithOffset(t, off, size),
        windowStart(t, size, off),
        `t=${t} off=${off}`,
      );
    }
    assert.equal(TimeWindow.getWindowStartWithOffset(-1, 0, 10_000), -10_000);
  });

  it("tumbling event time: one window per element, offset shifts it", () => {
    const a = TumblingEventTimeWindows.of(10_000);
    assert.deepEqual(ids(a.assignWindows(null, 15_000, ctx(0))), ["10000..20000"]);
    assert.deepEqual(ids(a.assignWindows(null, -1, ctx(0))), ["-10000..0"]);
    const o = TumblingEventTimeWindows.of(10_000, 2_000);
    assert.deepEqual(ids(o.assignWindows(null, 1_000, ctx(0))), ["-8000..2000"]);
    assert.deepEqual(ids(o.assignWindows(null, 2_000, ctx(0))), ["2000..12000"]);
    assert.equal(a.isEventTime(), true);
    assert.equal(String(a.getDefaultTrigger()), "EventTimeTrigger()");
  });

  it("tumbling processing time uses the clock, not the element timestamp", () => {
    const a = TumblingProcessingTimeWindows.of(1_000);
    assert.deepEqual(ids(a.assignWindows(null, 99_999, ctx(2_500))), ["2000..3000"]);
    assert.equal(a.isEventTime(), false);
    assert.equal(String(a.getDefaultTrigger()), "ProcessingTimeTrigger()");
  });

  it("sliding: size/slide windows per element, newest first; slide > size samples", () => {
    const a = SlidingEventTimeWindows.of(10_000, 2_000);
    assert.deepEqual(ids(a.assignWindows(null, 5_000, ctx(0))), [
      "4000..14000",
      "2000..12000",
      "0..10000",
      "-2000..8000",
      "-4000..6000",
    ]);
    const sampling = SlidingEventTimeWindows.of(1_000, 5_000);
    assert.deepEqual(ids(sampling.assignWindows(null, 500, ctx(0))), ["0..1000"]);
    assert.deepEqual(ids(sampling.assignWindows(null, 2_000, ctx(0))), []);
    assert.deepEqual(ids(SlidingProcessingTimeWindows.of(2_000, 1_000).assignWindows(null, 0, ctx(1_500))), [
      "1000..3000",
      "0..2000",
    ]);
  });

  it("sessions: [t, t + gap), overlapping windows merge (touching ones too); dynamic gaps", () => {
    const a = EventTimeSessionWindows.withGap(3_000);
    assert.deepEqual(ids(a.assignWindows(null, 1_000, ctx(0))), ["1000..4000"]);
    const merges: string[] = [];
    a.mergeWindows(
      [
        new TimeWindow(1_000, 4_000),
        new TimeWindow(7_000, 10_000),
        new TimeWindow(3_000, 6_000),
        new TimeWindow(10_000, 11_000),
        new TimeWindow(20_000, 21_000),
      ],
      (merged, result) => merges.push(`${ids(merged).join("+")}=>${ids([result])}`),
    );
    assert.deepEqual(merges, ["1000..4000+3000..6000=>1000..6000", "7000..10000+10000..11000=>7000..11000"]);
    const dyn = EventTimeSessionWindows.withDynamicGap<Ev>((e) => e.v);
    assert.deepEqual(ids(dyn.assignWindows(ev("a", 100, 50), 100, ctx(0))), ["100..150"]);
    assert.deepEqual(ids(ProcessingTimeSessionWindows.withGap(10).assignWindows(null, 0, ctx(7))), ["7..17"]);
  });

  it("global windows: one window for everything, never fires by default", () => {
    const g = GlobalWindows.create();
    assert.equal(g.assignWindows()[0], GlobalWindow.get());
    assert.equal(g.isEventTime(), false);
    assert.equal(
      g.getDefaultTrigger().onElement(null, 0, GlobalWindow.get(), null as never),
      TriggerResult.CONTINUE,
    );
  });
});

describe("bad window input is refused", () => {
  const keyed = () =>
    new StreamExecutionEnvironment({ parallelism: 1 })
      .fromCollection([ev("a", 1)])
      .assignTimestampsAndWatermarks(punctuated<Ev>(0))
      .keyBy((e) => e.k);

  it("non-positive sizes, slides and gaps; offsets out of range", () => {
    assert.throws(() => TumblingEventTimeWindows.of(0), InvalidArgumentError);
    assert.throws(() => TumblingEventTimeWindows.of(-10), /size must be a finite number of milliseconds > 0/);
    assert.throws(() => TumblingProcessingTimeWindows.of(Number.NaN), InvalidArgumentError);
    assert.throws(() => TumblingEventTimeWindows.of(10, 10), /\|offset\| < size/);
    assert.throws(() => TumblingEventTimeWindows.of(10, -10), /\|offset\| < size/);
    assert.throws(() => SlidingEventTimeWindows.of(10, 0), /slide must be/);
    assert.throws(() => SlidingEventTimeWindows.of(0, 5), /size must be/);
    assert.throws(() => SlidingEventTimeWindows.of(10, 5, 5), /\|offset\| < slide/);
    assert.doesNotThrow(() => SlidingEventTimeWindows.of(10, 50)); // slide > size: sampling, as in Flink
    assert.throws(() => EventTimeSessionWindows.withGap(0), /gap must be/);
    assert.throws(() => ProcessingTimeSessionWindows.withGap(-1), /gap must be/);
    assert.throws(() => EventTimeSessionWindows.withDynamicGap(5 as never), /needs a function/);
    assert.throws(() => CountTrigger.of(0), /count >= 1/);
  });

  it("allowedLateness: negative, or on a processing-time or global window, is an error", () => {
    assert.throws(
      () => keyed().window(TumblingEventTimeWindows.of(10)).allowedLateness(-1),
      /allowedLateness/,
    );
    assert.throws(
      () => keyed().window(TumblingProcessingTimeWindows.of(10)).allowedLateness(5),
      /TumblingProcessingTimeWindows\(10\): lateness applies to event-time windows only/,
    );
    assert.throws(() => keyed().countWindow(5).allowedLateness(5), /event-time windows only/);
    assert.doesNotThrow(() => keyed().window(TumblingProcessingTimeWindows.of(10)).allowedLateness(0));
    assert.doesNotThrow(() => keyed().window(TumblingEventTimeWindows.of(10)).allowedLateness(5));
  });

  it("a window needs an assigner; merging windows need a mergeable trigger and aggregate", () => {
    assert.throws(() => keyed().window(null as never), /needs a WindowAssigner/);
    const nonMerging = {
      onElement: () => TriggerResult.FIRE,
      onEventTime: () => TriggerResult.CONTINUE,
      onProcessingTime: () => TriggerResult.CONTINUE,
      clear: () => {},
    };
    assert.throws(
      () => keyed().window(EventTimeSessionWindows.withGap(5)).trigger(nonMerging),
      /cannot merge/,
    );
    assert.doesNotThrow(() => keyed().window(TumblingEventTimeWindows.of(5)).trigger(nonMerging));
    assert.throws(
      () =>
        keyed()
          .window(TumblingEventTimeWindows.of(5))
          .trigger({} as never),
      /needs a Trigger/,
    );
    // Each of the four methods is needed: one missing is refused at once, not when first called.
    const full = { onElement() {}, onEventTime() {}, onProcessingTime() {}, clear() {} };
    for (const missing of Object.keys(full)) {
      const partial = { ...full } as Record<string, unknown>;
      delete partial[missing];
      assert.throws(
        () =>
          keyed()
            .window(TumblingEventTimeWindows.of(5))
            .trigger(partial as never),
        /needs a Trigger: an object with onElement, onEventTime, onProcessingTime and clear/,
        `a trigger without ${missing}`,
      );
    }
    const noMerge = {
      createAccumulator: () => 0,
      add: (_e: Ev, a: number) => a + 1,
      getResult: (a: number) => a,
    };
    assert.throws(() => keyed().window(EventTimeSessionWindows.withGap(5)).aggregate(noMerge), /needs merge/);
    assert.throws(
      () =>
        keyed()
          .window(TumblingEventTimeWindows.of(5))
          .aggregate({} as never),
      /AggregateFunction/,
    );
    assert.throws(
      () =>
        keyed()
          .window(TumblingEventTimeWindows.of(5))
          .process({} as never),
      /ProcessWindowFunction/,
    );
  });

  it("windowAll runs with parallelism 1 and refuses another", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    const op = env
      .fromCollection([ev("a", 1)])
      .assignTimestampsAndWatermarks(punctuated<Ev>(0))
      .windowAll(TumblingEventTimeWindows.of(10))
      .sum("v");
    assert.equal(op.transformation.parallelism, 1);
    assert.throws(() => op.setParallelism(2), /not parallel/);
  });

  it("a record without a timestamp reaching an event-time window fails the job, naming the operator", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromCollection([ev("a", 1)])
      .keyBy((e) => e.k)
      .window(TumblingEventTimeWindows.of(10))
      .sum("v")
      .name("my-window")
      .collect();
    await assert.rejects(env.execute(), (e: Error) => {
      assert.match(e.message, /my-window/);
      assert.match(e.message, /without a timestamp/);
      assert.match(e.message, /assignTimestampsAndWatermarks|withTimestampAssigner/);
      return true;
    });
  });

  it("a dynamic session gap that is not > 0 fails the job with the element", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env
      .fromCollection([ev("a", 1, 0)])
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.t),
      )
      .keyBy((e) => e.k)
      .window(EventTimeSessionWindows.withDynamicGap<Ev>((e) => e.v))
      .sum("v")
      .collect();
    await assert.rejects(env.execute(), /dynamic gap extractor returned 0/);
  });
});
