// Restoring keyed state decodes one key group at a time: what a restore loads from a checkpoint
// holds each key group encoded, decoded only when the operator restores it (a task with millions
// of keys never holds all of them as JS objects at once), and the operator restores every key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type KeyedProcessFunction, ValueStateDescriptor } from "../../src/index.ts";
import { decodeRestoredKeyGroup } from "../../src/runtime/snapshot.ts";
import { restoreFrom } from "../../src/testing/harness-snapshot.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";

const COUNT = new ValueStateDescriptor<number>("count");

const counter: KeyedProcessFunction<string, string, string> = {
  processElement(word, ctx, out) {
    const count = ctx.runtime.getState(COUNT);
    const n = (count.value() ?? 0) + 1;
    count.update(n);
    out.collect(`${word}=${n}`);
  },
};

describe("restore: key groups decoded on demand", () => {
  for (const stateBackend of ["heap", "embedded"] as const) {
    it(`${stateBackend}: the loaded key groups are decoded when restored, and every key comes back`, async () => {
      const words = Array.from({ length: 500 }, (_, i) => `w${i}`);
      const original = KeyedOneInputHarness.forKeyedProcessFunction(counter, (w: string) => w, {
        stateBackend,
      });
      await original.open();
      for (const w of words) original.processElement(w, 0);
      const snapshot = await original.snapshot();
      await original.close();

      const loaded = await restoreFrom([snapshot], {
        operatorUid: snapshot.operatorUid,
        operatorName: snapshot.operatorName,
        subtaskIndex: 0,
        parallelism: 1,
        maxParallelism: snapshot.maxParallelism,
        keyed: true,
      });
      assert.ok(loaded.keyGroups.length > 1);
      let entries = 0;
      for (const [, g] of loaded.keyGroups) {
        assert.ok(typeof g === "function" || "visit" in g, "a key group loaded decoded");
        entries += decodeRestoredKeyGroup(g).entries.length;
      }
      assert.equal(entries, words.length);

      const restored = KeyedOneInputHarness.forKeyedProcessFunction(counter, (w: string) => w, {
        stateBackend,
      });
      await restored.initializeState(snapshot);
      await restored.open();
      for (const w of words) restored.processElement(w, 0);
      assert.deepEqual(restored.values().sort(), words.map((w) => `${w}=2`).sort());
      await restored.close();
    });
  }
});
