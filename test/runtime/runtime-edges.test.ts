// Small runtime pieces without a job: a trigger result's isFire(), the failure description of an
// operator's error (its class name kept), and a source output's processing time and the record it
// shows when a timestamp assigner returns nothing usable; a new watermark assigner is not idle; an
// operator's failure keeps the first operator it is attributed to; a runtime context's accumulators.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError, InvalidJobError } from "../../src/core/errors.ts";
import { Counter, MaxAccumulator } from "../../src/core/functions.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { WatermarkStrategy } from "../../src/core/watermark.ts";
import { OperatorFailure, attribute, describeFailure } from "../../src/runtime/operator-failure.ts";
import { RuntimeContextImpl } from "../../src/runtime/runtime-context.ts";
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

  it("an operator failure says the error's message, and keeps the operator it was first attributed to", () => {
    const parse = { name: "parse", uid: "parse-1" };
    const sink = { name: "sink", uid: "sink-1" };
    assert.equal(new OperatorFailure(parse, new Error("bad record")).message, "bad record");
    assert.equal(new OperatorFailure(parse, 42).message, "42");
    const first = attribute(new Error("bad record"), parse);
    assert.equal(first.operator, parse);
    assert.equal(attribute(first, sink), first, "a failure passing through the chain keeps its operator");
    const d = describeFailure(new InvalidArgumentError("no such field"), sink, 3, 4);
    assert.deepEqual(
      [d.operatorName, d.operatorUid, d.subtaskIndex, d.parallelism, d.errorName, d.message, d.code],
      ["sink", "sink-1", 3, 4, "InvalidArgumentError", "no such field", "INVALID_ARGUMENT"],
    );
    assert.match(d.stack ?? "", /no such field/);
    assert.equal(describeFailure(new Error("plain"), sink, 0, 1).code, undefined);
    assert.equal(describeFailure({ code: 7 }, sink, 0, 1).code, undefined, "a code that is not a string");
    assert.equal(describeFailure(undefined, sink, 0, 1).message, "undefined");
  });

  it("a runtime context shares accumulators by name, and refuses a counter of another kind", () => {
    const identity = {
      jobId: "j",
      jobName: "job",
      subtaskIndex: 1,
      parallelism: 2,
      maxParallelism: 128,
      attemptNumber: 0,
      attemptTag: "t",
    };
    const accumulators = new Map();
    const a = new RuntimeContextImpl(identity, "count", "count-1", accumulators, undefined);
    const b = new RuntimeContextImpl(identity, "other", "other-1", accumulators, undefined);
    const seen = a.getCounter("seen");
    assert.ok(seen instanceof Counter);
    assert.equal(b.getCounter("seen"), seen, "one accumulator per subtask and name");
    const max = new MaxAccumulator();
    assert.equal(a.addAccumulator("max", max), max);
    assert.equal(b.addAccumulator("max", new MaxAccumulator()), max, "the first one stays");
    assert.equal(b.getAccumulator("max"), max);
    assert.equal(a.getAccumulator("none"), undefined);
    assert.throws(() => a.getCounter("max"), InvalidJobError);
    assert.equal(a.getOperatorStateStore(), a.getOperatorStateStore());
    assert.throws(
      () => a.getState(new ValueStateDescriptor<number>("v")),
      /asked for keyed state 'v'.*keyBy/,
    );
  });
});
