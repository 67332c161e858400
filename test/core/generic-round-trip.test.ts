// GENERIC round trips over the values a user's records carry (src/core/types/generic.ts): edge
// numbers (-0, NaN, ±Infinity, the safe-integer bounds, 2^31 and 2^32 around the varint's fast
// paths), strings (empty, one byte to thousands, surrogate pairs, lone surrogates), every
// container nested in every other, and many records written one after another into one small
// output, so that values cross the buffer's growth. A value must read back the same (Object.is
// for numbers, keys in order, prototypes), and its bytes must not depend on what was written
// before it. The random values come from a fixed seed (printed in every message).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { GENERIC } from "../../src/core/types/generic.ts";
import { ValueSerializationError } from "../../src/core/types/type-info.ts";

const ser = GENERIC.createSerializer();
const SEED = 0x5eed15;

function encode(v: unknown, initial = 1): Uint8Array {
  const out = new DataOutputSerializer(initial);
  ser.write(v, out);
  return out.view().slice();
}

function decode(bytes: Uint8Array): unknown {
  const input = new DataInputDeserializer(bytes, 0, bytes.length);
  const v = ser.read(input);
  assert.equal(input.position, bytes.length, "the reader stops at the record's end");
  return v;
}

/**
 * The same value: numbers by Object.is (-0, NaN), Dates by their time (an invalid one too), bytes,
 * arrays, Map and Set entries in order, plain objects' keys in order, their values and prototype.
 * (assert.deepStrictEqual tells neither key order nor two invalid Dates apart.)
 */
function assertSame(a: unknown, e: unknown, where: string): void {
  if (e === null || typeof e !== "object") {
    assert.ok(Object.is(a, e), `${where}: ${String(a)} is not ${String(e)}`);
    return;
  }
  assert.ok(a !== null && typeof a === "object", `${where}: not an object`);
  assert.equal(Object.getPrototypeOf(a), Object.getPrototypeOf(e), `${where}: prototype`);
  if (e instanceof Date) {
    assert.ok(Object.is((a as Date).getTime(), e.getTime()), `${where}: Date ${(a as Date).getTime()}`);
  } else if (e instanceof Uint8Array) {
    assert.deepEqual([...(a as Uint8Array)], [...e], `${where}: bytes`);
  } else if (e instanceof Map) {
    const ae = [...(a as Map<unknown, unknown>)];
    assert.equal(ae.length, e.size, `${where}: Map size`);
    [...e].forEach(([k, x], i) => {
      assertSame(ae[i]![0], k, `${where}.keys()[${i}]`);
      assertSame(ae[i]![1], x, `${where}.values()[${i}]`);
    });
  } else if (e instanceof Set) {
    const ae = [...(a as Set<unknown>)];
    assert.equal(ae.length, e.size, `${where}: Set size`);
    for (const [i, x] of [...e].entries()) assertSame(ae[i], x, `${where}.values()[${i}]`);
  } else if (Array.isArray(e)) {
    assert.equal((a as unknown[]).length, e.length, `${where}: length`);
    for (const [i, x] of e.entries()) assertSame((a as unknown[])[i], x, `${where}[${i}]`);
  } else {
    assert.deepEqual(Reflect.ownKeys(a as object), Reflect.ownKeys(e), `${where}: keys in order`);
    for (const k of Object.keys(e)) {
      const d = Object.getOwnPropertyDescriptor(a, k)!;
      assert.ok(d.writable && d.enumerable && d.configurable, `${where}.${k}: an ordinary property`);
      assertSame(d.value, (e as Record<string, unknown>)[k], `${where}.${k}`);
    }
  }
}

const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  63,
  64,
  -64,
  -65,
  127,
  128,
  255,
  256,
  2 ** 14 - 1,
  2 ** 14,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 30 - 1,
  2 ** 30,
  -(2 ** 30),
  -(2 ** 30) - 1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 35 + 3,
  -(2 ** 35) - 3,
  2 ** 49,
  2 ** 52 + 1,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  -Number.MAX_SAFE_INTEGER - 1,
  2 ** 60,
  -(2 ** 60),
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.EPSILON,
  0.1,
  -2.5,
  1e-300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function repeat(s: string, chars: number): string {
  return s.repeat(Math.ceil(chars / s.length)).slice(0, chars);
}

const EDGE_STRINGS = [
  "",
  "a",
  "\u0000",
  "\u007f",
  "\u0080",
  "é",
  "€",
  "😀",
  "a😀b",
  "\ud83d", // lone high surrogate
  "\ude00", // lone low surrogate
  "x\ud83dy",
  repeat("k", 23),
  repeat("k", 24),
  repeat("k", 31),
  repeat("k", 32),
  repeat("k", 33),
  repeat("k", 127),
  repeat("k", 128),
  repeat("é", 23),
  repeat("é", 24),
  repeat("é", 64), // 128 bytes: a two-byte length
  repeat("😀", 40),
  `${repeat("a", 22)}é`,
  `${repeat("a", 40)}😀`,
  repeat("abc€", 5000),
  repeat("z", 70_000),
];

const WELL_FORMED = EDGE_STRINGS.slice(0, -2).filter((s) => !new RegExp(LONE_SURROGATE.source).test(s));

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEY_POOL = [
  "a",
  "b",
  "id",
  "name",
  "ts",
  "value",
  "é",
  "1",
  "0",
  "10",
  "__proto__",
  repeat("q", 40),
  "",
];

function randomValue(r: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const kind = Math.floor(r() * (depth > 2 ? 8 : 14));
  switch (kind) {
    case 0:
      return pick(EDGE_NUMBERS);
    case 1:
      return Math.floor((r() - 0.5) * 2 ** Math.floor(r() * 54));
    case 2:
      return (r() - 0.5) * 10 ** Math.floor(r() * 20);
    case 3:
      return pick(WELL_FORMED); // the long ones are written on their own below
    case 4:
      return pick([true, false, null, undefined]);
    case 5:
      return pick([0n, -1n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 64n), 12345678901234567890123n]);
    case 6:
      return new Date(pick([0, -1, 8.64e15, -8.64e15, 1_700_000_000_123, Number.NaN]));
    case 7:
      return Uint8Array.from({ length: Math.floor(r() * 300) }, (_, i) => (i * 37) & 255);
    case 8:
    case 9: {
      const n = pick(depth === 0 ? [0, 1, 2, 3, 8, 9, 20, 130] : [0, 1, 2, 3, 8, 9]);
      const o: Record<string, unknown> = r() < 0.15 ? Object.create(null) : {};
      for (let i = 0; i < n; i++) {
        const k = r() < 0.5 ? pick(KEY_POOL) : `k${Math.floor(r() * 12)}`;
        const x = randomValue(r, depth + 1);
        if (k === "__proto__")
          Object.defineProperty(o, k, { value: x, writable: true, enumerable: true, configurable: true });
        else o[k] = x;
      }
      return o;
    }
    case 10:
      return Array.from({ length: pick(depth === 0 ? [0, 1, 2, 5, 129] : [0, 1, 2, 5]) }, () =>
        randomValue(r, depth + 1),
      );
    case 11: {
      const m = new Map<unknown, unknown>();
      for (let i = pick(depth === 0 ? [0, 1, 3, 130] : [0, 1, 3]); i > 0; i--)
        m.set(randomValue(r, depth + 2), randomValue(r, depth + 1));
      return m;
    }
    case 12: {
      const s = new Set<unknown>();
      for (let i = pick([0, 1, 4]); i > 0; i--) s.add(randomValue(r, depth + 1));
      return s;
    }
    default:
      return pick([
        { x: 1, y: 2 },
        { y: 2, x: 1 },
        { x: "a", y: [1, 2], z: { x: 1, y: 2 } },
        { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 },
        { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9 },
      ]);
  }
}

describe("GENERIC round trips", () => {
  it("edge numbers keep their value, -0 and NaN included, alone and in containers", () => {
    for (const x of EDGE_NUMBERS) {
      const back = decode(encode(x));
      assert.ok(Object.is(back, x), `${x} (Object.is): got ${back}`);
      const inArray = decode(encode([x, x])) as number[];
      assert.ok(Object.is(inArray[0], x) && Object.is(inArray[1], x), `[${x}, ${x}]`);
      const inObject = decode(encode({ v: x })) as { v: number };
      assert.ok(Object.is(inObject.v, x), `{ v: ${x} }`);
      const m = new Map([[x, x]]); // a Map key -0 is +0 already
      const [k, v] = [...(decode(encode(m)) as Map<number, number>)][0]!;
      assert.ok(Object.is(k, [...m.keys()][0]) && Object.is(v, x), `Map ${x}`);
    }
  });

  it("edge strings keep every code unit (lone surrogates become U+FFFD), alone, as keys and values", () => {
    for (const s of EDGE_STRINGS) {
      const wellFormed = s.replace(LONE_SURROGATE, "\ufffd");
      const where = `string of ${s.length} units`;
      assert.equal(decode(encode(s)), wellFormed, where);
      assertSame(decode(encode({ [s]: s, k: s })), { [wellFormed]: wellFormed, k: wellFormed }, where);
      assertSame(
        decode(encode([s, { s }, new Set([s])])),
        [wellFormed, { s: wellFormed }, new Set([wellFormed])],
        where,
      );
    }
  });

  it(`random records (seed ${SEED}): each reads back the same, written alone or one after another`, () => {
    const r = rng(SEED);
    const values = Array.from({ length: 400 }, () => randomValue(r, 0));
    values.push(EDGE_STRINGS.at(-1), { long: EDGE_STRINGS.at(-2), after: 1 });
    // Alone, from a one-byte output (every write grows it).
    const alone = values.map((v, i) => {
      const bytes = encode(v);
      assertSame(decode(bytes), v, `seed ${SEED}, value ${i}`);
      return bytes;
    });
    // One after another into one output that starts small and grows, then read back in one input.
    const out = new DataOutputSerializer(7);
    const ends: number[] = [];
    for (const v of values) {
      ser.write(v, out);
      ends.push(out.position);
    }
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    values.forEach((v, i) => {
      const start = i === 0 ? 0 : ends[i - 1]!;
      assert.deepEqual(
        out.buffer.subarray(start, ends[i]),
        Buffer.from(alone[i]!),
        `seed ${SEED}, value ${i}: the same bytes as written alone`,
      );
      assertSame(ser.read(input), v, `seed ${SEED}, value ${i} in sequence`);
      assert.equal(input.position, ends[i], `seed ${SEED}, value ${i}: ends where it was written`);
    });
    // Backwards: the shape caches see the values in another order, the bytes must not change.
    for (let i = values.length - 1; i >= 0; i--) {
      assert.deepEqual(encode(values[i], 64), alone[i], `seed ${SEED}, value ${i} written backwards`);
    }
  });
});

describe("GENERIC: where in the value a field cannot be written", () => {
  const pathOf = (v: unknown): string => {
    try {
      encode(v);
    } catch (e) {
      assert.ok(e instanceof ValueSerializationError, String(e));
      return e.path;
    }
    assert.fail("written");
  };
  const bad = () => 0;

  it("a Map's key or value, the first or a later entry", () => {
    assert.equal(pathOf(new Map<unknown, unknown>([[bad, 1]])), ".keys()[0]");
    assert.equal(pathOf(new Map<unknown, unknown>([[1, bad]])), ".values()[0]");
    assert.equal(
      pathOf(
        new Map<unknown, unknown>([
          [1, 2],
          [3, 4],
          [bad, 5],
        ]),
      ),
      ".keys()[2]",
    );
    assert.equal(
      pathOf(
        new Map<unknown, unknown>([
          [1, 2],
          [3, 4],
          [5, bad],
        ]),
      ),
      ".values()[2]",
    );
    assert.equal(pathOf({ m: new Map<unknown, unknown>([["a", { x: [1, bad] }]]) }), ".m.values()[0].x[1]");
  });

  it("a Set's element, an array's element, an object's field", () => {
    assert.equal(pathOf(new Set<unknown>([1, 2, bad])), ".values()[2]");
    assert.equal(pathOf([0, 1, 2, Symbol("s")]), "[3]");
    assert.equal(pathOf({ a: 1, "odd key": { b: bad } }), '["odd key"].b');
  });
});

describe("GENERIC: object keys through the decoder's key cache", () => {
  it("a key that is a prefix of a cached key in its slot decodes to itself", () => {
    // "key95" and "key950" share a slot of the 4096-slot cache of short ASCII keys.
    for (const [first, second] of [
      ["key950", "key95"],
      ["key1227", "key122"],
      ["key1300", "key"],
    ]) {
      for (const [a, b] of [
        [first, second],
        [second, first],
      ]) {
        assertSame(decode(encode({ [a!]: 1 })), { [a!]: 1 }, a!);
        assertSame(decode(encode({ [b!]: 2 })), { [b!]: 2 }, `${b} after ${a}`);
        // More fields than a small object has: decoded key by key, without the shapes.
        const big = (k: string) =>
          Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${k}${"_".repeat(i)}`, i]));
        assertSame(decode(encode(big(a!))), big(a!), `${a}, 10 fields`);
        assertSame(decode(encode(big(b!))), big(b!), `${b} after ${a}, 10 fields`);
      }
    }
  });

  it("a key of the length and slot of a cached key decodes to itself, whatever bytes precede it", () => {
    // "aceu", "agnm" and "a\u0004\n\u0004" share a slot; the last one is also the bytes of
    // { p: 5, aceu: 1 } read backwards from "aceu"'s first byte (its length, the 5, the int tag).
    const cached = "a\u0004\n\u0004";
    for (const [a, b] of [
      ["aceu", "agnm"],
      ["agnm", "aceu"],
      [cached, "aceu"],
    ]) {
      assertSame(decode(encode({ [a!]: 0 })), { [a!]: 0 }, JSON.stringify(a));
      assertSame(decode(encode({ p: 5, [b!]: 1 })), { p: 5, [b!]: 1 }, `${b} after ${JSON.stringify(a)}`);
    }
  });

  it("a key of 128 to 255 bytes, whose length's first byte is its length plus 128, decoded twice", () => {
    // "\u0001" × 129: the bytes are 0x81 0x01 then 129 × 0x01, so the 129 bytes after the first
    // length byte are the key's own characters but one: taken for a cached key, one byte is lost.
    for (const key of ["\u0001".repeat(129), "a".repeat(200), "\u0001".repeat(255)]) {
      const small = { [key]: 7, after: "x" };
      const big = Object.fromEntries([[key, 7], ...Array.from({ length: 9 }, (_, i) => [`f${i}`, i])]);
      for (let round = 0; round < 2; round++) {
        assertSame(decode(encode(small)), small, `${key.length} units, round ${round}`);
        assertSame(decode(encode(big)), big, `${key.length} units, 10 fields, round ${round}`);
      }
    }
  });

  it("thousands of keys and their prefixes, in one record and one per record", () => {
    const keys: string[] = [];
    for (let i = 0; i < 3000; i++) keys.push(`k${i}`, `k${i}`.slice(0, 1 + (i % 3)), `${i}x`, `x${i}é`);
    const o = Object.fromEntries(keys.map((k, i) => [k, i]));
    assertSame(decode(encode(o)), o, "one record");
    for (const [i, k] of keys.entries()) {
      const one = { [k]: i, z: k };
      assertSame(decode(encode(one)), one, `record ${i}`);
    }
  });
});
