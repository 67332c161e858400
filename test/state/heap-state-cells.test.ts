// Cell mode of the heap backend (value-like states without TTL keep a StateCell per entry, and
// ValueState.update() writes the cell value() found): a cached cell must never be written once its
// entry was removed, replaced or belongs to another key or namespace, and snapshots, restores and
// key-group iteration must see stored values, never cells.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ReducingStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;

function backend() {
  const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
  const at = (key: string) => b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  return { b, at };
}

describe("heap backend: state cells", () => {
  it("update() after the entry was cleared elsewhere stores the value", () => {
    const { b, at } = backend();
    const d = new ValueStateDescriptor<number>("count");
    const s = b.getState(d);
    at("a");
    s.update(1);
    assert.equal(s.value(), 1);
    b.clearNamespace(VOID_NAMESPACE, "count"); // the cell value() found is gone
    s.update(2);
    assert.equal(s.value(), 2);
    assert.equal(b.size("count"), 1);
  });

  it("update() after applyToAllKeys cleared the current key stores the value", () => {
    const { b, at } = backend();
    const d = new ValueStateDescriptor<number>("count");
    const s = b.getState(d);
    for (const k of ["a", "b"]) {
      at(k);
      s.update(1);
    }
    at("a");
    assert.equal(s.value(), 1);
    b.applyToAllKeys(d, (_key, st: typeof s) => st.clear());
    s.update(5); // the current key is "a" again, its old cell detached
    assert.equal(s.value(), 5);
    at("b");
    assert.equal(s.value(), undefined);
  });

  it("update() goes to the current key and namespace, not to the cell read before", () => {
    const { b, at } = backend();
    const s = b.getState(new ValueStateDescriptor<number>("count"));
    at("a");
    b.setCurrentNamespace(1);
    s.update(10);
    assert.equal(s.value(), 10);
    b.setCurrentNamespace(2);
    s.update(20);
    at("b");
    b.setCurrentNamespace(1);
    s.update(30);
    at("a");
    b.setCurrentNamespace(1);
    assert.equal(s.value(), 10);
    b.setCurrentNamespace(2);
    assert.equal(s.value(), 20);
    at("b");
    b.setCurrentNamespace(1);
    assert.equal(s.value(), 30);
  });

  it("a snapshot taken between value() and update() keeps the old value", () => {
    const { b, at } = backend();
    const s = b.getState(new ValueStateDescriptor<number>("count"));
    at("a");
    s.update(1);
    assert.equal(s.value(), 1);
    const snap = b.snapshot();
    s.update(2); // no setCurrentKey in between
    const kg = assignToKeyGroup("a", MAX);
    assert.deepEqual(snap.entries(kg), [["count", null, "a", 1]]);
    snap.release();
    assert.equal(s.value(), 2);
  });

  it("snapshots, key-group iteration and restore see stored values", () => {
    const { b, at } = backend();
    const s = b.getState(new ValueStateDescriptor<{ n: number }>("obj"));
    const r = b.getReducingState(new ReducingStateDescriptor<number>("sum", (x, y) => x + y));
    at("a");
    s.update({ n: 1 });
    r.add(3);
    r.add(4);
    const kg = assignToKeyGroup("a", MAX);
    const entries = b.snapshotKeyGroup(kg);
    assert.deepEqual(
      entries.sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      [
        ["obj", null, "a", { n: 1 }],
        ["sum", null, "a", 7],
      ],
    );
    assert.deepEqual(
      [...b.keyGroupEntries(kg)].map((e) => e.value),
      [{ n: 1 }, 7],
    );
    // Restored before the states register (pending tables), then adopted in cell mode.
    const { b: b2, at: at2 } = backend();
    b2.restoreKeyGroup(kg, entries);
    const s2 = b2.getState(new ValueStateDescriptor<{ n: number }>("obj"));
    const r2 = b2.getReducingState(new ReducingStateDescriptor<number>("sum", (x, y) => x + y));
    at2("a");
    assert.deepEqual(s2.value(), { n: 1 });
    r2.add(1);
    assert.equal(r2.get(), 8);
    // Restored after they registered.
    const { b: b3, at: at3 } = backend();
    const s3 = b3.getState(new ValueStateDescriptor<{ n: number }>("obj"));
    b3.restoreKeyGroup(kg, entries);
    at3("a");
    assert.deepEqual(s3.value(), { n: 1 });
    assert.deepEqual(
      b3.snapshotKeyGroup(kg).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      entries,
    );
  });

  it("a restore replacing an entry is not undone by a cell read before it", () => {
    const { b, at } = backend();
    const s = b.getState(new ValueStateDescriptor<number>("count"));
    at("a");
    s.update(1);
    assert.equal(s.value(), 1);
    b.restoreKeyGroup(assignToKeyGroup("a", MAX), [["count", null, "a", 7]]);
    s.update(8);
    assert.equal(s.value(), 8);
    assert.equal(b.size("count"), 1);
  });
});
