// The embedded store's Bloom filter of written keys (src/state/embedded/key-filter.ts): it never
// forgets a key written to LMDB — by a flush of the cache or by a restore — so every value reads
// back after it left the cache, while reads of keys never written skip the LMDB lookup.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { KeyFilter } from "../../src/state/embedded/key-filter.ts";

const MAX = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX - 1 };
const MIB = 2 ** 20;

function at(b: EmbeddedKeyedStateBackend, key: string): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
}

describe("embedded store: filter of written keys", () => {
  it("KeyFilter: no false negatives, few false positives at 16 bits per key", () => {
    const f = new KeyFilter(200_000 * 2); // 16 bits per key for 200k keys (rounded down to 256 KiB)
    for (let i = 0; i < 100_000; i++) f.add(`\u0000\u0001key-${i}`);
    for (let i = 0; i < 100_000; i++) assert.ok(f.mayContain(`\u0000\u0001key-${i}`), `key-${i}`);
    let positives = 0;
    for (let i = 0; i < 100_000; i++) if (f.mayContain(`\u0000\u0001other-${i}`)) positives++;
    assert.ok(positives < 2_000, `${positives} false positives in 100k`);
  });

  it("KeyFilter: the largest power of two bytes within the budget, at least 64", () => {
    const sizes = [0, 63, 64, 127, 128, 129, 255, 256, 1000, 4096].map((b) => new KeyFilter(b).byteLength);
    assert.deepEqual(sizes, [64, 64, 64, 64, 128, 128, 128, 256, 512, 4096]);
  });

  it("KeyFilter: even the smallest filter uses all its bits (a key sets 7 of 512)", () => {
    const f = new KeyFilter(64);
    f.add("only");
    assert.ok(f.mayContain("only"));
    let positives = 0;
    for (let i = 0; i < 10_000; i++) if (f.mayContain(`other-${i}`)) positives++;
    assert.ok(positives < 10, `${positives} false positives in 10k with one key in 512 bits`);
    const g = new KeyFilter(1024);
    for (let i = 0; i < 50; i++) g.add(`key-${i}`);
    for (let i = 0; i < 50; i++) assert.ok(g.mayContain(`key-${i}`));
    positives = 0;
    for (let i = 0; i < 10_000; i++) if (g.mayContain(`other-${i}`)) positives++;
    assert.ok(positives < 10, `${positives} false positives in 10k with 50 keys in 8192 bits`);
  });

  it("values flushed and evicted read back; new keys skip the LMDB lookup", () => {
    const b = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: 2 * MIB, cacheEntries: 1_000 });
    try {
      const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
      const keys = 20_000;
      for (let i = 0; i < keys; i++) {
        at(b, `k${(i * 7919) % keys}`);
        s.update((s.value() ?? 0) + 1);
      }
      // Every first read was of a key never written: the filter answered nearly all of them.
      assert.ok(b.store.filteredReads() > keys * 0.9, `${b.store.filteredReads()} of ${keys} filtered`);
      for (let i = 0; i < keys; i++) {
        at(b, `k${i}`);
        s.update((s.value() ?? 0) + 1);
      }
      for (let i = 0; i < keys; i++) {
        at(b, `k${i}`);
        assert.equal(s.value(), 2, `k${i}`);
      }
    } finally {
      b.dispose();
    }
  });

  it("state restored into a new store reads back (a restore writes LMDB directly)", () => {
    const a = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: 2 * MIB });
    const r = new EmbeddedKeyedStateBackend(ALL, { managedMemoryBytes: 2 * MIB, cacheEntries: 100 });
    try {
      const d = new ValueStateDescriptor<number>("n", Types.NUMBER);
      const s = a.getState(d);
      for (let i = 0; i < 5_000; i++) {
        at(a, `k${i}`);
        s.update(i);
      }
      const snap = a.snapshot();
      try {
        for (const kg of snap.keyGroups) r.restoreKeyGroup(kg, snap.entries(kg));
      } finally {
        snap.release();
      }
      const rs = r.getState(d);
      for (let i = 0; i < 5_000; i++) {
        at(r, `k${i}`);
        assert.equal(rs.value(), i, `k${i}`);
      }
    } finally {
      a.dispose();
      r.dispose();
    }
  });

  it("a key added by its bytes is found by its latin1 text, bytes of every value included", () => {
    // addBytes (a restore copies keys as bytes) and mayContain (reads, by cache key text) hash
    // with two copies of the same functions: they must agree, or restored keys read as absent.
    const f = new KeyFilter(MIB);
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    const keys: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(1 + (next() % 40));
      for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
      keys.push(b);
      f.addBytes(b);
    }
    for (const b of keys) assert.ok(f.mayContain(b.toString("latin1")), `key ${b.toString("hex")}`);
  });
});
