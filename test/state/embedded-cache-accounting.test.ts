// The embedded store's cache estimate (cachedBytes()) follows what the cache holds, which is what
// keeps it within its budget (half the managed memory): a flush counts each value at its encoded
// size, so values the write's rough estimate undercounted make the next new entry sweep; writing
// the same entries again and flushing, round after round, leaves the estimate where it was and
// evicts nothing; entries a restore or a removal drops from the cache take their bytes with them.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedStore, MIN_MANAGED_MEMORY_BYTES } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

const BUDGET = MIN_MANAGED_MEMORY_BYTES / 2;

function key(i: number): { key: Buffer; ck: string } {
  const key = Buffer.from(`key-${String(i).padStart(4, "0")}`, "latin1");
  return { key, ck: cacheKeyOf(key) };
}
const put = (s: EmbeddedStore, i: number, value: unknown): void => {
  const k = key(i);
  s.set(k.key, k.ck, value, RAW_CODEC);
};
const get = (s: EmbeddedStore, i: number): unknown => {
  const k = key(i);
  return s.get(k.key, k.ck, RAW_CODEC);
};
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("embedded store: the cache estimate follows what it holds", () => {
  it("values bigger than their rough estimate count at their encoded size after a flush: the next entry sweeps", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    try {
      // Nested past the depth the write's estimate looks into: ~200 bytes estimated, ~5 KB encoded.
      const deep = (i: number) => ({ a: { b: { c: { text: `${i}`.padEnd(5000, "x") } } } });
      for (const i of range(150)) put(s, i, deep(i));
      assert.equal(s.cachedEntries(), 150, "under the budget as written: no sweep");
      s.flush();
      assert.ok(s.cachedBytes() > BUDGET, `${s.cachedBytes()} bytes counted after the flush`);
      put(s, 1000, "small");
      assert.ok(s.cachedBytes() <= BUDGET, `${s.cachedBytes()} bytes cached, budget ${BUDGET}`);
      // Each holds ~5,000 characters: the budget has room for some 50 of them.
      assert.ok(s.cachedEntries() <= 60, `${s.cachedEntries()} entries cached`);
      for (const i of [0, 75, 149]) assert.deepEqual(get(s, i), deep(i), `value ${i} read back`);
    } finally {
      s.dispose();
    }
  });

  it("the same entries written again and flushed, 50 rounds: the same estimate, nothing evicted", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    try {
      const value = (round: number, i: number) => `r${String(round).padStart(2, "0")}-${i}`.padEnd(200, ".");
      for (const i of range(100)) put(s, i, value(0, i));
      s.flush();
      const bytes = s.cachedBytes();
      for (let round = 1; round <= 50; round++) {
        for (const i of range(100)) put(s, i, value(round, i));
        s.flush();
      }
      assert.equal(s.cachedBytes(), bytes, "the estimate after the last flush");
      assert.equal(s.cachedEntries(), 100);
      const misses = s.cacheMisses();
      for (const i of range(100)) assert.equal(get(s, i), value(50, i));
      assert.equal(s.cacheMisses(), misses, "every entry still cached");
    } finally {
      s.dispose();
    }
  });

  it("entries a restore (putAll) or a removal drops take their bytes: the cache then counts none", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    try {
      for (const i of range(100)) put(s, i, `v${i}`.padEnd(500, "."));
      s.flush();
      assert.ok(s.cachedBytes() > 50_000);
      s.putAll(range(100).map((i) => [key(i).key, `restored ${i}`, RAW_CODEC]));
      assert.equal(s.cachedEntries(), 0, "the restored keys' cached entries dropped");
      assert.equal(s.cachedBytes(), 0);
      for (const i of range(100)) assert.equal(get(s, i), `restored ${i}`);
      s.removeAll(range(50).map((i) => key(i).key));
      assert.equal(s.cachedEntries(), 50, "the removed keys' cached entries dropped");
      for (const i of range(50)) assert.equal(get(s, i), undefined, `key ${i} removed`);
      s.removeAll([]);
      s.removeAll(range(100).map((i) => key(i).key));
      assert.equal(s.cachedEntries(), 0);
      assert.equal(s.cachedBytes(), 0);
    } finally {
      s.dispose();
    }
  });
});
