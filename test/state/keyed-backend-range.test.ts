// Both keyed backends over a key-group range that does not start at 0 (a subtask of a parallel
// job): restored key groups at and just past the range's ends, keys of map state listed once per
// key however many user keys they hold, clearing one namespace of a map state, and the rules of
// a snapshot (each key group read once, nothing after release).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { MapStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const RANGE: KeyGroupRange = { start: 40, end: 47 };

/** A key of key group `kg` (found by trying names). */
function keyIn(kg: number, nth = 0): string {
  let found = 0;
  for (let i = 0; ; i++) {
    if (assignToKeyGroup(`k${i}`, MAX) === kg && found++ === nth) return `k${i}`;
  }
}

const backends: Array<[string, () => KeyedStateBackend]> = [
  ["heap", () => new HeapKeyedStateBackend(RANGE)],
  ["embedded", () => new EmbeddedKeyedStateBackend(RANGE, { managedMemoryBytes: 2 ** 21 })],
];

for (const [label, create] of backends) {
  describe(`${label} backend over key groups ${RANGE.start}..${RANGE.end}`, () => {
    it("restores the key groups of its range, the first and last included, and ignores the others", () => {
      const b = create();
      try {
        for (const kg of [RANGE.start - 1, RANGE.start, RANGE.end, RANGE.end + 1]) {
          b.restoreKeyGroup(kg, [["v", null, keyIn(kg), kg]]);
        }
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        assert.equal(b.size("v"), 2);
        for (const kg of [RANGE.start, RANGE.end]) {
          b.setCurrentKey(keyIn(kg), kg);
          assert.equal(v.value(), kg);
        }
        assert.deepEqual(b.getKeys("v").sort(), [keyIn(RANGE.start), keyIn(RANGE.end)].sort());
        const snap = b.snapshot();
        assert.deepEqual(snap.entries(RANGE.end), [["v", null, keyIn(RANGE.end), RANGE.end]]);
        assert.deepEqual(snap.entries(RANGE.start + 1), []);
        snap.release();
      } finally {
        b.dispose?.();
      }
    });

    it("lists a map state's keys once each, per namespace, and clears one namespace only", () => {
      const b = create();
      try {
        const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
        const kg = RANGE.start + 3;
        const keys = [keyIn(kg, 0), keyIn(kg, 1), keyIn(RANGE.end, 0)];
        for (const k of keys) {
          b.setCurrentKey(k, assignToKeyGroup(k, MAX));
          for (const ns of ["w1", "w2"]) {
            b.setCurrentNamespace(ns);
            for (const uk of ["a", "b", "c"]) m.put(uk, 1);
          }
        }
        b.setCurrentNamespace(VOID_NAMESPACE);
        assert.deepEqual(b.getKeys("m", "w1").sort(), [...keys].sort());
        assert.deepEqual(b.getKeys("m", "w2").sort(), [...keys].sort());
        assert.deepEqual(b.getKeys("m", "w3"), []);
        assert.deepEqual(b.getKeys("nothing", "w1"), []);
        b.setCurrentKey(keys[1], kg);
        b.clearNamespace("w1", "m");
        assert.deepEqual(b.getKeys("m", "w1").sort(), [keys[0], keys[2]].sort());
        assert.deepEqual(b.getKeys("m", "w2").sort(), [...keys].sort());
        b.setCurrentNamespace("w2");
        assert.deepEqual([...m.keys()].sort(), ["a", "b", "c"]);
        b.clearNamespace("w2");
        assert.deepEqual([...m.keys()], []);
        assert.deepEqual(b.getKeys("m", "w2").sort(), [keys[0], keys[2]].sort());
      } finally {
        b.dispose?.();
      }
    });

    it("a snapshot's key group is read once, and nothing after release", () => {
      const b = create();
      try {
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        b.setCurrentKey(keyIn(RANGE.start), RANGE.start);
        v.update(1);
        const snap = b.snapshot();
        assert.deepEqual(snap.entries(RANGE.start), [["v", null, keyIn(RANGE.start), 1]]);
        snap.release();
        snap.release();
        assert.throws(() => snap.entries(RANGE.start), /released/);
      } finally {
        b.dispose?.();
      }
    });
  });
}
