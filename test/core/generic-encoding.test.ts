// GENERIC's bytes and its reader's bounds (src/core/types/generic.ts): the format is persisted in
// checkpoints and savepoints and hashed for keys, so its exact bytes are pinned here; every
// truncated record must be refused with the "truncated input" error (never decoded into a
// different value, never a RangeError); counts larger than the record, nesting beyond the limit,
// and unknown tags are refused before anything is allocated.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";
import { GENERIC, MAX_GENERIC_DEPTH } from "../../src/core/types/generic.ts";

const ser = GENERIC.createSerializer();

function encode(v: unknown): Uint8Array {
  const out = new DataOutputSerializer(8);
  ser.write(v, out);
  return out.view().slice();
}

/** Reads `bytes[0, end)` out of a buffer that goes on with `tail` (as a frame inside a network buffer). */
function decode(bytes: Uint8Array | number[], end = bytes.length, tail: number[] = []): unknown {
  const buf = Uint8Array.from([...bytes, ...tail]);
  const input = new DataInputDeserializer(buf, 0, end);
  const v = ser.read(input);
  assert.equal(input.position, end, "the reader stops at the record's end");
  return v;
}

/**
 * The "truncated input" error, naming a position inside the input (a reader that went past the
 * input's end before noticing would name one beyond it).
 */
const truncated = (e: unknown) => {
  if (!(e instanceof SerializationError)) return false;
  const m = /^truncated input: .* at position (\d+), but the input ends at (\d+)/.exec(e.message);
  return m !== null && Number(m[1]) <= Number(m[2]);
};
const corrupt = (e: unknown) => e instanceof SerializationError && /^corrupt input/.test(e.message);

describe("GENERIC: exact bytes", () => {
  it("of every tag", () => {
    const cases: Array<[unknown, number[]]> = [
      [{ a: 1, b: "x" }, [8, 2, 1, 97, 4, 2, 1, 98, 6, 1, 120]],
      [
        [null, undefined, true, false, -1, 0.5, -0, 2 ** 53, 5n],
        [
          7, 9, 0, 1, 3, 2, 4, 1, 5, 0, 0, 0, 0, 0, 0, 224, 63, 5, 0, 0, 0, 0, 0, 0, 0, 128, 5, 0, 0, 0, 0, 0,
          0, 64, 67, 10, 0, 10,
        ],
      ],
      [new Map([["k", new Set([1])]]), [13, 1, 6, 1, 107, 14, 1, 4, 2]],
      [
        { d: new Date(0), u: new Uint8Array([7]) },
        [8, 2, 1, 100, 11, 0, 0, 0, 0, 0, 0, 0, 0, 1, 117, 12, 1, 7],
      ],
      [Object.assign(Object.create(null), { z: 0 }), [9, 1, 1, 122, 4, 0]],
      [Number.MAX_SAFE_INTEGER, [4, 254, 255, 255, 255, 255, 255, 255, 31]],
      [-Number.MAX_SAFE_INTEGER, [4, 253, 255, 255, 255, 255, 255, 255, 31]],
      [2 ** 53 + 2, [5, 1, 0, 0, 0, 0, 0, 64, 67]],
      [Number.NaN, [5, 0, 0, 0, 0, 0, 0, 248, 127]],
    ];
    for (const [i, [v, bytes]] of cases.entries()) {
      assert.deepEqual([...encode(v)], bytes, `case ${i}`);
      assert.deepEqual(decode(bytes), v);
    }
  });

  it("an object of 128 or more keys widens its count to two bytes and keeps every field", () => {
    for (const n of [127, 128, 300]) {
      const o: Record<string, number> = {};
      for (let i = 0; i < n; i++) o[`f${i}`] = i;
      const bytes = encode({ inner: o, after: "end" });
      // tag, count 2, key "inner", then the inner object's tag and count
      assert.deepEqual([...bytes.subarray(0, 9)], [8, 2, 5, 105, 110, 110, 101, 114, 8]);
      const count = n < 128 ? [n] : [(n & 127) | 128, n >> 7];
      assert.deepEqual([...bytes.subarray(9, 9 + count.length)], count, `count of ${n}`);
      assert.deepEqual([...bytes.subarray(9 + count.length, 9 + count.length + 4)], [2, 102, 48, 4]);
      assert.deepEqual(decode(bytes), { inner: o, after: "end" });
    }
  });

  it("an object whose widened count needs the buffer's last byte and one more", () => {
    const o: Record<string, string> = {};
    for (let i = 0; i < 200; i++) o[`f${i}`] = "v"; // strings: the writer reserves exactly their bytes
    const bytes = encode(o);
    // Everything but the count's second byte fits the buffer exactly: the widening must grow it.
    const out = new DataOutputSerializer(bytes.length - 1);
    ser.write(o, out);
    assert.deepEqual([...out.view()], [...bytes]);
    assert.deepEqual(decode(out.view()), o);
  });

  it('a "__proto__" key decodes to an ordinary own property', () => {
    const v = decode(encode(JSON.parse('{"__proto__": 1, "x": 2}'))) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, "__proto__"), {
      value: 1,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, "x"), {
      value: 2,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });

  it("the same object gives the same bytes whatever objects were written before it", () => {
    const eight = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 };
    const nine = { ...eight, i: 9 };
    const values: unknown[] = [
      { x: 1, y: 2 },
      { x: 1, z: 2 },
      { y: 1, x: 2 },
      { x: 1 },
      { x: 1, y: 2, w: 3 },
      eight,
      nine,
      { n: { x: 1, y: 2 } },
      { n: { x: 1 } },
      {},
    ];
    const alone = values.map((v) => [...encode(v)]);
    // Every order of pairs, and long runs of alternating shapes.
    for (let i = 0; i < values.length; i++) {
      for (let j = 0; j < values.length; j++) {
        encode(values[i]);
        assert.deepEqual([...encode(values[j])], alone[j], `${j} after ${i}`);
        assert.deepEqual(decode(alone[j]!), values[j]);
      }
    }
    const out = new DataOutputSerializer(16);
    const order = [0, 1, 2, 0, 1, 2, 5, 6, 5, 6, 3, 4, 3, 4, 7, 8, 7, 9];
    for (const k of order) ser.write(values[k], out);
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    for (const k of order) assert.deepEqual(ser.read(input), values[k]);
    assert.equal(input.remaining(), 0);
  });
});

describe("GENERIC: refusals", () => {
  it("every truncation of a record is refused as truncated, also when the buffer goes on", () => {
    const values: unknown[] = [
      { name: "alice", tags: ["a", "bb"], n: 300, big: 12345678901234567890n, ok: true },
      new Map<unknown, unknown>([
        ["k", new Set([1, "two"])],
        [2, { when: new Date(86_400_000), bytes: new Uint8Array([1, 2, 3]) }],
      ]),
      [1.5, -7, "ü-umlaut", "a-long-key-name-of-more-than-thirty-two-bytes", null],
      Object.assign(Object.create(null), { k: [undefined] }),
      { "a-long-key-name-of-more-than-thirty-two-bytes": 1, ümlaut: 2, "": 3 },
    ];
    for (const v of values) {
      const bytes = encode(v);
      assert.deepEqual(decode(bytes), v);
      for (let end = 0; end < bytes.length; end++) {
        // Whatever follows the cut (the rest of the record, or zeros) must not be read.
        assert.throws(() => decode(bytes, end, [...bytes.subarray(end)]), truncated, `cut at ${end}`);
        assert.throws(() => decode(bytes.subarray(0, end), end, [0, 0, 0, 0]), truncated, `cut at ${end}`);
      }
    }
  });

  it("counts larger than the rest of the record are refused before allocating", () => {
    for (const tag of [7, 8, 9, 13, 14]) {
      // a count of 2^40 and nothing after it
      assert.throws(
        () => decode([tag, 128, 128, 128, 128, 128, 32]),
        (e: unknown) => truncated(e) && /of 1099511627776 entries/.test((e as Error).message),
        `tag ${tag}`,
      );
      // one entry more than there are bytes
      assert.throws(() => decode([tag, 3, 0, 0]), truncated, `tag ${tag}`);
    }
  });

  it("unknown tags are corrupt input", () => {
    for (const t of [15, 16, 100, 255]) assert.throws(() => decode([t]), corrupt, `tag ${t}`);
    assert.throws(() => decode([7, 1, 99]), corrupt);
  });

  it(`nesting: ${MAX_GENERIC_DEPTH} levels are written and read, one more is refused both ways`, () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 3 === 0 ? [v] : i % 3 === 1 ? { v } : new Set([v]);
      return v;
    };
    const deepest = nest(MAX_GENERIC_DEPTH);
    assert.deepEqual(decode(encode(deepest)), deepest);
    assert.throws(
      () => encode(nest(MAX_GENERIC_DEPTH + 1)),
      (e: unknown) => e instanceof SerializationError && /nested deeper than 1000 levels/.test(e.message),
    );
    // The same depth written by hand: 1001 arrays of one element around a null.
    const bytes = [...Array.from({ length: MAX_GENERIC_DEPTH + 1 }, () => [7, 1]).flat(), 0];
    assert.throws(() => decode(bytes), corrupt);
    let v: unknown = decode(bytes.slice(2));
    for (let i = 0; i < MAX_GENERIC_DEPTH; i++) v = (v as unknown[])[0];
    assert.equal(v, null);
  });

  it("a value that cannot be written leaves the output where it was", () => {
    const out = new DataOutputSerializer(8);
    ser.write("first", out);
    const at = out.position;
    assert.throws(() => ser.write({ ok: 1, bad: () => 1 }, out), SerializationError);
    assert.equal(out.position, at);
    ser.write(2, out);
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    assert.equal(ser.read(input), "first");
    assert.equal(ser.read(input), 2);
  });
});
