// The timestamp of the record being processed is shared by the operators of a chain (the task's
// ElementContext). An operator that emits with a timestamp of its own while it processes a record
// (a timestamp assigner, a window fired by a count trigger) must not change the timestamp its
// caller goes on with: the next record of a flatMap, or the next operator the record goes to.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type FlatMapFn,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";

interface Ev {
  i: number;
  key: string;
}

const EVENTS: Ev[] = Array.from({ length: 40 }, (_, i) => ({ i, key: `k${i % 3}` }));

/** Two records per event, each with its event's timestamp in `ts`. */
const twice: FlatMapFn<Ev, Ev & { ts: number }> = (e, out) => {
  out.collect({ ...e, ts: e.i * 10 });
  out.collect({ ...e, key: `${e.key}x`, ts: e.i * 10 });
};

describe("timestamps in a chain", () => {
  it("a sibling timestamp assigner leaves the record's timestamp to the next sibling", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const events = env
      .fromCollection(EVENTS)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.i * 10),
      );
    // First sibling: re-assigns timestamps (to 1e6 + i) for its own output.
    events
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => 1e6 + e.i),
      )
      .print();
    // Second sibling: must see the timestamps of the first assigner.
    const seen = events
      .process<number>({
        processElement(e, ctx, out) {
          out.collect((ctx.timestamp() ?? Number.NaN) - e.i * 10);
        },
      })
      .collect();
    await env.execute("sibling timestamps");
    assert.equal(seen.values.length, EVENTS.length);
    assert.deepEqual(new Set(seen.values), new Set([0]));
  });

  it("a window fired by a count trigger behind a flatMap leaves the flatMap's next record its timestamp", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    // At p=1 the keyBy edge is chained: the window runs inside the flatMap's collect.
    const words = env
      .fromCollection(EVENTS)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.i * 10),
      )
      .flatMap(twice);
    words
      .keyBy((w) => w.key)
      .window(TumblingEventTimeWindows.of(1000))
      .trigger(CountTrigger.of(1))
      .reduce((a, b) => (a.i > b.i ? a : b))
      .print();
    const stamps = words
      .process<number>({
        processElement(w, ctx, out) {
          out.collect((ctx.timestamp() ?? Number.NaN) - w.ts);
        },
      })
      .collect();
    await env.execute("flatMap timestamps");
    assert.equal(stamps.values.length, 2 * EVENTS.length);
    assert.deepEqual(new Set(stamps.values), new Set([0]));
  });

  it("an operator with one chained target (the compiled path) gives its caller back the record's timestamp", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    // Each event goes twice into an assigner that stamps "the record's timestamp + 1": the
    // emitting ProcessFunction's output has this one chained target, so its collect is compiled,
    // and its second collect must carry the event's timestamp again, not the assigner's.
    const stamps = env
      .fromCollection(EVENTS)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.i * 10),
      )
      .process<Ev>({
        processElement(e, _ctx, out) {
          out.collect(e);
          out.collect(e);
        },
      })
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner(
          (_e, ts) => (ts ?? Number.NaN) + 1,
        ),
      )
      .process<number>({
        processElement(e, ctx, out) {
          out.collect((ctx.timestamp() ?? Number.NaN) - e.i * 10);
        },
      })
      .collect();
    await env.execute("compiled chain timestamps");
    assert.equal(stamps.values.length, 2 * EVENTS.length);
    assert.deepEqual(new Set(stamps.values), new Set([1]));
  });
});
