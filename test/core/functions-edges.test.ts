// The small user-facing pieces of src/core/functions.ts and checkpointed-function.ts: side output
// tags, the built-in accumulators (merged across subtasks into the JobResult), and how a function
// object is recognised as rich or checkpointed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isCheckpointedFunction } from "../../src/core/checkpointed-function.ts";
import {
  Counter,
  isFunctionObject,
  ListAccumulator,
  MaxAccumulator,
  OutputTag,
} from "../../src/core/functions.ts";
import { Types } from "../../src/core/types/types.ts";

describe("OutputTag", () => {
  it("keeps its id and type", () => {
    const t = new OutputTag<string>("late", Types.STRING);
    assert.equal(t.id, "late");
    assert.equal(t.type, Types.STRING);
    assert.equal(new OutputTag("x").type, undefined);
    assert.equal(new OutputTag("x").id, "x");
  });

  it("refuses an empty or non-string id", () => {
    for (const bad of ["", undefined, 3, null]) {
      assert.throws(
        () => new OutputTag(bad as unknown as string),
        (e: unknown) => e instanceof TypeError && /non-empty id/.test(e.message),
        String(bad),
      );
    }
  });
});

describe("accumulators", () => {
  it("Counter adds 1 by default, any amount when given, and merges by adding", () => {
    const c = new Counter();
    assert.equal(c.getLocalValue(), 0);
    c.add();
    c.add(5);
    c.add(-2);
    assert.equal(c.getLocalValue(), 4);
    c.merge(10);
    assert.equal(c.getLocalValue(), 14);
  });

  it("MaxAccumulator keeps the largest value, -Infinity before any", () => {
    const m = new MaxAccumulator();
    assert.equal(m.getLocalValue(), Number.NEGATIVE_INFINITY);
    m.add(3);
    m.add(1);
    assert.equal(m.getLocalValue(), 3);
    m.add(-7);
    m.merge(2);
    assert.equal(m.getLocalValue(), 3);
    m.merge(9);
    assert.equal(m.getLocalValue(), 9);
  });

  it("ListAccumulator appends values and arrays' elements, in order, and merges the same way", () => {
    const l = new ListAccumulator<number>();
    assert.deepEqual(l.getLocalValue(), []);
    l.add(1);
    l.add([2, 3]);
    l.merge([4, 5]);
    l.add(6);
    assert.deepEqual(l.getLocalValue(), [1, 2, 3, 4, 5, 6]);
  });
});

describe("recognising function objects", () => {
  it("isFunctionObject: an object with that method, nothing else", () => {
    assert.equal(isFunctionObject({ map: () => 1 }, "map"), true);
    assert.equal(isFunctionObject({ map: 1 }, "map"), false);
    assert.equal(isFunctionObject({ filter: () => true }, "map"), false);
    assert.equal(isFunctionObject(null, "map"), false);
    assert.equal(
      isFunctionObject(() => 1, "map"),
      false,
    );
    class Mapper {
      map(x: number): number {
        return x;
      }
    }
    assert.equal(isFunctionObject(new Mapper(), "map"), true, "a method on the prototype counts");
  });

  it("isCheckpointedFunction: both initializeState and snapshotState as methods", () => {
    const both = { initializeState() {}, snapshotState() {} };
    assert.equal(isCheckpointedFunction(both), true);
    assert.equal(isCheckpointedFunction({ initializeState() {} }), false);
    assert.equal(isCheckpointedFunction({ snapshotState() {} }), false);
    assert.equal(isCheckpointedFunction({ initializeState() {}, snapshotState: true }), false);
    assert.equal(isCheckpointedFunction({ initializeState: 1, snapshotState() {} }), false);
    assert.equal(isCheckpointedFunction(null), false);
    assert.equal(isCheckpointedFunction(undefined), false);
    const fn = Object.assign(() => 1, { initializeState() {}, snapshotState() {} });
    assert.equal(isCheckpointedFunction(fn), false, "a plain function is never checkpointed");
  });
});
