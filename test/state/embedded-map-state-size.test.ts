// size() of the embedded backend counts (key, namespace) entries, as the heap backend does: a map
// state stores one entry per user key, and a key with several user keys counts once. Compared with
// the heap backend on the same writes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { MapStateDescriptor, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";

const MAX = 128;

describe("embedded backend: size() of a map state", () => {
  it("counts each key once however many user keys it holds, as the heap backend does", () => {
    const embedded = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 });
    const heap = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 }, MAX);
    try {
      for (const b of [embedded, heap]) {
        const m = b.getMapState(new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER));
        const v = b.getState(new ValueStateDescriptor<number>("v", Types.NUMBER));
        // Keys with 1, 3 and 5 user keys.
        for (const [key, n] of [
          ["x", 1],
          ["y", 3],
          ["z", 5],
        ] as const) {
          b.setCurrentKey(key, assignToKeyGroup(key, MAX));
          for (let i = 0; i < n; i++) m.put(`u${i}`, i);
          v.update(n);
        }
      }
      assert.equal(heap.size("m"), 3);
      assert.equal(embedded.size("m"), heap.size("m"));
      assert.equal(embedded.size("v"), heap.size("v"));
    } finally {
      embedded.dispose();
      heap.dispose();
    }
  });
});
