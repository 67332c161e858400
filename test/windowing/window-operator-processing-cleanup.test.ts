// Processing-time windows clean up by the processing-time clock also when their trigger is not
// the default one (which happens to fire at the cleanup time): a count-triggered window's state
// goes at the window's end, and merged processing-time sessions leave only the merged window's
// cleanup timer. Found by mutation testing of window-operator.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CountTrigger,
  type DataStream,
  ProcessingTimeSessionWindows,
  TumblingProcessingTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

interface Ev {
  k: string;
  v: number;
}

const sum = (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v });

describe("window operator: processing-time cleanup", () => {
  it("a count-triggered processing-time window's state goes at the window's end", async () => {
    const h = KeyedOneInputHarness.of(
      (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(TumblingProcessingTimeWindows.of(1_000))
          .trigger(CountTrigger.of(10))
          .reduce(sum),
      { processingTime: 100 },
    );
    await h.open();
    h.processElement({ k: "a", v: 1 });
    assert.equal(h.numProcessingTimeTimers(), 1, "the cleanup timer, in processing time");
    assert.equal(h.numEventTimeTimers(), 0);
    h.setProcessingTime(998);
    assert.ok(h.numKeyedStateEntries() > 0);
    h.setProcessingTime(999);
    assert.equal(h.numKeyedStateEntries(), 0);
    assert.equal(h.numProcessingTimeTimers(), 0);
    assert.deepEqual(h.values(), [], "never fired: fewer than 10 elements");
    await h.close();
  });

  it("merged processing-time sessions keep only the merged window's cleanup timer", async () => {
    const h = KeyedOneInputHarness.of(
      (s: DataStream<Ev>) =>
        s
          .keyBy((e) => e.k)
          .window(ProcessingTimeSessionWindows.withGap(1_000))
          .trigger(CountTrigger.of(10))
          .reduce(sum),
      { processingTime: 0 },
    );
    await h.open();
    h.processElement({ k: "a", v: 1 }); // [0, 1000): cleanup 999
    h.setProcessingTime(500);
    h.processElement({ k: "a", v: 2 }); // merged into [0, 1500): cleanup 1499
    assert.equal(h.numProcessingTimeTimers(), 1);
    h.setProcessingTime(1_499);
    assert.equal(h.numKeyedStateEntries(), 0);
    assert.equal(h.numProcessingTimeTimers(), 0);
    await h.close();
  });
});
