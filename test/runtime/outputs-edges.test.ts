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
    pushLatencyMarker: (m) => void log.push(`${name} latency ${m.sourceUid}`),
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

  it("watermarks, idleness and latency markers reach the main and every side-output target", () => {
    const log: string[] = [];
    const out = new RoutingOutput(
      [target("main", log)],
      new Map([
        ["late", [target("late1", log), target("late2", log)]],
        ["odd", [target("odd", log)]],
      ]),
    );
    out.emitWatermark(5);
    out.emitWatermarkStatus(true);
    out.emitLatencyMarker({ sourceUid: "src" } as never);
    out.collectSide("odd", 3);
    out.collectSide("nobody", 4);
    assert.deepEqual(log, [
      "main wm 5",
      "late1 wm 5",
      "late2 wm 5",
      "odd wm 5",
      "main idle true",
      "late1 idle true",
      "late2 idle true",
      "odd idle true",
      "main latency src",
      "late1 latency src",
      "late2 latency src",
      "odd latency src",
      "odd 3",
    ]);
    assert.equal(out.lastWatermark, 5);
  });

  it("soleChainedTarget: the one chained operator, never a writer nor one of several", () => {
    const op = {} as StreamOperator;
    const chained = () =>
      new ChainedTarget(op, 0, { name: "n", uid: "n" } as never, { timestamp: Number.NaN });
    const one = chained();
    assert.equal(new RoutingOutput([one], new Map()).soleChainedTarget(), one);
    assert.equal(new RoutingOutput([chained(), chained()], new Map()).soleChainedTarget(), undefined);
    assert.equal(new RoutingOutput([target("w", [])], new Map()).soleChainedTarget(), undefined);
    assert.equal(new RoutingOutput([], new Map()).soleChainedTarget(), undefined);
  });
});
