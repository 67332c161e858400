// The binary format of a state file: a header that says what it is and which version wrote it,
// a CRC-32 of the payload, and the payload (a GENERIC-encoded snapshot object). A file that is
// truncated, corrupt or from a newer format is refused with its path named.

import { crc32 as zlibCrc32 } from "node:zlib";
import { DataInputDeserializer, DataOutputSerializer } from "../core/data-io.ts";
import { WeirError } from "../core/errors.ts";
import { Types } from "../core/types/types.ts";
import type { KeyGroupSnapshot } from "../runtime/snapshot.ts";
import type { EncodedEntryVisitor } from "../state/keyed-state-backend.ts";

const MAGIC = [0x57, 0x45, 0x49, 0x52, 0x53]; // "WEIRS"
// 1: key groups as objects; 2: each key group encoded on its own (bytes inside the file). 2 reads both.
export const STATE_FORMAT_VERSION = 2;
const HEADER = MAGIC.length + 4 + 4 + 4;

const generic = Types.GENERIC.createSerializer();

/** CRC-32 (IEEE, as zlib and PNG) of bytes[start, end), computed natively. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
}

/** The CRC-32 of the bytes before (`crc`) followed by `bytes`: a CRC computed piece by piece. */
export function crc32Continue(crc: number, bytes: Uint8Array): number {
  return zlibCrc32(bytes, crc);
}

/** Bytes of a state file before its payload (magic, version, payload length, payload CRC-32). */
export const STATE_FILE_HEADER_BYTES = HEADER;

/**
 * A state file produced in pieces (a task's snapshot encoded key group by key group): `write`
 * hands them to `put` in order, awaiting each, and resolves with the file's header, to be written
 * over its first STATE_FILE_HEADER_BYTES bytes (a placeholder: the length and CRC-32 of the payload
 * are known only at the end).
 */
export interface StreamedStateFile {
  write(put: (bytes: Uint8Array) => Promise<void>): Promise<Uint8Array>;
}

/** The header of a state file whose payload has `length` bytes with CRC-32 `crc`. */
export function stateFileHeader(length: number, crc: number): Uint8Array {
  const bytes = new Uint8Array(HEADER);
  writeHeader(bytes, length, crc);
  return bytes;
}

function writeHeader(bytes: Uint8Array, length: number, crc: number): void {
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC[i]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setUint32(MAGIC.length, STATE_FORMAT_VERSION, true);
  dv.setUint32(MAGIC.length + 4, length, true);
  dv.setUint32(MAGIC.length + 8, crc, true);
}

export class CorruptStateError extends WeirError {
  constructor(path: string, what: string) {
    super("IO", `checkpoint file '${path}' ${what}; restore from another checkpoint or savepoint`);
    this.name = "CorruptStateError";
  }
}

/** Encode a snapshot object (JSON-like values, Maps, Sets, Dates, bigints, byte arrays). */
export function encodeStateFile(value: unknown, sizeHint = 4096): Uint8Array {
  const out = new DataOutputSerializer(HEADER + sizeHint);
  out.position = HEADER;
  generic.write(value, out);
  const bytes = out.view();
  writeHeader(bytes, bytes.length - HEADER, crc32(bytes, HEADER));
  return bytes;
}

export function decodeStateFile(bytes: Uint8Array, path: string): unknown {
  if (bytes.length < HEADER) throw new CorruptStateError(path, "is truncated (shorter than its header)");
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i])
      throw new CorruptStateError(path, "is not a Weir state file (bad magic bytes)");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(MAGIC.length, true);
  if (version > STATE_FORMAT_VERSION) {
    throw new CorruptStateError(
      path,
      `was written by a newer Weir (state format ${version}; this one reads up to ${STATE_FORMAT_VERSION})`,
    );
  }
  const length = dv.getUint32(MAGIC.length + 4, true);
  if (bytes.length !== HEADER + length)
    throw new CorruptStateError(path, `is truncated or has trailing bytes`);
  if (crc32(bytes, HEADER) !== dv.getUint32(MAGIC.length + 8, true)) {
    throw new CorruptStateError(path, "is corrupt (checksum mismatch)");
  }
  try {
    return generic.read(new DataInputDeserializer(bytes, HEADER, bytes.length));
  } catch (e) {
    throw new CorruptStateError(path, `cannot be decoded: ${(e as Error).message}`);
  }
}

/**
 * The GENERIC encoding in parts, for a payload written piece by piece (streamTaskSnapshot in
 * snapshot-writer.ts): the start of an object of n properties, of an array of n elements, of n
 * bytes, then the properties' names and the elements. The tags are read from GENERIC's own
 * output, so the parts decode as one GENERIC value, the one encodeStateFile would have written.
 */
export const genericParts = (() => {
  const probe = new DataOutputSerializer(16);
  const tagOf = (v: unknown): number => {
    probe.clear();
    generic.write(v, probe);
    return probe.buffer[0]!;
  };
  const tags = { object: tagOf({}), array: tagOf([]), bytes: tagOf(new Uint8Array(0)) };
  return {
    objectStart(out: DataOutputSerializer, properties: number): void {
      out.writeU8(tags.object);
      out.writeVarUint(properties);
    },
    propertyName(out: DataOutputSerializer, name: string): void {
      out.writeString(name);
    },
    arrayStart(out: DataOutputSerializer, elements: number): void {
      out.writeU8(tags.array);
      out.writeVarUint(elements);
    },
    bytesStart(out: DataOutputSerializer, length: number): void {
      out.writeU8(tags.bytes);
      out.writeVarUint(length);
    },
    value(out: DataOutputSerializer, v: unknown): void {
      generic.write(v, out);
    },
  };
})();

const groupOut = new DataOutputSerializer(64 * 1024);

/**
 * Key-group encoding, tagged by its first byte (a GENERIC value never starts with it): entries in
 * runs of one state and namespace — [u32 count][state][namespace] then (key, value) per entry — the
 * state name and namespace written once per run; a u32 0 ends the runs; the timers follow as one
 * GENERIC value.
 */
const GROUP_RUNS = 0xe2;

/**
 * Encodes one key group as its entries arrive (`fill` calls `emit` per entry, grouped by state and
 * namespace): no array per entry. The unit a snapshot writes asynchronously.
 */
export function encodeKeyGroupFrom(
  fill: (emit: (state: string, ns: unknown, mapKey: unknown, value: unknown) => void) => void,
  timers: KeyGroupSnapshot["timers"],
): Uint8Array {
  const out = groupOut;
  out.position = 0;
  out.writeU8(GROUP_RUNS);
  let runState: string | undefined;
  let runNs: unknown;
  let countAt = -1;
  let count = 0;
  const close = () => {
    if (countAt >= 0) out.dv.setUint32(countAt, count, true);
  };
  fill((state, ns, mapKey, value) => {
    if (countAt < 0 || state !== runState || !Object.is(ns, runNs)) {
      close();
      countAt = out.position;
      out.writeU32(0);
      count = 0;
      runState = state;
      runNs = ns;
      generic.write(state, out);
      generic.write(ns, out);
    }
    generic.write(mapKey, out);
    generic.write(value, out);
    count++;
  });
  close();
  out.writeU32(0);
  generic.write(timers, out);
  const bytes = new Uint8Array(out.position);
  bytes.set(out.view());
  return bytes;
}

/** One key group's state and timers encoded on their own. */
export function encodeKeyGroup(group: KeyGroupSnapshot): Uint8Array {
  return encodeKeyGroupFrom((emit) => {
    for (const e of group.entries) emit(e[0], e[1], e[2], e[3]);
  }, group.timers);
}

/** Whether a key group read from a state file is in the run encoding (visitKeyGroup reads it). */
export function isRunEncoded(group: KeyGroupSnapshot | Uint8Array): group is Uint8Array {
  return group instanceof Uint8Array && group[0] === GROUP_RUNS;
}

/**
 * Reads a run-encoded key group without decoding its values: `visit` gets each entry with its
 * value as the GENERIC bytes in the file (a view); returns the timers. `path` names the file in errors.
 */
export function visitKeyGroup(
  group: Uint8Array,
  path: string,
  visit: EncodedEntryVisitor,
): KeyGroupSnapshot["timers"] {
  try {
    const input = new DataInputDeserializer(group, 1, group.length);
    for (let n = input.readU32(); n > 0; n = input.readU32()) {
      const state = generic.read(input) as string;
      const ns = generic.read(input);
      for (let k = 0; k < n; k++) {
        const mapKey = generic.read(input);
        const start = input.position;
        generic.read(input);
        visit(state, ns, mapKey, group.subarray(start, input.position));
      }
    }
    return generic.read(input) as KeyGroupSnapshot["timers"];
  } catch (e) {
    if (e instanceof CorruptStateError) throw e;
    throw new CorruptStateError(path, `has a key group that cannot be decoded: ${(e as Error).message}`);
  }
}

/** A key group read back from a state file (`path` names the file in errors); format 1 held objects. */
export function decodeKeyGroup(group: KeyGroupSnapshot | Uint8Array, path: string): KeyGroupSnapshot {
  if (!(group instanceof Uint8Array)) return group;
  try {
    const input = new DataInputDeserializer(group, 0, group.length);
    if (group[0] !== GROUP_RUNS) return generic.read(input) as KeyGroupSnapshot;
    input.readU8();
    const entries: KeyGroupSnapshot["entries"] = [];
    for (let n = input.readU32(); n > 0; n = input.readU32()) {
      const state = generic.read(input) as string;
      const ns = generic.read(input);
      for (let k = 0; k < n; k++) entries.push([state, ns, generic.read(input), generic.read(input)]);
    }
    const timers = generic.read(input) as KeyGroupSnapshot["timers"];
    return { entries, timers };
  } catch (e) {
    throw new CorruptStateError(path, `has a key group that cannot be decoded: ${(e as Error).message}`);
  }
}
