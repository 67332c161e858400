// The binary format of a state file: a header that says what it is and which version wrote it,
// a CRC-32 of the payload, and the payload (a GENERIC-encoded snapshot object). A file that is
// truncated, corrupt or from a newer format is refused with its path named. Format 3 (a task's
// key groups after its snapshot, with an index) is read and written by indexed-state-file.ts.

import { crc32 as zlibCrc32 } from "node:zlib";
import { DataInputDeserializer, DataOutputSerializer } from "../core/data-io.ts";
import { WeirError } from "../core/errors.ts";
import { Types } from "../core/types/types.ts";
import type { KeyGroupSnapshot, StoredKeyGroup } from "../runtime/snapshot.ts";
import type { EncodedEntryVisitor } from "../state/keyed-state-backend.ts";

const MAGIC = [0x57, 0x45, 0x49, 0x52, 0x53]; // "WEIRS"
// 1: key groups as objects; 2: each key group encoded on its own (bytes inside the file); 3: the
// key groups after the snapshot, with an index at the end (indexed-state-file.ts). Each reads the
// older ones; encodeStateFile writes 2.
export const STATE_FORMAT_VERSION = 3;
const PAYLOAD_FORMAT_VERSION = 2;
const HEADER = MAGIC.length + 4 + 4 + 4;

const generic = Types.GENERIC.createSerializer();

/** CRC-32 (IEEE, as zlib and PNG) of bytes[start, end), computed natively. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
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

/** The header of a state file of `version` whose payload has `length` bytes with CRC-32 `crc`. */
export function stateFileHeader(length: number, crc: number, version = PAYLOAD_FORMAT_VERSION): Uint8Array {
  const bytes = new Uint8Array(HEADER);
  writeHeader(bytes, length, crc, version);
  return bytes;
}

function writeHeader(bytes: Uint8Array, length: number, crc: number, version = PAYLOAD_FORMAT_VERSION): void {
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC[i]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setUint32(MAGIC.length, version, true);
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

/** A state file's header: its format and its payload's length and CRC-32 (format 3: the snapshot's). */
export interface StateFileHeader {
  version: number;
  length: number;
  crc: number;
}

/** Reads the header at the start of `bytes`: refuses a short, foreign or newer file. */
export function readStateFileHeader(bytes: Uint8Array, path: string): StateFileHeader {
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
  return { version, length: dv.getUint32(MAGIC.length + 4, true), crc: dv.getUint32(MAGIC.length + 8, true) };
}

/** Decodes a GENERIC value of bytes[start, end) whose CRC-32 must be `crc`; `what` names it in errors. */
export function decodeChecked(
  bytes: Uint8Array,
  start: number,
  end: number,
  crc: number,
  path: string,
): unknown {
  if (crc32(bytes, start, end) !== crc) throw new CorruptStateError(path, "is corrupt (checksum mismatch)");
  try {
    return generic.read(new DataInputDeserializer(bytes, start, end));
  } catch (e) {
    throw new CorruptStateError(path, `cannot be decoded: ${(e as Error).message}`);
  }
}

/** Decodes a state file of format 1 or 2 (format 3: decodeStateBytes in indexed-state-file.ts). */
export function decodeStateFile(bytes: Uint8Array, path: string): unknown {
  const { version, length, crc } = readStateFileHeader(bytes, path);
  if (version > PAYLOAD_FORMAT_VERSION) {
    throw new CorruptStateError(path, `is in state format ${version}, which this reader does not take`);
  }
  if (bytes.length !== HEADER + length)
    throw new CorruptStateError(path, `is truncated or has trailing bytes`);
  return decodeChecked(bytes, HEADER, bytes.length, crc, path);
}

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

/** Whether a key group read from a state file is still in its file (format 3). */
export function isStoredKeyGroup(
  group: KeyGroupSnapshot | Uint8Array | StoredKeyGroup,
): group is StoredKeyGroup {
  return (group as StoredKeyGroup).stored === true;
}

/** Whether a key group read from a state file is in the run encoding (visitKeyGroup reads it). */
export function isRunEncoded(group: KeyGroupSnapshot | Uint8Array | StoredKeyGroup): group is Uint8Array {
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

/**
 * A key group read back from a state file (`path` names the file in errors); format 1 held objects,
 * format 3 leaves them in the file (read now).
 */
export function decodeKeyGroup(
  stored: KeyGroupSnapshot | Uint8Array | StoredKeyGroup,
  path: string,
): KeyGroupSnapshot {
  const group = isStoredKeyGroup(stored) ? stored.read() : stored;
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
