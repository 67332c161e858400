// The embedded store within its share of managed memory: the write-back cache stays under half of
// it, frequently read entries survive eviction, and a snapshot keeps the values of the barrier
// while the store goes on being written, flushed and evicted. Every value is read back.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { cacheKeyOf, composeKey, writeNamespaceAndKey } from "../../src/state/embedded/store-keys.ts";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX - 1 };
const MIB = 2 ** 20;

function at(b: EmbeddedKeyedStateBackend, key: string): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
}

/** The cache key of `key`'s entry of the backend's first state (id 0) in the void namespace. */
function cacheKey(key: string): string {
  const out = new DataOutputSerializer(64);
  writeNamespaceAndKey(out, VOID_NAMESPACE, key);
  return cacheKeyOf(composeKey(assignToKeyGroup(key, MAX), 0, out.buffer.subarray(0, out.position)));
}

describe("embedded store: managed memory budget", () => {
  it("keeps the cache under half the budget and reads every value back", () => {
    const b = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: 2 * MIB });
    try {
      const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
      const keys = 60_000;
      let maxCached = 0;
      for (let round = 1; round <= 2; round++) {
        for (let i = 0; i < keys; i++) {
          at(b, `k${(i * 7919) % keys}`);
          s.update((s.value() ?? 0) + round);
          maxCached = Math.max(maxCached, b.store.cachedBytes());
        }
      }
      assert.ok(maxCached <= MIB, `cache held ${maxCached} bytes, budget half is ${MIB}`);
      for (let i = 0; i < keys; i++) {
        at(b, `k${i}`);
        assert.equal(s.value(), 3, `k${i}`);
      }
      assert.equal(b.size("n"), keys);
    } finally {
      b.dispose();
    }
  });

  it("keeps frequently used entries cached while cold keys stream through", () => {
    const b = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: MIB });
    try {
      const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
      const hot = Array.from({ length: 50 }, (_, i) => `hot-${i}`);
      for (let i = 0; i < 40_000; i++) {
        at(b, `cold-${i}`);
        s.update(i);
        const h = hot[i % hot.length]!;
        at(b, h);
        s.update((s.value() ?? 0) + 1);
      }
      // Cold keys are written blind (no read); hot keys go to LMDB only on first use.
      const misses = b.store.cacheMisses();
      assert.ok(misses <= 2 * hot.length, `${misses} cache misses`);
      for (const h of hot) assert.ok(b.store.isCached(cacheKey(h)), `${h} was evicted`);
      assert.ok(!b.store.isCached(cacheKey("cold-0")), "an old cold key is still cached");
      for (const h of hot) {
        at(b, h);
        assert.equal(s.value(), 800);
      }
    } finally {
      b.dispose();
    }
  });

  it("a snapshot keeps the barrier's values while the task writes and the cache evicts", () => {
    const b = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: MIB });
    try {
      const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
      const keys = 20_000;
      for (let i = 0; i < keys; i++) {
        at(b, `k${i}`);
        s.update(i);
      }
      const snap = b.snapshot();
      for (let i = 0; i < keys; i++) {
        at(b, `k${i}`);
        s.update(-1);
      }
      at(b, "new-key");
      s.update(7);
      const seen = new Map<unknown, unknown>();
      for (const kg of snap.keyGroups) snap.read(kg, (_st, _ns, k, v) => seen.set(k, v));
      snap.release();
      assert.equal(seen.size, keys);
      for (let i = 0; i < keys; i++) assert.equal(seen.get(`k${i}`), i);
      at(b, "k5");
      assert.equal(s.value(), -1);
    } finally {
      b.dispose();
    }
    assert.equal(existsSync(b.directory), false);
  });
});
