// Byte-level record I/O: a growable, reusable output buffer and a bounds-checked input reader.
// All multi-byte numbers are little-endian. Varints are LEB128 (unsigned) and zigzag LEB128 (signed).
// Strings are a varuint UTF-8 byte length followed by the bytes. The encoding is deterministic
// (the same value always gives the same bytes), so serialized keys can be hashed or compared.

import { InvalidArgumentError, SerializationError } from "./errors.ts";

/** Node's native string codecs on Buffer (present since Node 0.x, absent from @types/node). */
interface NativeBuffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Largest Buffer Node 20 can allocate (buffer.constants.MAX_LENGTH). */
const MAX_BUFFER = 2 ** 32;
/** Strings shorter than this are first tried with a JS ASCII loop; longer ones go to native utf8Write. */
export const SHORT_STRING_CHARS = 24;
/** Decoded strings up to this many bytes are first tried with a JS ASCII loop; longer ones use utf8Slice. */
export const SHORT_STRING_BYTES = 16;

function allocate(size: number): NativeBuffer {
  // allocUnsafeSlow: an ArrayBuffer of its own (never a slice of Node's shared pool), so callers may
  // transfer `buffer.buffer` to another thread.
  return Buffer.allocUnsafeSlow(size) as NativeBuffer;
}

function asNative(buf: Uint8Array): NativeBuffer {
  if (Buffer.isBuffer(buf)) return buf as NativeBuffer;
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as NativeBuffer;
}

/** Number of bytes the LEB128 encoding of a non-negative safe integer takes. */
export function varUintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** Writes LEB128 of `v` (a non-negative safe integer, unchecked) at `pos`; returns the position after it. */
export function writeVarUintAt(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80000000) {
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  // v >= 2^31: the low 28 bits as 4 bytes, then the high part (< 2^25 for safe integers) with bit ops.
  let hi = Math.floor(v / 0x10000000);
  const lo = v - hi * 0x10000000;
  buf[pos++] = (lo & 127) | 128;
  buf[pos++] = ((lo >>> 7) & 127) | 128;
  buf[pos++] = ((lo >>> 14) & 127) | 128;
  buf[pos++] = ((lo >>> 21) & 127) | 128;
  while (hi > 127) {
    buf[pos++] = (hi & 127) | 128;
    hi >>>= 7;
  }
  buf[pos++] = hi;
  return pos;
}

/** Writes zigzag LEB128 of `v` (a safe integer, unchecked) at `pos`; returns the position after it. */
export function writeVarIntAt(buf: Uint8Array, pos: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    while (z > 127) {
      buf[pos++] = (z & 127) | 128;
      z >>>= 7;
    }
    buf[pos++] = z;
    return pos;
  }
  // zigzag(v) = 2a + s with a = |v| or |v|-1; 2a + s can exceed 2^53, so emit its low 7 bits from a.
  const s = v < 0 ? 1 : 0;
  const a = s ? -v - 1 : v;
  buf[pos++] = ((a % 64) << 1) | s | 128; // a >= 2^30 - 1 here, so more bytes always follow
  return writeVarUintAt(buf, pos, Math.floor(a / 64));
}

function describeNumberArg(v: unknown): string {
  return typeof v === "number" || v == null ? String(v) : `${typeof v} ${String(v)}`;
}

/** A growable byte output, reused across records: `clear()`, write a record, take `view()`. */
export class DataOutputSerializer {
  buffer: NativeBuffer;
  /** A DataView over `buffer`, replaced together with it when the buffer grows. */
  dv: DataView;
  position = 0;

  constructor(initialSize = 4096) {
    if (!Number.isInteger(initialSize) || initialSize < 1 || initialSize > MAX_BUFFER) {
      throw new InvalidArgumentError(
        `DataOutputSerializer: initialSize must be an integer in [1, ${MAX_BUFFER}], got ${initialSize}`,
      );
    }
    this.buffer = allocate(initialSize);
    this.dv = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  /** Starts writing from the beginning again (the buffer is kept). */
  clear(): void {
    this.position = 0;
  }

  /** Makes this serializer write into `buf` from `position` on (e.g. a buffer that came back from a pool). */
  setBuffer(buf: Uint8Array, position = 0): void {
    if (!Number.isInteger(position) || position < 0 || position > buf.length) {
      throw new InvalidArgumentError(
        `DataOutputSerializer.setBuffer: position ${position} is outside the buffer of ${buf.length} bytes`,
      );
    }
    this.buffer = asNative(buf);
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.position = position;
  }

  /** Guarantees room for `extra` more bytes after `position`, growing (and copying) the buffer if needed. */
  ensure(extra: number): void {
    const need = this.position + extra;
    if (need > this.buffer.length) this.grow(need);
  }

  private grow(need: number): void {
    if (need > MAX_BUFFER) {
      throw new SerializationError(
        `record too large: the output would need ${need} bytes, more than the ${MAX_BUFFER}-byte limit ` +
          "of a Node.js Buffer; split the value into smaller records",
      );
    }
    const size = Math.min(MAX_BUFFER, Math.max(need, this.buffer.length * 2, 64));
    const next = allocate(size);
    next.set(this.buffer.subarray(0, this.position));
    this.buffer = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  writeU8(v: number): void {
    if ((v & 255) !== v) throw new SerializationError(`writeU8: ${describeNumberArg(v)} is not in [0, 255]`);
    if (this.position + 1 > this.buffer.length) this.grow(this.position + 1);
    this.buffer[this.position++] = v;
  }

  writeBoolean(v: boolean): void {
    if (this.position + 1 > this.buffer.length) this.grow(this.position + 1);
    this.buffer[this.position++] = v ? 1 : 0;
  }

  writeI32(v: number): void {
    if ((v | 0) !== v)
      throw new SerializationError(`writeI32: ${describeNumberArg(v)} is not a 32-bit integer`);
    if (this.position + 4 > this.buffer.length) this.grow(this.position + 4);
    this.dv.setInt32(this.position, v, true);
    this.position += 4;
  }

  writeU32(v: number): void {
    if (v >>> 0 !== v) throw new SerializationError(`writeU32: ${describeNumberArg(v)} is not in [0, 2^32)`);
    if (this.position + 4 > this.buffer.length) this.grow(this.position + 4);
    this.dv.setUint32(this.position, v, true);
    this.position += 4;
  }

  writeF64(v: number): void {
    if (this.position + 8 > this.buffer.length) this.grow(this.position + 8);
    this.dv.setFloat64(this.position, v, true);
    this.position += 8;
  }

  /** LEB128 of a non-negative safe integer (at most 8 bytes). */
  writeVarUint(v: number): void {
    if (!(v >= 0 && v <= MAX_SAFE && Number.isInteger(v))) {
      throw new SerializationError(`writeVarUint: ${describeNumberArg(v)} is not an integer in [0, 2^53)`);
    }
    if (this.position + 8 > this.buffer.length) this.grow(this.position + 8);
    this.position = writeVarUintAt(this.buffer, this.position, v);
  }

  /** Zigzag LEB128 of a safe integer (at most 8 bytes). -0 is written as 0. */
  writeVarInt(v: number): void {
    if (!Number.isSafeInteger(v)) {
      throw new SerializationError(`writeVarInt: ${describeNumberArg(v)} is not a safe integer`);
    }
    if (this.position + 8 > this.buffer.length) this.grow(this.position + 8);
    this.position = writeVarIntAt(this.buffer, this.position, v);
  }

  /**
   * Varuint UTF-8 byte length, then the UTF-8 bytes. Short ASCII strings use a JS loop, the rest
   * native `utf8Write`. Lone surrogates become U+FFFD (as in every UTF-8 encoder).
   */
  writeString(s: string): void {
    const L = s.length;
    if (L < SHORT_STRING_CHARS) {
      const pos = this.position;
      if (pos + 1 + L > this.buffer.length) this.grow(pos + 1 + L);
      const buf = this.buffer;
      let n = 0;
      for (; n < L; n++) {
        const c = s.charCodeAt(n);
        if (c > 127) break;
        buf[pos + 1 + n] = c;
      }
      if (n === L) {
        buf[pos] = L;
        this.position = pos + 1 + L;
        return;
      }
    }
    this.writeStringNative(s);
  }

  private writeStringNative(s: string): void {
    const L = s.length;
    const pos = this.position;
    if (L > 1 << 20) {
      // Huge strings: measure exactly instead of reserving 3 bytes per char.
      const n = Buffer.byteLength(s, "utf8");
      const k = varUintSize(n);
      if (pos + k + n > this.buffer.length) this.grow(pos + k + n);
      writeVarUintAt(this.buffer, pos, n);
      this.buffer.utf8Write(s, pos + k, n);
      this.position = pos + k + n;
      return;
    }
    const max = 3 * L; // UTF-8 bytes per UTF-16 code unit are at most 3
    if (pos + max + 4 > this.buffer.length) this.grow(pos + max + 4);
    const buf = this.buffer;
    const guess = varUintSize(L); // exact when the string is ASCII
    const n = buf.utf8Write(s, pos + guess);
    const k = varUintSize(n);
    if (k !== guess) buf.copyWithin(pos + k, pos + guess, pos + guess + n);
    writeVarUintAt(buf, pos, n);
    this.position = pos + k + n;
  }

  /** The raw bytes, with no length prefix (write the length yourself if the reader needs it). */
  writeBytes(b: Uint8Array): void {
    const n = b.length;
    if (this.position + n > this.buffer.length) this.grow(this.position + n);
    this.buffer.set(b, this.position);
    this.position += n;
  }

  /** The bytes written so far (a view, not a copy: it changes when this serializer is written again). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.position);
  }
}

const EMPTY = new Uint8Array(0);

/** Reads what DataOutputSerializer wrote, from `position` up to `end`; reading past `end` throws. */
export class DataInputDeserializer {
  buf: NativeBuffer = asNative(EMPTY);
  dv: DataView = new DataView(EMPTY.buffer);
  position = 0;
  private _end = 0;
  private source: Uint8Array = EMPTY;

  constructor(buf: Uint8Array = EMPTY, start = 0, end: number = buf.length) {
    this.setBuffer(buf, start, end);
  }

  get end(): number {
    return this._end;
  }

  /** Reads `buf[start, end)` next; the views over `buf` are kept while the same `buf` is passed again. */
  setBuffer(buf: Uint8Array, start: number, end: number): void {
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= buf.length)
    ) {
      throw new InvalidArgumentError(
        `DataInputDeserializer.setBuffer: range [${start}, ${end}) is not inside the buffer of ${buf.length} bytes`,
      );
    }
    if (buf !== this.source) {
      this.source = buf;
      this.buf = asNative(buf);
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.position = start;
    this._end = end;
  }

  /**
   * Reads `[start, end)` of the buffer set last, without checking the range: for a reader that
   * framed the bytes itself (the network input channel, which knows each element's length).
   */
  setRange(start: number, end: number): void {
    this.position = start;
    this._end = end;
  }

  remaining(): number {
    return this._end - this.position;
  }

  /** Throws the "truncated input" error for a read of `need` bytes at `pos`. */
  truncated(pos: number, need: number, what = "value"): never {
    throw new SerializationError(
      `truncated input: reading a ${what} needs ${need} byte(s) at position ${pos}, but the input ends at ` +
        `${this._end} (${Math.max(0, this._end - pos)} byte(s) left); the bytes are not a complete record ` +
        "of the expected type: check that writer and reader use the same type and that the frame is complete",
    );
  }

  /** Throws the "corrupt input" error (bytes that no writer produces). */
  corrupt(pos: number, what: string): never {
    throw new SerializationError(
      `corrupt input at position ${pos}: ${what}; the bytes were not written by the serializer of this type ` +
        "(check that writer and reader use the same type)",
    );
  }

  readU8(): number {
    const pos = this.position;
    if (pos + 1 > this._end) this.truncated(pos, 1, "u8");
    this.position = pos + 1;
    return this.buf[pos];
  }

  readBoolean(): boolean {
    const pos = this.position;
    if (pos + 1 > this._end) this.truncated(pos, 1, "boolean");
    const b = this.buf[pos];
    if (b > 1) this.corrupt(pos, `boolean byte ${b} is neither 0 nor 1`);
    this.position = pos + 1;
    return b === 1;
  }

  readI32(): number {
    const pos = this.position;
    if (pos + 4 > this._end) this.truncated(pos, 4, "i32");
    this.position = pos + 4;
    return this.dv.getInt32(pos, true);
  }

  readU32(): number {
    const pos = this.position;
    if (pos + 4 > this._end) this.truncated(pos, 4, "u32");
    this.position = pos + 4;
    return this.dv.getUint32(pos, true);
  }

  readF64(): number {
    const pos = this.position;
    if (pos + 8 > this._end) this.truncated(pos, 8, "f64");
    this.position = pos + 8;
    return this.dv.getFloat64(pos, true);
  }

  readVarUint(): number {
    const buf = this.buf;
    const end = this._end;
    const start = this.position;
    let pos = start;
    if (pos >= end) this.truncated(pos, 1, "varint");
    let b = buf[pos++];
    if (b < 128) {
      this.position = pos;
      return b;
    }
    let result = b & 127;
    let mul = 128;
    for (let i = 1; ; i++) {
      if (pos >= end) this.truncated(start, i + 1, "varint");
      b = buf[pos++];
      result += (b & 127) * mul;
      if (b < 128) break;
      if (i === 7) this.corrupt(start, "varint longer than 8 bytes");
      mul *= 128;
    }
    if (result > MAX_SAFE) this.corrupt(start, `varint ${result} is above 2^53 - 1`);
    this.position = pos;
    return result;
  }

  readVarInt(): number {
    const start = this.position;
    if (start >= this._end) this.truncated(start, 1, "varint");
    const b = this.buf[start];
    if (b < 128) {
      this.position = start + 1;
      return (b >>> 1) ^ -(b & 1);
    }
    this.position = start + 1;
    const low = (b >>> 1) & 63;
    const rest = this.readVarUint();
    const a = rest * 64 + low;
    if (a > MAX_SAFE) this.corrupt(start, "zigzag varint outside the safe integer range");
    return b & 1 ? -a - 1 : a;
  }

  readString(): string {
    const n = this.readVarUint();
    const pos = this.position;
    const end = pos + n;
    if (end > this._end) this.truncated(pos, n, "string");
    const buf = this.buf;
    if (n <= SHORT_STRING_BYTES) {
      let s = "";
      let i = pos;
      for (; i < end; i++) {
        const c = buf[i];
        if (c > 127) break;
        s += String.fromCharCode(c);
      }
      if (i === end) {
        this.position = end;
        return s;
      }
    }
    this.position = end;
    return buf.utf8Slice(pos, end);
  }

  /** The next `n` bytes as a copy (safe to keep: input buffers are reused). */
  readBytes(n: number): Uint8Array {
    const pos = this.position;
    if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError(`readBytes: bad length ${n}`);
    if (pos + n > this._end) this.truncated(pos, n, "byte array");
    this.position = pos + n;
    const copy = new Uint8Array(n);
    copy.set(this.buf.subarray(pos, pos + n));
    return copy;
  }

  /** The next `n` bytes as a view into the input (valid only until the input buffer is reused). */
  readBytesView(n: number): Uint8Array {
    const pos = this.position;
    if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError(`readBytesView: bad length ${n}`);
    if (pos + n > this._end) this.truncated(pos, n, "byte array");
    this.position = pos + n;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + pos, n);
  }
}
