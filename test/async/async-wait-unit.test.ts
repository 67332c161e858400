// The Async I/O operator alone, in a harness, step by step: its capacity (when it takes input, what
// it buffers while full and in which order that input starts), the watermarks between requests,
// what a checkpoint holds and how a restore at another parallelism takes it. Every request is
// completed by the test; nothing waits on a clock. Timeouts, retries and futures:
// async-wait-timeouts.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HarnessSnapshot } from "../../src/testing/harness-snapshot.ts";
import { Pending, harness, operatorOf, queueSnapshot } from "./fixtures/async-unit-harness.ts";

describe("Async I/O operator: capacity and buffered input", () => {
  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: takes input until the queue is full, buffers the rest and starts it in order as room frees`, async () => {
      const fn = new Pending();
      const h = harness(mode, fn, { capacity: 2 });
      const op = operatorOf(h);
      await h.open();
      assert.equal(op.isInputAvailable(), true, "empty");
      h.processElement(1, 11);
      assert.equal(op.isInputAvailable(), true, "one of two");
      h.processElement(2, 12);
      assert.equal(op.isInputAvailable(), false, "full");
      h.processElement(3, 13); // already on its way: buffered, not started
      h.processWatermark(100);
      h.processElement(4, 14);
      assert.deepEqual(fn.invoked, [1, 2]);
      assert.deepEqual(queueSnapshot(h)?.elements, [
        { value: 1, timestamp: 11 },
        { value: 2, timestamp: 12 },
        { value: 3, timestamp: 13 },
        { watermark: 100 },
        { value: 4, timestamp: 14 },
      ]);
      fn.complete(1);
      assert.deepEqual(fn.invoked, [1, 2, 3], "room for one: the next buffered record starts");
      assert.equal(op.isInputAvailable(), false, "full again, and input still buffered");
      fn.complete(2);
      assert.deepEqual(fn.invoked, [1, 2, 3, 4], "the watermark passes into the queue, then 4 starts");
      assert.equal(op.isInputAvailable(), false, "full: 3 and 4 pending");
      assert.deepEqual(h.events(), [
        { kind: "record", value: "r1", timestamp: 11 },
        { kind: "record", value: "r2", timestamp: 12 },
      ]);
      fn.complete(4);
      if (mode === "ordered") assert.equal(h.values().length, 2, "ordered: 4 waits for 3");
      else assert.equal(h.values().length, 2, "unordered: 4 waits behind the watermark after 3");
      fn.complete(3);
      assert.deepEqual(h.events().slice(2), [
        { kind: "record", value: "r3", timestamp: 13 },
        { kind: "watermark", watermark: 100 },
        { kind: "record", value: "r4", timestamp: 14 },
      ]);
      assert.equal(op.isInputAvailable(), true);
      assert.equal(queueSnapshot(h), undefined, "nothing held: no custom state");
      await h.close();
    });
  }

  it("a watermark with nothing pending passes at once; the operator's input watermark follows", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn);
    const op = operatorOf(h);
    await h.open();
    h.processWatermark(5);
    assert.deepEqual(h.watermarks(), [5]);
    assert.equal(op.inputWatermark, 5);
    h.processElement(1, 6);
    h.processWatermark(7);
    assert.equal(op.inputWatermark, 7, "recorded even while held back");
    assert.deepEqual(h.watermarks(), [5]);
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [5, 7]);
  });

  it("a watermark buffered behind input is emitted once the buffered input before it started", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn, { capacity: 1 });
    await h.open();
    h.processElement(1, 1);
    h.processElement(2, 2); // buffered
    h.processWatermark(50); // buffered behind 2
    h.processWatermark(60);
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [], "2 started and is pending: the watermarks wait behind it");
    fn.complete(2);
    assert.deepEqual(h.events(), [
      { kind: "record", value: "r1", timestamp: 1 },
      { kind: "record", value: "r2", timestamp: 2 },
      { kind: "watermark", watermark: 50 },
      { kind: "watermark", watermark: 60 },
    ]);
  });

  it("ordered: a completed result waits for every earlier one", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn);
    await h.open();
    for (const x of [1, 2, 3]) h.processElement(x, x * 10);
    fn.complete(3);
    fn.complete(2);
    assert.deepEqual(h.values(), []);
    fn.complete(1);
    assert.deepEqual(h.records(), [
      { value: "r1", timestamp: 10 },
      { value: "r2", timestamp: 20 },
      { value: "r3", timestamp: 30 },
    ]);
  });

  it("a watermark that arrives while the queue is full waits for the requests before it, not for input after it", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 1 });
    await h.open();
    h.processElement(1, 1);
    h.processWatermark(50); // behind 1 in the queue
    h.processElement(2, 2); // buffered: the queue is full
    fn.complete(1);
    assert.deepEqual(h.watermarks(), [50], "emitted while 2 is still pending");
    assert.deepEqual(fn.invoked, [1, 2]);
  });

  it("ordered: a long queue stays in order while emitted slots are dropped from its front", async () => {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 3000 });
    await h.open();
    const n = 2000;
    for (let x = 0; x < n; x++) h.processElement(x, x);
    for (let x = 0; x < 1500; x++) fn.complete(x);
    for (let x = n - 1; x >= 1500; x--) fn.complete(x);
    assert.deepEqual(h.watermarks(), []);
    assert.deepEqual(
      h.values(),
      Array.from({ length: n }, (_, x) => `r${x}`),
    );
  });

  for (const mode of ["ordered", "unordered"] as const) {
    it(`${mode}: a checkpoint holds the watermarks between the queued requests`, async () => {
      const fn = new Pending();
      const h = harness(mode, fn);
      await h.open();
      h.processElement(1, 1);
      h.processWatermark(5);
      h.processElement(2, 6);
      assert.deepEqual(queueSnapshot(h)?.elements, [
        { value: 1, timestamp: 1 },
        { watermark: 5 },
        { value: 2, timestamp: 6 },
      ]);
    });
  }

  it("unordered: completed results leave in completion order, each with its own timestamp", async () => {
    const fn = new Pending();
    const h = harness("unordered", fn);
    await h.open();
    for (const x of [1, 2, 3]) h.processElement(x, x * 10);
    fn.complete(3, ["a", "b"]);
    fn.complete(1, []);
    fn.complete(2);
    assert.deepEqual(h.records(), [
      { value: "a", timestamp: 30 },
      { value: "b", timestamp: 30 },
      { value: "r2", timestamp: 20 },
    ]);
  });
});

describe("Async I/O operator: checkpoints and restore", () => {
  async function heldSnapshot(subtask: number, p: number, values: number[]): Promise<HarnessSnapshot> {
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 1, p, i: subtask });
    await h.open();
    h.processElement(values[0]!, 1);
    h.processWatermark(5);
    for (const v of values.slice(1)) h.processElement(v, 2);
    const s = await h.snapshot();
    await h.close();
    return s;
  }

  it("restores every old subtask's records, in old subtask order, before new input; watermarks dropped", async () => {
    const snaps = [
      await heldSnapshot(0, 3, [0, 10]),
      await heldSnapshot(1, 3, [1, 11]),
      await heldSnapshot(2, 3, [2, 12]),
    ];
    const fn0 = new Pending();
    const h0 = harness("ordered", fn0, { p: 2, i: 0 });
    await h0.initializeState([snaps[2]!, snaps[1]!, snaps[0]!]);
    assert.deepEqual(fn0.invoked, [], "started in open(), not before");
    await h0.open();
    h0.processElement(99, 3);
    assert.deepEqual(fn0.invoked, [0, 10, 2, 12, 99], "subtasks 0 and 2 (k % 2 === 0), in that order");
    for (const x of [0, 10, 2, 12, 99]) fn0.complete(x);
    assert.deepEqual(h0.watermarks(), [], "the restored watermark is not emitted again");
    assert.deepEqual(
      h0.records().map((r) => r.timestamp),
      [1, 2, 1, 2, 3],
      "restored records keep their timestamps",
    );

    const fn1 = new Pending();
    const h1 = harness("ordered", fn1, { p: 2, i: 1 });
    await h1.initializeState(snaps);
    await h1.open();
    assert.deepEqual(fn1.invoked, [1, 11]);
  });

  it("a restored queue larger than the capacity starts what fits and buffers the rest", async () => {
    const snap = await heldSnapshot(0, 1, [1, 2, 3]);
    const fn = new Pending();
    const h = harness("ordered", fn, { capacity: 2 });
    await h.initializeState(snap);
    await h.open();
    assert.deepEqual(fn.invoked, [1, 2]);
    assert.equal(operatorOf(h).isInputAvailable(), false);
    fn.complete(1);
    assert.deepEqual(fn.invoked, [1, 2, 3]);
  });

  it("refuses state that is not an Async I/O queue, naming the operator and the checkpoint", async () => {
    for (const bad of [null, 7, "x", { subtask: 0 }, { elements: [] }, { subtask: 0.5, elements: [] }]) {
      const h = harness("ordered", new Pending());
      assert.throws(
        () =>
          operatorOf(h).initializeState({
            keyGroups: [],
            operatorState: {},
            custom: [bad],
            checkpointId: 42,
          }),
        /is an Async I\/O operator, but its state in checkpoint 42 is not an Async I\/O queue/,
        JSON.stringify(bad),
      );
    }
    const ok = harness("ordered", new Pending());
    operatorOf(ok).initializeState({
      keyGroups: [],
      operatorState: {},
      custom: [{ subtask: 0, elements: [] }],
      checkpointId: 1,
    });
  });
});
