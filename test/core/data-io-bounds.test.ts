// The bounds of src/core/data-io.ts, byte for byte. Writers: a value that fits exactly in the
// buffer a caller handed over (a network buffer from the pool, via setBuffer) must be written
// there — not into a new, larger copy the caller never sees; one byte more must grow the buffer
// and keep what was written. Readers: a read that needs one byte more than the frame has must be
// refused with "truncated input" and leave the position unchanged, also when the buffer goes on
// past the frame's end (frames share network buffers) and when the frame does not start at 0.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataInputDeserializer, DataOutputSerializer, varUintSize } from "../../src/core/data-io.ts";
import { InvalidArgumentError, SerializationError } from "../../src/core/errors.ts";

type Write = [name: string, size: number, write: (o: DataOutputSerializer) => void, expected: number[]];

const WRITES: Write[] = [
  ["writeU8", 1, (o) => o.writeU8(200), [200]],
  ["writeBoolean", 1, (o) => o.writeBoolean(true), [1]],
  ["writeBoolean false", 1, (o) => o.writeBoolean(false), [0]],
  ["writeI32", 4, (o) => o.writeI32(-2), [254, 255, 255, 255]],
  ["writeU32", 4, (o) => o.writeU32(0x01020304), [4, 3, 2, 1]],
  ["writeF64", 8, (o) => o.writeF64(1), [0, 0, 0, 0, 0, 0, 240, 63]],
  ["writeVarUint", 8, (o) => o.writeVarUint(2 ** 53 - 1), [255, 255, 255, 255, 255, 255, 255, 15]],
  ["writeVarInt", 8, (o) => o.writeVarInt(-(2 ** 53) + 1), [253, 255, 255, 255, 255, 255, 255, 31]],
  ["writeString (short ASCII)", 4, (o) => o.writeString("abc"), [3, 97, 98, 99]],
  ["writeBytes", 3, (o) => o.writeBytes(new Uint8Array([9, 8, 7])), [9, 8, 7]],
];

describe("data-io bounds: writers", () => {
  it("a value that fits exactly goes into the caller's buffer, after what is there", () => {
    for (const [name, size, write, expected] of WRITES) {
      const mine = new Uint8Array(2 + size).fill(0xee);
      const out = new DataOutputSerializer(1);
      out.setBuffer(mine, 2);
      write(out);
      assert.equal(out.position, 2 + size, name);
      assert.equal(out.buffer.buffer, mine.buffer, `${name}: still the caller's buffer`);
      assert.deepEqual([...mine], [0xee, 0xee, ...expected], name);
    }
  });

  it("a string of more than 2^20 characters: fitting exactly stays in the caller's buffer, one byte short grows", () => {
    for (const s of [`${"h".repeat(1 << 20)}!`, `${"é".repeat((1 << 20) + 5)}`]) {
      const n = Buffer.byteLength(s, "utf8");
      const need = varUintSize(n) + n;
      const exact = new Uint8Array(3 + need);
      const out = new DataOutputSerializer(1);
      out.setBuffer(exact, 3);
      out.writeString(s);
      assert.equal(out.position, 3 + need);
      assert.equal(out.buffer.buffer, exact.buffer, "still the caller's buffer");
      const short = new Uint8Array(3 + need - 1).fill(7);
      out.setBuffer(short, 3);
      out.writeString(s);
      assert.notEqual(out.buffer.buffer, short.buffer, "grown");
      assert.deepEqual([...out.buffer.subarray(0, 3)], [7, 7, 7], "the bytes before are kept");
      const input = new DataInputDeserializer(out.buffer, 3, out.position);
      assert.equal(input.readString(), s);
      assert.equal(input.remaining(), 0);
    }
  });

  it("one byte short: the buffer grows and keeps the bytes before", () => {
    for (const [name, size, write, expected] of WRITES) {
      const mine = new Uint8Array(1 + size).fill(0xee);
      mine[0] = 5;
      mine[1] = 6;
      const out = new DataOutputSerializer(1);
      out.setBuffer(mine, 2);
      write(out);
      assert.notEqual(out.buffer.buffer, mine.buffer, name);
      assert.deepEqual([...out.view()], [5, 6, ...expected], name);
    }
  });

  it("a long or non-ASCII string that fits exactly in the buffer handed over", () => {
    for (const s of ["x".repeat(24), "é", "€€", "x".repeat(200)]) {
      const utf8 = Buffer.from(s, "utf8");
      const prefix = varUintSize(utf8.length);
      // the writer may reserve room for the worst case (3 bytes a char, 4 for the length), so
      // hand over that much and check the bytes and the end position
      const room = 3 * s.length + 4;
      const mine = new Uint8Array(1 + room);
      const out = new DataOutputSerializer(1);
      out.setBuffer(mine, 1);
      out.writeString(s);
      assert.equal(out.buffer.buffer, mine.buffer, `${s.length} chars`);
      assert.equal(out.position, 1 + prefix + utf8.length);
      const input = new DataInputDeserializer(mine, 1, out.position);
      assert.equal(input.readString(), s);
    }
  });

  it("grows to twice the buffer (at least 64 bytes, at least what is needed)", () => {
    const out = new DataOutputSerializer(1);
    out.writeU8(1);
    out.writeU8(2);
    assert.equal(out.buffer.length, 64);
    const big = new DataOutputSerializer(100);
    big.writeBytes(new Uint8Array(100));
    big.writeU8(1);
    assert.equal(big.buffer.length, 200);
    big.writeBytes(new Uint8Array(1000));
    assert.equal(big.buffer.length, 1101);
    big.ensure(0);
    big.ensure(1101 - big.position);
    assert.equal(big.buffer.length, 1101, "ensure() of exactly the room left does not grow");
    big.ensure(1102 - big.position);
    assert.equal(big.buffer.length, 2202);
    assert.deepEqual([...big.view().subarray(99, 102)], [0, 1, 0]);
  });

  it("refuses out-of-range arguments", () => {
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1, Number.NaN]) {
      assert.throws(() => new DataOutputSerializer(bad), InvalidArgumentError, String(bad));
    }
    assert.equal(new DataOutputSerializer(1).buffer.length, 1);
    const out = new DataOutputSerializer(1);
    assert.throws(() => out.setBuffer(new Uint8Array(4), 5), InvalidArgumentError);
    assert.throws(() => out.setBuffer(new Uint8Array(4), -1), InvalidArgumentError);
    assert.throws(() => out.setBuffer(new Uint8Array(4), 0.5), InvalidArgumentError);
    out.setBuffer(new Uint8Array(4), 4);
    assert.equal(out.position, 4);
    for (const [w, bad] of [
      [(v: number) => out.writeU8(v), [256, -1, 1.5]],
      [(v: number) => out.writeI32(v), [2 ** 31, -(2 ** 31) - 1, 0.5]],
      [(v: number) => out.writeU32(v), [2 ** 32, -1, 0.5]],
      [(v: number) => out.writeVarUint(v), [-1, 2 ** 53, 0.5, Number.NaN]],
      [(v: number) => out.writeVarInt(v), [2 ** 53, -(2 ** 53), 0.5, Number.NaN]],
    ] as Array<[(v: number) => void, number[]]>) {
      for (const v of bad) assert.throws(() => w(v), SerializationError, String(v));
    }
    out.writeU8(255);
    out.writeI32(-(2 ** 31));
    out.writeU32(2 ** 32 - 1);
    out.writeVarUint(0);
    out.writeVarInt(-(2 ** 53) + 1);
    assert.equal(out.position, 4 + 1 + 4 + 4 + 1 + 8);
  });
});

type Read = [name: string, bytes: number[], read: (i: DataInputDeserializer) => unknown, value: unknown];

const READS: Read[] = [
  ["readU8", [7], (i) => i.readU8(), 7],
  ["readBoolean", [1], (i) => i.readBoolean(), true],
  ["readI32", [254, 255, 255, 255], (i) => i.readI32(), -2],
  ["readU32", [4, 3, 2, 1], (i) => i.readU32(), 0x01020304],
  ["readF64", [0, 0, 0, 0, 0, 0, 240, 63], (i) => i.readF64(), 1],
  ["readVarUint 1", [5], (i) => i.readVarUint(), 5],
  ["readVarUint 3", [128, 128, 1], (i) => i.readVarUint(), 2 ** 14],
  ["readVarUint 8", [255, 255, 255, 255, 255, 255, 255, 15], (i) => i.readVarUint(), 2 ** 53 - 1],
  ["readVarInt 1", [3], (i) => i.readVarInt(), -2],
  ["readVarInt 5", [255, 255, 255, 255, 7], (i) => i.readVarInt(), -(2 ** 30)],
  ["readVarInt 8", [253, 255, 255, 255, 255, 255, 255, 31], (i) => i.readVarInt(), -(2 ** 53) + 1],
  ["readString ASCII", [3, 97, 98, 99], (i) => i.readString(), "abc"],
  ["readString 16", [16, ...Buffer.from("0123456789abcdef")], (i) => i.readString(), "0123456789abcdef"],
  ["readString 17", [17, ...Buffer.from("0123456789abcdefg")], (i) => i.readString(), "0123456789abcdefg"],
  ["readString UTF-8", [3, 0x61, 0xc3, 0xa9], (i) => i.readString(), "aé"],
  ["readBytes", [1, 2, 3], (i) => [...i.readBytes(3)], [1, 2, 3]],
  ["readBytesView", [1, 2, 3], (i) => [...i.readBytesView(3)], [1, 2, 3]],
];

describe("data-io bounds: readers", () => {
  it("read exactly to the frame's end, at a non-zero start", () => {
    for (const [name, bytes, read, value] of READS) {
      const buf = Uint8Array.from([0xaa, 0xaa, ...bytes, 0xbb]);
      const input = new DataInputDeserializer(buf, 2, 2 + bytes.length);
      assert.deepEqual(read(input), value, name);
      assert.equal(input.position, 2 + bytes.length, name);
      assert.equal(input.remaining(), 0, name);
    }
  });

  it("a frame one byte (or more) short is refused, though the buffer goes on", () => {
    for (const [name, bytes, read] of READS) {
      for (let cut = 0; cut < bytes.length; cut++) {
        const buf = Uint8Array.from([0xaa, 0xaa, ...bytes, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        const input = new DataInputDeserializer(buf, 2, 2 + cut);
        assert.throws(
          () => read(input),
          (e: unknown) =>
            e instanceof SerializationError &&
            /^truncated input: reading a .+ needs \d+ byte\(s\) at position \d+, but the input ends at \d+ \(\d+ byte\(s\) left\)/.test(
              e.message,
            ) &&
            e.message.includes(`ends at ${2 + cut} `),
          `${name} cut to ${cut} bytes`,
        );
        if (!name.startsWith("readString") && !name.startsWith("readVarInt")) {
          assert.equal(input.position, 2, `${name}: position unchanged`);
        }
      }
    }
  });

  it("the truncation error tells where and how much was missing", () => {
    const buf = new Uint8Array(10);
    const input = new DataInputDeserializer(buf, 4, 7);
    assert.throws(
      () => input.readF64(),
      /reading a f64 needs 8 byte\(s\) at position 4, but the input ends at 7 \(3 byte\(s\) left\)/,
    );
    input.position = 7;
    assert.throws(
      () => input.readU32(),
      /needs 4 byte\(s\) at position 7, but the input ends at 7 \(0 byte\(s\) left\)/,
    );
    const v = new DataInputDeserializer(Uint8Array.from([128, 128, 128, 0]), 0, 3);
    assert.throws(() => v.readVarUint(), /reading a varint needs 4 byte\(s\) at position 0/);
    const s = new DataInputDeserializer(Uint8Array.from([9, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 0, 6);
    assert.throws(
      () => s.readString(),
      /reading a string needs 9 byte\(s\) at position 1, but the input ends at 6 \(5 byte\(s\) left\)/,
    );
  });

  it("the reader's frame: setBuffer bounds and remaining()", () => {
    const buf = new Uint8Array(8);
    const input = new DataInputDeserializer(buf, 2, 8);
    assert.equal(input.end, 8);
    assert.equal(input.remaining(), 6);
    input.setBuffer(buf, 8, 8);
    assert.equal(input.remaining(), 0);
    input.setBuffer(buf, 0, 0);
    assert.equal(input.position, 0);
    for (const [start, end] of [
      [-1, 4],
      [0, 9],
      [5, 4],
      [0.5, 4],
      [0, 3.5],
    ]) {
      assert.throws(() => input.setBuffer(buf, start!, end!), InvalidArgumentError, `[${start}, ${end})`);
    }
    // A new buffer replaces the old one's views; the same buffer again keeps reading it.
    const a = Uint8Array.from([1, 2]);
    const b = Uint8Array.from([3, 4]);
    input.setBuffer(a, 0, 2);
    assert.equal(input.readU8(), 1);
    input.setBuffer(b, 1, 2);
    assert.equal(input.readU8(), 4);
    b[1] = 5;
    input.setBuffer(b, 1, 2);
    assert.equal(input.readU8(), 5);
  });

  it("readBytes and readBytesView refuse bad lengths", () => {
    const input = new DataInputDeserializer(new Uint8Array(4), 0, 4);
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(() => input.readBytes(bad), InvalidArgumentError, String(bad));
      assert.throws(() => input.readBytesView(bad), InvalidArgumentError, String(bad));
    }
    assert.deepEqual([...input.readBytes(0)], []);
    assert.deepEqual([...input.readBytesView(0)], []);
    assert.equal(input.position, 0);
  });

  it("booleans: only 0 and 1", () => {
    const input = new DataInputDeserializer(Uint8Array.from([0, 1, 2, 255]), 0, 4);
    assert.equal(input.readBoolean(), false);
    assert.equal(input.readBoolean(), true);
    assert.throws(() => input.readBoolean(), /corrupt input at position 2: boolean byte 2/);
    assert.equal(input.position, 2);
  });
});
