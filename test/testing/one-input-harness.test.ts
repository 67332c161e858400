// OneInputHarness with a ProcessFunction and with plain API operators, and what every harness
// refuses: more than one operator, the wrong keyedness, a snapshot of another operator.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AsyncDataStream, type DataStream, OutputTag, type ProcessFunction } from "../../src/index.ts";
import { HarnessError, KeyedOneInputHarness, OneInputHarness } from "../../src/testing/index.ts";

const ODD = new OutputTag<number>("odd");

/** Even numbers halved on the main output (keeping their timestamp), odd ones to a side output. */
const halveEvens: ProcessFunction<number, number> = {
  processElement(v, ctx, out) {
    if (v % 2 === 0) out.collect(v / 2);
    else ctx.output(ODD, v);
  },
};

describe("OneInputHarness", () => {
  it("runs a ProcessFunction: records keep their timestamps, side outputs by tag, watermarks forwarded", async () => {
    const h = OneInputHarness.forProcessFunction(halveEvens);
    await h.open();
    h.processElement(4, 100);
    h.processElement(3, 101);
    h.processElement(8);
    h.processWatermark(100);
    h.processWatermark(50); // behind: a task never lets a watermark go back
    assert.deepEqual(h.events(), [
      { kind: "record", value: 2, timestamp: 100 },
      { kind: "record", value: 4, timestamp: undefined },
      { kind: "watermark", watermark: 100 },
    ]);
    assert.deepEqual(h.sideOutput(ODD), [{ value: 3, timestamp: 101 }]);
    h.clearOutput();
    assert.deepEqual([h.values(), h.sideOutputValues(ODD), h.watermarks()], [[], [], []]);
    await h.close();
  });

  it("runs the operators of the API: map with a runtime context", async () => {
    const h = OneInputHarness.of(
      (s: DataStream<string>) =>
        s.map((v, ctx) => `${v}@${ctx.indexOfThisSubtask}/${ctx.numberOfParallelSubtasks}`),
      { parallelism: 4, subtaskIndex: 3 },
    );
    await h.open();
    h.processElement("x");
    assert.deepEqual(h.values(), ["x@3/4"]);
  });

  it("runs Async I/O: completions are mailbox actions, run by runMailbox() or at the end of input", async () => {
    const pending: Array<() => void> = [];
    const h = OneInputHarness.of((s: DataStream<number>) =>
      AsyncDataStream.orderedWait(
        s,
        (v, result) => {
          pending.push(() => result.complete([v * 10]));
        },
        60_000,
      ),
    );
    await h.open();
    h.processElement(1, 5);
    h.processElement(2, 6);
    pending.shift()!();
    assert.deepEqual(h.values(), [], "a completion waits in the mailbox");
    h.runMailbox();
    assert.deepEqual(h.records(), [{ value: 10, timestamp: 5 }]);
    const last = pending.shift()!;
    setImmediate(last);
    await h.endInput();
    assert.deepEqual(h.values(), [10, 20]);
  });

  it("refuses more than one operator, naming both", () => {
    assert.throws(
      () =>
        OneInputHarness.of((s: DataStream<number>) => s.map((v) => v + 1, "PlusOne").filter((v) => v > 0)),
      (e) => e instanceof HarnessError && /'Filter' reads from 'PlusOne'/.test(e.message),
    );
  });

  it("refuses the wrong keyedness either way", () => {
    assert.throws(
      () => OneInputHarness.of((s: DataStream<number>) => s.keyBy((v) => v).process({ processElement() {} })),
      /use the KeyedOneInputHarness/,
    );
    assert.throws(
      () => KeyedOneInputHarness.of((s: DataStream<number>) => s.process(halveEvens)),
      /call keyBy/,
    );
  });

  it("refuses a snapshot of an operator with another uid", async () => {
    const h = OneInputHarness.of((s: DataStream<number>) => s.process(halveEvens).uid("halve"));
    await h.open();
    const snapshot = await h.snapshot();
    const other = OneInputHarness.of((s: DataStream<number>) => s.process(halveEvens).uid("other"));
    await assert.rejects(other.initializeState(snapshot), /uid 'halve'.*runs uid 'other'/);
    await assert.rejects(h.initializeState(snapshot), /before open\(\)/);
  });
});
