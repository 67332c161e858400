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
});
