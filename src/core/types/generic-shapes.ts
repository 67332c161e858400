// The key lists ("shapes") of small plain objects that GENERIC writes and reads: each key's bytes as
// written, so both sides compare bytes or strings instead of encoding and decoding keys, and a
// constructor per key list for the decoder. Shared by writer and reader, up to MAX_SHAPES lists.

import type { DataInputDeserializer, DataOutputSerializer } from "../data-io.ts";

/** Objects with more fields than this are written and read key by key. */
export const MAX_SHAPE_FIELDS = 8;
const MAX_SHAPES = 64;

export interface ObjectShape {
  readonly keys: readonly string[];
  /** Each key as written (a length byte, then ASCII), or undefined when it is not short ASCII. */
  readonly encodedKeys: ReadonlyArray<Uint8Array | undefined>;
  /**
   * Builds the decoded object from the values in key order. A constructor whose prototype is
   * Object.prototype: the same object as assigning the keys in order, without a keyed store per
   * field. Every record of a shape gets the same hidden class, and not the one of the writer's
   * object literals: V8 shares one hidden class among all literals with the same keys, and a field
   * the writer once filled with a non-small number (e.g. `(i * 7919) % 1000` past 2^30) would make
   * every decoded value of that field a boxed double, allocated again on each read (a key
   * selector's `e.key`: 12% of a window job's CPU).
   */
  readonly Build: new (
    values: unknown[],
  ) => Record<string, unknown>;
}

const shapesBySize: ObjectShape[][] = Array.from({ length: MAX_SHAPE_FIELDS + 1 }, () => []);
let shapeCount = 0;

/** Whether the bytes at the input's position are `encoded` (a key of the expected shape). */
export function atKey(input: DataInputDeserializer, encoded: Uint8Array | undefined): boolean {
  if (encoded === undefined) return false;
  const buf = input.buf;
  const p = input.position;
  const n = encoded.length;
  if (p + n > input.end) return false;
  for (let j = 0; j < n; j++) if (buf[p + j] !== encoded[j]) return false;
  input.position = p + n;
  return true;
}

/** Writes a key's bytes as DataOutputSerializer.writeString would (short ASCII: length, chars). */
export function writeEncodedKey(out: DataOutputSerializer, encoded: Uint8Array): void {
  const n = encoded.length;
  const p = out.position;
  if (p + n > out.buffer.length) out.ensure(n);
  const buf = out.buffer;
  for (let j = 0; j < n; j++) buf[p + j] = encoded[j]!;
  out.position = p + n;
}

function encodeKey(k: string): Uint8Array | undefined {
  if (k.length > 127) return undefined;
  const e = new Uint8Array(k.length + 1);
  e[0] = k.length;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c > 127) return undefined;
    e[i + 1] = c;
  }
  return e;
}

/** The shape of the first n of these keys (added when new and constructor-safe), or undefined. */
export function findShape(keys: readonly string[], n: number): ObjectShape | undefined {
  if (n > MAX_SHAPE_FIELDS) return undefined;
  const list = shapesBySize[n]!;
  for (let s = 0; s < list.length; s++) {
    const shapeKeys = list[s]!.keys;
    let i = 0;
    while (i < n && shapeKeys[i] === keys[i]) i++;
    if (i === n) return list[s];
  }
  if (shapeCount >= MAX_SHAPES) return undefined;
  const own = keys.slice(0, n);
  // Assigning "__proto__" would set the prototype; repeated keys keep the first position with the
  // last value when assigned, which the reader does key by key: both take the assignment path.
  if (own.includes("__proto__") || new Set(own).size !== n) return undefined;
  const stores = own.map((k, i) => `this[${JSON.stringify(k)}] = v[${i}];`).join(" ");
  const Build = new Function("v", `"use strict"; ${stores}`) as ObjectShape["Build"];
  Build.prototype = Object.prototype;
  const shape: ObjectShape = { keys: own, encodedKeys: own.map(encodeKey), Build };
  list.push(shape);
  shapeCount++;
  return shape;
}
