// A source output's splits: asking again for a split's output gives the same one (its watermark
// and records kept), and with an idle timeout a split that keeps receiving records is never idle,
// while one that stops is idle after the timeout, on the processing-time clock.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatermarkStrategy } from "../../src/index.ts";
import type { Output } from "../../src/runtime/operators/stream-operator.ts";
import { SourceOutput } from "../../src/runtime/source-output.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

function sourceOutput(strategy: WatermarkStrategy<number>, clock: ManualClock) {
  const events: string[] = [];
  const downstream: Output = {
    collect: (v) => events.push(`record ${v}`),
    collectSide: () => {},
    emitWatermark: (w) => events.push(`watermark ${w}`),
    emitWatermarkStatus: (idle) => events.push(idle ? "idle" : "active"),
  };
  const pts = new ProcessingTimeService(clock);
  const output = new SourceOutput<number>(
    strategy,
    downstream,
    { timestamp: Number.NaN },
    pts,
    "test source",
  );
  output.start(10);
  return { output, events, pts };
}

describe("a source output's splits", () => {
  it("asking again for a split's output gives the same output, its watermark and records kept", () => {
    const { output, events } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>(),
      new ManualClock(0),
    );
    const a = output.createOutputForSplit("a");
    a.collect(1, 100);
    assert.equal(output.createOutputForSplit("a"), a);
    (output.createOutputForSplit("a") as unknown as { emitWatermark(w: number): void }).emitWatermark(99);
    assert.deepEqual(
      output.splitStates().map((s) => [s.splitId, s.watermark, s.records, s.lastTimestamp]),
      [["a", 99, 1, 100]],
    );
    assert.deepEqual(events, ["record 1", "watermark 99"]);
  });

  it("a split's watermark never goes back: a lower one is ignored, and the output follows the minimum", () => {
    const { output, events } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>(),
      new ManualClock(0),
    );
    type Split = { emitWatermark(w: number): void };
    const a = output.createOutputForSplit("a") as unknown as Split;
    const b = output.createOutputForSplit("b") as unknown as Split;
    a.emitWatermark(100);
    a.emitWatermark(50); // behind what a already said: ignored
    b.emitWatermark(80);
    b.emitWatermark(120);
    assert.deepEqual(
      output.splitStates().map((s) => [s.splitId, s.watermark]),
      [
        ["a", 100],
        ["b", 120],
      ],
    );
    assert.deepEqual(events, ["watermark 80", "watermark 100"]);
  });

  it("with an idle timeout, a split receiving records stays active; one that stops goes idle", () => {
    const clock = new ManualClock(0);
    const { output, events, pts } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(50),
      clock,
    );
    const a = output.createOutputForSplit("a");
    // A record every 20 ms for 200 ms: each periodic check finds the last one within 50 ms.
    for (let t = 0; t <= 200; t += 20) {
      clock.setTime(t);
      a.collect(t, 1000 + t);
      pts.fireDue();
    }
    assert.deepEqual(
      output.splitStates().map((s) => s.idle),
      [false],
    );
    assert.equal(events.includes("idle"), false, `events: ${events.join(", ")}`);
    // Then nothing for the timeout: idle at the first check 50 ms after the last record.
    clock.setTime(240);
    pts.fireDue();
    assert.equal(events.includes("idle"), false);
    clock.setTime(250);
    pts.fireDue();
    assert.deepEqual(
      output.splitStates().map((s) => s.idle),
      [true],
    );
    assert.equal(events.at(-1), "idle");
  });

  it("a released split no longer holds the watermark back", () => {
    const { output, events } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>(),
      new ManualClock(0),
    );
    type Split = { emitWatermark(w: number): void };
    const done = output.createOutputForSplit("done") as unknown as Split;
    const live = output.createOutputForSplit("live") as unknown as Split;
    done.emitWatermark(100);
    live.emitWatermark(500);
    output.releaseOutputForSplit("done"); // its file is read to the end
    live.emitWatermark(1_000);
    assert.deepEqual(
      output.splitStates().map((s) => s.splitId),
      ["live"],
    );
    assert.equal(events.filter((e) => e.startsWith("watermark")).at(-1), "watermark 1000");
  });
});
