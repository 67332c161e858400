import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";
import {
  inferTypeInfo,
  MAX_GENERIC_DEPTH,
  type TypeInformation,
  type TypeOf,
  Types,
  ValueSerializationError,
} from "../../src/core/types/index.ts";
import { prng } from "../fixtures/helpers.ts";

const MAX = Number.MAX_SAFE_INTEGER;

function roundTrip<T>(type: TypeInformation<T>, value: T): T {
  const s = type.createSerializer();
  const out = new DataOutputSerializer(1);
  s.write(value, out);
  const input = new DataInputDeserializer(out.view(), 0, out.position);
  const back = s.read(input);
  assert.equal(input.remaining(), 0, `${type.name}: reader left bytes behind`);
  return back;
}

function assertRoundTrips<T>(type: TypeInformation<T>, values: T[]): void {
  for (const v of values) assert.deepStrictEqual(roundTrip(type, v), v, `${type.name}`);
}

/** Asserts that writing `value` throws a SerializationError whose message contains every fragment. */
function assertWriteError(
  type: TypeInformation<any>,
  value: unknown,
  ...fragments: string[]
): ValueSerializationError {
  const out = new DataOutputSerializer(4);
  out.writeU8(42);
  let caught: unknown;
  try {
    type.createSerializer().write(value, out);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SerializationError, `expected a SerializationError, got ${String(caught)}`);
  assert.ok(caught instanceof ValueSerializationError);
  assert.equal(caught.code, "SERIALIZATION");
  for (const f of fragments)
    assert.ok(
      caught.message.includes(f),
      `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`,
    );
  assert.equal(out.position, 1, "a failed write must leave no partial record");
  return caught;
}

const Bid = Types.OBJECT({
  auction: Types.INT,
  bidder: Types.INT,
  price: Types.NUMBER,
  channel: Types.STRING,
  url: Types.STRING,
  dateTime: Types.INT,
  extra: Types.STRING,
});
type Bid = TypeOf<typeof Bid>;

const bid: Bid = {
  auction: 1007,
  bidder: 2001,
  price: 99.5,
  channel: "Google",
  url: "https://www.nexmark.com/abcde/fghij/item.htm?query=1&channel_id=1234567",
  dateTime: 1_700_000_123_456,
  extra: "",
};

describe("primitive types", () => {
  it("STRING round-trips empty, non-ASCII, astral and > 64 KiB strings", () => {
    assertRoundTrips(Types.STRING, [
      "",
      "a",
      "héllo",
      "日本",
      "😀𝄞",
      "x".repeat(24),
      "é".repeat(100),
      "q".repeat(70_000),
    ]);
    assertWriteError(Types.STRING, 5, "value of Types.STRING", "expected a string, got number 5");
  });

  it("NUMBER keeps -0, NaN, ±Infinity and extreme values", () => {
    const values = [0, -0, 1.5, -1e-300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    values.push(Number.MAX_VALUE, Number.MIN_VALUE, MAX, 2 ** 60);
    for (const v of values) assert.ok(Object.is(roundTrip(Types.NUMBER, v), v), String(v));
    assertWriteError(Types.NUMBER, "abc", 'expected a number, got string "abc"');
  });

  it("INT round-trips safe integers and rejects everything else", () => {
    assertRoundTrips(Types.INT, [
      0,
      1,
      -1,
      63,
      -64,
      64,
      2 ** 31,
      -(2 ** 31) - 1,
      1_700_000_000_000,
      MAX,
      -MAX,
    ]);
    assert.ok(Object.is(roundTrip(Types.INT, -0), 0), "-0 reads back as 0");
    assertWriteError(Types.INT, 1.5, "expected a safe integer, got number 1.5", "use Types.NUMBER");
    assertWriteError(Types.INT, 2 ** 53, "expected a safe integer");
    assertWriteError(Types.INT, Number.NaN, "got number NaN");
    assertWriteError(Types.INT, "7", 'got string "7"');
  });

  it("BOOLEAN, BIGINT, DATE and BYTES round-trip", () => {
    assertRoundTrips(Types.BOOLEAN, [true, false]);
    const big = 2n ** 200n + 12345n;
    assertRoundTrips(Types.BIGINT, [
      0n,
      1n,
      -1n,
      BigInt(MAX),
      -BigInt(MAX),
      BigInt(MAX) + 1n,
      -BigInt(MAX) - 1n,
      big,
      -big,
    ]);
    assertRoundTrips(Types.DATE, [new Date(0), new Date(1_700_000_000_000), new Date(-8.64e15)]);
    assert.ok(
      Number.isNaN(roundTrip(Types.DATE, new Date(Number.NaN)).getTime()),
      "an invalid Date stays invalid",
    );
    const bytes = new Uint8Array(100_000).map((_, i) => i * 7);
    assertRoundTrips(Types.BYTES, [new Uint8Array(0), new Uint8Array([0, 255]), bytes]);
    assert.deepStrictEqual(roundTrip(Types.BYTES, Buffer.from([1, 2])), new Uint8Array([1, 2]));
    assertWriteError(Types.BOOLEAN, 1, "expected a boolean, got number 1");
    assertWriteError(Types.BIGINT, 1, "expected a bigint");
    assertWriteError(Types.DATE, "2024-01-01", "expected a Date");
    assertWriteError(Types.BYTES, [1, 2], "expected a Uint8Array, got an array of length 2");
  });

  it("corrupt BOOLEAN and BIGINT bytes are reported", () => {
    assert.throws(
      () => Types.BOOLEAN.createSerializer().read(new DataInputDeserializer(new Uint8Array([7]))),
      /corrupt input/,
    );
    assert.throws(
      () => Types.BIGINT.createSerializer().read(new DataInputDeserializer(new Uint8Array([9]))),
      /unknown bigint tag 9/,
    );
    // Tag 1 (a positive bigint in hex) followed by the string "zz": not hexadecimal.
    const out = new DataOutputSerializer(8);
    out.writeU8(1);
    out.writeString("zz");
    assert.throws(
      () => Types.BIGINT.createSerializer().read(new DataInputDeserializer(out.view(), 0, out.position)),
      (e: unknown) => e instanceof SerializationError && /bigint digits are not hexadecimal/.test(e.message),
    );
  });

  it("BIGINT keeps the compact form through ±MAX_SAFE_INTEGER, hex beyond (savepoint bytes are a format)", () => {
    const bytes = (v: bigint): number[] => {
      const out = new DataOutputSerializer(4);
      Types.BIGINT.createSerializer().write(v, out);
      return [...out.view().subarray(0, out.position)];
    };
    // Tag 0 then the zigzag varint of the number, the same bytes the NUMBER varint writes.
    const compact = (n: number): number[] => {
      const out = new DataOutputSerializer(4);
      out.writeU8(0);
      out.writeVarInt(n);
      return [...out.view().subarray(0, out.position)];
    };
    assert.deepStrictEqual(bytes(BigInt(MAX)), compact(MAX));
    assert.deepStrictEqual(bytes(-BigInt(MAX)), compact(-MAX));
    assert.deepStrictEqual(bytes(0n), [0, 0]);
    // One past the bounds: tag 1 (positive) or 2 (negative), then the magnitude in hex.
    const hexOf = (tag: number, hex: string): number[] => {
      const out = new DataOutputSerializer(4);
      out.writeU8(tag);
      out.writeString(hex);
      return [...out.view().subarray(0, out.position)];
    };
    assert.deepStrictEqual(bytes(BigInt(MAX) + 1n), hexOf(1, "20000000000000"));
    assert.deepStrictEqual(bytes(-BigInt(MAX) - 1n), hexOf(2, "20000000000000"));
  });
});

describe("OBJECT and TUPLE (generated serializers)", () => {
  it("round-trips a Bid and decodes fields in declaration order", () => {
    const back = roundTrip(Bid, bid);
    assert.deepStrictEqual(back, bid);
    assert.deepStrictEqual(Object.keys(back), [
      "auction",
      "bidder",
      "price",
      "channel",
      "url",
      "dateTime",
      "extra",
    ]);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    const odd = { ...bid, channel: "😀 канал", url: "é".repeat(70), extra: "x".repeat(70_000), price: -0 };
    assert.deepStrictEqual(roundTrip(Bid, odd), odd);
  });

  it("names types structurally", () => {
    assert.equal(
      Types.OBJECT({ word: Types.STRING, count: Types.NUMBER }).name,
      "OBJECT({word: STRING, count: NUMBER})",
    );
    assert.equal(Types.TUPLE(Types.STRING, Types.INT).name, "TUPLE(STRING, INT)");
    assert.equal(
      Types.MAP(Types.STRING, Types.NULLABLE(Types.ARRAY(Types.BOOLEAN))).name,
      "MAP(STRING, NULLABLE(ARRAY(BOOLEAN)))",
    );
    assert.equal(Types.OBJECT({ "a b": Types.INT }).name, 'OBJECT({"a b": INT})');
    assert.equal(String(Types.GENERIC), "Types.GENERIC");
  });

  it("quotes any field name safely in generated code", () => {
    const keys = [
      "",
      "a b",
      'quote"s',
      "back\\slash",
      "new\nline",
      "ls\u2028ps\u2029",
      "日本",
      "😀",
      "0",
      "12",
      "constructor",
      "__proto__",
      "`$" + "{x}`", // a template placeholder must stay text
      "*/ throw 1 /*",
    ];
    const fields: Record<string, TypeInformation<any>> = {};
    const value: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      const t = i % 2 ? Types.STRING : Types.INT;
      Object.defineProperty(fields, k, { value: t, enumerable: true, writable: true, configurable: true });
      Object.defineProperty(value, k, {
        value: i % 2 ? `v${i}` : i,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    const T = Types.OBJECT(fields);
    const back = roundTrip(T, value) as Record<string, unknown>;
    assert.equal(
      Object.getPrototypeOf(back),
      Object.prototype,
      "a __proto__ field must not replace the prototype",
    );
    for (const [i, k] of keys.entries()) assert.equal(back[k], i % 2 ? `v${i}` : i, k);
    assert.equal(Object.keys(back).length, keys.length);
  });

  it("round-trips nested OBJECT, TUPLE, ARRAY, MAP, NULLABLE, GENERIC, BIGINT, DATE and BYTES fields", () => {
    const Inner = Types.OBJECT({ x: Types.INT, tags: Types.ARRAY(Types.STRING) });
    const T = Types.OBJECT({
      inner: Inner,
      pair: Types.TUPLE(Types.STRING, Types.BOOLEAN),
      list: Types.ARRAY(Inner),
      counts: Types.MAP(Types.STRING, Types.INT),
      maybe: Types.NULLABLE(Types.STRING),
      maybeToo: Types.NULLABLE(Types.INT),
      maybeNot: Types.NULLABLE(Types.DATE),
      any: Types.GENERIC,
      big: Types.BIGINT,
      when: Types.DATE,
      raw: Types.BYTES,
      ok: Types.BOOLEAN,
    });
    const v: TypeOf<typeof T> = {
      inner: { x: -3, tags: ["a", "b"] },
      pair: ["p", true],
      list: [
        { x: 1, tags: [] },
        { x: 2, tags: ["é"] },
      ],
      counts: new Map([
        ["a", 1],
        ["b", -2],
      ]),
      maybe: null,
      maybeToo: undefined,
      maybeNot: new Date(5),
      any: { deep: [1, "two", { three: 3n }] },
      big: -(2n ** 70n),
      when: new Date(1_700_000_000_000),
      raw: new Uint8Array([1, 2, 3]),
      ok: false,
    };
    assert.deepStrictEqual(roundTrip(T, v), v);
  });

  it("TUPLE round-trips and checks its length", () => {
    const T = Types.TUPLE(Types.STRING, Types.INT, Types.NULLABLE(Types.NUMBER));
    const v: [string, number, number | null | undefined] = ["k", 3, null];
    assert.deepStrictEqual(roundTrip(T, v), v);
    assert.deepStrictEqual(roundTrip(Types.TUPLE(), []), []);
    assertWriteError(
      T,
      ["k", 3],
      "value of Types.TUPLE(STRING, INT, NULLABLE(NUMBER))",
      "expected an array of 3 element(s), got an array of length 2",
    );
    assertWriteError(
      T,
      ["k", "3", 1],
      "field '[1]' of Types.TUPLE(STRING, INT, NULLABLE(NUMBER))",
      'got string "3"',
    );
  });

  it("names the field path, the type and the fix in write errors", () => {
    assertWriteError(
      Bid,
      { ...bid, price: "abc" },
      "field 'price' of Types.OBJECT({auction: INT, bidder: INT, price: NUMBER,",
      'expected a number, got string "abc"; declare the field\'s type correctly or convert the value before this operator',
    );
    assertWriteError(
      Bid,
      { ...bid, auction: 1.25 },
      "field 'auction'",
      "expected a safe integer, got number 1.25",
      "use Types.NUMBER",
    );
    const { url: _, ...noUrl } = bid;
    assertWriteError(Bid, noUrl, "field 'url'", "got undefined (the field is missing)", "Types.NULLABLE");
    assertWriteError(Bid, null, "value of Types.OBJECT(", "expected an object, got null", ".returns(");
    assertWriteError(Bid, "text", "expected an object, got string");
    const Deep = Types.OBJECT({
      orders: Types.ARRAY(Types.OBJECT({ lines: Types.MAP(Types.STRING, Types.OBJECT({ qty: Types.INT })) })),
    });
    const good = { orders: [{ lines: new Map([["apple", { qty: 1 }]]) }] };
    assert.deepStrictEqual(roundTrip(Deep, good), good);
    const bad = {
      orders: [
        { lines: new Map() },
        {
          lines: new Map([
            ["apple", { qty: 1 }],
            ["pear", { qty: "2" }],
          ]),
        },
      ],
    };
    assertWriteError(
      Deep,
      bad,
      `field 'orders[1].lines.get("pear").qty' of Types.OBJECT({orders:`,
      'got string "2"',
    );
    const badKey = { orders: [{ lines: new Map([[7, { qty: 1 }]]) }] };
    assertWriteError(Deep, badKey, "field 'orders[0].lines.keys()[0]'", "expected a string, got number 7");
    assertWriteError(Types.OBJECT({ "odd key": Types.INT }), { "odd key": "x" }, `field '["odd key"]'`);
    assertWriteError(
      Types.NULLABLE(Types.INT),
      0.5,
      "value of Types.NULLABLE(INT)",
      "expected a safe integer",
    );
    assertWriteError(Types.ARRAY(Types.INT), [1, 2, "3"], "field '[2]' of Types.ARRAY(INT)");
    assertWriteError(Types.ARRAY(Types.INT), "123", "expected an array");
    assertWriteError(Types.MAP(Types.STRING, Types.INT), { a: 1 }, "expected a Map, got a plain object");
    const withGeneric = Types.OBJECT({ payload: Types.GENERIC });
    class Person {
      name = "ann";
    }
    assertWriteError(
      withGeneric,
      { payload: { items: [0, 1, 2, { owner: new Person() }] } },
      "field 'payload.items[3].owner' of Types.OBJECT({payload: GENERIC})",
      "cannot serialize an instance of class Person",
    );
  });

  it("rejects undeclared fields by default and drops them with strict: false", () => {
    assertWriteError(
      Bid,
      { ...bid, color: "red" },
      'the value has field(s) "color" that the type does not declare',
    );
    const Loose = Types.OBJECT({ a: Types.INT }, { strict: false });
    assert.deepStrictEqual(roundTrip(Loose, { a: 1, b: 2 } as { a: number }), { a: 1 });
    // A missing NULLABLE field and an extra field must not cancel out in the count.
    const Opt = Types.OBJECT({ a: Types.INT, b: Types.NULLABLE(Types.INT) });
    assert.deepStrictEqual(roundTrip(Opt, { a: 1 } as TypeOf<typeof Opt>), { a: 1, b: undefined });
    assertWriteError(Opt, { a: 1, c: 3 }, 'field(s) "c"');
    // Class instances with exactly the declared fields are accepted.
    class Point {
      constructor(
        public a: number,
        public b: number | null,
      ) {}
      norm(): number {
        return this.a;
      }
    }
    assert.deepStrictEqual(roundTrip(Opt, new Point(1, null)), { a: 1, b: null });
  });

  it("leaves the output where it was after a failed write, and writing goes on", () => {
    const T = Types.OBJECT({ s: Types.STRING, list: Types.ARRAY(Types.STRING), n: Types.INT });
    const s = T.createSerializer();
    const out = new DataOutputSerializer(2);
    s.write({ s: "first", list: ["x"], n: 1 }, out);
    const mark = out.position;
    assert.throws(() =>
      s.write({ s: "y".repeat(500), list: ["a", "b".repeat(300), 3 as unknown as string], n: 2 }, out),
    );
    assert.equal(out.position, mark);
    assert.throws(() => s.write({ s: "y".repeat(500), list: ["a"], n: 2.5 }, out));
    assert.equal(out.position, mark);
    s.write({ s: "second", list: [], n: 2 }, out);
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    assert.deepStrictEqual(s.read(input), { s: "first", list: ["x"], n: 1 });
    assert.deepStrictEqual(s.read(input), { s: "second", list: [], n: 2 });
  });

  it("writes many records back to back into one output and reads them in order", () => {
    const s = Bid.createSerializer();
    const g = Types.GENERIC.createSerializer();
    const out = new DataOutputSerializer(64);
    const records: Bid[] = [];
    for (let i = 0; i < 5000; i++) {
      records.push({
        ...bid,
        auction: i,
        bidder: (i % 2 ? -1 : 1) * i * 1_000_003,
        price: i / 7,
        channel: i % 3 ? `ch-${i}` : "日本",
        extra: "e".repeat(i % 50),
      });
    }
    for (const r of records) {
      s.write(r, out);
      g.write(r, out);
    }
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    for (const r of records) {
      assert.deepStrictEqual(s.read(input), r);
      assert.deepStrictEqual(g.read(input), r);
    }
    assert.equal(input.remaining(), 0);
  });

  it("reports 'truncated input' for every strict prefix of a record", () => {
    const T = Types.OBJECT({
      a: Types.INT,
      b: Types.NUMBER,
      c: Types.STRING,
      d: Types.BOOLEAN,
      e: Types.ARRAY(Types.STRING),
      f: Types.NULLABLE(Types.DATE),
      g: Types.BIGINT,
      h: Types.MAP(Types.INT, Types.BYTES),
      i: Types.TUPLE(Types.STRING, Types.INT),
    });
    const v = {
      a: 1_700_000_000_000,
      b: 2.5,
      c: "a string with ünïcode that is long",
      d: true,
      e: ["x", "y".repeat(200)],
      f: new Date(3),
      g: 2n ** 80n,
      h: new Map([[5, new Uint8Array([1, 2, 3])]]),
      i: ["z", -9] as [string, number],
    };
    checkPrefixes(T, v);
    checkPrefixes(Types.GENERIC, { ...v, nested: [[[{ q: null, u: undefined, s: new Set([1, "2"]) }]]] });
  });
});

function checkPrefixes<T>(type: TypeInformation<T>, value: T): void {
  const s = type.createSerializer();
  const out = new DataOutputSerializer();
  s.write(value, out);
  const bytes = out.view();
  for (let n = 0; n < bytes.length; n++) {
    const input = new DataInputDeserializer(bytes, 0, n);
    assert.throws(
      () => s.read(input),
      (e: unknown) => e instanceof SerializationError && e.message.startsWith("truncated input: "),
      `${type.name}: prefix of ${n}/${bytes.length} bytes`,
    );
  }
  assert.deepStrictEqual(s.read(new DataInputDeserializer(bytes)), value);
}

function randomValue(rnd: () => number, depth: number): unknown {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = int(depth > 4 ? 12 : 17);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return rnd() < 0.5;
    case 3:
      return int(200) - 100;
    case 4:
      return Math.round((rnd() - 0.5) * 2 * MAX);
    case 5:
      return [0.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e308, 2 ** 60, 1e-7, (rnd() - 0.5) * 1e6][
        int(8)
      ];
    case 6:
    case 7:
      return randomString(rnd);
    case 8:
      return BigInt(int(1e9)) ** BigInt(1 + int(4)) * (rnd() < 0.5 ? -1n : 1n);
    case 9:
      return new Date(int(4e12));
    case 10:
      return new Uint8Array(int(20)).map(() => int(256));
    case 11:
      return int(2 ** 31) * (rnd() < 0.5 ? -1 : 1);
    case 12:
    case 13:
      return Array.from({ length: int(6) }, () => randomValue(rnd, depth + 1));
    case 14: {
      const o: Record<string, unknown> = rnd() < 0.1 ? Object.create(null) : {};
      for (let i = int(6); i > 0; i--) {
        const k = rnd() < 0.05 ? "__proto__" : randomString(rnd);
        Object.defineProperty(o, k, {
          value: randomValue(rnd, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    }
    case 15: {
      const m = new Map<unknown, unknown>();
      for (let i = int(4); i > 0; i--) m.set(randomValue(rnd, depth + 1), randomValue(rnd, depth + 1));
      return m;
    }
    default:
      return new Set(Array.from({ length: int(4) }, () => randomValue(rnd, depth + 1)));
  }
}

function randomString(rnd: () => number): string {
  const alphabet = ["a", "b", "z", "0", " ", "_", "é", "ß", "日", "本", "😀", "𝄞", '"', "\\", "\n", "\u0000"];
  const len = rnd() < 0.05 ? 30 + Math.floor(rnd() * 300) : Math.floor(rnd() * 12);
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * (rnd() < 0.7 ? 6 : alphabet.length))];
  return s;
}

describe("GENERIC", () => {
  it("round-trips edge values", () => {
    const values: unknown[] = [
      null,
      undefined,
      true,
      false,
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      MAX,
      -MAX,
      2 ** 53,
      0.1,
      "",
      "é😀",
      "w".repeat(70_000),
      10n ** 30n,
      new Date(0),
      new Uint8Array([1, 2]),
      [],
      {},
      Object.create(null),
      new Map([[{ k: 1 }, [1]]]),
      new Set(["a", 1]),
      [undefined, null, [[]]],
      { a: undefined, "": 1, 日本: { "😀": [] } },
    ];
    for (const v of values) {
      const back = roundTrip(Types.GENERIC, v);
      assert.deepStrictEqual(back, v);
      if (typeof v === "number") assert.ok(Object.is(back, v));
    }
  });

  it("round-trips a big nested value", () => {
    const big = {
      users: Array.from({ length: 2000 }, (_, i) => ({
        id: i,
        name: `user ${i} ✓`,
        score: i / 3,
        tags: i % 2 ? ["a", "b"] : [],
        address: { city: "Zürich", zip: 8000 + i, geo: [47.37, 8.54] },
        active: i % 3 === 0,
        manager: i % 5 ? null : { id: i - 1 },
      })),
      meta: { count: 2000, generated: new Date(1_700_000_000_000) },
    };
    assert.deepStrictEqual(roundTrip(Types.GENERIC, big), big);
  });

  it("round-trips a few thousand random values (seeded)", () => {
    const rnd = prng(1234);
    const s = Types.GENERIC.createSerializer();
    const out = new DataOutputSerializer(16);
    const values: unknown[] = [];
    for (let i = 0; i < 4000; i++) {
      const v = randomValue(rnd, 0);
      values.push(v);
      assert.deepStrictEqual(roundTrip(Types.GENERIC, v), v, `random value #${i}`);
      s.write(v, out);
    }
    const input = new DataInputDeserializer(out.view(), 0, out.position);
    for (const v of values) assert.deepStrictEqual(s.read(input), v);
    assert.equal(input.remaining(), 0);
  });

  it("keeps a __proto__ key as an own property and the prototype intact", () => {
    const v = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const back = roundTrip(Types.GENERIC, v) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepStrictEqual(Object.keys(back), ["__proto__", "a"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepStrictEqual(back, v);
  });

  it("names the path of a value it cannot serialize", () => {
    class Person {
      name = "ann";
    }
    const e = assertWriteError(
      Types.GENERIC,
      { items: [1, 2, 3, { owner: new Person() }] },
      "value.items[3].owner: cannot serialize an instance of class Person; give the stream a Types.OBJECT(...) with .returns(...) or make it a plain object",
    );
    assert.equal(e.path, ".items[3].owner");
    assertWriteError(Types.GENERIC, { f: () => 1 }, "value.f: cannot serialize a function (f)");
    assertWriteError(Types.GENERIC, [Symbol("s")], "value[0]: cannot serialize a symbol");
    assertWriteError(
      Types.GENERIC,
      { "a b": new Float64Array(2) },
      'value["a b"]: cannot serialize a Float64Array',
      "Uint8Array",
    );
    // A subclass of Uint8Array would come back a plain Uint8Array, its class lost: refused too.
    class Bytes extends Uint8Array {}
    assertWriteError(Types.GENERIC, { b: new Bytes(2) }, "value.b: cannot serialize a Bytes", "Uint8Array");
    assertWriteError(
      Types.GENERIC,
      new Map([["k", new WeakMap()]]),
      "value.values()[0]: cannot serialize an instance of class WeakMap",
    );
    assertWriteError(
      Types.GENERIC,
      new Set([1, /re/]),
      "value.values()[1]: cannot serialize an instance of class RegExp",
    );
    assertWriteError(Types.GENERIC, new Person(), "value: cannot serialize an instance of class Person");
  });

  it("refuses cyclic and over-deep values, accepts nesting up to the limit", () => {
    const cyclic: Record<string, unknown> = { a: { b: 1 } };
    (cyclic.a as Record<string, unknown>).self = cyclic;
    assertWriteError(
      Types.GENERIC,
      cyclic,
      "value.a.self.a.self",
      `nested deeper than ${MAX_GENERIC_DEPTH} levels (probably a cyclic reference)`,
    );
    const nest = (n: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    assert.deepStrictEqual(roundTrip(Types.GENERIC, nest(MAX_GENERIC_DEPTH)), nest(MAX_GENERIC_DEPTH));
    assertWriteError(Types.GENERIC, nest(MAX_GENERIC_DEPTH + 1), "cyclic reference");
  });

  it("reports corrupt tags", () => {
    const g = Types.GENERIC.createSerializer();
    assert.throws(
      () => g.read(new DataInputDeserializer(new Uint8Array([99]))),
      /corrupt input at position 0: unknown GENERIC tag 99/,
    );
    // An array claiming a billion elements in a 5-byte input.
    assert.throws(
      () => g.read(new DataInputDeserializer(new Uint8Array([7, 128, 148, 235, 220, 3]))),
      /truncated input/,
    );
  });
});

describe("inferTypeInfo", () => {
  it("infers primitives, flat objects and falls back to GENERIC", () => {
    assert.equal(inferTypeInfo("s"), Types.STRING);
    assert.equal(inferTypeInfo(1), Types.NUMBER);
    assert.equal(inferTypeInfo(true), Types.BOOLEAN);
    assert.equal(inferTypeInfo(1n), Types.BIGINT);
    const t = inferTypeInfo({ word: "w", count: 1, ok: false });
    assert.equal(t.name, "OBJECT({word: STRING, count: NUMBER, ok: BOOLEAN})");
    assert.deepStrictEqual(roundTrip(t, { word: "x", count: 0.5, ok: true }), {
      word: "x",
      count: 0.5,
      ok: true,
    });
    assertWriteError(t, { word: "x", count: 1, ok: true, more: 1 }, 'field(s) "more"');
    for (const v of [
      null,
      undefined,
      [1],
      {},
      { a: { b: 1 } },
      { a: null },
      new Date(),
      new Map(),
      Symbol.iterator,
    ]) {
      assert.equal(inferTypeInfo(v), Types.GENERIC, String(typeof v));
    }
    class C {
      a = 1;
    }
    assert.equal(inferTypeInfo(new C()), Types.GENERIC);
  });
});
