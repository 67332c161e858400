// Incremental TTL cleanup on the heap backend while the window operator clears and merges
// namespaces under it: the cleanup walks a namespace's Map across accesses, and a namespace whose
// last entry is cleared leaves the table with that entry still in its Map (state-table.ts: the Map
// is dropped whole), so the walk may still hand out a key the table no longer has, in a namespace
// that is gone or that was made again since (a merge into it). Neither may break the state.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ListStateDescriptor, StateTtlConfig } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const TTL = 100;

/**
 * A backend with one list state cleaned up one entry per access; session "v" holds [3] for key
 * "b", and the cleanup has walked session "w" up to its key "a", whose entry (and key "x"'s) the
 * window operator then clears without touching the state handle (clearNamespace).
 */
function walkedIntoClearedWindow() {
  const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
  const clock = { t: 1000 };
  b.setTimeProvider(() => clock.t);
  const at = (key: string, ns?: string) => {
    b.setCurrentKey(key, assignToKeyGroup(key, MAX));
    b.setCurrentNamespace(ns ?? VOID_NAMESPACE);
  };
  const s = b.getListState(
    new ListStateDescriptor<number>("l").enableTimeToLive(
      StateTtlConfig.newBuilder(TTL).cleanupIncrementally(1).build(),
    ),
  );
  at("b", "v");
  s.add(3);
  at("x", "w");
  s.add(1); // the cleanup visits b in v
  at("a", "w");
  s.add(2); // the cleanup moves to w and visits x; a is next
  at("x");
  b.clearNamespace("w");
  at("a");
  b.clearNamespace("w"); // w's last entry: the namespace leaves the table
  assert.equal(b.size("l"), 1);
  return { b, s, at, clock };
}

describe("incremental TTL cleanup over windows cleared and merged meanwhile", () => {
  it("a key of a window that is gone: the next accesses work and nothing comes back", () => {
    const { b, s, at } = walkedIntoClearedWindow();
    for (let i = 0; i < 3; i++) {
      at("b", "v");
      assert.deepEqual([...s.get()], [3]);
    }
    at("a", "w");
    assert.deepEqual([...s.get()], []);
    assert.equal(b.size("l"), 1);
  });

  it("a key of a window made again by a merge: the merged contents stay and expire on time", () => {
    const { b, s, at, clock } = walkedIntoClearedWindow();
    at("b");
    b.mergeNamespaces("l", "w", ["v"]); // session v merged into w: w exists again, without a
    for (let i = 0; i < 3; i++) {
      at("b", "w");
      assert.deepEqual([...s.get()], [3]);
    }
    at("a", "w");
    assert.deepEqual([...s.get()], []);
    clock.t += TTL;
    at("b", "w");
    assert.deepEqual([...s.get()], [], "expired");
    assert.equal(b.size("l"), 0);
  });
});
