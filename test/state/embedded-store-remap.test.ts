// The embedded store bounds how much of LMDB's data file stays mapped (file-backed RSS): past a
// quarter of its managed memory of touched map bytes it reopens the environment, which unmaps the
// file. Checked on the mapping itself (/proc/self/smaps, Linux), and that nothing is lost: every
// value reads back after reopens, a scan in progress keeps its environment, and a snapshot reads
// the values of its moment while the store goes on writing and reopening. Reopens between two turns
// of the event loop are capped (lmdb holds each closed environment until the loop turns, 2 at the
// smallest managed memory): the loops here turn it every few lookups, as a task's executor does.
// Writes arm no such timer: a flush reopens past the cap.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EmbeddedStore, MIN_MANAGED_MEMORY_BYTES } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf, composeKey, groupStart } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

/** The stores' bound on mapped bytes here (the default is at least 32 MiB): 256 KiB. */
const LIMIT = MIN_MANAGED_MEMORY_BYTES / 4;
const KEYS = 12_000;

function key(i: number): { key: Buffer; ck: string } {
  const key = Buffer.from(`key-${String(i).padStart(6, "0")}`, "latin1");
  return { key, ck: cacheKeyOf(key) };
}

function put(s: EmbeddedStore, i: number, value: unknown): void {
  const k = key(i);
  s.set(k.key, k.ck, value, RAW_CODEC);
}

function get(s: EmbeddedStore, i: number): unknown {
  const k = key(i);
  return s.get(k.key, k.ck, RAW_CODEC);
}

/** A turn of the event loop: lmdb's timers holding the environments closed so far run. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
/** Lookups between two turns: at most 2 reopens (a reopen every ~4 lookups of random keys here). */
const LOOKUPS_PER_TURN = 4;

/** A permutation of [0, n) (a fixed stride coprime with n): keys in no particular order. */
const shuffled = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 7919) % n);

/** Resident bytes of the mappings of `file` in this process (0 when not mapped). */
function mappedRss(file: string): number {
  const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
  let total = 0;
  let inFile = false;
  for (const line of lines) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inFile = line.endsWith(` ${file}`);
    else if (inFile && line.startsWith("Rss:")) total += Number(/(\d+) kB/.exec(line)![1]) * 1024;
  }
  return total;
}

function filled(values: (i: number) => unknown): EmbeddedStore {
  const s = new EmbeddedStore({
    managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES,
    cacheEntries: 1000,
    mappedBytes: LIMIT,
  });
  for (const i of shuffled(KEYS)) put(s, i, values(i));
  s.flush();
  return s;
}

describe("embedded store: LMDB's map bounded by reopening", () => {
  it("keeps the data file's mapped pages near a quarter of managed memory while reading every key", {
    skip: process.platform !== "linux" && "reads /proc/self/smaps",
  }, async () => {
    const s = filled((i) => i * 3);
    try {
      const file = join(s.directory, "data.mdb");
      const reopensAfterWrites = s.reopens();
      let peak = 0;
      let n = 0;
      // A third of the keys (a turn every few lookups takes a while on a loaded machine).
      for (const i of shuffled(KEYS).slice(0, KEYS / 3)) {
        assert.equal(get(s, i), i * 3, `key ${i}`);
        if (++n % 500 === 0) peak = Math.max(peak, mappedRss(file));
        if (n % LOOKUPS_PER_TURN === 0) await turn();
      }
      // The map may pass the bound by an eighth between checks, and after the last check one lookup
      // maps its pages, each with its 64 KiB block (fault-around).
      assert.ok(peak > 0, "the lookups mapped the file");
      assert.ok(
        peak <= LIMIT + LIMIT / 8 + 256 * 1024,
        `${peak} bytes of the data file mapped, bound ${LIMIT}`,
      );
      assert.ok(reopensAfterWrites > 0, "the writes of 12,000 random keys reopened the environment");
      assert.ok(s.reopens() > reopensAfterWrites, "the lookups reopened the environment");
    } finally {
      s.dispose();
    }
  });

  it("reads every value back across reopens, overwritten and deleted ones too", async () => {
    const s = filled((i) => `v${i}`);
    try {
      for (let i = 0; i < KEYS; i += 3) put(s, i, i % 2 === 0 ? undefined : `w${i}`);
      s.flush();
      const before = s.reopens();
      let n = 0;
      for (const i of shuffled(KEYS)) {
        const want = i % 3 !== 0 ? `v${i}` : i % 2 === 0 ? undefined : `w${i}`;
        assert.equal(get(s, i), want, `key ${i}`);
        if (++n % 64 === 0) await turn();
      }
      assert.ok(s.reopens() > before);
    } finally {
      s.dispose();
    }
  });

  it("does not reopen while a scan is open: the scan sees every entry, in order", async () => {
    const s = filled((i) => i);
    try {
      const before = s.reopens();
      let seen = 0;
      let probe = 0;
      for (const [k, raw] of s.scan(key(0).key, undefined)) {
        assert.equal(k.toString("latin1"), key(seen).key.toString("latin1"));
        assert.equal(s.decode(raw, RAW_CODEC), seen);
        seen++;
        // Lookups of keys not cached meanwhile touch pages enough for several reopens.
        for (let j = 0; j < 4; j++) get(s, (probe = (probe + 7919) % KEYS));
      }
      assert.equal(seen, KEYS);
      assert.equal(s.reopens(), before, "no reopen during the scan");
      await turn();
      for (let j = 0; j < 200; j++) {
        get(s, (probe = (probe + 7919) % KEYS));
        if (j % LOOKUPS_PER_TURN === 0) await turn();
      }
      assert.ok(s.reopens() > before, "the lookups after the scan reopened the environment");
    } finally {
      s.dispose();
    }
  });

  it("reopens at most twice between two turns of the event loop, and again after a turn", async () => {
    const s = filled((i) => i);
    // An environment closed after the first reopen of a turn is released a turn later (lmdb set
    // its timer after the store's): two turns release every one.
    const turns = async (): Promise<void> => {
      await turn();
      await turn();
    };
    try {
      await turns();
      const before = s.reopens();
      let probe = 0;
      // ~500 reopens' worth of lookups without a turn.
      for (let j = 0; j < 2000; j++) get(s, (probe = (probe + 7919) % KEYS));
      assert.equal(s.reopens() - before, 2, "reopens without a turn of the event loop");
      await turns();
      for (let j = 0; j < 2000; j++) get(s, (probe = (probe + 7919) % KEYS));
      assert.equal(s.reopens() - before, 4, "two more after the turns");
    } finally {
      s.dispose();
    }
  });

  it("a flush reopens as often as its map needs, past that cap: writes leave lmdb no timer", {
    skip: process.platform !== "linux" && "reads /proc/self/smaps",
  }, async () => {
    // ~200-byte values: a data file many times the bound.
    const value = (tag: string, i: number): string => `${tag}${i}`.padEnd(200, ".");
    const s = filled((i) => value("v", i));
    try {
      const file = join(s.directory, "data.mdb");
      await turn();
      await turn();
      const before = s.reopens();
      // Every key rewritten, written by the flushes of the cache's evictions: one turn in all.
      for (const i of shuffled(KEYS)) put(s, i, value("w", i));
      s.flush();
      const reopened = s.reopens() - before;
      assert.ok(reopened > 2, `${reopened} reopens in one turn of the event loop`);
      const mapped = mappedRss(file);
      // Writes pass the bound by more than reads (the last transaction is not followed by a reopen):
      // 528-576 KiB here; 7.4 MiB, more than the whole file, when the flushes stopped at the cap.
      assert.ok(mapped <= 4 * LIMIT, `${mapped} bytes of the data file mapped after the flushes`);
      let n = 0;
      for (const i of shuffled(KEYS).slice(0, 600)) {
        assert.equal(get(s, i), value("w", i), `key ${i}`);
        if (++n % LOOKUPS_PER_TURN === 0) await turn();
      }
    } finally {
      s.dispose();
    }
  });

  it("a key group bigger than the bound is read in parts, reopening between them, writes in between", {
    skip: process.platform !== "linux" && "reads /proc/self/smaps",
  }, async () => {
    // One key group of 12,000 keys written in no particular order (its pages lie all over the file),
    // ~200-byte values: the group is many times the bound.
    const s = new EmbeddedStore({
      managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES,
      cacheEntries: 1000,
      mappedBytes: LIMIT,
    });
    const k = (name: string): Buffer => composeKey(1, 1, Buffer.from(name, "latin1"));
    const name = (i: number): string => `k-${String(i).padStart(6, "0")}`;
    const set = (key: Buffer, v: unknown): void => s.set(key, cacheKeyOf(key), v, RAW_CODEC);
    const value = (tag: string, i: number): string => `${tag}${i}`.padEnd(200, ".");
    const file = join(s.directory, "data.mdb");
    try {
      for (const i of shuffled(KEYS)) set(k(name(i)), value("v", i));
      s.flush();
      await turn();
      // Read with writes between its steps (keys behind and ahead of the read rewritten, some
      // deleted, new ones added): every entry as of the snapshot.
      let snap = s.readSnapshot();
      let before = s.reopens();
      let n = 0;
      for (const [key, raw] of snap.scan(groupStart(1), groupStart(2))) {
        assert.equal(key.toString("latin1"), k(name(n)).toString("latin1"));
        assert.equal(s.decode(raw, RAW_CODEC), value("v", n), `key ${n} as of the snapshot`);
        n++;
        if (n % 500 === 0) {
          for (let j = 0; j < 40; j++) {
            const i = (n * 7 + j * 301) % KEYS;
            set(k(name(i)), j % 4 === 0 ? undefined : value("w", i));
          }
          set(k(`${name(n)}-new`), "new");
          s.flush();
          await turn(); // as the checkpoint's writer does between slices
        }
      }
      assert.equal(n, KEYS, "every key of the snapshot, none of the new ones");
      const reopened = s.reopens() - before;
      assert.ok(reopened > 2, `${reopened} reopens while the key group was read`);
      snap.done();
      // Read with no write in between: the data file's mapped pages stay near the bound.
      await turn();
      let now = 0;
      for (const _ of s.scan(groupStart(1), groupStart(2))) now++;
      await turn();
      snap = s.readSnapshot();
      before = s.reopens();
      let peak = 0;
      n = 0;
      for (const _ of snap.scan(groupStart(1), groupStart(2))) {
        // A turn every few entries: lmdb holds each environment closed after a read until the
        // loop turns, so reopens between two turns are capped (2 at this managed memory).
        if (++n % 20 === 0) {
          if (n % 200 === 0) peak = Math.max(peak, mappedRss(file));
          await turn();
        }
      }
      snap.done();
      assert.equal(n, now);
      assert.ok(peak <= 4 * LIMIT, `${peak} bytes of the data file mapped while the key group was read`);
    } finally {
      s.dispose();
    }
  });

  it("a snapshot reads the values of its moment while the store writes and reopens; done() drops its log", async () => {
    const s = filled((i) => i);
    try {
      const snap = s.readSnapshot();
      const before = s.reopens();
      // Every key rewritten, a third deleted, and keys that did not exist added.
      let n = 0;
      for (const i of shuffled(KEYS)) {
        put(s, i, i % 3 === 0 ? undefined : -i);
        if (i % 2 === 0) put(s, KEYS + i, "new");
        if (++n % 100 === 0) {
          s.flush();
          await turn();
        }
      }
      s.flush();
      for (const i of shuffled(KEYS).slice(0, 1000)) {
        assert.equal(get(s, i), i % 3 === 0 ? undefined : -i);
        if (++n % LOOKUPS_PER_TURN === 0) await turn();
      }
      assert.ok(s.reopens() > before, "the store reopened its environment meanwhile");
      assert.equal(s.undoEntries(), KEYS + KEYS / 2, "the value at the barrier of every key written since");
      // Read in 100 ranges, as a checkpoint reads key groups, turning the event loop between them.
      let seen = 0;
      for (let from = 0; from < KEYS + KEYS; from += KEYS / 100) {
        for (const [k, raw] of snap.scan(key(from).key, key(from + KEYS / 100).key)) {
          assert.equal(k.toString("latin1"), key(seen).key.toString("latin1"));
          assert.equal(s.decode(raw, RAW_CODEC), seen);
          seen++;
        }
        await turn();
      }
      assert.equal(seen, KEYS);
      // The store itself sees its writes, not the log.
      let now = 0;
      for (const [k] of s.scan(key(0).key, undefined)) {
        assert.ok(k.toString("latin1").startsWith("key-"), k.toString("latin1"));
        now++;
      }
      assert.equal(now, KEYS - KEYS / 3 + KEYS / 2);
      snap.done();
      assert.equal(s.undoEntries(), 0, "done() drops the snapshot's log");
      assert.throws(() => snap.scan(key(0).key, key(1).key), /already released/);
    } finally {
      s.dispose();
    }
  });

  it("a key group read by a snapshot is logged no more, and is not read again once written", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES, mappedBytes: LIMIT });
    const entry = (kg: number, i: number): Buffer => composeKey(kg, 1, Buffer.from(`k${i}`, "latin1"));
    const set = (k: Buffer, v: unknown): void => s.set(k, cacheKeyOf(k), v, RAW_CODEC);
    const read = (snap: ReturnType<EmbeddedStore["readSnapshot"]>, kg: number): unknown[] =>
      [...snap.scan(groupStart(kg), groupStart(kg + 1))].map(([, raw]) => s.decode(raw, RAW_CODEC));
    try {
      for (let i = 0; i < 10; i++) for (const kg of [3, 4]) set(entry(kg, i), i);
      const snap = s.readSnapshot();
      for (let i = 0; i < 10; i++) set(entry(4, i), -i); // key group 4 written before it is read
      s.flush();
      assert.equal(s.undoEntries(), 10);
      assert.deepEqual(read(snap, 3), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(read(snap, 3), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "read again: nothing written");
      set(entry(3, 0), 100);
      s.flush();
      assert.equal(s.undoEntries(), 10, "no undo entry for a key group already read");
      assert.throws(() => read(snap, 3), /already read and written to since/);
      assert.deepEqual(read(snap, 4), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      snap.done();
    } finally {
      s.dispose();
    }
  });
});
