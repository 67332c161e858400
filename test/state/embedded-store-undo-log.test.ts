// The embedded store's undo log (snapshot-undo-log.ts) at LMDB's key size limit: store keys up to
// LMDB's largest (MAX_KEY_BYTES) are written while a snapshot is open, though their undo key would
// not fit after the log's header: the snapshot reads their barrier values, in key order among
// shorter keys, over whole key groups and over ranges bounded by long keys (one bound or both); a
// longer key is refused when it is set, not at the flush that would fail with it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { EmbeddedStore } from "../../src/state/embedded/embedded-store.ts";
import { MAX_KEY_BYTES, SHORT_KEY_MAX } from "../../src/state/embedded/snapshot-undo-log.ts";
import { cacheKeyOf, composeKey, groupStart } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC, type ValueCodec } from "../../src/state/embedded/value-codecs.ts";

type Snapshot = ReturnType<EmbeddedStore["readSnapshot"]>;

const set = (s: EmbeddedStore, k: Buffer, v: unknown, codec: ValueCodec = RAW_CODEC): void =>
  s.set(k, cacheKeyOf(k), v, codec);
const get = (s: EmbeddedStore, k: Buffer): unknown => s.get(k, cacheKeyOf(k), RAW_CODEC);

/** The snapshot's entries in [start, end) as [key text, value]. */
function read(s: EmbeddedStore, snap: Snapshot, start: Buffer, end: Buffer): Array<[string, unknown]> {
  return [...snap.scan(start, end)].map(([k, raw]) => [k.toString("latin1"), s.decode(raw, RAW_CODEC)]);
}

/** A store key of `length` bytes in key group `kg`: `stem`, padded with `fill`, then `tail`. */
function longKey(kg: number, length: number, stem: string, tail = "", fill = "x"): Buffer {
  const body = stem + fill.repeat(length - 4 - stem.length - tail.length) + tail;
  const k = composeKey(kg, 1, Buffer.from(body, "latin1"));
  assert.equal(k.length, length);
  return k;
}

describe("embedded store: the undo log at LMDB's key size limit", () => {
  it("store keys up to LMDB's largest are written and read back through a snapshot", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: 64 * 2 ** 20 });
    // Around SHORT_KEY_MAX and up to MAX_KEY_BYTES; several share their first LONG_PREFIX bytes and
    // differ only at the end, and short keys sort between them.
    const lengths = [SHORT_KEY_MAX - 1, SHORT_KEY_MAX, SHORT_KEY_MAX + 1, MAX_KEY_BYTES - 1, MAX_KEY_BYTES];
    const keys: Buffer[] = [];
    for (const n of lengths) {
      keys.push(longKey(5, n, "a"), longKey(5, n, "a", "z"), longKey(5, n, "b", "", "y"));
    }
    keys.push(composeKey(5, 1, Buffer.from("a", "latin1")), composeKey(5, 1, Buffer.from("c", "latin1")));
    keys.push(longKey(5, MAX_KEY_BYTES, "a", "0"), longKey(5, MAX_KEY_BYTES, "a", "1"));
    const absentAtBarrier = [
      longKey(5, MAX_KEY_BYTES, "a", "new"),
      longKey(5, SHORT_KEY_MAX + 3, "b", "new"),
    ];
    const sorted = (ks: Buffer[]) => [...ks].sort(Buffer.compare);
    const value = (k: Buffer) => `v${k.length}-${k.subarray(-3).toString("latin1")}-${k[4]}`;
    try {
      for (const k of keys) set(s, k, value(k));
      s.flush();
      const snap = s.readSnapshot();
      for (const [i, k] of keys.entries()) set(s, k, i % 3 === 0 ? undefined : "changed");
      for (const k of absentAtBarrier) set(s, k, "new");
      s.flush();
      assert.equal(s.undoEntries(), keys.length + absentAtBarrier.length);
      for (const [i, k] of keys.entries()) assert.equal(get(s, k), i % 3 === 0 ? undefined : "changed");
      // A range bounded by long keys: exactly the barrier's entries inside it.
      const inner = sorted(keys);
      const from = inner[3]!;
      const to = inner[inner.length - 4]!;
      assert.ok(from.length > 1940 && to.length > 1940);
      assert.deepEqual(
        read(s, snap, from, to),
        inner.slice(3, inner.length - 4).map((k) => [k.toString("latin1"), value(k)]),
      );
      // Ranges with one long bound: from a long key to the key group's end, from its start to one.
      assert.deepEqual(
        read(s, snap, from, groupStart(6)),
        inner.slice(3).map((k) => [k.toString("latin1"), value(k)]),
      );
      assert.deepEqual(
        read(s, snap, groupStart(5), to),
        inner.slice(0, inner.length - 4).map((k) => [k.toString("latin1"), value(k)]),
      );
      // The whole key group, in key order.
      assert.deepEqual(
        read(s, snap, groupStart(5), groupStart(6)),
        inner.map((k) => [k.toString("latin1"), value(k)]),
      );
      snap.done();
      assert.equal(s.undoEntries(), 0);
      // No snapshot: the same keys as usual.
      for (const k of keys) set(s, k, "again");
      s.flush();
      for (const k of keys) assert.equal(get(s, k), "again");
    } finally {
      s.dispose();
    }
  });

  it("a key longer than LMDB's largest is refused when it is set, the others still written", () => {
    const s = new EmbeddedStore({ managedMemoryBytes: 64 * 2 ** 20 });
    try {
      const ok = longKey(2, MAX_KEY_BYTES, "ok");
      set(s, ok, 1);
      const tooLong = longKey(2, MAX_KEY_BYTES + 1, "long");
      assert.throws(
        () => set(s, tooLong, 2),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          e.message.includes(`takes ${MAX_KEY_BYTES + 1} bytes`) &&
          e.message.includes(`at most ${MAX_KEY_BYTES} bytes`),
      );
      s.flush();
      assert.deepEqual(
        [...s.scan(groupStart(2), groupStart(3))].map(([k, raw]) => [k.length, s.decode(raw, RAW_CODEC)]),
        [[MAX_KEY_BYTES, 1]],
      );
    } finally {
      s.dispose();
    }
  });
});
