// WatermarkStrategy's edges as a user meets them: bad arguments are refused at the call (not as a
// wrong watermark minutes into a job), each `with…` step keeps what the earlier steps set, and
// noWatermarks() still carries a timestamp assigner. Found by mutation testing (TESTING.md): the
// argument checks and noWatermarks() could be broken without any test noticing.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import {
  type KeyedProcessFunction,
  StreamExecutionEnvironment,
  type WatermarkGenerator,
  WatermarkStrategy,
} from "../../src/index.ts";

const silent: WatermarkGenerator<number> = { onEvent() {}, onPeriodicEmit() {} };

describe("WatermarkStrategy arguments", () => {
  it("forBoundedOutOfOrderness refuses a negative, NaN or infinite bound and accepts 0", () => {
    for (const bad of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(
        () => WatermarkStrategy.forBoundedOutOfOrderness(bad),
        (e: unknown) => e instanceof InvalidArgumentError && /forBoundedOutOfOrderness/.test(e.message),
        `bound ${bad}`,
      );
    }
    assert.equal(WatermarkStrategy.forBoundedOutOfOrderness(0).isEventTime, true);
    assert.equal(WatermarkStrategy.forBoundedOutOfOrderness(1500).isEventTime, true);
  });

  it("forGenerator needs a function and uses the one given", () => {
    for (const bad of [undefined, null, 5, silent]) {
      assert.throws(
        () => WatermarkStrategy.forGenerator(bad as never),
        (e: unknown) => e instanceof InvalidArgumentError && /forGenerator/.test(e.message),
      );
    }
    const s = WatermarkStrategy.forGenerator(() => silent);
    assert.equal(s.isEventTime, true);
    assert.equal(s.createGenerator?.(), silent);
  });

  it("withTimestampAssigner needs a function", () => {
    for (const bad of [undefined, null, "t", { extract: () => 1 }]) {
      assert.throws(
        () => WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner(bad as never),
        (e: unknown) => e instanceof InvalidArgumentError && /withTimestampAssigner/.test(e.message),
      );
    }
  });

  it("withIdleness refuses 0, negative, NaN and infinite timeouts", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => WatermarkStrategy.forMonotonousTimestamps().withIdleness(bad),
        (e: unknown) => e instanceof InvalidArgumentError && /withIdleness/.test(e.message),
        `timeout ${bad}`,
      );
    }
    assert.equal(WatermarkStrategy.forMonotonousTimestamps().withIdleness(1).idleTimeout, 1);
  });
});

describe("WatermarkStrategy steps keep what was set before", () => {
  it("withTimestampAssigner keeps the generator and the idleness; withIdleness keeps the assigner", () => {
    const assigner = (e: number) => e * 10;
    const create = () => silent;
    const a = WatermarkStrategy.forGenerator(create).withIdleness(250).withTimestampAssigner(assigner);
    assert.equal(a.createGenerator, create);
    assert.equal(a.idleTimeout, 250);
    assert.equal(a.timestampAssigner, assigner);
    const b = WatermarkStrategy.forGenerator(create).withTimestampAssigner(assigner).withIdleness(99);
    assert.equal(b.createGenerator, create);
    assert.equal(b.timestampAssigner, assigner);
    assert.equal(b.idleTimeout, 99);
  });

  it("noWatermarks makes no watermarks but takes a timestamp assigner", () => {
    const s = WatermarkStrategy.noWatermarks<number>();
    assert.equal(s.isEventTime, false);
    assert.equal(s.createGenerator, undefined);
    const assigner = (e: number) => e;
    const t = s.withTimestampAssigner(assigner);
    assert.equal(t.isEventTime, false);
    assert.equal(t.timestampAssigner, assigner);
  });

  it("a job with noWatermarks().withTimestampAssigner sees the assigned timestamps and no watermark", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1, autoWatermarkInterval: 1 });
    const seen: KeyedProcessFunction<string, { id: string; t: number }, string> = {
      processElement(v, ctx, out) {
        out.collect(`${v.id}@${ctx.timestamp()} wm=${ctx.timerService().currentWatermark()}`);
      },
    };
    const out = env
      .fromCollection([
        { id: "a", t: 1000 },
        { id: "b", t: 400 },
        { id: "c", t: 2000 },
      ])
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.noWatermarks<{ id: string; t: number }>().withTimestampAssigner((e) => e.t),
      )
      .keyBy((e) => e.id)
      .process(seen)
      .collect();
    await env.execute("timestamps without watermarks");
    assert.deepEqual(out.values, ["a@1000 wm=-Infinity", "b@400 wm=-Infinity", "c@2000 wm=-Infinity"]);
  });
});
