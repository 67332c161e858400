// What a source reader's watermark is the minimum of, as the watermark doctor lists it: each split
// the reader was given, and the output without a split while the reader has no split or has
// emitted through it (a reader that collects directly, as a single-split source may).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatermarkStrategy } from "../../src/index.ts";
import type { Output } from "../../src/runtime/operators/stream-operator.ts";
import { NO_SPLIT, SourceOutput } from "../../src/runtime/source-output.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

function sourceOutput(): SourceOutput<number> {
  const downstream: Output = {
    collect: () => {},
    collectSide: () => {},
    emitWatermark: () => {},
    emitWatermarkStatus: () => {},
  };
  const output = new SourceOutput<number>(
    WatermarkStrategy.forMonotonousTimestamps<number>(),
    downstream,
    { timestamp: Number.NaN },
    new ProcessingTimeService(new ManualClock(0)),
    "test source",
  );
  output.start(10);
  return output;
}

const ids = (o: SourceOutput<number>) => o.watermarkInputs().map((s) => s.splitId);

describe("a source reader's watermark inputs", () => {
  it("without a split: the output without a split", () => {
    assert.deepEqual(ids(sourceOutput()), [NO_SPLIT]);
  });

  it("with splits: the splits only, while nothing was collected without one", () => {
    const o = sourceOutput();
    o.createOutputForSplit("split-0").collect(1, 100);
    o.createOutputForSplit("split-1");
    assert.deepEqual(ids(o), ["split-0", "split-1"]);
  });

  it("with splits and records collected without one: both", () => {
    const o = sourceOutput();
    o.createOutputForSplit("split-0").collect(1, 100);
    o.collect(2, 50);
    assert.deepEqual(ids(o), ["split-0", NO_SPLIT]);
    assert.equal(o.watermarkInputs().find((s) => s.splitId === NO_SPLIT)?.records, 1);
  });
});
