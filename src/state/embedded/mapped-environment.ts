// An embedded store's LMDB environment, reopened to unmap its data file. LMDB reads its pages
// through a map of the file, and lmdb unmaps it only when the environment closes: every page a
// lookup or a write touched stays in the process's RSS (as file-backed pages). So the environment
// is closed and opened again once the map may hold more than its limit, at a point where no
// transaction or cursor of it is open (the store decides where).
//
// A closed environment is not garbage at once: the first read after an open arms lmdb's
// `setTimeout(resetReadTxn, 0)` (read.js), whose closure holds the environment's store objects
// (~16 KB of heap, measured by a heap snapshot) and their buffers (~70 KB, the 64 KiB write buffer
// among them) until the event loop turns. Synchronous code that reopens many times without a turn
// would pile them up (3,465 reopens in the 1M-key test's loop: 16 MB of heap retained per 1,035 of
// them, and a heap OOM at 96 MB), so reopens between two turns are capped; past the cap the map
// grows as if there were no limit until the loop turns (a task's executor turns it every ~10 ms).
// Only an environment read outside a write transaction is held: writes, and reads inside a write
// transaction, arm no timer (3,000 open / write / close cycles without a turn keep heap and
// buffers flat). So the cap counts only those, and a flush — write transactions alone, one
// synchronous call however many keys it writes — reopens as often as its map needs (before, a
// flush of ~500,000 random keys at 20M past the cap mapped the whole 1 GB data file).

import { EventEmitter } from "node:events";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";

/** LMDB's page size (the OS page size on Linux and x64 macOS), the unit of what a lookup maps. */
export const PAGE_BYTES = 4096;
/** Bytes of map per touch in the estimate: Linux's fault-around block. */
export const TOUCH_BYTES = 16 * PAGE_BYTES;
/** Heap and buffer bytes a closed environment holds until the event loop turns (measured ~86 KB). */
const RETAINED_PER_REOPEN = 96 * 1024;
/** The fewest reopens allowed between two turns of the event loop, whatever the limit. */
const MIN_REOPENS_PER_TURN = 2;

type Lmdb = typeof import("lmdb");
let lmdb: Lmdb | undefined;

/**
 * lmdb, loaded by the first store of a thread: loading it (a native addon) costs ~0.1 s of CPU per
 * thread, which every slot's worker thread paid at start even when its job keeps state on the heap.
 */
function lmdbModule(): Lmdb {
  lmdb ??= createRequire(import.meta.url)("lmdb") as Lmdb;
  return lmdb;
}

/** LMDB settings of every environment: durability off (state comes back from checkpoints). */
function openEnvironment(path: string): RootDatabase<Buffer, Buffer> {
  const options: Parameters<Lmdb["open"]>[0] & { noReadAhead: boolean } = {
    path,
    keyEncoding: "binary",
    encoding: "binary",
    compression: false,
    cache: false,
    noSync: true,
    noMetaSync: true,
    noMemInit: true,
    // MADV_RANDOM on the map: a read of one page does not read its neighbours in (an option of
    // lmdb's open that its types do not declare).
    noReadAhead: true,
    // Address space only, the file grows as needed: no remap while the store grows to 16 GiB
    // (lmdb grows the map past it). Not more: many stores can be open in one process.
    mapSize: 2 ** 34,
  };
  return lmdbModule().open<Buffer, Buffer>(options);
}

/**
 * An LMDB environment reopened (which unmaps its data file) once the file-backed memory of the
 * process grew by more than `limit` since it last opened. Checked when `touched`, an upper estimate
 * of the map bytes touched since the last check, passes the limit: Linux maps a 64 KiB block around
 * each page fault of a file already in the page cache (fault-around), so an estimate per page
 * would be 16 times short, and one per block is as many times too much when writes in key order
 * share blocks. The check reads the process's file-backed pages (/proc/self/statm, ~40 µs); where
 * there is none the estimate decides alone. Never more than the data file holds.
 */
export class MappedEnvironment {
  db: RootDatabase<Buffer, Buffer>;
  /** Estimated bytes of the map touched since the last check (or reopen). */
  touched = 0;
  /** Open scans (their cursors would not survive a reopen): no reopen meanwhile. */
  scans = 0;
  reopens = 0;
  /** Reopens since the event loop last turned (their closed environments are still held). */
  private reopensThisTurn = 0;
  private readonly reopensPerTurn: number;
  private turnPending = false;
  /** Whether lmdb armed its read timer on the open environment (a read outside a write transaction). */
  private armed = false;
  /** Environments closed with lmdb's read timer armed, in all. */
  private armedClosed = 0;
  /** The process's file-backed bytes when the environment was last opened (undefined: unknown). */
  private base: number | undefined;
  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    this.db = this.open();
    this.base = fileBackedBytes();
    // What the closed environments of one turn hold: at most a sixteenth of the limit (a 64th of
    // the store's managed memory), 10 reopens at 64 MiB, 42 at 256 MiB.
    this.reopensPerTurn = Math.max(MIN_REOPENS_PER_TURN, Math.floor(limit / 16 / RETAINED_PER_REOPEN));
  }

  /** Whether the map may have passed the limit and can be unmapped now; sets `touched` otherwise. */
  overLimit(): boolean {
    if (
      this.touched <= this.limit ||
      this.scans > 0 ||
      (this.armed && this.reopensThisTurn >= this.reopensPerTurn)
    ) {
      return false;
    }
    // The pages touched are pages of the file: a file under the limit needs no reopen yet.
    const fileBytes = statSync(join(this.path, "data.mdb")).size;
    if (fileBytes <= this.limit) {
      this.touched = Math.min(fileBytes, this.limit - this.limit / 8);
      return false;
    }
    const now = fileBackedBytes();
    if (now === undefined || this.base === undefined) return true;
    const grown = now - this.base;
    if (grown > this.limit) return true;
    // Check again after an eighth of the limit at least: with the map just under the limit, a
    // check every few touches would cost more than the touches (the map may pass by an eighth).
    this.touched = Math.min(Math.max(0, grown), this.limit - this.limit / 8);
    return false;
  }

  reopenIfMapped(): void {
    if (this.overLimit()) this.reopen();
  }

  private reopen(): void {
    // Synchronous: lmdb's close of a root database returns a settled promise when no write of its
    // own asynchronous API is pending (the store uses none), and unmaps the file.
    const armed = this.armed;
    void this.db.close();
    this.db = this.open();
    this.touched = 0;
    this.base = fileBackedBytes();
    this.reopens++;
    if (armed) {
      this.armedClosed++;
      this.reopensThisTurn++;
      if (!this.turnPending) this.awaitTurn();
    }
  }

  /**
   * Opens the environment, noting when lmdb arms its read timer: it emits 'begin-transaction' there
   * (read.js renewReadTxn) and when a write transaction begins (env.writeTxn then set). lmdb's own
   * `on` passes only its commit events on, so the listener is added by EventEmitter's.
   */
  private open(): RootDatabase<Buffer, Buffer> {
    this.armed = false;
    const db = openEnvironment(this.path);
    const env = (db as unknown as { env: { writeTxn?: unknown } }).env;
    EventEmitter.prototype.on.call(db, "begin-transaction", () => {
      if (!env.writeTxn) this.armed = true;
    });
    return db;
  }

  /**
   * Counts down the reopens whose closed environments lmdb's timers released. Timers of one
   * duration run in the order they were set: when this one runs, the environments closed so far
   * have been released, but not those closed after it was set (lmdb set their timers later).
   */
  private awaitTurn(): void {
    this.turnPending = true;
    const closedBefore = this.armedClosed;
    setTimeout(() => {
      this.turnPending = false;
      this.reopensThisTurn = this.armedClosed - closedBefore;
      if (this.reopensThisTurn > 0) this.awaitTurn();
    }, 0).unref();
  }

  close(): void {
    void this.db.close().catch(() => {});
  }
}

let statmUnavailable = false;

/** File-backed (and shared) resident bytes of the process, from /proc/self/statm; undefined off Linux. */
function fileBackedBytes(): number | undefined {
  if (statmUnavailable) return undefined;
  try {
    const fields = readFileSync("/proc/self/statm", "latin1").split(" ");
    return Number(fields[2]) * PAGE_BYTES;
  } catch {
    statmUnavailable = true;
    return undefined;
  }
}
