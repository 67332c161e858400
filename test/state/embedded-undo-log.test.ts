// The embedded store's snapshot undo log (snapshot-undo-log.ts), as a Flink state-backend test
// checks a snapshot strategy: a snapshot reads the values of its barrier while the task goes on
// writing, overwriting and deleting; several snapshots open at once each read their own barrier;
// releasing one removes every undo entry it wrote from LMDB (not only from the count), however many
// (more than one removal transaction's worth), and leaves the others intact; snapshot after
// snapshot leaves nothing behind; keys up to the largest the store accepts are logged.
//
// What is on disk is read from the store's LMDB environment itself (a private field: the undo
// entries live after every key group, where the store's own scan never goes).

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RootDatabase } from "lmdb";
import {
  EmbeddedStore,
  MIN_MANAGED_MEMORY_BYTES,
  type StoreSnapshot,
} from "../../src/state/embedded/embedded-store.ts";
import { MAX_KEY_BYTES, UNDO_START } from "../../src/state/embedded/snapshot-undo-log.ts";
import { cacheKeyOf, composeKey, groupStart } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

const STATE = 1;

function entry(kg: number, name: string): Buffer {
  return composeKey(kg, STATE, Buffer.from(name, "latin1"));
}

function put(s: EmbeddedStore, key: Buffer, value: unknown): void {
  s.set(key, cacheKeyOf(key), value, RAW_CODEC);
}

/** A key group as a snapshot reads it: [name, value] in key order. */
function readGroup(s: EmbeddedStore, snap: StoreSnapshot, kg: number): Array<[string, unknown]> {
  return [...snap.scan(groupStart(kg), groupStart(kg + 1))].map(([k, v]) => [
    k.subarray(4).toString("latin1"),
    s.decode(v, RAW_CODEC),
  ]);
}

/** The store's own view of a key group now (after a flush). */
function liveGroup(s: EmbeddedStore, kg: number): Array<[string, unknown]> {
  return [...s.scan(groupStart(kg), groupStart(kg + 1))].map(([k, v]) => [
    k.subarray(4).toString("latin1"),
    s.decode(v, RAW_CODEC),
  ]);
}

/** The undo entries in the store's LMDB environment (all snapshots'), counted on disk. */
function undoOnDisk(s: EmbeddedStore): number {
  const db = (s as unknown as { env: { db: RootDatabase<Buffer, Buffer> } }).env.db;
  let n = 0;
  for (const _ of db.getKeys({ start: UNDO_START })) n++;
  return n;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** A turn that runs the timers set so far (the store counts its reopens per turn by a timer). */
const timerTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("embedded store: the snapshot undo log", () => {
  it("a snapshot reads its barrier's values while keys are overwritten, deleted and added", () => {
    const s = new EmbeddedStore();
    try {
      const barrier = new Map<number, Array<[string, unknown]>>();
      for (const kg of [0, 1, 2]) {
        const rows: Array<[string, unknown]> = [];
        for (let i = 0; i < 20; i++) {
          const name = `k${String(i).padStart(2, "0")}`;
          put(s, entry(kg, name), `${kg}/${i}`);
          rows.push([name, `${kg}/${i}`]);
        }
        barrier.set(kg, rows);
      }
      const snap = s.readSnapshot();
      assert.equal(undoOnDisk(s), 0, "nothing is logged at the barrier");
      // Overwrite even keys twice, delete every third, add keys that did not exist: 20 + 10 per group
      // distinct keys written, each logged once whatever the writes to it.
      let written = 0;
      for (const kg of [0, 1, 2]) {
        for (let i = 0; i < 20; i++) {
          const k = entry(kg, `k${String(i).padStart(2, "0")}`);
          if (i % 3 === 0) put(s, k, undefined);
          else put(s, k, `changed ${i}`);
          written++;
        }
        s.flush();
        for (let i = 0; i < 20; i += 2) put(s, entry(kg, `k${String(i).padStart(2, "0")}`), "again");
        for (let i = 0; i < 10; i++) {
          put(s, entry(kg, `n${i}`), "new");
          written++;
        }
        s.flush();
      }
      assert.equal(s.undoEntries(), written, "one undo entry per key written since the barrier");
      assert.equal(undoOnDisk(s), written);
      for (const kg of [0, 1, 2])
        assert.deepEqual(readGroup(s, snap, kg), barrier.get(kg), `key group ${kg}`);
      // The store itself sees the writes.
      const live = liveGroup(s, 1);
      assert.equal(live.length, 20 - 3 + 10, "k03, k09, k15 stay deleted (k00, k06… written again)");
      assert.deepEqual(live.slice(0, 3), [
        ["k00", "again"],
        ["k01", "changed 1"],
        ["k02", "again"],
      ]);
      snap.done();
      assert.equal(s.undoEntries(), 0);
      assert.equal(undoOnDisk(s), 0, "done() removes the snapshot's undo entries from LMDB");
    } finally {
      s.dispose();
    }
  });

  it("several snapshots open at once each read their own barrier; releasing one leaves the others", () => {
    const s = new EmbeddedStore();
    const KG = 7;
    const k = (i: number): Buffer => entry(KG, `k${i}`);
    try {
      for (let i = 0; i < 5; i++) put(s, k(i), 0);
      const a = s.readSnapshot();
      for (let i = 0; i < 5; i++) put(s, k(i), 1);
      put(s, k(5), 1);
      const b = s.readSnapshot(); // flushes the writes above: logged for a only
      assert.equal(s.undoEntries(), 6);
      put(s, k(0), undefined);
      for (let i = 1; i < 6; i++) put(s, k(i), 2);
      const c = s.readSnapshot(); // logged for a (k0..k5 already: nothing new) and b (6 keys)
      assert.equal(s.undoEntries(), 6 + 6);
      for (let i = 0; i < 7; i++) put(s, k(i), 3);
      s.flush(); // a: k6 only (k0..k5 kept already); b: k6; c: k0..k6
      assert.equal(s.undoEntries(), 7 + 7 + 7);
      assert.equal(undoOnDisk(s), 21);
      const rows = (v: number[]) => v.map((x, i) => [`k${i}`, x]).filter(([, x]) => x !== -1);
      b.done(); // the middle one first
      assert.equal(s.undoEntries(), 14);
      assert.equal(undoOnDisk(s), 14, "only b's entries left LMDB");
      assert.deepEqual(readGroup(s, a, KG), rows([0, 0, 0, 0, 0]));
      assert.deepEqual(readGroup(s, c, KG), rows([-1, 2, 2, 2, 2, 2]));
      assert.deepEqual(liveGroup(s, KG), rows([3, 3, 3, 3, 3, 3, 3]));
      assert.throws(() => readGroup(s, b, KG), /already released/);
      c.done();
      assert.equal(undoOnDisk(s), 7);
      a.done();
      assert.equal(undoOnDisk(s), 0);
      assert.equal(s.undoEntries(), 0);
    } finally {
      s.dispose();
    }
  });

  it("release removes more undo entries than one removal transaction holds (4,096), down to none", async () => {
    const s = new EmbeddedStore();
    const N = 10_000;
    try {
      for (let i = 0; i < N; i++) put(s, entry(i % 64, `k${i}`), i);
      const snap = s.readSnapshot();
      for (let i = 0; i < N; i++) put(s, entry(i % 64, `k${i}`), i % 2 === 0 ? -i : undefined);
      s.flush();
      assert.equal(s.undoEntries(), N);
      assert.equal(undoOnDisk(s), N);
      const barrier = readGroup(s, snap, 5);
      assert.equal(barrier.length, Math.ceil((N - 5) / 64));
      for (const [name, v] of barrier) assert.equal(v, Number(name.slice(1)), name);
      snap.done();
      assert.equal(s.undoEntries(), 0);
      assert.equal(undoOnDisk(s), 0);
      await turn();
      // The store's data is intact after the removal.
      const live = liveGroup(s, 4);
      assert.equal(live.length, Math.ceil((N - 4) / 64));
      for (const [name, v] of live) assert.equal(v, -Number(name.slice(1)), name);
      assert.equal(liveGroup(s, 5).length, 0, "odd keys deleted");
    } finally {
      s.dispose();
    }
  });

  it("snapshot after snapshot (a checkpoint's cycle) leaves no undo entry and no growth behind", async () => {
    const s = new EmbeddedStore();
    const GROUPS = 8;
    const KEYS = 400;
    const value = (round: number, i: number): string => `${round}:${i}:${"x".repeat(200)}`;
    const fileBytes = (): number => statSync(join(s.directory, "data.mdb")).size;
    try {
      for (let i = 0; i < KEYS; i++) put(s, entry(i % GROUPS, `k${i}`), value(0, i));
      let sizeAfterWarmUp = 0;
      for (let round = 1; round <= 40; round++) {
        const snap = s.readSnapshot();
        // Half the keys written before their key group is read (logged), half after (not logged).
        for (let i = 0; i < KEYS; i++)
          if (i % GROUPS < GROUPS / 2) put(s, entry(i % GROUPS, `k${i}`), value(round, i));
        s.flush();
        assert.equal(s.undoEntries(), KEYS / 2, `round ${round}`);
        for (let kg = 0; kg < GROUPS; kg++) {
          const rows = readGroup(s, snap, kg);
          assert.equal(rows.length, KEYS / GROUPS);
          for (const [name, v] of rows)
            assert.equal(v, value(round - 1, Number(name.slice(1))), `round ${round}`);
        }
        for (let i = 0; i < KEYS; i++)
          if (i % GROUPS >= GROUPS / 2) put(s, entry(i % GROUPS, `k${i}`), value(round, i));
        s.flush();
        assert.equal(s.undoEntries(), KEYS / 2, "key groups already read are not logged");
        snap.done();
        assert.equal(undoOnDisk(s), 0, `round ${round}: nothing left on disk`);
        await turn(); // lmdb's shared read transaction ends: freed pages can be reused
        if (round === 10) sizeAfterWarmUp = fileBytes();
      }
      // 30 more rounds of 200 undo entries of ~220 bytes (1.3 MB if none were removed): the file
      // reuses the pages freed at each release.
      assert.ok(
        fileBytes() <= sizeAfterWarmUp + 256 * 1024,
        `data file grew from ${sizeAfterWarmUp} to ${fileBytes()} bytes`,
      );
    } finally {
      s.dispose();
    }
  });

  it("a flush that fails while a snapshot is open (a value that cannot be encoded) leaves it whole", () => {
    // The failing write transaction is rolled back, the undo entries it had written with it, but
    // the log had counted them: its release must still end, and remove everything.
    const s = new EmbeddedStore();
    try {
      put(s, entry(1, "a"), 1);
      put(s, entry(1, "b"), 2);
      const snap = s.readSnapshot();
      put(s, entry(1, "a"), 10);
      put(s, entry(1, "b"), () => 0);
      assert.throws(() => s.flush(), /cannot serialize a function/);
      assert.equal(undoOnDisk(s), 0, "rolled back with the transaction");
      assert.deepEqual(readGroup(s, snap, 1), [
        ["a", 1],
        ["b", 2],
      ]);
      snap.done(); // returns (it would loop for ever looking for the entries it counted)
      assert.equal(undoOnDisk(s), 0);
      assert.equal(s.undoEntries(), 0);
      // The store goes on: a later snapshot logs and releases as before.
      put(s, entry(1, "b"), 3);
      const next = s.readSnapshot();
      put(s, entry(1, "c"), 4);
      s.flush();
      assert.equal(undoOnDisk(s), 1);
      assert.deepEqual(readGroup(s, next, 1).at(-1), ["b", 3]);
      next.done();
      assert.equal(undoOnDisk(s), 0);
    } finally {
      s.dispose();
    }
  });

  it("keys near LMDB's maximum key size: the largest the store takes is logged; a longer one is refused at once", () => {
    // A cache of 2 entries: the keys are read back from LMDB.
    const s = new EmbeddedStore({ cacheEntries: 2 });
    // A store key of `n` bytes in key group 2 (state id, then filler).
    const long = (n: number, fill: number): Buffer => composeKey(2, STATE, Buffer.alloc(n - 4, fill));
    try {
      // Around the undo log's scratch buffer (256 bytes with the 6-byte header) and the largest key.
      const sizes = [249, 250, 251, 1000, MAX_KEY_BYTES - 1, MAX_KEY_BYTES];
      for (const [i, n] of sizes.entries()) put(s, long(n, 0x41 + i), `v${n}`);
      const snap = s.readSnapshot();
      for (const [i, n] of sizes.entries())
        put(s, long(n, 0x41 + i), i % 2 === 0 ? undefined : `changed ${n}`);
      s.flush();
      assert.equal(s.undoEntries(), sizes.length);
      assert.deepEqual(
        [...snap.scan(groupStart(2), groupStart(3))].map(([k, v]) => [k.length, s.decode(v, RAW_CODEC)]),
        sizes.map((n) => [n, `v${n}`]),
      );
      snap.done();
      assert.equal(undoOnDisk(s), 0);
      const missesBefore = s.cacheMisses();
      for (const [i, n] of sizes.entries()) {
        const k = long(n, 0x41 + i);
        assert.equal(
          s.get(k, cacheKeyOf(k), RAW_CODEC),
          i % 2 === 0 ? undefined : `changed ${n}`,
          `${n} bytes`,
        );
      }
      assert.ok(s.cacheMisses() - missesBefore >= sizes.length - 2, "read back from LMDB");
      // One byte more does not fit LMDB: refused when written, whether a snapshot is open or not
      // (not at the flush of a checkpoint's barrier or after it).
      for (const open of [false, true]) {
        const other = open ? s.readSnapshot() : undefined;
        const k = long(MAX_KEY_BYTES + 1, 0x5a);
        assert.throws(() => put(s, k, "too long"), {
          name: "InvalidArgumentError",
          message: /takes 1979 bytes .*keys of at most 1978 bytes/,
        });
        s.flush();
        assert.equal(s.get(k, cacheKeyOf(k), RAW_CODEC), undefined);
        other?.done();
      }
      // A restore's writes are refused the same way.
      const tooLong = long(MAX_KEY_BYTES + 1, 0x5a);
      const refused = { name: "InvalidArgumentError", message: /takes 1979 bytes/ };
      assert.throws(() => s.putAll([[tooLong, "restored", RAW_CODEC]]), refused);
      assert.throws(() => s.putEncoded((write) => write(tooLong, Buffer.from([1]))), refused);
      s.putAll([[long(MAX_KEY_BYTES, 0x5a), "restored", RAW_CODEC]]);
      const restored = long(MAX_KEY_BYTES, 0x5a);
      assert.equal(s.get(restored, cacheKeyOf(restored), RAW_CODEC), "restored");
    } finally {
      s.dispose();
    }
  });

  it("releases count the map pages their removals touch: the store still reopens as its map grows", async () => {
    // The store reopens its LMDB environment (unmapping the file) once the pages it touched may
    // pass its bound (here 256 KiB), an estimate each write, lookup and release adds to. 100 rounds
    // of 10 snapshots released after one write each, then random lookups over a ~2 MB file: the
    // store must reopen within 300 of them (each maps new pages). A release that took its pages
    // off the estimate instead (~600 KiB a round) would hide the next ~900 lookups' pages.
    const s = new EmbeddedStore({
      managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES,
      cacheEntries: 1000,
      mappedBytes: MIN_MANAGED_MEMORY_BYTES / 4,
    });
    const KEYS = 12_000;
    const k = (i: number): Buffer => entry(i % 128, `key-${String(i).padStart(6, "0")}`);
    const value = (i: number): string => `${i}`.padStart(100, "v");
    try {
      for (let i = 0; i < KEYS; i++) put(s, k(i), value(i));
      s.flush();
      assert.ok(statSync(join(s.directory, "data.mdb")).size > 1_000_000);
      // Lookups until the store reopens (the writes above left the estimate far over its bound).
      const written = new Map<number, string>();
      const reopen = async (): Promise<number> => {
        const before = s.reopens();
        let lookups = 0;
        for (let probe = 0; lookups < 300 && s.reopens() === before; lookups++) {
          probe = (probe + 7919) % KEYS;
          const key = k(probe);
          assert.equal(s.get(key, cacheKeyOf(key), RAW_CODEC), written.get(probe) ?? value(probe));
          if (lookups % 4 === 3) await timerTurn();
        }
        assert.ok(s.reopens() > before, `no reopen in ${lookups} lookups`);
        return lookups;
      };
      await timerTurn();
      await reopen();
      for (let round = 0; round < 100; round++) {
        const snaps = Array.from({ length: 10 }, () => s.readSnapshot());
        put(s, k(round), `round ${round}`);
        written.set(round, `round ${round}`);
        s.flush();
        assert.equal(s.undoEntries(), 10);
        for (const snap of snaps) snap.done();
        await timerTurn();
      }
      const lookups = await reopen();
      assert.ok(lookups <= 300, `${lookups}`);
    } finally {
      s.dispose();
    }
  });

  it("a release counts the pages it walks: the lookup after releasing 4,000 entries reopens the store", async () => {
    // Releasing 4,000 undo entries of ~200 bytes (one removal transaction) walks ~1 MB of pages,
    // four times the store's map bound (256 KiB): the release adds them to its estimate, so the
    // next lookup checks the map and reopens. (Counted per key, not per 64 keys.)
    const s = new EmbeddedStore({
      managedMemoryBytes: MIN_MANAGED_MEMORY_BYTES,
      cacheEntries: 1000,
      mappedBytes: MIN_MANAGED_MEMORY_BYTES / 4,
    });
    const KEYS = 4000;
    const k = (i: number): Buffer => entry(i % 128, `key-${String(i).padStart(6, "0")}`);
    const value = (i: number, round: number): string => `${round}:${i}`.padStart(200, "v");
    const get = (i: number): unknown => {
      const key = k(i);
      return s.get(key, cacheKeyOf(key), RAW_CODEC);
    };
    try {
      for (let i = 0; i < KEYS; i++) put(s, k(i), value(i, 0));
      const snap = s.readSnapshot();
      for (let i = 0; i < KEYS; i++) put(s, k(i), value(i, 1));
      s.flush();
      assert.equal(undoOnDisk(s), KEYS);
      // Lookups until the store reopens: its estimate starts from the bytes of one lookup.
      await timerTurn();
      const before = s.reopens();
      for (let i = 0, probe = 0; i < 300 && s.reopens() === before; i++) {
        probe = (probe + 7919) % KEYS;
        assert.equal(get(probe), value(probe, 1));
        if (i % 4 === 3) await timerTurn();
      }
      assert.ok(s.reopens() > before, "the store reopened");
      await timerTurn();
      snap.done();
      assert.equal(undoOnDisk(s), 0);
      const released = s.reopens();
      let uncached = 0; // a key read from LMDB, not from the cache
      while (s.isCached(cacheKeyOf(k(uncached)))) uncached++;
      assert.equal(get(uncached), value(uncached, 1));
      assert.equal(s.reopens(), released + 1, "the first lookup after the release reopened the store");
    } finally {
      s.dispose();
    }
  });
});
