// Small runtime pieces without a job: a trigger result's isFire(), the failure description of an
// operator's error (its class name kept), and a source output's processing time and the record it
// shows when a timestamp assigner returns nothing usable; a new watermark assigner is not idle.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatermarkStrategy } from "../../src/core/watermark.ts";
import { OperatorFailure, describeFailure } from "../../src/runtime/operator-failure.ts";
import { TimestampsAndWatermarksOperator } from "../../src/runtime/operators/timestamps-and-watermarks.ts";
import { TriggerResult } from "../../src/runtime/operators/window/window-contracts.ts";
import { SourceOutput } from "../../src/runtime/source-output.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

describe("runtime edges", () => {
  it("TriggerResult.isFire() and isPurge() say what the result does", () => {
    const r = (t: TriggerResult) => [t.isFire(), t.isPurge()];
    assert.deepEqual(r(TriggerResult.CONTINUE), [false, false]);
    assert.deepEqual(r(TriggerResult.FIRE), [true, false]);
    assert.deepEqual(r(TriggerResult.PURGE), [false, true]);
    assert.deepEqual(r(TriggerResult.FIRE_AND_PURGE), [true, true]);
  });

  it("describeFailure keeps the error's class name, and says Error for a thrown non-error", () => {
    const op = { name: "parse", uid: "parse-1" };
    const d = describeFailure(
      new OperatorFailure(op, new RangeError("too big")),
      { name: "x", uid: "x" },
      1,
      2,
    );
    assert.equal(d.errorName, "RangeError");
    assert.equal(d.message, "too big");
    assert.equal(d.operatorUid, "parse-1");
    const s = describeFailure("just a string", op, 0, 1);
    assert.equal(s.errorName, "Error");
    assert.equal(s.message, "just a string");
  });

  it("a source output tells its processing time, and shows the record that has no timestamp", () => {
    const pts = new ProcessingTimeService(new ManualClock(1234));
    const strategy = WatermarkStrategy.forMonotonousTimestamps<{ id: number }>().withTimestampAssigner(
      () => Number.NaN,
    );
    const out = new SourceOutput(strategy, undefined as never, undefined as never, pts, "events");
    assert.equal(out.now(), 1234);
    assert.throws(() => out.timestampOf({ id: 7 }, undefined), /source 'events'.*\{"id":7\}/);
  });

  it("a new timestamp and watermark assigner is not idle and has emitted nothing", () => {
    const op = new TimestampsAndWatermarksOperator(WatermarkStrategy.forMonotonousTimestamps());
    assert.deepEqual(op.watermarkAssignment(), {
      watermark: Number.NEGATIVE_INFINITY,
      idle: false,
      records: 0,
      idleTimeoutMs: null,
    });
  });
});
