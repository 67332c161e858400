// The embedded store's snapshots without a long-lived read transaction: the undo log. From the
// moment a snapshot is taken (its barrier) until it is released, every write to LMDB of a key the
// snapshot has not read yet first keeps that key's value at the barrier, or its absence, under an
// undo key of the snapshot — in the same write transaction, only the first time the key is written.
// A range of the snapshot is then the store's entries as of now with the undo entries over them,
// both read in one read transaction (in several, one after another, when the store's map passes its
// bound meanwhile: each part after the last key of the one before). Undo keys sort after every store key: [0xff 0xff][snapshot id:
// u32 BE][store key] (store keys start with a key group, below 2^15). Whole key groups the snapshot
// has read are not logged any more (a checkpoint reads each key group once).
//
// A store key too long to fit after the undo key's header (LMDB's keys hold at most MAX_KEY_BYTES)
// is logged under a key of exactly MAX_KEY_BYTES: the header, the store key's first LONG_PREFIX
// bytes and its SHA-256; its entry's value carries the whole store key. Such undo keys sort by
// their store key's prefix only, so a range that holds any is put back in store-key order.

import { createHash } from "node:crypto";
import type { RootDatabase } from "lmdb";
import { type MappedEnvironment, PAGE_BYTES, TOUCH_BYTES } from "./mapped-environment.ts";
import { prefixEnd } from "./store-keys.ts";

/** The first key after every store key: where the undo log starts. */
export const UNDO_START = Buffer.from([0xff, 0xff]);
const UNDO_HEADER = 6;
/**
 * LMDB's largest key (lmdb's default for 4 KiB pages, open.js DEFAULT_MAX_KEY_SIZE; the store opens
 * its environments without a page size). Store keys up to it are accepted; longer ones fail in LMDB.
 */
export const MAX_KEY_BYTES = 1978;
const DIGEST_BYTES = 32;
/** Store keys longer than this are logged under a long undo key (the header and key would not fit). */
export const SHORT_KEY_MAX = MAX_KEY_BYTES - UNDO_HEADER - 1;
/** Bytes of the store key at the start of a long undo key (then its SHA-256): MAX_KEY_BYTES in all. */
const LONG_PREFIX = MAX_KEY_BYTES - UNDO_HEADER - DIGEST_BYTES;
/** An undo entry's value starts with a tag: bit 0 set, the key had a value at the barrier (which follows). */
const PRESENT = 1;
/** Bit 1 set: a long undo key; [u16 BE store key length][store key] follow the tag, then the value. */
const LONG = 2;
/**
 * Map bytes a scan counts per byte it passes: the pages of a key group lie anywhere in the file
 * (keys were written in random order), and Linux maps a 64 KiB block around each page it faults in.
 */
const SCAN_TOUCH_FACTOR = TOUCH_BYTES / PAGE_BYTES;
/** An undo entry's value: the key was absent at the barrier. */
const ABSENT = Buffer.from([0]);
/** Undo entries removed per write transaction when a snapshot is released. */
const REMOVED_PER_TRANSACTION = 4096;

const UNREAD = 0;
const READ = 1;
/** Read, then written: a second read would not see the barrier's values. */
const READ_THEN_WRITTEN = 2;

/** One open snapshot's part of the log. */
export interface SnapshotLog {
  readonly id: number;
  /** Per key group (the key's first two bytes): UNREAD, READ or READ_THEN_WRITTEN. */
  readonly groups: Uint8Array;
  /** Undo entries it holds. */
  entries: number;
}

export class UndoLog {
  /** Open snapshots, oldest first. */
  readonly open: SnapshotLog[] = [];
  private nextId = 0;
  private keyScratch = Buffer.allocUnsafe(256);
  private valueScratch = Buffer.allocUnsafe(256);

  begin(): SnapshotLog {
    const log: SnapshotLog = { id: this.nextId++ >>> 0, groups: new Uint8Array(65536), entries: 0 };
    this.open.push(log);
    return log;
  }

  /**
   * Keeps the value `key` has in `db` now (LMDB's, before this write: call in the write
   * transaction, before the write) for every open snapshot that has not read its key group.
   * `mayExist` false: the key is known absent (skips a lookup).
   */
  preserve(db: RootDatabase<Buffer, Buffer>, key: Buffer, mayExist: boolean): void {
    const kg = key.length >= 2 ? (key[0]! << 8) | key[1]! : -1;
    for (const log of this.open) {
      if (kg >= 0) {
        const state = log.groups[kg];
        if (state === READ) log.groups[kg] = READ_THEN_WRITTEN;
        if (state !== UNREAD) continue;
      }
      const undoKey = this.undoKey(log.id, key);
      if (db.getBinaryFast(undoKey) !== undefined) continue; // kept at an earlier write
      const old = mayExist ? db.getBinaryFast(key) : undefined;
      // `old` is lmdb's shared read buffer (its `length` set to the value's): copied before the
      // next call into lmdb.
      const n = old === undefined ? 0 : old.length;
      const long = key.length > SHORT_KEY_MAX;
      let value = ABSENT;
      if (old !== undefined || long) {
        const head = long ? 3 + key.length : 1;
        if (head + n > this.valueScratch.length) this.valueScratch = Buffer.allocUnsafe(2 * (head + n));
        const v = this.valueScratch;
        v[0] = (old === undefined ? 0 : PRESENT) | (long ? LONG : 0);
        if (long) {
          v.writeUInt16BE(key.length, 1);
          key.copy(v, 3);
        }
        if (old !== undefined) v.set(old.subarray(0, n), head);
        value = v.subarray(0, head + n);
      }
      db.putSync(this.undoKey(log.id, key), value);
      log.entries++;
    }
  }

  /** Whether [start, end) can be read as of the snapshot (not a whole key group read and written since). */
  readable(log: SnapshotLog, start: Buffer, end: Buffer | undefined): boolean {
    const kg = wholeKeyGroup(start, end);
    return kg < 0 || log.groups[kg] !== READ_THEN_WRITTEN;
  }

  /**
   * The entries in [start, end) as of the snapshot; values are views valid until the next step. A
   * whole key group read to its end is marked read. Read in one read transaction of `env` unless
   * the map passes its limit meanwhile: then the transaction ends after the last entry given, the
   * store reopens its environment, and the rest is read in a new transaction (with the undo entries
   * as they are then: a key written in between has its barrier value there).
   */
  *read(
    env: MappedEnvironment,
    log: SnapshotLog,
    start: Buffer,
    end: Buffer | undefined,
  ): Generator<[Buffer, Buffer]> {
    const stop = end === undefined || Buffer.compare(end, UNDO_START) > 0 ? UNDO_START : end;
    const kg = wholeKeyGroup(start, end);
    let after: Buffer | undefined;
    for (;;) {
      after = yield* this.readPart(env, log, start, after, stop);
      if (after === undefined) break;
      env.reopenIfMapped();
    }
    if (kg >= 0 && log.groups[kg] === UNREAD) log.groups[kg] = READ;
  }

  /**
   * The entries in [start, stop) after `after` (all when undefined) in one read transaction, until
   * the map may be unmapped: returns the last key given then (a copy), undefined at the end.
   */
  private *readPart(
    env: MappedEnvironment,
    log: SnapshotLog,
    start: Buffer,
    after: Buffer | undefined,
    stop: Buffer,
  ): Generator<[Buffer, Buffer], Buffer | undefined> {
    const from = after ?? start;
    // The undo keys of the range's store keys lie in [undoStart, undoEnd): bounds longer than a
    // long undo key's prefix are cut to it (the range then holds more, filtered below).
    const exact = after !== undefined || from.length > LONG_PREFIX || stop.length > LONG_PREFIX;
    const undoStart = Buffer.from(this.undoBound(log.id, from.subarray(0, LONG_PREFIX)));
    const stopPrefixEnd = stop.length > LONG_PREFIX ? prefixEnd(stop.subarray(0, LONG_PREFIX)) : stop;
    const undoEnd =
      stopPrefixEnd === undefined ? this.logEnd(log.id) : Buffer.from(this.undoBound(log.id, stopPrefixEnd));
    env.scans++;
    const db = env.db;
    const txn = db.useReadTransaction();
    try {
      env.touched += 4 * TOUCH_BYTES;
      // The undo entries of the range first, copied (as many as the range's keys written since the
      // barrier: at most a key group's entries when the checkpoint reads key groups).
      let undoKeys: Buffer[] = [];
      let undoValues: Array<Buffer | undefined> = [];
      let unordered = false;
      for (const { key, value } of db.getRange({ start: undoStart, end: undoEnd, transaction: txn })) {
        env.touched += (key.length + value.length + 16) * SCAN_TOUCH_FACTOR;
        const tag = value[0]!;
        let storeKey: Buffer;
        let at = 1;
        if ((tag & LONG) !== 0) {
          const n = value.readUInt16BE(1);
          storeKey = Buffer.from(value.subarray(3, 3 + n));
          at = 3 + n;
          unordered = true;
        } else storeKey = Buffer.from(key.subarray(UNDO_HEADER));
        if (
          exact &&
          (Buffer.compare(storeKey, from) < (after === undefined ? 0 : 1) ||
            Buffer.compare(storeKey, stop) >= 0)
        ) {
          continue;
        }
        undoKeys.push(storeKey);
        undoValues.push((tag & PRESENT) !== 0 ? Buffer.from(value.subarray(at)) : undefined);
      }
      if (unordered) {
        // Long undo keys sort by a prefix of their store key: back to store-key order.
        const order = undoKeys.map((_, i) => i).sort((a, b) => Buffer.compare(undoKeys[a]!, undoKeys[b]!));
        undoValues = order.map((i) => undoValues[i]);
        undoKeys = order.map((i) => undoKeys[i]!);
      }
      let u = 0;
      for (const { key, value } of db.getRange({
        start: from,
        exclusiveStart: after !== undefined,
        end: stop,
        transaction: txn,
      })) {
        env.touched += (key.length + value.length + 16) * SCAN_TOUCH_FACTOR;
        for (; u < undoKeys.length; u++) {
          const c = Buffer.compare(undoKeys[u]!, key);
          if (c > 0) break;
          const old = undoValues[u];
          if (c === 0) {
            // Written since the barrier: its value then (none if it was absent).
            if (old !== undefined) yield [undoKeys[u]!, old];
            break;
          }
          if (old !== undefined) yield [undoKeys[u]!, old]; // deleted since the barrier
        }
        if (u < undoKeys.length && undoKeys[u]!.equals(key)) u++;
        else yield [key, value];
        if (env.touched > env.limit && this.mayReopen(env)) return Buffer.from(key);
      }
      for (; u < undoKeys.length; u++) {
        const old = undoValues[u];
        if (old !== undefined) yield [undoKeys[u]!, old];
      }
      return undefined;
    } finally {
      txn.done();
      env.scans--;
    }
  }

  /** Whether `env` would reopen (its map over the limit) once this read's own scan ends. */
  private mayReopen(env: MappedEnvironment): boolean {
    env.scans--;
    try {
      return env.overLimit();
    } finally {
      env.scans++;
    }
  }

  /** Removes a released snapshot's undo entries, in write transactions of bounded size. */
  release(env: MappedEnvironment, log: SnapshotLog): void {
    const i = this.open.indexOf(log);
    if (i >= 0) this.open.splice(i, 1);
    const start = Buffer.from(this.undoBound(log.id, Buffer.alloc(0)));
    const end = this.logEnd(log.id);
    while (log.entries > 0) {
      env.reopenIfMapped();
      const db = env.db;
      const keys: Buffer[] = [];
      for (const key of db.getKeys({ start, end, limit: REMOVED_PER_TRANSACTION })) {
        keys.push(key);
      }
      if (keys.length === 0) break;
      db.transactionSync(() => {
        for (const key of keys) db.removeSync(key);
      });
      env.touched += keys.length * 64 + TOUCH_BYTES;
      log.entries -= keys.length;
    }
    log.entries = 0;
  }

  /**
   * The undo key of store key `key` for snapshot `id` in a scratch buffer, valid until the next
   * call: [0xff 0xff][id][key], or for a key longer than SHORT_KEY_MAX [0xff 0xff][id][its first
   * LONG_PREFIX bytes][its SHA-256] (MAX_KEY_BYTES in all: no short undo key is that long).
   */
  private undoKey(id: number, key: Buffer): Buffer {
    if (key.length <= SHORT_KEY_MAX) return this.undoBound(id, key);
    const digest = createHash("sha256").update(key).digest();
    // The header and prefix in the scratch buffer, which undoBound grew to MAX_KEY_BYTES or more.
    this.undoBound(id, key.subarray(0, LONG_PREFIX));
    digest.copy(this.keyScratch, UNDO_HEADER + LONG_PREFIX);
    return this.keyScratch.subarray(0, MAX_KEY_BYTES);
  }

  /** [0xff 0xff][id][bytes] in a scratch buffer, valid until the next call. */
  private undoBound(id: number, bytes: Buffer): Buffer {
    const n = UNDO_HEADER + bytes.length;
    if (n > this.keyScratch.length) this.keyScratch = Buffer.allocUnsafe(Math.max(2 * n, MAX_KEY_BYTES));
    const b = this.keyScratch;
    b[0] = 0xff;
    b[1] = 0xff;
    b.writeUInt32BE(id, 2);
    bytes.copy(b, UNDO_HEADER);
    return b.subarray(0, n);
  }

  /** The first key after snapshot `id`'s undo entries. */
  private logEnd(id: number): Buffer {
    return id === 0xffffffff
      ? Buffer.alloc(UNDO_HEADER + 1, 0xff)
      : Buffer.from(this.undoBound(id + 1, Buffer.alloc(0)));
  }
}

/** The key group [start, end) is exactly (groupStart(kg), groupStart(kg + 1)); -1 when none. */
function wholeKeyGroup(start: Buffer, end: Buffer | undefined): number {
  if (end === undefined || start.length !== 4 || end.length !== 4) return -1;
  if (start[2] !== 0 || start[3] !== 0 || end[2] !== 0 || end[3] !== 0) return -1;
  const kg = (start[0]! << 8) | start[1]!;
  return ((end[0]! << 8) | end[1]!) === kg + 1 ? kg : -1;
}
