// The embedded backend's restore from encoded key groups (restoreEncodedKeyGroup) at its edges: a
// key group outside the backend's range is ignored, as by restoreKeyGroup, and entries of states
// registered before the restore are decoded into their own encoding (read back as restored),
// beside a state that registers only afterwards; keys longer than the restore's key buffer; typed
// states, with and without TTL, registered after their raw restore take new writes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKeyGroupFrom, visitKeyGroup } from "../../src/checkpoint/state-file.ts";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import {
  ListStateDescriptor,
  MapStateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";

const MAX = 128;
const RANGE: KeyGroupRange = { start: 40, end: 47 };

function keyIn(kg: number): string {
  for (let i = 0; ; i++) if (assignToKeyGroup(`k${i}`, MAX) === kg) return `k${i}`;
}

/** One key group's bytes as a checkpoint holds them: v (number), m (map) and late (string). */
function encoded(kg: number): Uint8Array {
  return encodeKeyGroupFrom((emit) => {
    emit("v", null, keyIn(kg), kg);
    emit("m", null, keyIn(kg), new Map([["a", kg]]));
    emit("late", null, keyIn(kg), `late ${kg}`);
  }, []).slice();
}

describe("embedded backend: restoreEncodedKeyGroup at its edges", () => {
  it("a typed state registered after its raw restore takes new writes, with and without TTL", () => {
    const b = new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 });
    try {
      b.setTimeProvider(() => 1000);
      const kg = RANGE.start + 5;
      const key = keyIn(kg);
      // the heap form a checkpoint holds: a TTL state's values carry their timestamp
      const source = new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 });
      let bytes: Uint8Array;
      try {
        source.setTimeProvider(() => 1000);
        const ttl = StateTtlConfig.newBuilder(60_000).build();
        source.setCurrentKey(key, kg);
        source.getState(new ValueStateDescriptor<number>("plain", Types.NUMBER)).update(1);
        source
          .getState(new ValueStateDescriptor<number>("timed", Types.NUMBER).enableTimeToLive(ttl))
          .update(2);
        source
          .getListState(new ListStateDescriptor<string>("list", Types.STRING).enableTimeToLive(ttl))
          .add("a");
        const snap = source.snapshot();
        bytes = encodeKeyGroupFrom((emit) => snap.read(kg, emit), []).slice();
        snap.release();
      } finally {
        source.dispose();
      }
      b.restoreEncodedKeyGroup(kg, (visit) => void visitKeyGroup(bytes, "f", visit));
      const ttl = StateTtlConfig.newBuilder(60_000).build();
      const plain = b.getState(new ValueStateDescriptor<number>("plain", Types.NUMBER));
      const timed = b.getState(new ValueStateDescriptor<number>("timed", Types.NUMBER).enableTimeToLive(ttl));
      const list = b.getListState(
        new ListStateDescriptor<string>("list", Types.STRING).enableTimeToLive(ttl),
      );
      b.setCurrentKey(key, kg);
      assert.deepEqual([plain.value(), timed.value(), [...list.get()]], [1, 2, ["a"]]);
      plain.update(10);
      timed.update(20);
      list.add("b");
      assert.deepEqual([plain.value(), timed.value(), [...list.get()]], [10, 20, ["a", "b"]]);
    } finally {
      b.dispose();
    }
  });

  it("restores keys longer than its 256-byte key buffer, of a state registered afterwards", () => {
    const b = new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 });
    try {
      const kg = RANGE.start + 2;
      const keys = [300, 20, 1000].map((n) => {
        for (let i = 0; ; i++) {
          const k = `${"x".repeat(n)}-${i}`;
          if (assignToKeyGroup(k, MAX) === kg) return k;
        }
      });
      const bytes = encodeKeyGroupFrom((emit) => {
        for (const k of keys) emit("long", null, k, k.length);
      }, []).slice();
      b.restoreEncodedKeyGroup(kg, (visit) => void visitKeyGroup(bytes, "f", visit));
      const s = b.getState(new ValueStateDescriptor<number>("long", Types.NUMBER));
      for (const k of keys) {
        b.setCurrentKey(k, kg);
        assert.equal(s.value(), k.length);
      }
      assert.deepEqual(b.getKeys("long").sort(), [...keys].sort());
    } finally {
      b.dispose();
    }
  });

  it("ignores key groups outside the range and decodes the entries of states already registered", () => {
    const b = new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 });
    try {
      const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
      const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
      for (const kg of [RANGE.start - 1, RANGE.start, RANGE.end, RANGE.end + 1]) {
        const bytes = encoded(kg);
        b.restoreEncodedKeyGroup(kg, (visit) => void visitKeyGroup(bytes, "f", visit));
      }
      const late = b.getState(new ValueStateDescriptor<string>("late", Types.STRING));
      for (const kg of [RANGE.start, RANGE.end]) {
        b.setCurrentKey(keyIn(kg), kg);
        assert.equal(v.value(), kg);
        assert.deepEqual([...m.entries()], [["a", kg]]);
        assert.equal(late.value(), `late ${kg}`);
      }
      assert.equal(b.size("v"), 2);
      assert.equal(b.size("m"), 2);
      assert.equal(b.size("late"), 2);
    } finally {
      b.dispose();
    }
  });
});
