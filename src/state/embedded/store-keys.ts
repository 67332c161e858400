// The byte layout of keys in the embedded store, ordered so that a key group, a state in a key
// group, or one key's map state is a contiguous range:
//   [key group: u16 BE][state id: u16 BE][namespace][key][user key (map state only)]
// namespace: 0x00 for VOID_NAMESPACE, else its GENERIC encoding (first byte >= 4); key: the
// GENERIC encoding of its Map key (mapKeyOf), user key: GENERIC. GENERIC encodings are
// self-delimiting, so a prefix of one (state, namespace, key) never matches another.

import { DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import { GENERIC } from "../../core/types/generic.ts";
import { type MapKey, type Namespace, VOID_NAMESPACE } from "../state-table.ts";

const generic = GENERIC.createSerializer();
const VOID_TAG = 0;

/** Map keys with equal identity in a JS Map encode to equal bytes (-0 is 0 there). */
function normalize(v: MapKey): MapKey {
  return v === 0 ? 0 : v;
}

/** Writes the namespace and key part of a store key (what follows key group and state id). */
export function writeNamespaceAndKey(out: DataOutputSerializer, ns: Namespace, mapKey: MapKey): void {
  if (ns === VOID_NAMESPACE) out.writeU8(VOID_TAG);
  else generic.write(normalize(ns), out);
  generic.write(normalize(mapKey), out);
}

export function writeUserKey(out: DataOutputSerializer, userKey: unknown): void {
  generic.write(typeof userKey === "number" ? normalize(userKey) : userKey, out);
}

/** A key of `prefixLength + suffix` bytes: key group and state id, then `suffix`. */
export function composeKey(keyGroup: number, stateId: number, suffix: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + suffix.length);
  b[0] = keyGroup >>> 8;
  b[1] = keyGroup & 255;
  b[2] = stateId >>> 8;
  b[3] = stateId & 255;
  b.set(suffix, 4);
  return b;
}

/** The first key of a key group (and state, when given). */
export function groupStart(keyGroup: number, stateId = 0): Buffer {
  return composeKey(keyGroup, stateId, EMPTY);
}

/** The first key after every key that starts with `prefix` (exclusive end of a prefix range); undefined = none. */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 255) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return undefined;
}

const EMPTY = new Uint8Array(0);

/** A store key taken apart (namespace and key decoded; the user key when `withUserKey`). */
export interface DecodedKey {
  keyGroup: number;
  stateId: number;
  namespace: Namespace;
  mapKey: MapKey;
  /** Byte length of [key group .. key]: the prefix shared by the entries of one map state. */
  prefixLength: number;
  userKey: unknown;
}

/**
 * Reads bytes that arrive in a new buffer each time (scanned keys and values) through one
 * scratch buffer: DataInputDeserializer rebuilds its views for every new buffer, a copy is cheaper.
 */
export class ScratchReader {
  readonly input = new DataInputDeserializer();
  private scratch = Buffer.allocUnsafe(256);

  load(bytes: Uint8Array, start = 0): DataInputDeserializer {
    if (bytes.length > this.scratch.length) this.scratch = Buffer.allocUnsafe(bytes.length * 2);
    this.scratch.set(bytes);
    this.input.setBuffer(this.scratch, start, bytes.length);
    return this.input;
  }
}

const reader = new ScratchReader();

export function decodeKey(key: Uint8Array, withUserKey: boolean): DecodedKey {
  const keyGroup = (key[0]! << 8) | key[1]!;
  const stateId = (key[2]! << 8) | key[3]!;
  const input = reader.load(key, 4);
  let namespace: Namespace;
  if (key[4] === VOID_TAG) {
    input.position = 5;
    namespace = VOID_NAMESPACE;
  } else namespace = generic.read(input) as Namespace;
  const mapKey = generic.read(input) as MapKey;
  const prefixLength = input.position;
  const userKey = withUserKey ? generic.read(input) : undefined;
  return { keyGroup, stateId, namespace, mapKey, prefixLength, userKey };
}

/** A reusable writer for key parts. */
export function keyWriter(): DataOutputSerializer {
  return new DataOutputSerializer(256);
}

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/** The text form of a store key, for the write-back cache's Map (one char per byte). */
export function cacheKeyOf(key: Buffer): string {
  return (key as Latin1Buffer).latin1Slice(0, key.length);
}
