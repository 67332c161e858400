// The heap backend keeps each void-namespace key's key group between snapshots (StateTable's
// voidKeyGroups): a snapshot hashes only the keys added since the last one, and still puts every
// key in its own key group whatever changed in between (keys added, deleted, deleted and set
// again, overwritten; before the capture and between it and the reads); listings by key group
// (getKeys, applyToAllKeys, keyGroupEntries) use the same cache.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { type KeyContext, type MapKey, StateTable, VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 16;

/** A deterministic sequence of small integers (a fixed linear congruential generator). */
function steps(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x >> 8;
  };
}

/** key -> value as the live model, and every snapshot checked against it, key group by key group. */
function checkSnapshot(b: HeapKeyedStateBackend, model: Map<string, number>, between: () => void): void {
  const expected = new Map<number, string[]>();
  for (const [k, v] of model) {
    const kg = assignToKeyGroup(k, MAX);
    const list = expected.get(kg) ?? [];
    list.push(`${k}=${v}`);
    expected.set(kg, list);
  }
  const snap = b.snapshot();
  try {
    for (const kg of snap.keyGroups) {
      const got = snap.entries(kg).map(([, , k, v]) => `${String(k)}=${String(v)}`);
      assert.deepEqual(got.sort(), (expected.get(kg) ?? []).sort(), `key group ${kg}`);
      expected.delete(kg);
      between();
    }
  } finally {
    snap.release();
  }
  assert.deepEqual([...expected.keys()], [], "key groups with entries left out of the snapshot");
}

describe("heap backend: key groups kept between snapshots", () => {
  for (const range of [
    { start: 0, end: MAX - 1 },
    { start: 5, end: 11 },
  ]) {
    it(`every key in its own key group across snapshots with changes, key groups ${range.start}..${range.end}`, () => {
      const b = new HeapKeyedStateBackend(range, MAX);
      const s = b.getState(new ValueStateDescriptor<number>("v"));
      const keys = Array.from({ length: 400 }, (_, i) => `k${i}`).filter((k) => {
        const kg = assignToKeyGroup(k, MAX);
        return kg >= range.start && kg <= range.end;
      });
      const model = new Map<string, number>();
      const next = steps(7);
      const change = (n: number) => {
        for (let c = 0; c < n; c++) {
          const k = keys[next() % keys.length]!;
          b.setCurrentKey(k, assignToKeyGroup(k, MAX));
          // Deletes, overwrites and (re)inserts: a deleted key set again moves to the Map's end.
          if (next() % 3 === 0) {
            s.clear();
            model.delete(k);
          } else {
            const v = next() % 1000;
            s.update(v);
            model.set(k, v);
          }
        }
      };
      for (let round = 0; round < 12; round++) {
        change(round === 0 ? 300 : (round % 4) * 40);
        const atCapture = new Map(model);
        // Changes while the snapshot is read: it keeps reading the state of its capture.
        checkSnapshot(b, atCapture, () => change(3));
      }
      const byGroup = (list: unknown[]) =>
        list.map((k) => assignToKeyGroup(k, MAX)).every((g, i, a) => i === 0 || a[i - 1]! <= g);
      const listed = b.getKeys("v");
      assert.deepEqual([...listed].sort(), [...model.keys()].sort());
      assert.ok(byGroup(listed), "getKeys lists keys key group by key group");
      for (let kg = range.start; kg <= range.end; kg++) {
        for (const e of b.keyGroupEntries(kg)) assert.equal(assignToKeyGroup(e.mapKey, MAX), kg);
      }
    });
  }

  it("a snapshot hashes only the keys added since the last one", () => {
    const ctx: KeyContext = { key: undefined, mapKey: "", keyGroupIndex: 0, namespace: VOID_NAMESPACE };
    let hashed = 0;
    const t = new StateTable("s", MAX, ctx, (mk: MapKey) => {
      hashed++;
      return assignToKeyGroup(mk, MAX);
    });
    const put = (k: string, v: number) => t.voidMap.set(k, v);
    const snapshotHashes = () => {
      hashed = 0;
      const c = t.capture(Array.from({ length: MAX }, (_, i) => i));
      const seen: string[] = [];
      for (let i = 0; i < MAX; i++) {
        c.read(i, (_ns, k) => {
          assert.equal(assignToKeyGroup(k, MAX), i, `key ${String(k)} read in key group ${i}`);
          seen.push(String(k));
        });
      }
      assert.deepEqual(seen.sort(), [...t.voidMap.keys()].map(String).sort());
      return hashed;
    };
    for (let i = 0; i < 100; i++) put(`k${i}`, i);
    assert.equal(snapshotHashes(), 100, "the first snapshot hashes every key");
    assert.equal(snapshotHashes(), 0, "no key changed");
    for (let i = 0; i < 100; i += 2) put(`k${i}`, -i);
    assert.equal(snapshotHashes(), 0, "values changed, keys did not");
    for (let i = 100; i < 110; i++) put(`k${i}`, i);
    assert.equal(snapshotHashes(), 10, "keys added");
    t.voidMap.delete("k0");
    t.voidMap.delete("k50");
    t.voidMap.delete("k109");
    assert.equal(snapshotHashes(), 0, "keys deleted");
    t.voidMap.delete("k7");
    put("k7", 7); // deleted and set again: at the Map's end, hashed again
    put("k200", 200);
    assert.equal(snapshotHashes(), 2, "a key set again after its delete, a new key");
    t.voidMap.clear();
    for (let i = 0; i < 5; i++) put(`k${i}`, i);
    assert.equal(snapshotHashes(), 5, "after a clear");
    assert.equal(snapshotHashes(), 0);
  });
});
