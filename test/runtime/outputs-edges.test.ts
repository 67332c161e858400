// RoutingOutput and ChainedTarget without a job: a record reaches every one of several main
// targets (and none is needed), and a chained operator hears when its input goes idle and back.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { ChainedTarget, type RecordTarget, RoutingOutput } from "../../src/runtime/outputs.ts";

/** A target without a compiled path that records what reaches it. */
function target(name: string, log: string[]): RecordTarget {
  return {
    push: (v) => void log.push(`${name} ${String(v)}`),
    pushWatermark: (w) => void log.push(`${name} wm ${w}`),
    pushWatermarkStatus: (idle) => void log.push(`${name} idle ${idle}`),
    pushLatencyMarker: () => {},
  };
}

describe("outputs: edges", () => {
  it("collect() hands a record to each of two main targets, and counts it once", () => {
    const log: string[] = [];
    const out = new RoutingOutput([target("a", log), target("b", log)], new Map());
    out.collect(1);
    out.collect(2);
    assert.deepEqual(log, ["a 1", "b 1", "a 2", "b 2"]);
    assert.equal(out.numRecordsOut, 2);
  });

  it("collect() with no main target only counts", () => {
    const out = new RoutingOutput([], new Map());
    out.collect("x");
    assert.equal(out.numRecordsOut, 1);
  });

  it("a chained operator receives its input's watermark status", () => {
    const seen: boolean[] = [];
    const op = {
      processWatermarkStatus: (idle: boolean) => void seen.push(idle),
    } as unknown as StreamOperator;
    const out = new RoutingOutput(
      [new ChainedTarget(op, 0, { name: "next", uid: "next" } as never, { timestamp: Number.NaN })],
      new Map(),
    );
    out.emitWatermarkStatus(true);
    out.emitWatermarkStatus(false);
    assert.deepEqual(seen, [true, false]);
  });
});
