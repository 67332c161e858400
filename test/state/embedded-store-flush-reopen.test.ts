// A flush bounds LMDB's map as it goes: it writes its keys in transactions that end early once
// the pages they touched may pass the store's map bound, so the store reopens its environment
// (unmapping the file) between two of them, not only between flushes. One flush of 4,000 keys
// spread over a ~2 MB file, with a 256 KiB bound, must reopen the store.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EmbeddedStore } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

const KEYS = 12_000;

function put(s: EmbeddedStore, i: number, value: unknown): void {
  const key = Buffer.from(`key-${String(i).padStart(6, "0")}`, "latin1");
  s.set(key, cacheKeyOf(key), value, RAW_CODEC);
}

/** A turn that runs the timers set so far (the store counts its reopens per turn by a timer). */
const timerTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("embedded store: a flush reopens the environment as it goes", () => {
  it("one flush of 4,000 keys spread over a 2 MB file reopens the store", async () => {
    const s = new EmbeddedStore({ managedMemoryBytes: 8 * 2 ** 20, mappedBytes: 256 * 1024 });
    try {
      for (let i = 0; i < KEYS; i++) put(s, i, `${i}`.padStart(100, "v"));
      s.flush();
      assert.ok(statSync(join(s.directory, "data.mdb")).size > 1_500_000);
      await timerTurn();
      // Every third key rewritten: one flush, one transaction's worth of keys (at most 4,096).
      for (let i = 0; i < KEYS; i += 3) put(s, i, `${i}`.padStart(100, "w"));
      const before = s.reopens();
      s.flush();
      assert.ok(s.reopens() > before, "no reopen during the flush");
      const key = Buffer.from("key-000003", "latin1");
      assert.equal(s.get(key, cacheKeyOf(key), RAW_CODEC), "3".padStart(100, "w"));
    } finally {
      s.dispose();
    }
  });
});
