// The embedded store's estimate of its cache's heap bytes (cachedBytes(), which its byte budget
// bounds): every entry counts its key's length once, whichever way it entered the cache (written,
// read as absent, read back from LMDB, written again, flushed); a longer value counts more; and
// the budget is inclusive: an entry that brings the cache to exactly its budget is added without
// a sweep, one byte more sweeps. The figures are measured, not the formula's constants.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedStore, MIN_MANAGED_MEMORY_BYTES } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

function key(name: string): { key: Buffer; ck: string } {
  const key = Buffer.from(name, "latin1");
  return { key, ck: cacheKeyOf(key) };
}
const put = (s: EmbeddedStore, name: string, value: unknown) => {
  const k = key(name);
  s.set(k.key, k.ck, value, RAW_CODEC);
};
const get = (s: EmbeddedStore, name: string) => {
  const k = key(name);
  return s.get(k.key, k.ck, RAW_CODEC);
};

function withStores(
  n: number,
  options: ConstructorParameters<typeof EmbeddedStore>[0],
  fn: (s: EmbeddedStore[]) => void,
) {
  const stores = Array.from({ length: n }, () => new EmbeddedStore(options));
  try {
    fn(stores);
  } finally {
    for (const s of stores) s.dispose();
  }
}

describe("embedded store: the cache's byte estimate", () => {
  it("counts each entry's key length once, however the entry came into the cache", () => {
    const PAD = "-".repeat(10);
    const N = 5;
    // Two stores, the same operations; the second's keys are 10 bytes longer.
    withStores(2, { managedMemoryBytes: 64 * MIN_MANAGED_MEMORY_BYTES }, ([short, long]) => {
      const names = (pad: string) => Array.from({ length: N }, (_, i) => `k${i}${pad}`);
      const both = (fn: (s: EmbeddedStore, ks: string[]) => void) => {
        fn(short!, names(""));
        fn(long!, names(PAD));
      };
      const diff = () => long!.cachedBytes() - short!.cachedBytes();
      both((s, ks) => {
        for (const k of ks) put(s, k, "value");
      });
      assert.ok(short!.cachedBytes() > 0);
      assert.equal(diff(), N * PAD.length, "written");
      both((s, ks) => {
        for (const k of ks) put(s, k, "another value");
      });
      assert.equal(diff(), N * PAD.length, "written again");
      both((s, ks) => {
        for (const k of ks) assert.equal(get(s, `absent-${k}`), undefined);
      });
      assert.equal(diff(), 2 * N * PAD.length, "read as absent");
      both((s) => s.flush());
      assert.equal(diff(), 2 * N * PAD.length, "flushed");
    });
  });

  it("values read back from LMDB count their key length too", () => {
    withStores(2, { cacheEntries: 4 }, ([short, long]) => {
      for (const [s, pad] of [
        [short!, ""],
        [long!, "-".repeat(7)],
      ] as const) {
        for (let i = 0; i < 8; i++) put(s, `k${i}${pad}`, i);
        s.flush();
        // The first keys were swept out by the later ones: read them back from LMDB.
        for (let i = 0; i < 2; i++) assert.equal(get(s, `k${i}${pad}`), i);
      }
      assert.equal(short!.cachedEntries(), long!.cachedEntries());
      assert.equal(long!.cachedBytes() - short!.cachedBytes(), short!.cachedEntries() * 7);
    });
  });

  it("a longer value counts more, written or read back; writing it again replaces its count", () => {
    withStores(1, { managedMemoryBytes: 64 * MIN_MANAGED_MEMORY_BYTES }, ([s]) => {
      put(s!, "a", "x");
      const one = s!.cachedBytes();
      put(s!, "a", "x".repeat(100));
      const hundred = s!.cachedBytes();
      assert.ok(hundred > one + 100, `${hundred} vs ${one}`);
      put(s!, "a", "x");
      assert.equal(s!.cachedBytes(), one, "the old value's count is replaced, not added to");
      put(s!, "a", undefined);
      assert.ok(s!.cachedBytes() > 0 && s!.cachedBytes() < one);
    });
  });

  it("a Map or Set value counts by its entries before its first flush, as an array of them would", () => {
    // Before a flush a value's size is the rough estimate (its encoding is not known yet): a Map of
    // 200 long strings must count far more than an empty one, like the array of the same strings.
    withStores(4, { managedMemoryBytes: 64 * MIN_MANAGED_MEMORY_BYTES }, ([empty, map, set, array]) => {
      const long = Array.from({ length: 200 }, (_, i) => `${i}`.padStart(100, "x"));
      put(empty!, "v", new Map());
      put(map!, "v", new Map(long.map((s) => [s, s])));
      put(set!, "v", new Set(long));
      put(array!, "v", long);
      const bytes = (s: EmbeddedStore) => s.cachedBytes() - empty!.cachedBytes();
      assert.ok(bytes(array!) > 200 * 200, `array: ${bytes(array!)}`);
      assert.ok(bytes(set!) > 0.9 * bytes(array!), `set ${bytes(set!)} against array ${bytes(array!)}`);
      assert.ok(
        bytes(map!) > 1.8 * bytes(array!),
        `map ${bytes(map!)} (keys and values) against array ${bytes(array!)}`,
      );
    });
  });

  it("the byte budget is inclusive: an entry reaching it exactly stays without a sweep; one byte more sweeps", () => {
    const options = { managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES };
    const budget = MIN_MANAGED_MEMORY_BYTES / 2;
    // The size of an entry with a string value of n characters under a key of k bytes, measured.
    const sizeOf = (k: number, n: number) => {
      let size = 0;
      withStores(1, options, ([s]) => {
        put(s!, "q".repeat(k), "v".repeat(n));
        size = s!.cachedBytes();
      });
      return size;
    };
    const perChar = sizeOf(4, 2) - sizeOf(4, 1);
    assert.ok(perChar > 0);
    /** Fills to somewhat below the budget; returns the entries and a key length and value length that fill it exactly. */
    const fill = (s: EmbeddedStore) => {
      let i = 0;
      while (s.cachedBytes() + 20_000 < budget) put(s, `f${String(i++).padStart(6, "0")}`, "v".repeat(1000));
      const room = budget - s.cachedBytes();
      let k = 4;
      if ((room - sizeOf(k, 0)) % perChar !== 0) k = 5;
      const n = (room - sizeOf(k, 0)) / perChar;
      assert.equal(sizeOf(k, n), room, "an entry that fills the budget exactly");
      return { entries: s.cachedEntries(), k, n };
    };
    withStores(2, options, ([added, rewritten]) => {
      const a = fill(added!);
      put(added!, "z".repeat(a.k), "v".repeat(a.n));
      assert.equal(added!.cachedBytes(), budget);
      assert.equal(added!.cachedEntries(), a.entries + 1, "no sweep at exactly the budget (added)");
      put(added!, "y", 0);
      assert.ok(added!.cachedEntries() < a.entries, "one more entry sweeps");

      const r = fill(rewritten!);
      put(rewritten!, "z".repeat(r.k), "v".repeat(r.n - 1));
      assert.equal(rewritten!.cachedBytes(), budget - perChar);
      put(rewritten!, "z".repeat(r.k), "v".repeat(r.n));
      assert.equal(rewritten!.cachedBytes(), budget);
      assert.equal(rewritten!.cachedEntries(), r.entries + 1, "no sweep at exactly the budget (rewritten)");
      put(rewritten!, "z".repeat(r.k), "v".repeat(r.n + 1));
      assert.ok(rewritten!.cachedEntries() < r.entries, "one character more sweeps");
      assert.ok(rewritten!.cachedBytes() <= budget / 2 + sizeOf(r.k, r.n + 1));
    });
  });
});
