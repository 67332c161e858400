// OBJECT and TUPLE serializers are generated code (src/core/types/codegen.ts) that writes and
// reads primitive fields inline instead of calling their serializers. Their bytes must be exactly
// the concatenation of each field's own serializer's bytes (the format savepoints keep), wherever
// the record starts relative to the end of the buffer (the inline code grows it in the middle of
// a record), and records must read back the same, one after another, edge values included: -0,
// NaN, the safe-integer bounds, invalid Dates, empty, long, non-ASCII and surrogate-pair strings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import type { TypeInformation } from "../../src/core/types/type-info.ts";
import { Types } from "../../src/core/types/types.ts";

const STRINGS = [
  "",
  "a",
  "\u007f",
  "é",
  "€",
  "😀",
  "k".repeat(23),
  "k".repeat(24),
  "k".repeat(32),
  "k".repeat(33),
  `${"a".repeat(22)}é`,
  `${"a".repeat(23)}é`,
  "é".repeat(70),
  "😀".repeat(40),
  "abc€".repeat(300),
];
const NUMBERS = [0, -0, 1, -1.5, Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, Number.MIN_VALUE];
const INTS = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  2 ** 30,
  -(2 ** 30) - 1,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];
const DATES = [new Date(0), new Date(-1), new Date(8.64e15), new Date(Number.NaN)];
const BIGINTS = [0n, -1n, 2n ** 53n, -(2n ** 70n)];
const BYTES = [new Uint8Array(0), Uint8Array.from([1, 2, 255]), new Uint8Array(200).fill(7)];

function bytesOf<T>(t: TypeInformation<T>, v: T): number[] {
  const out = new DataOutputSerializer(1);
  t.createSerializer().write(v, out);
  return [...out.view()];
}

/** Object.is for numbers, getTime for Dates, bytes for Uint8Array, recursively. */
function same(a: unknown, e: unknown, where: string): void {
  if (e instanceof Date) {
    assert.ok(a instanceof Date && Object.is(a.getTime(), e.getTime()), `${where}: Date`);
  } else if (e instanceof Uint8Array) {
    assert.ok(a instanceof Uint8Array, where);
    assert.deepEqual([...a], [...e], where);
  } else if (Array.isArray(e)) {
    assert.ok(Array.isArray(a) && a.length === e.length, `${where}: length`);
    for (const [i, x] of e.entries()) same(a[i], x, `${where}[${i}]`);
  } else if (e !== null && typeof e === "object") {
    assert.equal(Object.getPrototypeOf(a), Object.getPrototypeOf(e), `${where}: prototype`);
    assert.deepEqual(Object.keys(a as object), Object.keys(e), `${where}: keys`);
    for (const k of Object.keys(e)) same((a as any)[k], (e as any)[k], `${where}.${k}`);
  } else {
    assert.ok(Object.is(a, e), `${where}: ${String(a)} is not ${String(e)}`);
  }
}

const Inner = Types.OBJECT({ n: Types.INT, s: Types.STRING });
const Record7 = Types.OBJECT({
  id: Types.INT,
  name: Types.STRING,
  price: Types.NUMBER,
  ok: Types.BOOLEAN,
  at: Types.DATE,
  big: Types.BIGINT,
  raw: Types.BYTES,
  tags: Types.ARRAY(Types.STRING),
  inner: Inner,
  maybe: Types.NULLABLE(Types.STRING),
  any: Types.GENERIC,
});
const Pair = Types.TUPLE(Types.STRING, Types.INT, Types.NUMBER, Types.BOOLEAN, Types.DATE, Inner);

function records(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const n = Math.max(STRINGS.length, NUMBERS.length, INTS.length, DATES.length);
  for (let i = 0; i < n * 2; i++) {
    const s = STRINGS[i % STRINGS.length]!;
    out.push({
      id: INTS[i % INTS.length],
      name: s,
      price: NUMBERS[i % NUMBERS.length],
      ok: i % 3 === 0,
      at: DATES[i % DATES.length],
      big: BIGINTS[i % BIGINTS.length],
      raw: BYTES[i % BYTES.length],
      tags: STRINGS.slice(0, i % 4).concat(s),
      inner: { n: INTS[(i + 3) % INTS.length], s: STRINGS[(i + 5) % STRINGS.length] },
      maybe: i % 3 === 1 ? null : i % 3 === 2 ? undefined : s,
      any: i % 2 ? { s, n: [i, -0] } : s,
    });
  }
  return out;
}

/** The bytes each field's own serializer writes, one after another. */
function fieldByFieldObject(r: Record<string, unknown>): number[] {
  const t = Record7 as unknown as { fields: ReadonlyArray<readonly [string, TypeInformation<unknown>]> };
  return t.fields.flatMap(([k, ft]) => bytesOf(ft, r[k]));
}

describe("OBJECT and TUPLE: the generated code against the fields' own serializers", () => {
  it("OBJECT records: the concatenated field bytes, at every distance from the buffer's end", () => {
    const ser = Record7.createSerializer();
    for (const [i, r] of records().entries()) {
      const expected = fieldByFieldObject(r);
      for (let room = 0; room <= Math.min(expected.length + 1, 60); room++) {
        const buf = new Uint8Array(80).fill(0xee);
        const out = new DataOutputSerializer(1);
        out.setBuffer(buf, 80 - room);
        ser.write(r as never, out);
        assert.deepEqual(
          [...out.buffer.subarray(0, 80 - room)],
          new Array(80 - room).fill(0xee),
          `record ${i}: before`,
        );
        assert.deepEqual(
          [...out.buffer.subarray(80 - room, out.position)],
          expected,
          `record ${i}, room ${room}`,
        );
        const input = new DataInputDeserializer(out.buffer, 80 - room, out.position);
        same(ser.read(input), r, `record ${i}, room ${room}`);
        assert.equal(input.remaining(), 0);
      }
    }
  });

  it("TUPLE records: the concatenated element bytes; read back one after another", () => {
    const ser = Pair.createSerializer();
    const elems = [Types.STRING, Types.INT, Types.NUMBER, Types.BOOLEAN, Types.DATE, Inner] as const;
    const values: unknown[][] = [];
    for (let i = 0; i < 40; i++) {
      values.push([
        STRINGS[i % STRINGS.length],
        INTS[i % INTS.length],
        NUMBERS[i % NUMBERS.length],
        i % 2 === 0,
        DATES[i % DATES.length],
        { n: INTS[(i + 1) % INTS.length], s: STRINGS[(i + 2) % STRINGS.length] },
      ]);
    }
    const out = new DataOutputSerializer(3);
    const ends: number[] = [];
    for (const v of values) {
      const start = out.position;
      ser.write(v as never, out);
      ends.push(out.position);
      const expected = elems.flatMap((t, j) => bytesOf(t as TypeInformation<unknown>, v[j]));
      assert.deepEqual([...out.buffer.subarray(start, out.position)], expected);
    }
    // Read from a frame inside a larger buffer, with bytes after it that must not be read.
    const framed = new Uint8Array(out.position + 8).fill(0xff);
    framed.set(out.view(), 4);
    const input = new DataInputDeserializer(framed, 4, 4 + out.position);
    for (const [i, v] of values.entries()) {
      same(ser.read(input), v, `tuple ${i}`);
      assert.equal(input.position, 4 + ends[i]!);
    }
    assert.equal(input.remaining(), 0);
  });

  it("-0 in an INT field reads back as 0; every other INT and every NUMBER as written", () => {
    const T = Types.OBJECT({ i: Types.INT, x: Types.NUMBER });
    const ser = T.createSerializer();
    for (const [k, i] of INTS.entries()) {
      const x = NUMBERS[k % NUMBERS.length]!;
      const out = new DataOutputSerializer(1);
      ser.write({ i, x }, out);
      same(ser.read(new DataInputDeserializer(out.view())), { i, x }, `${i}, ${x}`);
    }
    const out = new DataOutputSerializer(1);
    ser.write({ i: -0, x: -0 }, out);
    same(ser.read(new DataInputDeserializer(out.view())), { i: 0, x: -0 }, "-0");
  });

  it("a refused field leaves the output where it was, in every position of the record", () => {
    const ser = Record7.createSerializer();
    const good = records()[0]!;
    for (const k of Object.keys(good)) {
      if (k === "maybe" || k === "any") continue; // they take anything
      const out = new DataOutputSerializer(4);
      ser.write(good as never, out);
      const at = out.position;
      assert.throws(() => ser.write({ ...good, [k]: Symbol("bad") } as never, out), /Types\.OBJECT|OBJECT/);
      assert.equal(out.position, at, k);
      ser.write(good as never, out);
      const input = new DataInputDeserializer(out.view());
      same(ser.read(input), good, `${k}: first`);
      same(ser.read(input), good, `${k}: second`);
      assert.equal(input.remaining(), 0);
    }
  });
});

describe("OBJECT's strict field check with fields that may be absent", () => {
  it("an undeclared field is refused also when a GENERIC or NULLABLE field is absent", () => {
    const undeclared = /the value has field\(s\) "zz" that the type does not declare/;
    const T = Types.OBJECT({ a: Types.INT, g: Types.GENERIC, m: Types.NULLABLE(Types.STRING) });
    const ser = T.createSerializer();
    for (const r of [
      { a: 1, zz: 2 },
      { a: 1, g: 0, zz: 2 },
      { a: 1, m: "x", zz: 2 },
      { a: 1, g: 0, m: null, zz: 2 },
    ]) {
      assert.throws(() => ser.write(r as never, new DataOutputSerializer(8)), undeclared, JSON.stringify(r));
    }
    // Absent ones read back as undefined; present ones as written.
    for (const r of [{ a: 1 }, { a: 2, g: [1] }, { a: 3, m: "y" }]) {
      const out = new DataOutputSerializer(8);
      ser.write(r as never, out);
      same(
        ser.read(new DataInputDeserializer(out.view())),
        { a: r.a, g: (r as { g?: unknown }).g, m: (r as { m?: unknown }).m },
        JSON.stringify(r),
      );
    }
  });
});
