// The buffer writer and reader (src/core/data-io.ts) against a reference written with BigInt:
// every varint, zigzag varint and string of a list of edge values and of values from a fixed seed
// must give the reference's bytes exactly, wherever it starts relative to the end of the buffer
// (fitting exactly, one byte short, many short: the buffer grows in the middle of the value), and
// read back the same, one after another, out of a frame that starts and ends inside a larger
// buffer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DataInputDeserializer,
  DataOutputSerializer,
  varUintSize,
  writeVarIntAt,
  writeVarUintAt,
} from "../../src/core/data-io.ts";
import { SerializationError } from "../../src/core/errors.ts";

const SEED = 0xd47a10;

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

/** LEB128 of a non-negative integer, with BigInt (no float or 32-bit shortcuts). */
function refVarUint(v: number | bigint): number[] {
  let x = BigInt(v);
  const out: number[] = [];
  while (x > 127n) {
    out.push(Number(x & 127n) | 128);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** Zigzag LEB128 of a safe integer. */
function refVarInt(v: number): number[] {
  const x = BigInt(v);
  return refVarUint(x >= 0n ? 2n * x : -2n * x - 1n);
}

function refString(s: string): number[] {
  const utf8 = [...Buffer.from(s, "utf8")];
  return [...refVarUint(utf8.length), ...utf8];
}

const EDGE_UINTS: number[] = [0, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1];
for (let bits = 1; bits <= 53; bits++) {
  const p = 2 ** bits;
  for (const v of [p - 1, p, p + 1, p - 2, p + 2, Math.floor(p * 0.75)])
    if (v <= Number.MAX_SAFE_INTEGER) EDGE_UINTS.push(v);
}
const EDGE_INTS: number[] = [...EDGE_UINTS, ...EDGE_UINTS.map((v) => -v)];

function randomUints(r: () => number, count: number): number[] {
  return Array.from({ length: count }, () => Math.floor(r() * 2 ** Math.floor(r() * 54)) % 2 ** 53);
}

/** An output whose buffer (of `size` bytes, a caller's Uint8Array) is full up to `size - room`. */
function outputWithRoom(size: number, room: number): DataOutputSerializer {
  const out = new DataOutputSerializer(1);
  const buf = new Uint8Array(size).fill(0xee);
  out.setBuffer(buf, size - room);
  return out;
}

/**
 * Writes `v` with `write` at every distance from the buffer's end up to `bytes.length + 2`, and
 * checks the bytes before it kept, the value's bytes, the position after it, and that the
 * caller's buffer was kept when the value fit.
 */
function atEveryRoom(bytes: number[], write: (out: DataOutputSerializer) => void, where: string): void {
  const size = 24;
  for (let room = 0; room <= Math.min(bytes.length + 2, size); room++) {
    const out = outputWithRoom(size, room);
    const before = out.buffer;
    const start = size - room;
    write(out);
    assert.equal(out.position, start + bytes.length, `${where}, room ${room}: position`);
    assert.deepEqual(
      [...out.buffer.subarray(0, start)],
      new Array(start).fill(0xee),
      `${where}: bytes before`,
    );
    assert.deepEqual([...out.buffer.subarray(start, out.position)], bytes, `${where}, room ${room}`);
    // A writer may reserve more than it writes, but it keeps the caller's buffer when the value fits
    // in what it reserves at most.
    if (room >= bytes.length + 8) assert.equal(out.buffer, before, `${where}, room ${room}: same buffer`);
  }
}

describe("data-io against a BigInt reference", () => {
  it("varUintSize, writeVarUintAt and writeVarIntAt: edge and random values", () => {
    const r = rng(SEED);
    const uints = [...EDGE_UINTS, ...randomUints(r, 3000)];
    const buf = new Uint8Array(16);
    for (const v of uints) {
      const ref = refVarUint(v);
      assert.equal(varUintSize(v), ref.length, `varUintSize(${v}) (seed ${SEED})`);
      buf.fill(0xee);
      assert.equal(writeVarUintAt(buf, 3, v), 3 + ref.length, `writeVarUintAt(${v})`);
      assert.deepEqual([...buf.subarray(3, 3 + ref.length)], ref, `writeVarUintAt(${v}) (seed ${SEED})`);
      assert.equal(buf[3 + ref.length], 0xee, `writeVarUintAt(${v}) writes nothing after`);
    }
    const ints = [...EDGE_INTS, ...randomUints(r, 3000).map((v, i) => (i % 2 ? -v : v))];
    for (const v of ints) {
      const ref = refVarInt(v);
      buf.fill(0xee);
      assert.equal(writeVarIntAt(buf, 2, v), 2 + ref.length, `writeVarIntAt(${v})`);
      assert.deepEqual([...buf.subarray(2, 2 + ref.length)], ref, `writeVarIntAt(${v}) (seed ${SEED})`);
      assert.equal(buf[2 + ref.length], 0xee, `writeVarIntAt(${v}) writes nothing after`);
    }
  });

  it("the serializer's writers at every distance from the buffer's end", () => {
    for (const v of EDGE_UINTS) {
      atEveryRoom(refVarUint(v), (o) => o.writeVarUint(v), `writeVarUint(${v})`);
    }
    for (const v of EDGE_INTS) atEveryRoom(refVarInt(v), (o) => o.writeVarInt(v), `writeVarInt(${v})`);
    for (const v of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 12345678]) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      atEveryRoom([...b], (o) => o.writeI32(v), `writeI32(${v})`);
    }
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 31, 0xdeadbeef]) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      atEveryRoom([...b], (o) => o.writeU32(v), `writeU32(${v})`);
    }
    for (const v of [0, -0, Number.NaN, Number.POSITIVE_INFINITY, -1.5, Number.MIN_VALUE, 2 ** 60]) {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v);
      atEveryRoom([...b], (o) => o.writeF64(v), `writeF64(${v})`);
    }
    for (const v of [0, 1, 127, 128, 255]) atEveryRoom([v], (o) => o.writeU8(v), `writeU8(${v})`);
    for (const v of [true, false]) atEveryRoom([v ? 1 : 0], (o) => o.writeBoolean(v), `writeBoolean(${v})`);
    for (const n of [0, 1, 5, 30]) {
      const b = Array.from({ length: n }, (_, i) => (i * 29) & 255);
      atEveryRoom(b, (o) => o.writeBytes(Uint8Array.from(b)), `writeBytes(${n} bytes)`);
    }
  });

  it("strings: ASCII, 2-, 3- and 4-byte characters, lengths around every fast path", () => {
    const pieces = ["a", "\u007f", "é", "\u0800", "€", "\uffff", "😀"];
    const strings: string[] = [""];
    for (const p of pieces) {
      for (const n of [1, 2, 5, 15, 16, 17, 22, 23, 24, 25, 42, 43, 63, 64, 127, 128, 129, 300]) {
        strings.push(p.repeat(n));
        strings.push(`${"a".repeat(n)}${p}`);
        strings.push(`${p}${"a".repeat(n)}`);
      }
    }
    for (const s of strings) {
      const ref = refString(s);
      if (ref.length <= 20) atEveryRoom(ref, (o) => o.writeString(s), `writeString(${JSON.stringify(s)})`);
      for (const initial of [1, ref.length - 1, ref.length, ref.length + 1]) {
        const out = new DataOutputSerializer(Math.max(1, initial));
        out.writeString(s);
        assert.deepEqual([...out.view()], ref, `writeString of ${s.length} units into ${initial} bytes`);
      }
    }
    // All of them one after another, then read back from a frame inside a larger buffer.
    const out = new DataOutputSerializer(3);
    for (const s of strings) out.writeString(s);
    const framed = new Uint8Array(out.position + 10).fill(0xee);
    framed.set(out.view(), 5);
    const input = new DataInputDeserializer(framed, 5, 5 + out.position);
    for (const s of strings) assert.equal(input.readString(), s);
    assert.equal(input.remaining(), 0);
    assert.throws(() => input.readString(), /truncated input/);
  });

  it(`every reader reads the reference's bytes back (seed ${SEED}), one value after another`, () => {
    const r = rng(SEED + 1);
    const uints = [...EDGE_UINTS, ...randomUints(r, 500)];
    const ints = [...EDGE_INTS, ...randomUints(r, 500).map((v, i) => (i % 3 ? -v : v))];
    const bytes: number[] = [];
    for (const v of uints) bytes.push(...refVarUint(v));
    for (const v of ints) bytes.push(...refVarInt(v));
    const framed = Uint8Array.from([9, 9, 9, ...bytes, 0xff, 0xff]);
    const input = new DataInputDeserializer(framed, 3, 3 + bytes.length);
    for (const v of uints) assert.equal(input.readVarUint(), v, `readVarUint ${v} (seed ${SEED + 1})`);
    for (const v of ints) assert.ok(Object.is(input.readVarInt(), v === 0 ? 0 : v), `readVarInt ${v}`);
    assert.equal(input.remaining(), 0);
    assert.throws(() => input.readVarUint(), /truncated input/);
    assert.throws(() => input.readVarInt(), /truncated input/);
  });

  it("a record that would need more than 2^32 bytes is refused, the bytes before it kept", () => {
    const out = new DataOutputSerializer(8);
    out.writeU32(7);
    assert.throws(
      () => out.ensure(2 ** 32 - 3),
      (e: unknown) => e instanceof SerializationError && /would need 4294967297 bytes/.test(e.message),
    );
    assert.equal(out.buffer.length, 8);
    assert.deepEqual([...out.view()], [7, 0, 0, 0]);
  });

  it("setRange reads another range of the buffer set last", () => {
    const buf = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const input = new DataInputDeserializer(buf, 0, 2);
    input.setRange(3, 5);
    assert.equal(input.position, 3);
    assert.equal(input.end, 5);
    assert.equal(input.readU8(), 4);
    assert.equal(input.readU8(), 5);
    assert.throws(() => input.readU8(), /truncated input/);
  });

  it("readBytes copies the bytes it reads, readBytesView shows them, from a frame's middle", () => {
    const buf = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 1) & 255);
    const input = new DataInputDeserializer(buf, 5, 35);
    const copy = input.readBytes(10);
    assert.deepEqual([...copy], [...buf.subarray(5, 15)]);
    const view = input.readBytesView(10);
    assert.deepEqual([...view], [...buf.subarray(15, 25)]);
    buf[5] = 0;
    buf[15] = 0;
    assert.notEqual(copy[0], 0, "a copy");
    assert.equal(view[0], 0, "a view");
    assert.deepEqual([...input.readBytes(10)], [...buf.subarray(25, 35)]);
    assert.equal(input.remaining(), 0);
  });
});
