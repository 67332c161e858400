// A flush of the embedded store's write-back cache that throws (a value its codec cannot encode)
// is rolled back by LMDB: none of its transaction's writes reach the file. The entries it had not
// committed must stay dirty in the cache, so that the next flush writes them; marked clean, an
// eviction would drop them and a read would find LMDB's older value (or none).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { EmbeddedStore } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC, type ValueCodec } from "../../src/state/embedded/value-codecs.ts";

/** RAW_CODEC, except that the value "poison" cannot be encoded. */
const POISONABLE: ValueCodec = {
  encode(value: unknown, out: DataOutputSerializer): void {
    if (value === "poison") throw new Error("cannot encode poison");
    RAW_CODEC.encode(value, out);
  },
  decode: (input: DataInputDeserializer): unknown => RAW_CODEC.decode(input),
};

function key(name: string): { key: Buffer; ck: string } {
  const key = Buffer.from(name, "latin1");
  return { key, ck: cacheKeyOf(key) };
}

function put(s: EmbeddedStore, name: string, value: unknown): void {
  const k = key(name);
  s.set(k.key, k.ck, value, POISONABLE);
}

function get(s: EmbeddedStore, name: string): unknown {
  const k = key(name);
  return s.get(k.key, k.ck, POISONABLE);
}

/** The entries in LMDB (a scan that does not flush the cache first). */
function stored(s: EmbeddedStore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of s.scan(Buffer.alloc(0), undefined, { flush: false })) {
    out[k.toString("latin1")] = s.decode(v, POISONABLE);
  }
  return out;
}

describe("embedded store: a flush that throws", () => {
  it("keeps the entries of its rolled-back transaction dirty: the next flush writes them", () => {
    const s = new EmbeddedStore();
    try {
      put(s, "a", "old-a");
      s.flush();
      put(s, "a", "new-a");
      put(s, "b", "new-b");
      put(s, "c", "poison"); // sorts last: a and b are written in its transaction before it throws
      assert.throws(() => s.flush(), /cannot encode poison/);
      assert.deepEqual(stored(s), { a: "old-a" }, "the failed transaction was rolled back");
      put(s, "c", "new-c");
      s.flush();
      assert.deepEqual(stored(s), { a: "new-a", b: "new-b", c: "new-c" });
    } finally {
      s.dispose();
    }
  });

  it("an eviction whose flush throws loses no value: the entries read back after a later eviction", () => {
    const s = new EmbeddedStore({ cacheEntries: 4 });
    try {
      put(s, "k0", "v0");
      put(s, "k1", "v1");
      put(s, "k2", "poison");
      put(s, "k3", "v3");
      // The fifth entry passes the bound: the eviction's flush throws at k2, after k0 and k1.
      assert.throws(() => put(s, "k4", "v4"), /cannot encode poison/);
      assert.equal(s.cachedEntries(), 4, "nothing evicted when the flush failed");
      put(s, "k2", "v2"); // the value fixed in place (no eviction: the entry is cached)
      put(s, "k4", "v4"); // this eviction's flush succeeds and drops k0 and k1, never read
      assert.equal(s.isCached(key("k0").ck), false);
      assert.equal(s.isCached(key("k1").ck), false);
      assert.deepEqual(
        ["k0", "k1", "k2", "k3", "k4"].map((n) => get(s, n)),
        ["v0", "v1", "v2", "v3", "v4"],
      );
    } finally {
      s.dispose();
    }
  });
});
