// The generated record loop keeps a split's bookkeeping as SplitOutput.collect does (the records
// it counts and the event time of the last one, which the watermark doctor and the split's
// currentEmitEventTimeLag metric show; the time of its last record, which idleness detection
// reads): the same loop and the per-record path are run side by side on a source output over a
// manual processing-time clock, into a chained sink.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatermarkStrategy } from "../../src/index.ts";
import type { IndexedLoop } from "../../src/runtime/fused-source-loop.ts";
import { SinkOperator } from "../../src/runtime/operators/basic.ts";
import type { ElementContext, Output } from "../../src/runtime/operators/stream-operator.ts";
import { ChainedTarget, RoutingOutput } from "../../src/runtime/outputs.ts";
import { SourceOutput } from "../../src/runtime/source-output.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

/** A source output over a manual clock whose records go to a chained sink (a chain the loop runs). */
function chain(strategy: WatermarkStrategy<number>) {
  const clock = new ManualClock(0);
  const pts = new ProcessingTimeService(clock);
  const element: ElementContext = { timestamp: Number.NaN };
  const written: number[] = [];
  const sink = new SinkOperator({ createWriter: () => ({ write: (v: number) => written.push(v) }) });
  // What setup() and open() give it: an output (the end of the chain) and the writer the loop calls.
  const end: Output = {
    collect: () => {},
    collectSide: () => {},
    emitWatermark: () => {},
    emitWatermarkStatus: () => {},
  };
  Object.assign(sink, { output: end, writer: { write: (v: number) => written.push(v) } });
  const statuses: string[] = [];
  const head = new RoutingOutput(
    [new ChainedTarget(sink, 0, { name: "sink", uid: "sink" }, element)],
    new Map(),
  );
  const output = new SourceOutput<number>(strategy, head, element, pts, "src");
  // Idleness shows through the status the output sends downstream.
  const emitStatus = head.emitWatermarkStatus.bind(head);
  head.emitWatermarkStatus = (idle: boolean) => {
    statuses.push(idle ? "idle" : "active");
    emitStatus(idle);
  };
  output.start(10);
  return { clock, pts, output, written, statuses };
}

/** The split's bookkeeping after records 0..9 (one each 20 ms of processing time), one way or the other. */
function run(strategy: () => WatermarkStrategy<number>, fused: boolean) {
  const c = chain(strategy());
  const split = c.output.createOutputForSplit("s");
  let loop: IndexedLoop | undefined;
  if (fused) {
    loop = c.output.fuseIndexedLoop({ kind: "index" });
    assert.ok(loop !== undefined, "the chain is one the loop runs");
  }
  for (let i = 0; i < 10; i++) {
    c.clock.setTime(i * 20);
    if (loop !== undefined) loop(split, i, 1, 1);
    else split.collect(i);
    c.pts.fireDue();
  }
  const [s] = c.output.splitStates();
  return {
    records: s!.records,
    lastTimestamp: s!.lastTimestamp,
    idle: s!.idle,
    statuses: c.statuses,
    written: c.written,
  };
}

describe("the generated loop keeps a split's bookkeeping as collect does", () => {
  const cases: Array<[string, () => WatermarkStrategy<number>, { records: number; lastTimestamp: number }]> =
    [
      [
        "event time: records and the last event time counted",
        () => WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((v) => 1000 + v),
        { records: 10, lastTimestamp: 1009 },
      ],
      [
        "an assigner without event time: nothing counted (no watermarks, no lag)",
        () => WatermarkStrategy.noWatermarks<number>().withTimestampAssigner((v) => 1000 + v),
        { records: 0, lastTimestamp: Number.NaN },
      ],
    ];
  for (const [title, strategy, expected] of cases) {
    it(title, () => {
      for (const fused of [false, true]) {
        const r = run(strategy, fused);
        assert.deepEqual(r.written, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(
          { records: r.records, lastTimestamp: r.lastTimestamp },
          expected,
          fused ? "fused" : "collect",
        );
      }
    });
  }

  it("with an idle timeout, a split the loop keeps emitting from never goes idle", () => {
    const strategy = () =>
      WatermarkStrategy.forMonotonousTimestamps<number>()
        .withTimestampAssigner((v) => 1000 + v)
        .withIdleness(50);
    for (const fused of [false, true]) {
      const r = run(strategy, fused);
      assert.equal(r.idle, false, fused ? "fused" : "collect");
      assert.deepEqual(r.statuses, [], `${fused ? "fused" : "collect"}: statuses sent`);
    }
  });
});
