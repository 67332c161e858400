import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer, varUintSize } from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";

function reader(out: DataOutputSerializer): DataInputDeserializer {
  return new DataInputDeserializer(out.view(), 0, out.position);
}

/** Reference zigzag LEB128 computed with bigint arithmetic. */
function refVarInt(v: number): number[] {
  const b = BigInt(v);
  let z = b >= 0n ? b * 2n : -b * 2n - 1n;
  const bytes: number[] = [];
  while (z > 127n) {
    bytes.push(Number(z & 127n) | 128);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return bytes;
}

const MAX = Number.MAX_SAFE_INTEGER;

describe("DataOutputSerializer / DataInputDeserializer", () => {
  it("round-trips unsigned varints at every length boundary and matches varUintSize", () => {
    const values = [0, 1, 127, 128, 255, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28];
    values.push(2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35, 2 ** 42 - 1, 2 ** 49, 2 ** 52 + 3, MAX);
    const out = new DataOutputSerializer(1);
    for (const v of values) {
      const before = out.position;
      out.writeVarUint(v);
      assert.equal(out.position - before, varUintSize(v), `size of ${v}`);
    }
    const input = reader(out);
    for (const v of values) assert.equal(input.readVarUint(), v);
    assert.equal(input.remaining(), 0);
  });

  it("writes signed varints as standard zigzag LEB128 and reads them back", () => {
    const values = [0, -1, 1, -64, 63, 64, -65, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1];
    values.push(
      2 ** 31,
      -(2 ** 31),
      2 ** 32 + 1,
      -(2 ** 40) + 7,
      1_700_000_000_123,
      MAX,
      -MAX,
      MAX - 1,
      -MAX + 1,
    );
    for (let i = 0; i < 200; i++) values.push(Math.round((Math.random() - 0.5) * 2 * MAX));
    for (const v of values) {
      const out = new DataOutputSerializer(2);
      out.writeVarInt(v);
      assert.deepEqual([...out.view()], refVarInt(v), `bytes of ${v}`);
      assert.equal(reader(out).readVarInt(), v);
    }
  });

  it("rejects numbers that do not fit the fixed and variable integer encodings", () => {
    const out = new DataOutputSerializer();
    assert.throws(() => out.writeVarUint(-1), SerializationError);
    assert.throws(() => out.writeVarUint(1.5), SerializationError);
    assert.throws(() => out.writeVarUint(2 ** 53), SerializationError);
    assert.throws(() => out.writeVarUint(Number.NaN), SerializationError);
    assert.throws(() => out.writeVarInt(2 ** 53), /not a safe integer/);
    assert.throws(() => out.writeVarInt(0.5), SerializationError);
    assert.throws(() => out.writeU8(256), SerializationError);
    assert.throws(() => out.writeI32(2 ** 31), SerializationError);
    assert.throws(() => out.writeU32(-1), SerializationError);
    assert.equal(out.position, 0);
  });

  it("names the value it refused, and its type when it is not a number", () => {
    const out = new DataOutputSerializer();
    assert.throws(() => out.writeVarInt(2 ** 53), {
      message: "writeVarInt: 9007199254740992 is not a safe integer",
    });
    assert.throws(() => out.writeU8(256), { message: "writeU8: 256 is not in [0, 255]" });
    assert.throws(() => out.writeU32("7" as unknown as number), {
      message: "writeU32: string 7 is not in [0, 2^32)",
    });
    assert.throws(() => out.writeVarUint(undefined as unknown as number), {
      message: "writeVarUint: undefined is not an integer in [0, 2^53)",
    });
  });

  it("round-trips fixed-width numbers and booleans", () => {
    const out = new DataOutputSerializer(1);
    out.writeU8(0);
    out.writeU8(255);
    out.writeI32(-(2 ** 31));
    out.writeI32(2 ** 31 - 1);
    out.writeU32(2 ** 32 - 1);
    for (const f of [-0, Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1]) {
      out.writeF64(f);
    }
    out.writeBoolean(true);
    out.writeBoolean(false);
    const input = reader(out);
    assert.equal(input.readU8(), 0);
    assert.equal(input.readU8(), 255);
    assert.equal(input.readI32(), -(2 ** 31));
    assert.equal(input.readI32(), 2 ** 31 - 1);
    assert.equal(input.readU32(), 2 ** 32 - 1);
    for (const f of [-0, Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1]) {
      assert.ok(Object.is(input.readF64(), f));
    }
    assert.equal(input.readBoolean(), true);
    assert.equal(input.readBoolean(), false);
    assert.equal(input.remaining(), 0);
  });

  it("round-trips strings of every kind and encodes them as length + UTF-8 (canonically)", () => {
    const strings = [
      "",
      "a",
      "hello world",
      "x".repeat(23),
      "x".repeat(24),
      "x".repeat(42),
      "x".repeat(43),
      "y".repeat(127),
      "y".repeat(128),
      "é",
      "naïve café",
      "日本語のテキスト",
      "emoji 😀 and 𝄞 astral",
      "😀".repeat(40),
      "é".repeat(63),
      "é".repeat(64),
      "é".repeat(70),
      "€".repeat(43),
      "z".repeat(70_000),
      "ü".repeat(40_000),
      `${"a".repeat(1 << 20)}ß${"b".repeat(10)}`,
    ];
    const out = new DataOutputSerializer(8);
    for (const s of strings) {
      const before = out.position;
      out.writeString(s);
      const utf8 = Buffer.from(s, "utf8");
      const expected = Buffer.concat([Buffer.from(lengthPrefix(utf8.length)), utf8]);
      assert.ok(
        Buffer.from(out.view().subarray(before)).equals(expected),
        `bytes of a ${s.length}-char string`,
      );
    }
    const input = reader(out);
    for (const s of strings) assert.equal(input.readString(), s);
    assert.equal(input.remaining(), 0);
  });

  it("writes a lone surrogate as U+FFFD, like every UTF-8 encoder", () => {
    const out = new DataOutputSerializer();
    out.writeString("a\ud800b");
    out.writeString(`${"x".repeat(30)}\udc00`);
    const input = reader(out);
    assert.equal(input.readString(), "a\ufffdb");
    assert.equal(input.readString(), `${"x".repeat(30)}\ufffd`);
  });

  it("grows from a 1-byte buffer and keeps everything written before", () => {
    const out = new DataOutputSerializer(1);
    for (let i = 0; i < 10_000; i++) {
      out.writeVarInt(i - 5000);
      out.writeString(`record-${i}`);
    }
    const input = reader(out);
    for (let i = 0; i < 10_000; i++) {
      assert.equal(input.readVarInt(), i - 5000);
      assert.equal(input.readString(), `record-${i}`);
    }
  });

  it("clear() restarts at 0 and view() covers exactly the written bytes", () => {
    const out = new DataOutputSerializer(16);
    out.writeU32(7);
    assert.equal(out.view().length, 4);
    out.clear();
    assert.equal(out.position, 0);
    out.writeU8(9);
    assert.deepEqual([...out.view()], [9]);
  });

  it("writeBytes/readBytes copy; readBytesView does not", () => {
    const out = new DataOutputSerializer(2);
    out.writeBytes(new Uint8Array([1, 2, 3, 4]));
    const input = reader(out);
    const copy = input.readBytes(2);
    const view = input.readBytesView(2);
    assert.deepEqual([...copy], [1, 2]);
    assert.equal(Object.getPrototypeOf(copy), Uint8Array.prototype);
    out.buffer[0] = 99;
    out.buffer[2] = 98;
    assert.equal(copy[0], 1);
    assert.equal(view[0], 98);
  });

  it("reads from a plain Uint8Array and from a sub-range of a larger buffer", () => {
    const out = new DataOutputSerializer();
    out.writeString("pad");
    const start = out.position;
    out.writeString("héllo, wörld, this string is long enough for the native path");
    out.writeF64(2.5);
    const end = out.position;
    out.writeString("after");
    const plain = new Uint8Array(out.view()); // a copy, not a Buffer
    const input = new DataInputDeserializer(plain, start, end);
    assert.equal(input.readString(), "héllo, wörld, this string is long enough for the native path");
    assert.equal(input.readF64(), 2.5);
    assert.throws(() => input.readU8(), /truncated input/);
    // A view with a non-zero byteOffset.
    const sub = plain.subarray(start);
    input.setBuffer(sub, 0, end - start);
    assert.equal(input.readString().length, 60);
    assert.equal(input.readF64(), 2.5);
  });

  it("throws 'truncated input' on every read past the end", () => {
    const out = new DataOutputSerializer();
    out.writeVarUint(300); // 2 bytes
    const bytes = out.view();
    const cases: Array<[string, (i: DataInputDeserializer) => unknown]> = [
      ["readU8", (i) => i.readU8()],
      ["readBoolean", (i) => i.readBoolean()],
      ["readI32", (i) => i.readI32()],
      ["readU32", (i) => i.readU32()],
      ["readF64", (i) => i.readF64()],
      ["readVarUint", (i) => i.readVarUint()],
      ["readVarInt", (i) => i.readVarInt()],
      ["readString", (i) => i.readString()],
      ["readBytes", (i) => i.readBytes(1)],
    ];
    for (const [name, read] of cases) {
      const empty = new DataInputDeserializer(bytes, 0, 0);
      assert.throws(
        () => read(empty),
        (e: unknown) => e instanceof SerializationError && /truncated input/.test(e.message),
        name,
      );
    }
    assert.throws(() => new DataInputDeserializer(bytes, 0, 1).readVarUint(), /truncated input/);
    assert.throws(
      () => new DataInputDeserializer(bytes, 0, 2).readString(),
      /truncated input: reading a string needs 300/,
    );
    const i32 = new DataInputDeserializer(new Uint8Array(3), 0, 3);
    assert.throws(() => i32.readI32(), /needs 4 byte\(s\) at position 0, but the input ends at 3/);
    assert.equal(i32.position, 0);
  });

  it("rejects corrupt varints and booleans", () => {
    const nine = new Uint8Array([128, 128, 128, 128, 128, 128, 128, 128, 1]);
    assert.throws(
      () => new DataInputDeserializer(nine).readVarUint(),
      /corrupt input at position 0: varint longer than 8 bytes/,
    );
    const tooBig = new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127]); // 2^56 - 1
    assert.throws(() => new DataInputDeserializer(tooBig).readVarUint(), /above 2\^53 - 1/);
    assert.throws(() => new DataInputDeserializer(new Uint8Array([2])).readBoolean(), /neither 0 nor 1/);
  });

  it("validates constructor and setBuffer arguments", () => {
    assert.throws(() => new DataOutputSerializer(0), /initialSize/);
    assert.throws(() => new DataInputDeserializer(new Uint8Array(4), 3, 5), /not inside the buffer/);
    assert.throws(() => new DataInputDeserializer(new Uint8Array(4), 3, 2), /not inside the buffer/);
  });

  it("setBuffer on the output continues into a caller-provided buffer", () => {
    const out = new DataOutputSerializer(4);
    const mine = new Uint8Array(8);
    out.setBuffer(mine, 2);
    out.writeU8(5);
    assert.equal(mine[2], 5);
    assert.equal(out.position, 3);
    out.writeString("long enough to grow past eight bytes");
    assert.notEqual(out.buffer.buffer, mine.buffer);
    assert.equal(out.buffer[2], 5);
  });
});

function lengthPrefix(n: number): number[] {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return bytes;
}
