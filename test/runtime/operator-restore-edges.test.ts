// What every operator does for its user function and its keyed state around checkpoints, one
// operator in a harness: completed and aborted checkpoints reach the function with their id, and a
// restore at another parallelism brings back the state of the first and the last key group of each
// subtask's range (the range's bounds are inclusive), on both state backends.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, keyGroupRangeFor } from "../../src/core/key-groups.ts";
import {
  type DataStream,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ProcessFunction,
  ValueStateDescriptor,
} from "../../src/index.ts";
import { KeyedOneInputHarness, OneInputHarness } from "../../src/testing/index.ts";

const SUM = new ValueStateDescriptor<number>("sum");
const MAX_P = 128;

/** Adds each value to its key's sum. */
class Summing implements KeyedProcessFunction<number, number, never> {
  processElement(v: number, ctx: KeyedProcessContext<number>): void {
    const s = ctx.runtime.getState(SUM);
    s.update((s.value() ?? 0) + v);
  }
}

/** The smallest non-negative integer key in key group `kg`. */
function keyIn(kg: number): number {
  for (let k = 0; ; k++) if (assignToKeyGroup(k, MAX_P) === kg) return k;
}

describe("operator: checkpoint notifications reach the user function", () => {
  it("completed and aborted checkpoints, with their ids", async () => {
    const heard: string[] = [];
    const fn: ProcessFunction<number, number> & {
      notifyCheckpointComplete(id: number): void;
      notifyCheckpointAborted(id: number): void;
    } = {
      processElement(v, _ctx, out) {
        out.collect(v);
      },
      notifyCheckpointComplete: (id) => heard.push(`complete ${id}`),
      notifyCheckpointAborted: (id) => heard.push(`aborted ${id}`),
    };
    const h = OneInputHarness.of((s: DataStream<number>) => s.process(fn));
    await h.open();
    await h.snapshot(3);
    h.notifyCheckpointComplete(3);
    (
      h as unknown as { operator: { notifyCheckpointAborted(id: number): void } }
    ).operator.notifyCheckpointAborted(4);
    assert.deepEqual(heard, ["complete 3", "aborted 4"]);
  });
});

for (const stateBackend of ["heap", "embedded"] as const) {
  describe(`operator restore at another parallelism (${stateBackend})`, () => {
    it("each subtask gets the first and the last key group of its range", async () => {
      const ranges = [0, 1].map((i) => keyGroupRangeFor(MAX_P, 2, i));
      const bounds = ranges.flatMap((r) => [r.start, r.end]);
      const keys = bounds.map(keyIn);
      const old = KeyedOneInputHarness.forKeyedProcessFunction(new Summing(), (v: number) => v, {
        stateBackend,
        maxParallelism: MAX_P,
      });
      await old.open();
      for (const k of keys) old.processElement(k);
      const snap = await old.snapshot();
      await old.close();
      for (const i of [0, 1]) {
        const h = KeyedOneInputHarness.forKeyedProcessFunction(new Summing(), (v: number) => v, {
          stateBackend,
          maxParallelism: MAX_P,
          parallelism: 2,
          subtaskIndex: i,
        });
        await h.initializeState(snap);
        await h.open();
        const mine = keys.slice(2 * i, 2 * i + 2);
        for (const k of mine)
          assert.equal(
            h.withKey(k, (s) => s.getState(SUM).value()),
            k,
            `key ${k}`,
          );
        assert.equal(h.numKeyedStateEntries("sum"), 2, `subtask ${i}`);
        await h.close();
      }
    });
  });
}
