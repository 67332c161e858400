// The GENERIC decoder builds small plain objects through a function compiled per key list, and
// skips decoding the keys while they repeat the last shape's bytes: the objects must be exactly
// the ones decoding key by key gives (own keys, their order, prototype, values).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { GENERIC } from "../../src/core/types/generic.ts";

function roundTrip(value: unknown): unknown {
  const ser = GENERIC.createSerializer();
  const out = new DataOutputSerializer(64);
  ser.write(value, out);
  const input = new DataInputDeserializer();
  input.setBuffer(out.buffer.subarray(0, out.position), 0, out.position);
  return ser.read(input);
}

function assertSame(decoded: unknown, value: unknown): void {
  assert.deepStrictEqual(decoded, value);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    assert.deepEqual(Object.keys(decoded as object), Object.keys(value));
    assert.equal(Object.getPrototypeOf(decoded), Object.getPrototypeOf(value));
  }
}

describe("GENERIC small objects", () => {
  it("decode to the same keys, order, prototype and values, shape after shape", () => {
    const values: unknown[] = [
      { a: 1, b: "x" },
      { b: 2, a: 1 },
      { "2": 1, "1": 2, z: 3 },
      { a: { b: { c: [1, { d: 2 }] } }, e: undefined },
      Object.create(null),
      JSON.parse('{"__proto__": 5, "x": 1}'),
      { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9 },
      [{ k: 1 }, { k: 2, j: { k: 3 } }],
      {},
      { "": 1, "a\u2028b": 2, 'q"': 3 },
      { ab: 1, c: 2 },
      { ab: 1, cd: 2 },
      { a: 1, bc: 2 },
      { é: 1, x: 2 },
      { é: 5, x: { é: 6, y: 7 } },
      { ab: [1, { ab: 2, c: 3 }], c: null },
    ];
    for (let round = 0; round < 3; round++) for (const v of values) assertSame(roundTrip(v), v);
  });

  it("keeps the last value of a repeated key at its first position, as assignment does", () => {
    // Hand-written bytes: an object of 3 entries whose key "a" comes twice.
    const out = new DataOutputSerializer(64);
    const ser = GENERIC.createSerializer();
    ser.write({ a: 1, b: 2, c: 3 }, out);
    const bytes = out.buffer.slice(0, out.position);
    const i = bytes.indexOf("c".charCodeAt(0), 3);
    bytes[i] = "a".charCodeAt(0);
    const input = new DataInputDeserializer();
    input.setBuffer(bytes, 0, bytes.length);
    const decoded = ser.read(input) as Record<string, number>;
    assert.deepEqual(Object.keys(decoded), ["a", "b"]);
    assert.equal(decoded.a, 3);
  });

  it("decodes small integers as small integers, whatever the writer's literals held", () => {
    // V8 gives all object literals with the same keys one hidden class; once one of them held a
    // fraction in a field, a decoded object of that class would box every value of the field (a
    // key selector then allocates per record). Decoded objects have their own hidden class.
    setFlagsFromString("--allow-natives-syntax");
    const isSmallInteger = new Function("x", "return %IsSmi(x)") as (x: unknown) => boolean;
    // A literal of the decoded keys holding a fraction (never written: the decoder sees integers).
    const literal = { slotKey: 0.5, slotAt: 1 };
    assert.equal(literal.slotKey, 0.5);
    for (let k = 0; k < 100; k++) {
      const decoded = roundTrip({ slotKey: k, slotAt: k * 2 }) as { slotKey: number; slotAt: number };
      assert.equal(decoded.slotKey, k);
      assert.ok(isSmallInteger(decoded.slotKey), `slotKey ${k} decoded as a boxed number`);
    }
  });

  it("writes the bytes of the key-by-key format, whatever shapes were written before", () => {
    const bytes = (v: unknown) => {
      const out = new DataOutputSerializer(64);
      GENERIC.createSerializer().write(v, out);
      return [...out.buffer.subarray(0, out.position)];
    };
    const ch = (s: string) => [...s].map((c) => c.charCodeAt(0));
    // T_OBJECT (8), count, then per field: key (length, ASCII), value (T_INT 4 + zigzag; T_STRING 6).
    const ab = [8, 2, 1, ...ch("a"), 4, 2, 1, ...ch("b"), 6, 1, ...ch("x")];
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(bytes({ a: 1, b: "x" }), ab);
      assert.deepEqual(bytes({ a: 1, c: "x" }), [8, 2, 1, ...ch("a"), 4, 2, 1, ...ch("c"), 6, 1, ...ch("x")]);
      assert.deepEqual(bytes({ a: 1 }), [8, 1, 1, ...ch("a"), 4, 2]);
      assert.deepEqual(bytes({ a: 1, b: "x", c: 0 }), [...[8, 3], ...ab.slice(2), 1, ...ch("c"), 4, 0]);
    }
    // 130 fields: the count is the two-byte varuint 130 (0x82 0x01), the fields follow it.
    const wide: Record<string, number> = {};
    for (let i = 0; i < 130; i++) wide[`k${i}`] = i;
    const w = bytes(wide);
    assert.deepEqual(w.slice(0, 3), [8, 0x82, 0x01]);
    assert.deepEqual(w.slice(3, 7), [2, ...ch("k0"), 4]);
    assertSame(roundTrip(wide), wide);
  });

  it("writes own keys only, in Object.keys order, also when shapes alternate", () => {
    const mixed: unknown[] = [
      { p: { x: 1, y: 2 }, q: { z: 3 } },
      { p: { z: 3 }, q: { x: 1, y: 2 } },
      { p: { x: 1 }, q: { x: 1, y: 2, w: 4 } },
      { "10": 1, "2": 2, s: 3 },
    ];
    for (let round = 0; round < 4; round++) for (const v of mixed) assertSame(roundTrip(v), v);
    const proto = Object.prototype as Record<string, unknown>;
    proto.inheritedEnumerable = 1;
    try {
      const decoded = roundTrip({ own: 1 }) as Record<string, unknown>;
      assert.deepEqual(Object.keys(decoded), ["own"]);
      assert.equal(Object.hasOwn(decoded, "inheritedEnumerable"), false);
    } finally {
      delete proto.inheritedEnumerable;
    }
  });
  it("keys of 127 and more characters are written with their varuint length, shape after shape", () => {
    const bytes = (v: unknown) => {
      const out = new DataOutputSerializer(64);
      GENERIC.createSerializer().write(v, out);
      return [...out.buffer.subarray(0, out.position)];
    };
    for (const len of [127, 128, 200, 300]) {
      const k = "k".repeat(len);
      const v = { [k]: 1, b: 2 };
      const lengthBytes = len < 128 ? [len] : [(len & 0x7f) | 0x80, len >> 7];
      const expected = [8, 2, ...lengthBytes, ...Array(len).fill(107), 4, 2, 1, 98, 4, 4];
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(bytes(v), expected, `a ${len}-character key, round ${round}`);
        assertSame(roundTrip(v), v);
      }
    }
  });

  it("a key is taken for the last shape's only when its own bytes are that key's", () => {
    // Each record's bytes around its keys hold the last shape's key bytes: before {z: 1}'s key
    // stands its count 1, the bytes of the key "\u0001" are [1, 1]; in {"\u0002": 49, c: 5}
    // after {"\u0002": 1, b: 2}, the byte before "c" is 98 (zigzag 49), the bytes of "b" [1, 98].
    // Bytes compared anywhere but at the key's own place would take "z" or "c" for the other key.
    const ser = GENERIC.createSerializer();
    const out = new DataOutputSerializer(64);
    const records = [{ "\u0001": 1 }, { z: 1 }, { "\u0002": 1, b: 2 }, { "\u0002": 49, c: 5 }];
    for (const r of records) ser.write(r, out);
    const input = new DataInputDeserializer(out.buffer.subarray(0, out.position), 0, out.position);
    for (const r of records) assertSame(ser.read(input), r);
    assert.equal(input.remaining(), 0);
  });
});
