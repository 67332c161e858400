// The embedded backend's key layout: the exclusive end of a prefix range, which its scans over one
// key's entries (map state, a key's namespaces) use as their bound.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataOutputSerializer } from "../../src/core/data-io.ts";
import {
  cacheKeyOf,
  composeKey,
  decodeKey,
  groupStart,
  keyWriter,
  prefixEnd,
  ScratchReader,
  writeNamespaceAndKey,
  writeUserKey,
} from "../../src/state/embedded/store-keys.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const bytes = (b: Buffer | undefined) => (b === undefined ? undefined : [...b]);

describe("prefixEnd", () => {
  it("is the prefix with its last byte raised", () => {
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(1, 2, 3))), [1, 2, 4]);
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(7))), [8], "a one-byte prefix");
  });

  it("drops trailing 0xff bytes and raises the one before", () => {
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(1, 0xff, 0xff))), [2]);
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(5, 0xff))), [6], "the first byte raised");
  });

  it("has no end when every byte is 0xff (the range runs to the end of the store)", () => {
    assert.equal(prefixEnd(Uint8Array.of(0xff, 0xff)), undefined);
    assert.equal(prefixEnd(new Uint8Array(0)), undefined);
  });

  it("leaves the prefix given unchanged", () => {
    const p = Uint8Array.of(1, 2);
    prefixEnd(p);
    assert.deepEqual([...p], [1, 2]);
  });
});

describe("store keys", () => {
  /** The store key of (key group, state, namespace, key[, user key]). */
  function storeKey(kg: number, id: number, ns: unknown, mapKey: unknown, userKey?: unknown): Buffer {
    const out = keyWriter();
    writeNamespaceAndKey(out, ns as never, mapKey as never);
    const prefix = composeKey(kg, id, out.buffer.subarray(0, out.position));
    if (userKey === undefined) return prefix;
    const u = new DataOutputSerializer(16);
    writeUserKey(u, userKey);
    return Buffer.concat([prefix, u.buffer.subarray(0, u.position)]);
  }

  it("decode what they encode: key groups and state ids past one byte, every namespace kind, user keys", () => {
    const cases: Array<[number, number, unknown, unknown, unknown]> = [
      [0, 0, VOID_NAMESPACE, "k", undefined],
      [255, 1, "window-1", 7, "uk"],
      [256, 256, 42, "key", 3.5],
      [32767, 65535, VOID_NAMESPACE, "x".repeat(300), { a: [1, 2] }],
      [1000, 258, "", -5, "u".repeat(40)],
    ];
    for (const [kg, id, ns, mapKey, userKey] of cases) {
      const k = storeKey(kg, id, ns, mapKey, userKey);
      const d = decodeKey(k, userKey !== undefined);
      assert.deepEqual(
        [d.keyGroup, d.stateId, d.namespace, d.mapKey, d.userKey],
        [kg, id, ns, mapKey, userKey],
        `key group ${kg}, state ${id}`,
      );
      assert.equal(
        d.prefixLength,
        storeKey(kg, id, ns, mapKey).length,
        "the prefix ends where the user key starts",
      );
      assert.equal(decodeKey(k, false).userKey, undefined);
    }
  });

  it("-0 is written as 0 in namespaces, keys and numeric user keys", () => {
    assert.deepEqual([...storeKey(3, 1, -0, -0, -0)], [...storeKey(3, 1, 0, 0, 0)]);
    assert.ok(Object.is(decodeKey(storeKey(3, 1, -0, -0, -0), true).userKey, 0));
  });

  it("every key of a key group (and state) sorts between its group start and the next one's", () => {
    const starts = [
      groupStart(0),
      groupStart(1),
      groupStart(255),
      groupStart(256),
      groupStart(256, 2),
      groupStart(257),
    ];
    for (let i = 1; i < starts.length; i++)
      assert.ok(Buffer.compare(starts[i - 1]!, starts[i]!) < 0, `start ${i}`);
    for (const [kg, id] of [
      [1, 0],
      [255, 7],
      [256, 2],
      [256, 300],
    ] as const) {
      const k = storeKey(kg, id, "ns", "key", "u");
      assert.ok(Buffer.compare(groupStart(kg, id), k) <= 0);
      assert.ok(Buffer.compare(k, groupStart(kg, id + 1)) < 0);
      assert.ok(Buffer.compare(k, groupStart(kg + 1)) < 0);
    }
  });

  it("a scratch reader reads keys longer than its scratch, at an offset", () => {
    const r = new ScratchReader();
    for (const n of [10, 256, 257, 1000, 20]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
      const input = r.load(bytes, 3);
      assert.equal(input.position, 3);
      assert.equal(input.remaining(), n - 3);
      assert.equal(input.readU8(), bytes[3]);
      input.position = n - 1;
      assert.equal(input.readU8(), bytes[n - 1], `${n} bytes`);
    }
  });

  it("the cache key is the key's bytes, one character each", () => {
    const k = Buffer.from([0, 1, 127, 128, 255]);
    const ck = cacheKeyOf(k);
    assert.equal(ck.length, 5);
    assert.deepEqual(
      [...ck].map((c) => c.charCodeAt(0)),
      [0, 1, 127, 128, 255],
    );
  });
});
