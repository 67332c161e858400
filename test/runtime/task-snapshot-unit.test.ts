// A task snapshot's two helpers on their own: detachOperatorSnapshots copies what later processing
// could change and keeps, by reference, the keyed state snapshot (copy-on-write already) and the
// pending custom data (awaited by the writer); releaseKeyedState releases every operator's keyed
// state snapshot. (Written from mutation testing of runtime/snapshot.ts.)

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  detachOperatorSnapshots,
  type OperatorSnapshot,
  type PendingKeyedState,
  releaseKeyedState,
} from "../../src/runtime/snapshot.ts";

function pendingKeyedState(released: string[], name: string): PendingKeyedState {
  return {
    state: { release: () => released.push(name) } as unknown as PendingKeyedState["state"],
    timers: [],
  };
}

describe("detachOperatorSnapshots", () => {
  it("copies plain data, keeps keyed state and pending custom data as they are, adds nothing", () => {
    const keyed = pendingKeyedState([], "keyed");
    const pending = Promise.resolve("prepared");
    const operators: Record<string, OperatorSnapshot> = {
      source: { splits: [{ id: "s1", offset: 4 }], operatorState: { o: { mode: "split", values: [1] } } },
      window: { keyedState: keyed, custom: { n: 1 } },
      sink: { pendingCustom: pending },
    };
    const detached = detachOperatorSnapshots(operators);
    assert.deepEqual(Object.keys(detached), ["source", "window", "sink"]);
    assert.deepEqual(detached.source, operators.source);
    assert.deepEqual(Object.keys(detached.source!).sort(), ["operatorState", "splits"]);
    assert.equal(detached.window!.keyedState, keyed);
    assert.deepEqual(detached.window!.custom, { n: 1 });
    assert.deepEqual(Object.keys(detached.window!).sort(), ["custom", "keyedState"]);
    assert.equal(detached.sink!.pendingCustom, pending);
    assert.deepEqual(Object.keys(detached.sink!), ["pendingCustom"]);
    // Later processing changes the originals; the detached copy keeps the values at the barrier.
    (operators.source!.splits![0] as { offset: number }).offset = 99;
    (operators.window!.custom as { n: number }).n = 2;
    assert.deepEqual(detached.source!.splits, [{ id: "s1", offset: 4 }]);
    assert.deepEqual(detached.window!.custom, { n: 1 });
  });
});

describe("releaseKeyedState", () => {
  it("releases the keyed state snapshot of every operator that has one", () => {
    const released: string[] = [];
    releaseKeyedState({
      operators: {
        a: { keyedState: pendingKeyedState(released, "a") },
        b: { custom: 1 },
        c: { keyedState: pendingKeyedState(released, "c") },
      },
    });
    assert.deepEqual(released, ["a", "c"]);
  });
});
