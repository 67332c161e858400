// GENERIC: a self-describing tagged binary format for JSON-like values (plus bigint, Date, Uint8Array, Map,
// Set, undefined, -0 and NaN). The fallback for streams without a declared type; slower than OBJECT.

import { MAX_INTERNED_BYTES, readInternedAscii } from "./string-intern.ts";
import {
  type DataInputDeserializer,
  type DataOutputSerializer,
  varUintSize,
  writeVarUintAt,
} from "../data-io.ts";
import { atKey, findShape, MAX_SHAPE_FIELDS, type ObjectShape, writeEncodedKey } from "./generic-shapes.ts";
import { readBigIntValue, writeBigIntValue } from "./primitives.ts";
import {
  className,
  propertySegment,
  TypeInformation,
  type TypeSerializer,
  ValueSerializationError,
  withinField,
} from "./type-info.ts";

const T_NULL = 0;
const T_UNDEFINED = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4; // zigzag varint, safe integers other than -0
const T_F64 = 5;
const T_STRING = 6;
const T_ARRAY = 7; // varuint length, elements
const T_OBJECT = 8; // varuint count, (key string, value)*
const T_OBJECT_NULL_PROTO = 9;
const T_BIGINT = 10;
const T_DATE = 11; // f64 time value
const T_BYTES = 12; // varuint length, bytes
const T_MAP = 13; // varuint size, (key, value)*
const T_SET = 14; // varuint size, elements

/** Containers nested deeper than this are refused (a cyclic value would recurse forever). */
export const MAX_GENERIC_DEPTH = 1000;

const NAME = "GENERIC";
const CLASS_HINT = "give the stream a Types.OBJECT(...) with .returns(...) or make it a plain object";
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function cannot(what: string, hint: string): ValueSerializationError {
  return new ValueSerializationError(NAME, `cannot serialize ${what}`, hint);
}

function tag(out: DataOutputSerializer, t: number): void {
  if (out.position + 1 > out.buffer.length) out.ensure(1);
  out.buffer[out.position++] = t;
}

function writeAny(v: unknown, out: DataOutputSerializer, depth: number): void {
  switch (typeof v) {
    case "string":
      tag(out, T_STRING);
      out.writeString(v);
      return;
    case "number":
      if (Number.isInteger(v) && v <= MAX_SAFE && v >= -MAX_SAFE && (v !== 0 || 1 / v > 0)) {
        tag(out, T_INT);
        out.writeVarInt(v);
      } else {
        tag(out, T_F64); // fractions, NaN, ±Infinity, -0, integers beyond 2^53
        out.writeF64(v);
      }
      return;
    case "boolean":
      tag(out, v ? T_TRUE : T_FALSE);
      return;
    case "undefined":
      tag(out, T_UNDEFINED);
      return;
    case "object":
      if (v === null) tag(out, T_NULL);
      else writeObject(v, out, depth);
      return;
    case "bigint":
      tag(out, T_BIGINT);
      writeBigIntValue(v, out);
      return;
    case "function":
      throw cannot(
        `a function (${v.name || "anonymous"})`,
        "functions cannot travel between operators: remove the field or replace it with data before this operator",
      );
    default:
      throw cannot(
        `a ${typeof v}`,
        "symbols cannot travel between operators: replace it with a string before this operator",
      );
  }
}

function writeObject(v: object, out: DataOutputSerializer, depth: number): void {
  if (depth >= MAX_GENERIC_DEPTH) {
    throw cannot(
      `a value nested deeper than ${MAX_GENERIC_DEPTH} levels (probably a cyclic reference)`,
      "break the cycle, or give the stream a Types.OBJECT(...) with .returns(...)",
    );
  }
  const d = depth + 1;
  if (Array.isArray(v)) {
    const n = v.length;
    tag(out, T_ARRAY);
    out.writeVarUint(n);
    let i = 0;
    try {
      for (; i < n; i++) writeAny(v[i], out, d);
    } catch (e) {
      throw withinField(e, `[${i}]`, NAME);
    }
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    writePlainObject(v as Record<string, unknown>, out, d, proto === null);
    return;
  }
  if (proto === Date.prototype) {
    tag(out, T_DATE);
    out.writeF64((v as Date).getTime());
    return;
  }
  if (proto === Map.prototype) {
    const m = v as Map<unknown, unknown>;
    tag(out, T_MAP);
    out.writeVarUint(m.size);
    let i = 0;
    let inKey = true;
    try {
      for (const [k, x] of m) {
        inKey = true;
        writeAny(k, out, d);
        inKey = false;
        writeAny(x, out, d);
        i++;
      }
    } catch (e) {
      throw withinField(e, inKey ? `.keys()[${i}]` : `.values()[${i}]`, NAME);
    }
    return;
  }
  if (proto === Set.prototype) {
    const s = v as Set<unknown>;
    tag(out, T_SET);
    out.writeVarUint(s.size);
    let i = 0;
    try {
      for (const x of s) {
        writeAny(x, out, d);
        i++;
      }
    } catch (e) {
      throw withinField(e, `.values()[${i}]`, NAME);
    }
    return;
  }
  if (v instanceof Uint8Array && (proto === Uint8Array.prototype || Buffer.isBuffer(v))) {
    tag(out, T_BYTES);
    out.writeVarUint(v.length);
    out.writeBytes(v);
    return;
  }
  if (ArrayBuffer.isView(v)) {
    throw cannot(
      `a ${className(v)}`,
      "convert it to a Uint8Array or an array of numbers before this operator",
    );
  }
  throw cannot(`an instance of class ${className(v)}`, CLASS_HINT);
}

const hasOwn = Object.prototype.hasOwnProperty;
/** Per nesting depth: the shapes of the last two objects written there (keys compared first). */
const writtenShapes: Array<ObjectShape | undefined> = [];
const otherWrittenShapes: Array<ObjectShape | undefined> = [];

/**
 * Tag, count, then (key, value) pairs in Object.keys order. Walked with for-in (own keys first, in
 * that order; no array per object); the count is patched in when known. While the keys are those
 * of a shape written before at this depth, its encoded keys are copied instead of encoding each.
 */
function writePlainObject(
  o: Record<string, unknown>,
  out: DataOutputSerializer,
  depth: number,
  nullProto: boolean,
): void {
  tag(out, nullProto ? T_OBJECT_NULL_PROTO : T_OBJECT);
  const countAt = out.position;
  tag(out, 0); // one byte while the count is below 128
  let shape = writtenShapes[depth];
  let matched = shape !== undefined;
  let n = 0;
  let key = "";
  try {
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      key = k;
      if (n === 0 && matched && shape!.keys[0] !== k) {
        const other = otherWrittenShapes[depth];
        otherWrittenShapes[depth] = shape;
        shape = other;
        writtenShapes[depth] = shape;
        matched = shape !== undefined && shape.keys[0] === k;
      }
      const encoded = matched && shape!.keys[n] === k ? shape!.encodedKeys[n] : undefined;
      if (encoded !== undefined) writeEncodedKey(out, encoded);
      else {
        matched = false;
        out.writeString(k);
      }
      writeAny(o[k], out, depth);
      n++;
    }
  } catch (e) {
    throw withinField(e, propertySegment(key), NAME);
  }
  if (n < 128) out.buffer[countAt] = n;
  else patchCount(out, countAt, n);
  if (matched && n === shape!.keys.length) return;
  if (n <= MAX_SHAPE_FIELDS) {
    // A key list not seen here last: remember it (the miss path; objects of one shape skip it).
    if (writtenShapes[depth] !== undefined) otherWrittenShapes[depth] = writtenShapes[depth];
    writtenShapes[depth] = findShape(Object.keys(o), n);
  }
}

/** Widens the one-byte count at `at` to the varuint of n, moving the fields after it. */
function patchCount(out: DataOutputSerializer, at: number, n: number): void {
  const size = varUintSize(n);
  const end = out.position;
  out.ensure(size - 1);
  out.buffer.copyWithin(at + size, at + 1, end);
  writeVarUintAt(out.buffer, at, n);
  out.position = end + size - 1;
}

function setProperty(o: Record<string, unknown>, k: string, x: unknown): void {
  // Assigning "__proto__" would replace the prototype; define it as an own property instead.
  if (k === "__proto__")
    Object.defineProperty(o, k, { value: x, writable: true, enumerable: true, configurable: true });
  else o[k] = x;
}

// Object keys repeat from record to record: a small cache of decoded short ASCII keys returns the same
// (already internalized) string instead of building a new one per record.
const KEY_CACHE_SIZE = 4096;
const MAX_CACHED_KEY = 32;
const keyCache: string[] = new Array<string>(KEY_CACHE_SIZE).fill("");

function readKey(input: DataInputDeserializer): string {
  const start = input.position;
  const buf = input.buf;
  const n = start < input.end ? buf[start] : 255;
  const first = start + 1;
  const last = first + n;
  if (n > MAX_CACHED_KEY || n === 0 || last > input.end) return input.readString();
  let h = n;
  let i = first;
  for (; i < last; i++) {
    const c = buf[i];
    if (c > 127) return input.readString();
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 12)) & (KEY_CACHE_SIZE - 1);
  const cached = keyCache[slot];
  if (cached.length === n) {
    let j = 0;
    while (j < n && cached.charCodeAt(j) === buf[first + j]) j++;
    if (j === n) {
      input.position = last;
      return cached;
    }
  }
  const s = input.readString();
  keyCache[slot] = s;
  return s;
}

/** A string value: short ASCII ones interned (keys repeat from record to record), others decoded. */
function readString(input: DataInputDeserializer): string {
  const p = input.position;
  const buf = input.buf;
  const n = p < input.end ? buf[p]! : 255;
  if (n <= MAX_INTERNED_BYTES && p + 1 + n <= input.end) {
    const s = readInternedAscii(buf, p + 1, n);
    if (s !== undefined) {
      input.position = p + 1 + n;
      return s;
    }
  }
  return input.readString();
}

function checkCount(input: DataInputDeserializer, n: number, what: string): void {
  // Every entry takes at least one byte: refuse absurd counts before allocating.
  if (n > input.remaining()) input.truncated(input.position, n, `GENERIC ${what} of ${n} entries`);
}

// Small plain objects are decoded into scratch arrays (one pair per nesting depth) and built by
// their shape's constructor (generic-shapes.ts).
/** Per number of fields: the shape last decoded (its keys are tried first, byte for byte). */
const lastShapes: Array<ObjectShape | undefined> = new Array(MAX_SHAPE_FIELDS + 1).fill(undefined);
const scratchKeys: string[][] = [];
const scratchValues: unknown[][] = [];

function readSmallObject(input: DataInputDeserializer, n: number, depth: number): Record<string, unknown> {
  const keys = (scratchKeys[depth] ??= new Array<string>(MAX_SHAPE_FIELDS).fill(""));
  const values = (scratchValues[depth] ??= new Array<unknown>(MAX_SHAPE_FIELDS).fill(undefined));
  const last = lastShapes[n];
  // While the keys are the last shape's, byte for byte, they are not decoded nor looked up.
  let same = last !== undefined;
  for (let i = 0; i < n; i++) {
    if (same && atKey(input, last!.encodedKeys[i])) keys[i] = last!.keys[i]!;
    else {
      same = false;
      keys[i] = readKey(input);
    }
    values[i] = readAny(input, depth);
  }
  if (same) return new last!.Build(values);
  const shape = findShape(keys, n);
  if (shape !== undefined) {
    lastShapes[n] = shape;
    return new shape.Build(values);
  }
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) setProperty(o, keys[i]!, values[i]);
  return o;
}

function readAny(input: DataInputDeserializer, depth: number): unknown {
  const pos = input.position;
  if (pos >= input.end) input.truncated(pos, 1, "GENERIC value");
  const t = input.buf[pos];
  input.position = pos + 1;
  switch (t) {
    case T_STRING:
      return readString(input);
    case T_INT:
      return input.readVarInt();
    case T_F64:
      return input.readF64();
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEFINED:
      return undefined;
    case T_BIGINT:
      return readBigIntValue(input);
    case T_DATE:
      return new Date(input.readF64());
    case T_BYTES:
      return input.readBytes(input.readVarUint());
  }
  if (depth >= MAX_GENERIC_DEPTH) input.corrupt(pos, `GENERIC value nested deeper than ${MAX_GENERIC_DEPTH}`);
  const d = depth + 1;
  switch (t) {
    case T_ARRAY: {
      const n = input.readVarUint();
      checkCount(input, n, "array");
      const a: unknown[] = [];
      for (let i = 0; i < n; i++) a.push(readAny(input, d));
      return a;
    }
    case T_OBJECT:
    case T_OBJECT_NULL_PROTO: {
      const n = input.readVarUint();
      checkCount(input, n, "object");
      if (t === T_OBJECT && n <= MAX_SHAPE_FIELDS) return readSmallObject(input, n, d);
      const o: Record<string, unknown> = t === T_OBJECT ? {} : Object.create(null);
      for (let i = 0; i < n; i++) {
        const k = readKey(input);
        setProperty(o, k, readAny(input, d));
      }
      return o;
    }
    case T_MAP: {
      const n = input.readVarUint();
      checkCount(input, n, "Map");
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = readAny(input, d);
        m.set(k, readAny(input, d));
      }
      return m;
    }
    case T_SET: {
      const n = input.readVarUint();
      checkCount(input, n, "Set");
      const s = new Set<unknown>();
      for (let i = 0; i < n; i++) s.add(readAny(input, d));
      return s;
    }
  }
  return input.corrupt(pos, `unknown GENERIC tag ${t}`);
}

const genericSerializer: TypeSerializer<unknown> = {
  write(value: unknown, out: DataOutputSerializer): void {
    const start = out.position;
    try {
      writeAny(value, out, 0);
    } catch (e) {
      out.position = start;
      throw e;
    }
  },
  read(input: DataInputDeserializer): unknown {
    return readAny(input, 0);
  },
};

export class GenericType extends TypeInformation<unknown> {
  readonly name = NAME;
  createSerializer(): TypeSerializer<unknown> {
    return genericSerializer;
  }
}

export const GENERIC: TypeInformation<unknown> = new GenericType();
