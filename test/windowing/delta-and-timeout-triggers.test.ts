// DeltaTrigger, ProcessingTimeoutTrigger and the windowed minBy/maxBy, as a Flink user reaches
// for them: "the top speed of the last 10 s every time a car has moved another 50 m" (global
// windows, a delta trigger, a time evictor, maxBy) and "every 3 elements, or 1 s after the first
// of them" (a count trigger with a processing-time timeout). Through the operator harness (the
// real window operator, processing time moved by hand), on both state backends across a
// snapshot and restore, and once as a job at parallelism 2. Expected outputs worked out by hand.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type DataStream,
  DeltaTrigger,
  GlobalWindows,
  ProcessingTimeoutTrigger,
  ProcessingTimeTrigger,
  type ProcessWindowFunction,
  PurgingTrigger,
  StreamExecutionEnvironment,
  TimeEvictor,
  type Trigger,
  WatermarkStrategy,
  type GlobalWindow,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Car {
  id: number;
  speed: number;
  distance: number;
  t: number;
}

const car = (id: number, t: number, distance: number, speed: number): Car => ({ id, speed, distance, t });
const moved = (a: Car, b: Car): number => b.distance - a.distance;

/** Per car: when it has moved more than 50 since the last firing, the fastest reading of the last 10 s. */
const topSpeed = (s: DataStream<Car>) =>
  s
    .keyBy((c) => c.id)
    .window(GlobalWindows.create())
    .evictor(TimeEvictor.of<Car>(10_000))
    .trigger(DeltaTrigger.of(50, moved) as Trigger<Car, GlobalWindow>)
    .maxBy("speed");

// Car 1: the reference is the first reading (distance 0); 55 fires (fastest of 0..4000: 60 at
// 2000); 80 does not (25 from 55); 120 fires (65 from 55), the evictor first dropping readings at
// or before 16000 - 10000 (fastest left: 70 at 9000); 130 does not.
const CAR1 = [car(1, 0, 0, 50), car(1, 2_000, 30, 60), car(1, 4_000, 55, 40), car(1, 9_000, 80, 70)];
const CAR1_LATER = [car(1, 16_000, 120, 45), car(1, 17_000, 130, 90)];
// Car 2: 51 fires (fastest: 20 at 3000); 102.5 is 51.5 from 51 and fires; speeds tie at 20, and
// maxBy keeps the first of them (3000).
const CAR2 = [car(2, 1_000, 0, 10), car(2, 3_000, 51, 20), car(2, 5_000, 70, 20), car(2, 6_000, 102.5, 20)];

describe("DeltaTrigger with a time evictor and the windowed maxBy", () => {
  for (const stateBackend of ["heap", "embedded"] as const) {
    it(`fires on distance moved, across a snapshot and restore (${stateBackend})`, async () => {
      const h = KeyedOneInputHarness.of(topSpeed, { stateBackend });
      await h.open();
      for (const c of [...CAR1, ...CAR2]) h.processElement(c, c.t);
      assert.deepEqual(h.values(), [car(1, 2_000, 30, 60), car(2, 3_000, 51, 20), car(2, 3_000, 51, 20)]);
      const snapshot = await h.snapshot();
      await h.close();

      // The reference (distance 55) and the window's readings come back: 120 fires at once.
      const restored = KeyedOneInputHarness.of(topSpeed, { stateBackend });
      await restored.initializeState(snapshot);
      await restored.open();
      for (const c of CAR1_LATER) restored.processElement(c, c.t);
      assert.deepEqual(restored.values(), [car(1, 9_000, 80, 70)]);
      await restored.close();
    });
  }

  it("runs as a job at parallelism 2 with the same results", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2, bufferTimeout: 0 });
    const readings = [...CAR1, ...CAR2, ...CAR1_LATER];
    const out = topSpeed(
      env
        .fromCollection(readings)
        .setParallelism(1)
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<Car>().withTimestampAssigner((c) => c.t),
        )
        .setParallelism(1),
    ).collect();
    await env.execute("top speed");
    const byCar = (id: number) => out.values.filter((c) => c.id === id);
    assert.deepEqual(byCar(1), [car(1, 2_000, 30, 60), car(1, 9_000, 80, 70)]);
    assert.deepEqual(byCar(2), [car(2, 3_000, 51, 20), car(2, 3_000, 51, 20)]);
  });

  it("windowed minBy keeps the first of equal values, and takes a function", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Car>) =>
      s
        .keyBy((c) => c.id)
        .window(GlobalWindows.create())
        .trigger(PurgingTrigger.of(CountTrigger.of(3)) as Trigger<Car, GlobalWindow>)
        .minBy((c) => c.speed % 7),
    );
    await h.open();
    // speed % 7: 2, 1, 1 → the first 1 (speed 8)
    for (const c of [car(1, 0, 0, 9), car(1, 1, 0, 8), car(1, 2, 0, 15)]) h.processElement(c, c.t);
    assert.deepEqual(h.values(), [car(1, 1, 0, 8)]);
    await h.close();
  });
});

const joined: ProcessWindowFunction<string, string, string, GlobalWindow> = {
  process: (_key, _ctx, elements, out) => out.collect(elements.join(",")),
};

/** One key ("k"), global windows, the trigger given; each firing emits the window's elements joined. */
function timeoutHarness(trigger: Trigger<string, GlobalWindow>, stateBackend: "heap" | "embedded" = "heap") {
  return KeyedOneInputHarness.of(
    (s: DataStream<string>) =>
      s
        .keyBy(() => "k")
        .window(GlobalWindows.create())
        .trigger(trigger)
        .process(joined),
    { stateBackend },
  );
}

describe("ProcessingTimeoutTrigger", () => {
  it("fires a count window at the count or at the timeout after its first element", async () => {
    const h = timeoutHarness(PurgingTrigger.of(ProcessingTimeoutTrigger.of(CountTrigger.of(3), 1_000)));
    await h.open();
    h.processElement("a"); // at 0: the timeout is 1000
    h.setProcessingTime(500);
    h.processElement("b");
    h.setProcessingTime(999);
    assert.deepEqual(h.values(), []);
    h.setProcessingTime(1_000);
    assert.deepEqual(h.values(), ["a,b"]);
    h.setProcessingTime(1_200);
    h.processElement("c"); // a new timeout: 2200
    h.processElement("d");
    h.processElement("e"); // the count fires first, and its timeout is deleted
    assert.deepEqual(h.values(), ["a,b", "c,d,e"]);
    h.setProcessingTime(5_000);
    assert.deepEqual(h.values(), ["a,b", "c,d,e"]);
    h.processElement("f");
    h.setProcessingTime(6_000);
    assert.deepEqual(h.values(), ["a,b", "c,d,e", "f"]);
    await h.close();
  });

  it("with resetTimerOnNewRecord, every element moves the timeout", async () => {
    const h = timeoutHarness(
      PurgingTrigger.of(ProcessingTimeoutTrigger.of(CountTrigger.of(10), 1_000, true)),
    );
    await h.open();
    h.processElement("a");
    h.setProcessingTime(800);
    h.processElement("b"); // the timeout moves from 1000 to 1800
    h.setProcessingTime(1_000);
    assert.deepEqual(h.values(), []);
    h.setProcessingTime(1_800);
    assert.deepEqual(h.values(), ["a,b"]);
    await h.close();
  });

  it("a firing of the nested trigger deletes the timeout; the contents stay unless purged", async () => {
    const h = timeoutHarness(ProcessingTimeoutTrigger.of(CountTrigger.of(2), 1_000));
    await h.open();
    h.processElement("a"); // timeout 1000
    h.processElement("b"); // the count fires; the contents stay (no purging)
    h.setProcessingTime(1_000);
    assert.deepEqual(h.values(), ["a,b"], "the timeout was deleted with the count's firing");
    h.processElement("c"); // count 1, a new timeout at 2000
    h.setProcessingTime(2_000);
    assert.deepEqual(h.values(), ["a,b", "a,b,c"]);
    h.processElement("d"); // the timeout did not purge either
    h.setProcessingTime(3_000);
    assert.deepEqual(h.values(), ["a,b", "a,b,c", "a,b,c,d"]);
    await h.close();
  });

  it("purges at the timeout when the nested trigger's timer result purges", async () => {
    // The nested trigger answers every processing-time timer with FIRE_AND_PURGE.
    const h = timeoutHarness(
      ProcessingTimeoutTrigger.of(
        PurgingTrigger.of(ProcessingTimeTrigger.create()) as Trigger<string, GlobalWindow>,
        1_000,
      ),
    );
    await h.open();
    h.processElement("a");
    h.processElement("b");
    h.setProcessingTime(1_000);
    h.processElement("c"); // timeout 2000
    h.setProcessingTime(2_000);
    assert.deepEqual(h.values(), ["a,b", "c"]);
    await h.close();
  });

  it("without clearOnTimeout the count carries over the timeout", async () => {
    const h = timeoutHarness(
      PurgingTrigger.of(ProcessingTimeoutTrigger.of(CountTrigger.of(3), 1_000, false, false)),
    );
    await h.open();
    h.processElement("a");
    h.processElement("b");
    h.setProcessingTime(1_000);
    h.processElement("c"); // the third element since the last count firing
    assert.deepEqual(h.values(), ["a,b", "c"]);
    await h.close();

    const cleared = timeoutHarness(PurgingTrigger.of(ProcessingTimeoutTrigger.of(CountTrigger.of(3), 1_000)));
    await cleared.open();
    cleared.processElement("a");
    cleared.processElement("b");
    cleared.setProcessingTime(1_000);
    cleared.processElement("c"); // count 1 again: nothing until its own timeout
    assert.deepEqual(cleared.values(), ["a,b"]);
    cleared.setProcessingTime(2_000);
    assert.deepEqual(cleared.values(), ["a,b", "c"]);
    await cleared.close();
  });

  for (const stateBackend of ["heap", "embedded"] as const) {
    it(`restores the timeout and its timer from a snapshot (${stateBackend})`, async () => {
      const trigger = () => PurgingTrigger.of(ProcessingTimeoutTrigger.of(CountTrigger.of(3), 1_000));
      const h = timeoutHarness(trigger(), stateBackend);
      await h.open();
      h.setProcessingTime(100);
      h.processElement("a"); // timeout 1100
      h.processElement("b");
      const snapshot = await h.snapshot();
      await h.close();

      const restored = timeoutHarness(trigger(), stateBackend);
      await restored.initializeState(snapshot);
      await restored.open();
      restored.setProcessingTime(1_099);
      assert.deepEqual(restored.values(), []);
      restored.setProcessingTime(1_100);
      assert.deepEqual(restored.values(), ["a,b"]);
      await restored.close();
    });
  }
});

describe("DeltaTrigger and ProcessingTimeoutTrigger refuse bad arguments by name", () => {
  it("names the argument and what it needs", () => {
    assert.throws(
      () => DeltaTrigger.of(Number.NaN, moved),
      /DeltaTrigger\.of\(\) needs a numeric threshold, got NaN/,
    );
    assert.throws(
      () => DeltaTrigger.of(50, "distance" as unknown as typeof moved),
      /DeltaTrigger\.of\(\) needs a delta function/,
    );
    assert.throws(
      () => ProcessingTimeoutTrigger.of(undefined as unknown as Trigger<unknown, GlobalWindow>, 1_000),
      /ProcessingTimeoutTrigger\.of\(\) needs a Trigger/,
    );
    assert.throws(
      () => ProcessingTimeoutTrigger.of(CountTrigger.of(2), 0),
      /ProcessingTimeoutTrigger timeout must be a finite number of milliseconds > 0, got 0/,
    );
  });

  it("describe themselves", () => {
    assert.equal(String(DeltaTrigger.of(50, moved)), "DeltaTrigger(50)");
    assert.equal(
      String(ProcessingTimeoutTrigger.of(CountTrigger.of(3), 1_000)),
      "ProcessingTimeoutTrigger(CountTrigger(3), 1000)",
    );
  });
});
