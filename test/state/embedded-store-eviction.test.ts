// The embedded store's write-back cache (src/state/embedded/embedded-store.ts) at the scale of a few
// entries, where its eviction can be counted exactly: it sweeps when an add would pass the entry
// bound (or the byte budget), writes the dirty entries to LMDB first, and keeps half — entries read
// since the last sweep get a second chance, the others leave oldest first. Every value evicted
// reads back from LMDB.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedStore, MIN_MANAGED_MEMORY_BYTES } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

function key(name: string): { key: Buffer; ck: string } {
  const key = Buffer.from(name, "latin1");
  return { key, ck: cacheKeyOf(key) };
}

function put(s: EmbeddedStore, name: string, value: unknown): void {
  const k = key(name);
  s.set(k.key, k.ck, value, RAW_CODEC);
}

function get(s: EmbeddedStore, name: string): unknown {
  const k = key(name);
  return s.get(k.key, k.ck, RAW_CODEC);
}

function cached(s: EmbeddedStore, names: string[]): string[] {
  return names.filter((n) => s.isCached(key(n).ck));
}

const names = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `k${from + i}`);

describe("embedded store: cache eviction, counted", () => {
  it("holds exactly the entry bound; the next add keeps half of it (the newest), plus itself", () => {
    const s = new EmbeddedStore({ cacheEntries: 10 });
    try {
      for (const n of names(10)) put(s, n, n);
      assert.equal(s.cachedEntries(), 10, "no sweep while the bound is not passed");
      put(s, "k10", "k10");
      assert.equal(s.cachedEntries(), 6);
      assert.deepEqual(cached(s, names(11)), ["k5", "k6", "k7", "k8", "k9", "k10"]);
      // The evicted ones were written to LMDB by the sweep and read back from there.
      const misses = s.cacheMisses();
      assert.equal(get(s, "k0"), "k0");
      assert.equal(s.cacheMisses(), misses + 1);
      assert.equal(s.filteredReads(), 0, "k0 was written: the filter must not answer for it");
    } finally {
      s.dispose();
    }
  });

  it("an odd bound keeps its lower half", () => {
    const s = new EmbeddedStore({ cacheEntries: 7 });
    try {
      for (const n of names(8)) put(s, n, n);
      assert.equal(s.cachedEntries(), 4, "7 → 3 kept, plus the new one");
      assert.deepEqual(cached(s, names(8)), ["k4", "k5", "k6", "k7"]);
    } finally {
      s.dispose();
    }
  });

  it("entries read since the last sweep survive it; the others leave oldest first", () => {
    const s = new EmbeddedStore({ cacheEntries: 10 });
    try {
      for (const n of names(10)) put(s, n, n);
      const misses = s.cacheMisses();
      assert.equal(get(s, "k0"), "k0");
      assert.equal(get(s, "k1"), "k1");
      assert.equal(s.cacheMisses(), misses, "reads of cached entries are not misses");
      put(s, "k10", "k10");
      assert.deepEqual(cached(s, names(11)), ["k0", "k1", "k7", "k8", "k9", "k10"]);
      // Their second chance is used up: the next sweep treats them as cold, oldest first.
      for (const n of names(4, 11)) put(s, n, n);
      assert.equal(s.cachedEntries(), 10);
      put(s, "k15", "k15");
      assert.deepEqual(cached(s, names(16)), ["k10", "k11", "k12", "k13", "k14", "k15"]);
    } finally {
      s.dispose();
    }
  });

  it("when every entry was read, the sweep clears the marks and then drops the oldest", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    try {
      for (const n of names(4)) put(s, n, n);
      for (const n of names(4)) get(s, n);
      put(s, "k4", "k4");
      assert.deepEqual(cached(s, names(5)), ["k2", "k3", "k4"]);
    } finally {
      s.dispose();
    }
  });

  it("a write to a cached entry neither adds an entry nor counts as a read", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    try {
      for (const n of names(4)) put(s, n, 1);
      put(s, "k0", 2);
      assert.equal(s.cachedEntries(), 4);
      put(s, "k4", 1);
      assert.deepEqual(cached(s, names(5)), ["k2", "k3", "k4"]);
      assert.equal(get(s, "k0"), 2, "the last write was flushed by the sweep");
    } finally {
      s.dispose();
    }
  });

  it("a read that misses takes a cache slot too, and a never-written key is answered by the filter", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    try {
      assert.equal(get(s, "nothing"), undefined);
      assert.equal(s.cacheMisses(), 1);
      assert.equal(s.filteredReads(), 1);
      assert.equal(s.cachedEntries(), 1);
      assert.equal(get(s, "nothing"), undefined);
      assert.equal(s.cacheMisses(), 1, "the absent value is cached");
    } finally {
      s.dispose();
    }
  });

  it("the byte budget: the cache stays within half the managed memory and a sweep halves it", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    const limit = MIN_MANAGED_MEMORY_BYTES / 2;
    try {
      let sweeps = 0;
      let before = 0;
      const value = "x".repeat(200);
      for (let i = 0; i < 12_000; i++) {
        put(s, `key-${i}`, value);
        const bytes = s.cachedBytes();
        assert.ok(bytes <= limit, `${bytes} bytes cached at ${i}, over ${limit}`);
        if (bytes < before) {
          sweeps++;
          // After a sweep: half the budget, plus the entry just added (~550 estimated bytes).
          assert.ok(bytes <= limit / 2 + 1024, `${bytes} bytes after a sweep`);
          assert.ok(bytes > limit / 4, `${bytes} bytes after a sweep: it dropped too much`);
        }
        before = bytes;
      }
      assert.ok(sweeps >= 2, `${sweeps} sweeps`);
      for (const i of [0, 1234, 11_999]) assert.equal(get(s, `key-${i}`), value);
    } finally {
      s.dispose();
    }
  });

  it("counts a value by its size when it is written, not only at the next flush", () => {
    // Found by mutation testing: a new entry was counted as 16 bytes of value until a flush
    // encoded it, so 3000 values of 1000 characters took ~6 MB against a 512 KiB budget.
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    const limit = MIN_MANAGED_MEMORY_BYTES / 2;
    try {
      const value = "v".repeat(1000);
      for (let i = 0; i < 3000; i++) {
        put(s, `key-${i}`, value);
        assert.ok(s.cachedBytes() <= limit, `${s.cachedBytes()} bytes cached at ${i}, over ${limit}`);
      }
      assert.ok(s.cachedEntries() < 600, `${s.cachedEntries()} values of 2 KB cached in 512 KiB`);
      for (const i of [0, 1500, 2999]) assert.equal(get(s, `key-${i}`), value);
    } finally {
      s.dispose();
    }
  });

  it("counts an object written by its fields, also past the sampled first few", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: 64 * 2 ** 20 });
    try {
      const wide: Record<string, string> = {};
      for (let i = 0; i < 100; i++) wide[`field${i}`] = "w".repeat(100);
      const before = s.cachedBytes();
      put(s, "wide", wide);
      const bytes = s.cachedBytes() - before;
      // 100 fields of ~200 bytes of text each: about 20 KB, not the 8 fields sampled.
      assert.ok(bytes > 100 * 200 && bytes < 100 * 300, `${bytes} bytes estimated`);
      s.flush();
      assert.deepEqual(get(s, "wide"), wide);
    } finally {
      s.dispose();
    }
  });

  it("follows a value growing in place (a list appended to) between flushes", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    const limit = MIN_MANAGED_MEMORY_BYTES / 2;
    try {
      const list: string[] = [];
      for (let i = 0; i < 4000; i++) {
        list.push(`element-${i}-${"e".repeat(40)}`);
        put(s, "the-list", list);
        const bytes = s.cachedBytes();
        // One entry may be over the budget only as long as it is the one just written.
        assert.ok(
          bytes <= limit || s.cachedEntries() === 1,
          `${bytes} bytes in ${s.cachedEntries()} entries`,
        );
      }
      assert.ok(s.cachedBytes() > 4000 * 80, "the grown list counts at its size");
      assert.deepEqual(get(s, "the-list"), list);
    } finally {
      s.dispose();
    }
  });

  it("without a managed memory given, the cache holds 32 MiB (half of 64 MiB)", () => {
    const s = new EmbeddedStore();
    try {
      const value = "d".repeat(200); // ~550 estimated bytes an entry: 20k entries are ~11 MB
      for (let i = 0; i < 20_000; i++) put(s, `key-${i}`, value);
      assert.equal(s.cachedEntries(), 20_000, "no sweep below the default budget");
      assert.ok(s.cachedBytes() > 8 * 2 ** 20 && s.cachedBytes() < 32 * 2 ** 20, `${s.cachedBytes()}`);
    } finally {
      s.dispose();
    }
  });

  it("a managed memory below the minimum is raised to it", () => {
    const small = new EmbeddedStore({ managedMemoryBytes: 1024 });
    const min = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    try {
      const value = "y".repeat(100);
      const peak = (s: EmbeddedStore): number => {
        let max = 0;
        for (let i = 0; i < 3000; i++) {
          put(s, `key-${i}`, value);
          max = Math.max(max, s.cachedBytes());
        }
        return max;
      };
      const a = peak(small);
      assert.equal(a, peak(min));
      assert.ok(a > MIN_MANAGED_MEMORY_BYTES / 4, `${a} bytes at most`);
    } finally {
      small.dispose();
      min.dispose();
    }
  });
});

describe("embedded store: writes survive eviction", () => {
  it("a value changed after it was written to LMDB is written again before it leaves the cache", () => {
    const s = new EmbeddedStore({ cacheEntries: 2 });
    try {
      put(s, "a", 1);
      [...s.scan(Buffer.from("a"), Buffer.from("b"))]; // written; "a" stays cached, clean
      assert.equal(get(s, "a"), 1);
      put(s, "a", 2); // clean → dirty
      put(s, "b", 1); // a new entry, dirty too
      put(s, "c", 1); // sweep: both written, then dropped
      put(s, "d", 1);
      put(s, "e", 1);
      assert.equal(s.isCached(key("a").ck), false);
      assert.equal(get(s, "a"), 2);
      assert.equal(get(s, "b"), 1);
    } finally {
      s.dispose();
    }
  });

  it("a value written to a key first read as absent is not lost", () => {
    const s = new EmbeddedStore({ cacheEntries: 2 });
    try {
      assert.equal(get(s, "a"), undefined); // cached as absent, clean
      put(s, "a", 5); // the only dirty entry
      assert.equal(get(s, "x"), undefined);
      assert.equal(get(s, "y"), undefined); // a sweep made by a read: "a" is written, then dropped
      assert.equal(s.isCached(key("a").ck), false);
      assert.equal(get(s, "a"), 5);
    } finally {
      s.dispose();
    }
  });

  it("entries read back from LMDB after a sweep get no second chance until read again", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    try {
      for (const n of names(5)) put(s, n, n); // sweep at k4: k2, k3, k4 kept
      assert.equal(get(s, "k0"), "k0"); // a miss: read from LMDB
      assert.equal(get(s, "k1"), "k1"); // sweep first (k2, k3 go), then k1 comes in
      assert.deepEqual(cached(s, names(5)), ["k0", "k1", "k4"]);
      put(s, "k5", "k5");
      put(s, "k6", "k6"); // sweep: oldest first; k0 was not read since it came in
      assert.deepEqual(cached(s, names(7)), ["k1", "k5", "k6"]);
    } finally {
      s.dispose();
    }
  });

  it("a deleted key is removed from LMDB: scans no longer see it", () => {
    const s = new EmbeddedStore({ cacheEntries: 100 });
    try {
      put(s, "a", 1);
      put(s, "b", 2);
      assert.equal([...s.scan(Buffer.from("a"), Buffer.from("c"))].length, 2);
      put(s, "a", undefined);
      const left = [...s.scan(Buffer.from("a"), Buffer.from("c"))].map(([k]) => k.toString("latin1"));
      assert.deepEqual(left, ["b"]);
      assert.equal(get(s, "a"), undefined);
    } finally {
      s.dispose();
    }
  });

  it("keys longer than the scratch buffer are written whole", () => {
    const s = new EmbeddedStore({ cacheEntries: 2 });
    try {
      const long = (c: string, n: number) => c.repeat(n);
      for (const n of [255, 256, 257, 600, 1500]) put(s, long("k", n), n);
      for (const n of [255, 256, 257, 600, 1500]) assert.equal(get(s, long("k", n)), n, `${n}-byte key`);
      const keys = [...s.scan(Buffer.from("k"), Buffer.from("l"))].map(([k]) => k.length);
      assert.deepEqual(keys, [255, 256, 257, 600, 1500]);
    } finally {
      s.dispose();
    }
  });

  it("a sweep counts the values' sizes: large values keep few entries cached, read back too", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES });
    const limit = MIN_MANAGED_MEMORY_BYTES / 2;
    const perEntry = 2000; // a 1000-byte string is estimated at more than twice that on the heap
    try {
      const value = "v".repeat(1000);
      // New entries are estimated with their values when set: the first sweep comes as the budget
      // fills (it came after ~3800 entries when a new value counted as 16 bytes until a flush).
      let n = 0;
      while (s.cachedEntries() === n) put(s, `key-${n++}`, value);
      assert.ok(n <= limit / perEntry + 1, `a sweep after ${n} entries`);
      assert.ok(s.cachedEntries() <= limit / perEntry, `${s.cachedEntries()} entries cached after a sweep`);
      for (let i = 0; i < n; i++) {
        assert.equal(get(s, `key-${i}`), value);
        assert.ok(
          s.cachedEntries() <= limit / perEntry + 1,
          `${s.cachedEntries()} entries cached at read ${i}`,
        );
      }
      assert.ok(s.cachedEntries() >= limit / 2 / 2200, `${s.cachedEntries()} entries cached after reads`);
    } finally {
      s.dispose();
    }
  });

  it("a disposed store refuses to be used, with the reason", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    put(s, "a", 1);
    s.dispose();
    s.dispose();
    assert.throws(() => s.flush(), /embedded state store .* was disposed/);
    assert.throws(() => [...s.scan(Buffer.from("a"), Buffer.from("b"))], /was disposed/);
  });
});
