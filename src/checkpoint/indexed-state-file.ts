// State file format 3: a task's snapshot with its key groups after it and an index of them at
// the end, so that a restore reads the key groups it owns one at a time from the file, each when
// its operator restores it, instead of the whole file first (formats 1 and 2 hold the key groups
// inside the snapshot's GENERIC payload: a reader had to read and decode all of it).
//
//   header     "WEIRS", u32 3, u32 length and u32 CRC-32 of the snapshot (state-file.ts)
//   snapshot   the task's snapshot (GENERIC), its keyed operators without their key groups
//   key groups each key group's bytes (encodeKeyGroupFrom), one after another
//   index      GENERIC: [operator uid, key group, offset in the file, length, CRC-32] per key group
//   trailer    f64 offset of the index, u32 its length, u32 its CRC-32, "WKGI"
//
// The writer streams it (streamTaskSnapshot in snapshot-writer.ts): the snapshot, then each key
// group as soon as it is encoded, then the index; the header goes over a placeholder at the end.
// From a local file the key groups are read with positioned reads (readStateFileAt); from bytes
// held whole (S3 objects, which are read whole) they are views of them (decodeStateBytes). A key
// group's CRC-32 is checked when it is read: corruption is reported naming the file, the key
// group and its operator.

import { closeSync, fstatSync, fsync, openSync, readSync, write } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { DataInputDeserializer, DataOutputSerializer } from "../core/data-io.ts";
import { Types } from "../core/types/types.ts";
import type { StoredKeyGroup, TaskSnapshot } from "../runtime/snapshot.ts";
import {
  CorruptStateError,
  crc32,
  decodeChecked,
  decodeStateFile,
  readStateFileHeader,
  STATE_FILE_HEADER_BYTES,
  type StreamedStateFile,
  stateFileHeader,
} from "./state-file.ts";

export const INDEXED_STATE_FORMAT = 3;
const TRAILER_MAGIC = [0x57, 0x4b, 0x47, 0x49]; // "WKGI"
const TRAILER = 8 + 4 + 4 + TRAILER_MAGIC.length;
const HEADER = STATE_FILE_HEADER_BYTES;

const generic = Types.GENERIC.createSerializer();

/** One key group in the index: [operator uid, key group, offset, length, CRC-32]. */
export type IndexEntry = [string, number, number, number, number];

/** The header of a format-3 file whose snapshot has `length` bytes with CRC-32 `crc`. */
export function indexedStateFileHeader(length: number, crc: number): Uint8Array {
  return stateFileHeader(length, crc, INDEXED_STATE_FORMAT);
}

/** A snapshot encoded as format 3 holds it: GENERIC, without the key groups of `keyed` operators. */
export function encodeSnapshotPart(snapshot: TaskSnapshot, keyed: ReadonlySet<string>): Uint8Array {
  const operators: TaskSnapshot["operators"] = {};
  for (const [uid, op] of Object.entries(snapshot.operators)) {
    const { keyedState: _captured, pendingCustom: _pending, ...plain } = op;
    if (keyed.has(uid)) delete plain.keyGroups;
    operators[uid] = plain;
  }
  const out = new DataOutputSerializer(4096);
  generic.write({ ...snapshot, operators }, out);
  const bytes = new Uint8Array(out.position);
  bytes.set(out.view());
  return bytes;
}

/** The index of a format-3 file and its trailer, the index starting at `offset`. */
export function encodeIndexAndTrailer(index: IndexEntry[], offset: number): Uint8Array {
  const out = new DataOutputSerializer(64 + index.length * 24);
  generic.write(index, out);
  const length = out.position;
  const crc = crc32(out.view());
  out.writeF64(offset);
  out.writeU32(length);
  out.writeU32(crc);
  for (const b of TRAILER_MAGIC) out.writeU8(b);
  const bytes = new Uint8Array(out.position);
  bytes.set(out.view());
  return bytes;
}

/**
 * A whole format-3 file holding one key group of operator `uid` (an incremental checkpoint's shared
 * file): a restore reads its snapshot and index first and the key group when the operator restores it.
 */
export function encodeKeyGroupFile(uid: string, keyGroup: number, bytes: Uint8Array): Uint8Array {
  const part = encodeSnapshotPart({ operators: { [uid]: {} } }, new Set([uid]));
  const offset = HEADER + part.length;
  const tail = encodeIndexAndTrailer(
    [[uid, keyGroup, offset, bytes.length, crc32(bytes)]],
    offset + bytes.length,
  );
  const file = new Uint8Array(offset + bytes.length + tail.length);
  file.set(indexedStateFileHeader(part.length, crc32(part)), 0);
  file.set(part, HEADER);
  file.set(bytes, offset);
  file.set(tail, offset + bytes.length);
  return file;
}

/** Where a format-3 file's parts are, read from its trailer and index. */
interface Layout {
  snapshotEnd: number;
  index: IndexEntry[];
}

/**
 * Reads the trailer (the file's last TRAILER bytes, `trailer`) and the index (`readIndex(offset,
 * length)`) of a format-3 file of `size` bytes whose snapshot has `snapshotLength` bytes; checks
 * that every part lies where it should.
 */
function readLayout(
  trailer: Uint8Array,
  size: number,
  snapshotLength: number,
  readIndex: (offset: number, length: number) => Uint8Array,
  path: string,
): Layout {
  const snapshotEnd = HEADER + snapshotLength;
  if (size < snapshotEnd + TRAILER) throw new CorruptStateError(path, "is truncated (no key-group index)");
  for (let i = 0; i < TRAILER_MAGIC.length; i++) {
    if (trailer[8 + 4 + 4 + i] !== TRAILER_MAGIC[i])
      throw new CorruptStateError(path, "is truncated or corrupt (no key-group index at its end)");
  }
  const dv = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  const offset = dv.getFloat64(0, true);
  const length = dv.getUint32(8, true);
  const crc = dv.getUint32(12, true);
  if (!Number.isSafeInteger(offset) || offset < snapshotEnd || offset + length + TRAILER !== size)
    throw new CorruptStateError(path, "has a corrupt key-group index (it is not where its trailer says)");
  const bytes = readIndex(offset, length);
  if (crc32(bytes) !== crc)
    throw new CorruptStateError(path, "has a corrupt key-group index (checksum mismatch)");
  let index: IndexEntry[];
  try {
    index = generic.read(new DataInputDeserializer(bytes, 0, bytes.length)) as IndexEntry[];
  } catch (e) {
    throw new CorruptStateError(
      path,
      `has a key-group index that cannot be decoded: ${(e as Error).message}`,
    );
  }
  for (const [uid, kg, at, len] of index) {
    if (!Number.isSafeInteger(at) || at < snapshotEnd || at + len > offset)
      throw new CorruptStateError(
        path,
        `has a corrupt key-group index (key group ${kg} of operator '${uid}' lies outside the file's key groups)`,
      );
  }
  return { snapshotEnd, index };
}

/** Attaches each key group of the index to its operator in `snapshot`, as `read` gives it. */
function attachKeyGroups(
  snapshot: TaskSnapshot,
  index: IndexEntry[],
  read: (entry: IndexEntry) => Uint8Array,
  path: string,
): TaskSnapshot {
  for (const entry of index) {
    const [uid, kg, , , crc] = entry;
    const stored: StoredKeyGroup = {
      stored: true,
      read() {
        const bytes = read(entry);
        if (crc32(bytes) !== crc)
          throw new CorruptStateError(
            path,
            `has key group ${kg} of operator '${uid}' corrupt (checksum mismatch)`,
          );
        return bytes;
      },
    };
    const op = (snapshot.operators[uid] ??= {});
    (op.keyGroups ??= []).push([kg, stored]);
  }
  return snapshot;
}

/** Decodes a state file of any format held whole in memory (an S3 object); format 3's key groups are views of `bytes`. */
export function decodeStateBytes(bytes: Uint8Array, path: string): unknown {
  const header = readStateFileHeader(bytes, path);
  if (header.version !== INDEXED_STATE_FORMAT) return decodeStateFile(bytes, path);
  const { snapshotEnd, index } = readLayout(
    bytes.subarray(Math.max(0, bytes.length - TRAILER)),
    bytes.length,
    header.length,
    (offset, length) => bytes.subarray(offset, offset + length),
    path,
  );
  const snapshot = decodeChecked(bytes, HEADER, snapshotEnd, header.crc, path) as TaskSnapshot;
  return attachKeyGroups(snapshot, index, ([, , at, len]) => bytes.subarray(at, at + len), path);
}

/**
 * Reads a local state file of any format: formats 1 and 2 whole; format 3 its header, snapshot
 * and index, its key groups read from the file when restored (positioned reads: the file is opened
 * for each, so nothing stays open after a restore). `missing` completes the message for a file that
 * is not there.
 */
export async function readStateFileAt(path: string, missing: string): Promise<unknown> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new CorruptStateError(path, missing);
  }
  let snapshot: TaskSnapshot;
  let index: IndexEntry[];
  try {
    const size = fstatSync(fd).size;
    const header = readStateFileHeader(readAt(fd, 0, Math.min(HEADER, size), path), path);
    if (header.version !== INDEXED_STATE_FORMAT) {
      closeSync(fd);
      fd = -1;
      return decodeStateFile(await readFile(path), path);
    }
    const layout = readLayout(
      readAt(fd, Math.max(0, size - TRAILER), Math.min(TRAILER, size), path),
      size,
      header.length,
      (offset, length) => readAt(fd, offset, length, path),
      path,
    );
    index = layout.index;
    const bytes = readAt(fd, HEADER, header.length, path);
    snapshot = decodeChecked(bytes, 0, bytes.length, header.crc, path) as TaskSnapshot;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return attachKeyGroups(snapshot, index, ([, , at, len]) => readKeyGroupAt(path, at, len, missing), path);
}

/** `length` bytes of the open file `fd` from `offset`; a short read means the file is truncated. */
function readAt(fd: number, offset: number, length: number, path: string): Uint8Array {
  const bytes = Buffer.allocUnsafe(length);
  for (let got = 0; got < length; ) {
    const n = readSync(fd, bytes, got, length - got, offset + got);
    if (n === 0) throw new CorruptStateError(path, "is truncated");
    got += n;
  }
  return bytes;
}

function readKeyGroupAt(path: string, offset: number, length: number, missing: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new CorruptStateError(path, missing);
  }
  try {
    return readAt(fd, offset, length, path);
  } finally {
    closeSync(fd);
  }
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);

/**
 * Writes a state file to `path` piece by piece as `file` produces it, then its header over its
 * start, then fsyncs it; resolves with its size (nodeDurableFs.writeStreamSynced).
 */
export async function writeStreamedFileSynced(path: string, file: StreamedStateFile): Promise<number> {
  const fd = openSync(path, "w");
  try {
    let size = 0;
    const put = async (data: Uint8Array, position: number | null) => {
      for (let at = 0; at < data.length; ) {
        const p = position === null ? null : position + at;
        at += (await writeAsync(fd, data, at, data.length - at, p)).bytesWritten;
      }
    };
    const header = await file.write(async (data) => {
      await put(data, null);
      size += data.length;
    });
    await put(header, 0);
    await fsyncAsync(fd);
    return size;
  } finally {
    closeSync(fd);
  }
}
