// How a snapshot of the embedded store reads a range (snapshot-undo-log.ts): in parts when the map
// passes its bound meanwhile, each part after the last key of the one before; the undo log's
// barrier values over the store's entries at the parts' boundaries, after the last store key, and
// never the undo log itself; whole key groups marked read, so that they are logged no more and a
// read after a write is refused; a restore's writes (putAll) kept for the snapshot like a flush's.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EmbeddedStore,
  MIN_MANAGED_MEMORY_BYTES,
  type StoreSnapshot,
} from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf, composeKey, groupStart } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

const STATE = 1;
/** The store's bound on mapped bytes here: 256 KiB (the default is at least 32 MiB). */
const LIMIT = MIN_MANAGED_MEMORY_BYTES / 4;

function entry(kg: number, name: string): Buffer {
  return composeKey(kg, STATE, Buffer.from(name, "latin1"));
}

function put(s: EmbeddedStore, key: Buffer, value: unknown): void {
  s.set(key, cacheKeyOf(key), value, RAW_CODEC);
}

/**
 * A snapshot's range as [store key (latin1), value], read until its end, its `cap + 1`th entry, or
 * the first entry whose key does not come after the one before (given twice, or out of order): a
 * read that repeats entries shows in what it returns, instead of running on.
 */
function readAtMost(
  s: EmbeddedStore,
  snap: StoreSnapshot,
  start: Buffer,
  end: Buffer,
  cap: number,
): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  let last: Buffer | undefined;
  for (const [k, v] of snap.scan(start, end)) {
    out.push([k.toString("latin1"), s.decode(v, RAW_CODEC)]);
    if (out.length > cap || (last !== undefined && Buffer.compare(k, last) <= 0)) break;
    last = Buffer.from(k);
  }
  return out;
}

const timerTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A permutation of [0, n) (a fixed stride coprime with n): keys in no particular order. */
const shuffled = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 7919) % n);

describe("embedded store: a snapshot's range read in parts", () => {
  it("every key written since the barrier: each key once, at its barrier value, across the parts", {
    skip: process.platform !== "linux" && "the parts follow the process's mapped pages (/proc/self/statm)",
  }, async () => {
    const KEYS = 6000;
    const s = new EmbeddedStore({
      managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES,
      cacheEntries: 1000,
      mappedBytes: LIMIT,
    });
    const name = (i: number): string => `k-${String(i).padStart(6, "0")}`;
    const value = (tag: string, i: number): string => `${tag}${i}`.padEnd(200, ".");
    try {
      // One key group many times the bound, its pages all over the file (keys in no order).
      for (const i of shuffled(KEYS)) put(s, entry(1, name(i)), value("v", i));
      put(s, entry(2, "after"), "next group");
      s.flush();
      await timerTurn();
      const snap = s.readSnapshot();
      // Every key rewritten or deleted (the last ones among them): wherever a part ends, its last
      // key has an undo entry, and the keys after the store's last one live in the log alone.
      for (const i of shuffled(KEYS)) {
        const gone = i % 5 === 0 || i >= KEYS - 3;
        put(s, entry(1, name(i)), gone ? undefined : value("w", i));
      }
      s.flush();
      await timerTurn();
      const before = s.reopens();
      let n = 0;
      for (const [k, v] of snap.scan(groupStart(1), groupStart(2))) {
        // Checked as they come: an entry given twice stops the read at once.
        assert.deepEqual(
          [k.subarray(4).toString("latin1"), s.decode(v, RAW_CODEC)],
          [name(n), value("v", n)],
          `entry ${n}`,
        );
        // A turn every few entries, as the checkpoint's writer yields: reopens are not capped.
        if (++n % 20 === 0) await timerTurn();
      }
      assert.equal(n, KEYS, "each key of the barrier once");
      const reopened = s.reopens() - before;
      assert.ok(reopened >= 2, `${reopened} reopens while the key group was read: it came in parts`);
      snap.done();
    } finally {
      s.dispose();
    }
  });

  it("keys deleted since the barrier after the store's last key come from the log, each once", () => {
    const s = new EmbeddedStore();
    try {
      for (const n of ["a", "b", "c", "d", "e"]) put(s, entry(3, n), `old ${n}`);
      s.flush();
      const snap = s.readSnapshot();
      put(s, entry(3, "b"), "new b");
      put(s, entry(3, "d"), undefined);
      put(s, entry(3, "e"), undefined);
      s.flush();
      assert.deepEqual(readAtMost(s, snap, groupStart(3), groupStart(4), 5), [
        [entry(3, "a").toString("latin1"), "old a"],
        [entry(3, "b").toString("latin1"), "old b"],
        [entry(3, "c").toString("latin1"), "old c"],
        [entry(3, "d").toString("latin1"), "old d"],
        [entry(3, "e").toString("latin1"), "old e"],
      ]);
      snap.done();
    } finally {
      s.dispose();
    }
  });

  it("a range reaching past every store key reads the store as of the barrier, not the undo log", () => {
    const s = new EmbeddedStore();
    try {
      put(s, entry(4, "x"), "old x");
      put(s, entry(9, "y"), "old y");
      s.flush();
      const snap = s.readSnapshot();
      put(s, entry(4, "x"), "new x");
      put(s, entry(9, "y"), undefined);
      put(s, entry(9, "z"), "new z");
      s.flush();
      const everything = readAtMost(s, snap, Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0xff]), 2);
      assert.deepEqual(everything, [
        [entry(4, "x").toString("latin1"), "old x"],
        [entry(9, "y").toString("latin1"), "old y"],
      ]);
      snap.done();
    } finally {
      s.dispose();
    }
  });

  it("a key group read whole is logged no more, in key group 0 too; read again after a write: refused", () => {
    const s = new EmbeddedStore();
    try {
      for (const kg of [0, 7]) put(s, entry(kg, "k"), `old ${kg}`);
      s.flush();
      const snap = s.readSnapshot();
      for (const kg of [0, 7]) {
        assert.deepEqual(readAtMost(s, snap, groupStart(kg), groupStart(kg + 1), 1), [
          [entry(kg, "k").toString("latin1"), `old ${kg}`],
        ]);
      }
      // Read and not written since: it can be read again.
      assert.equal(readAtMost(s, snap, groupStart(0), groupStart(1), 1).length, 1);
      for (const kg of [0, 7]) put(s, entry(kg, "k"), `new ${kg}`);
      s.flush();
      assert.equal(s.undoEntries(), 0, "nothing kept for key groups the snapshot has read");
      for (const kg of [0, 7]) {
        assert.throws(() => snap.scan(groupStart(kg), groupStart(kg + 1)), /reads each key group once/);
      }
      snap.done();
    } finally {
      s.dispose();
    }
  });

  it("a key group written after it was read stays refused, even once a read begun before has ended", () => {
    const s = new EmbeddedStore();
    try {
      put(s, entry(5, "k"), "old");
      s.flush();
      const snap = s.readSnapshot();
      assert.equal(readAtMost(s, snap, groupStart(5), groupStart(6), 1).length, 1);
      const second = snap.scan(groupStart(5), groupStart(6)); // allowed: not written yet
      put(s, entry(5, "k"), "new");
      s.flush();
      for (const _ of second) {
        // read to its end
      }
      assert.throws(() => snap.scan(groupStart(5), groupStart(6)), /reads each key group once/);
      snap.done();
    } finally {
      s.dispose();
    }
  });

  it("a restore's writes while a snapshot is open (putAll) leave the snapshot its barrier values", () => {
    const s = new EmbeddedStore();
    try {
      put(s, entry(6, "kept"), "old kept");
      s.flush();
      const snap = s.readSnapshot();
      s.putAll([
        [entry(6, "kept"), "restored kept", RAW_CODEC],
        [entry(6, "added"), "restored added", RAW_CODEC],
      ]);
      assert.deepEqual(readAtMost(s, snap, groupStart(6), groupStart(7), 1), [
        [entry(6, "kept").toString("latin1"), "old kept"],
      ]);
      snap.done();
      const now = [...s.scan(groupStart(6), groupStart(7))].map(([k, v]) => [
        k.toString("latin1"),
        s.decode(v, RAW_CODEC),
      ]);
      assert.deepEqual(now, [
        [entry(6, "added").toString("latin1"), "restored added"],
        [entry(6, "kept").toString("latin1"), "restored kept"],
      ]);
    } finally {
      s.dispose();
    }
  });
});
