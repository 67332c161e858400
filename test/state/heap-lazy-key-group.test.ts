// The heap backend's void-namespace layout (one Map per state, key groups computed from the keys)
// and setCurrentKeyLazily (a key made current without its key group, as the generated loop of a
// keyed reduce at parallelism 1 does): snapshots taken while keys are set that way read the state
// of their moment, key group by key group, as they do with key groups given; the key group is
// computed when namespaced state, getCurrentKeyGroup or a snapshot needs it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ListStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyGroupSnapshotEntry } from "../../src/state/keyed-state-backend.ts";
import { keyGroupOfMapKey, mapKeyOf } from "../../src/state/state-table.ts";

const KEYS: unknown[] = [
  "a",
  "word",
  "",
  "\u0000lead",
  7,
  -3,
  2 ** 40,
  0.25,
  true,
  12n,
  [1, "x"],
  { b: 2, a: [true] },
];

/** Every key group's snapshot entries, ascending, empty ones left out (as the writer does). */
function snapshotOf(
  b: HeapKeyedStateBackend,
  between?: () => void,
): Array<[number, KeyGroupSnapshotEntry[]]> {
  const snap = b.snapshot();
  const out: Array<[number, KeyGroupSnapshotEntry[]]> = [];
  try {
    for (const kg of snap.keyGroups) {
      const entries = snap.entries(kg);
      if (entries.length > 0) out.push([kg, entries]);
      between?.();
    }
  } finally {
    snap.release();
  }
  return out;
}

describe("heap backend: key groups computed from keys", () => {
  it("keyGroupOfMapKey is assignToKeyGroup of the key, for every kind of key", () => {
    for (const max of [1, 16, 128, 1000]) {
      for (const k of KEYS)
        assert.equal(keyGroupOfMapKey(mapKeyOf(k), max), assignToKeyGroup(k, max), String(k));
    }
  });

  it("a lazily set key snapshots into its key group, as a key set with its key group does", () => {
    for (const max of [128, 16]) {
      const eager = new HeapKeyedStateBackend({ start: 0, end: max - 1 }, max);
      const lazy = new HeapKeyedStateBackend({ start: 0, end: max - 1 }, max);
      assert.equal(lazy.ownsAllKeyGroups(), true);
      const d = new ValueStateDescriptor<number>("v");
      for (const [i, k] of KEYS.entries()) {
        eager.setCurrentKey(k, assignToKeyGroup(k, max));
        eager.getState(d).update(i);
        lazy.setCurrentKeyLazily(k);
        lazy.getState(d).update(i);
      }
      assert.deepEqual(snapshotOf(lazy), snapshotOf(eager));
      lazy.setCurrentKeyLazily([1, "x"]);
      assert.equal(lazy.getCurrentKeyGroup(), assignToKeyGroup([1, "x"], max));
    }
  });

  it("changes through lazily set keys while a snapshot is read keep the snapshot's state", () => {
    const b = new HeapKeyedStateBackend({ start: 0, end: 127 });
    const d = new ValueStateDescriptor<{ n: number }>("obj");
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const k of keys) {
      b.setCurrentKeyLazily(k);
      b.getState(d).update({ n: 1 });
    }
    const expected = structuredClone(snapshotOf(b)); // its values are live objects
    let round = 0;
    const got = snapshotOf(b, () => {
      round++;
      for (const [i, k] of keys.entries()) {
        b.setCurrentKeyLazily(k);
        const s = b.getState(d);
        if (i % 7 === round % 7) s.clear();
        else {
          const v = s.value();
          if (v !== undefined && i % 5 === 0)
            v.n += 1; // changed in place
          else s.update({ n: round });
        }
      }
      b.setCurrentKeyLazily(`new${round}`);
      b.getState(d).update({ n: -1 });
    });
    assert.deepEqual(got, expected);
  });

  it("namespaced state under a lazily set key goes to the key's key group", () => {
    const b = new HeapKeyedStateBackend({ start: 0, end: 127 });
    const d = new ListStateDescriptor<number>("l");
    b.setCurrentKeyLazily("w");
    b.setCurrentNamespace("win");
    b.getListState(d).add(1);
    b.getListState(d).add(2);
    const kg = assignToKeyGroup("w", 128);
    assert.deepEqual(snapshotOf(b), [[kg, [["l", "win", "w", [1, 2]]]]]);
    b.setCurrentKeyLazily("w");
    b.clearNamespace("win");
    assert.deepEqual(snapshotOf(b), []);
  });

  it("refuses a restored entry outside its key group, and a range beyond the max parallelism", () => {
    const b = new HeapKeyedStateBackend({ start: 0, end: 15 }, 16);
    const k = "word";
    const other = (assignToKeyGroup(k, 16) + 1) % 16;
    assert.throws(() => b.restoreKeyGroup(other, [["v", null, k, 1]]), /restore with the max parallelism/);
    b.restoreKeyGroup(assignToKeyGroup(k, 16), [["v", null, k, 1]]);
    assert.equal(b.size("v"), 1);
    assert.throws(() => new HeapKeyedStateBackend({ start: 0, end: 127 }, 16), /exceed max parallelism 16/);
    // One group past the last (key groups 0..15): refused; up to the last: a backend.
    assert.throws(
      () => new HeapKeyedStateBackend({ start: 8, end: 16 }, 16),
      /key groups 8\.\.16 exceed max parallelism 16 \(key groups 0\.\.15\)/,
    );
    assert.equal(new HeapKeyedStateBackend({ start: 8, end: 15 }, 16).keyGroupRange.end, 15);
    assert.equal(new HeapKeyedStateBackend({ start: 0, end: 7 }, 16).ownsAllKeyGroups(), false);
  });
});
