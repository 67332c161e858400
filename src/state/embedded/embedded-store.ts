// One operator subtask's on-disk store (an LMDB environment in its own directory) with a write-back
// cache in front of it, bounded by the store's share of managed memory (estimated bytes). Reads
// and writes of the record loop are synchronous: a read misses into LMDB (a memory-mapped B-tree
// lookup), a write only marks the cached entry dirty. When the cache reaches its budget, the dirty
// entries are written in key order in small LMDB transactions and the cache drops entries (least
// recently read first, by a second-chance sweep) down to half its budget. LMDB's pages are mapped
// from the file: they are the OS page cache, which the kernel reclaims, not part of the budget
// (they count in RSS as file-backed pages). A Bloom filter of the keys written to LMDB (key-filter.ts)
// answers reads of keys never written without a lookup. Range scans write the dirty entries first
// and then read LMDB alone. Durability is off (noSync): a crash loses the store, and state comes
// back from the last checkpoint.
//
// LMDB's map of its data file is bounded by reopening the environment (mapped-environment.ts) at
// points where no transaction or cursor of the store is open: between two write transactions of a
// flush, before a lookup, between two scans. A snapshot for a checkpoint holds no transaction: the
// barrier writes the dirty entries and nothing more, and from then until the snapshot is released
// every write to LMDB of a key in a key group the snapshot has not read yet first keeps the key's
// value at the barrier (or its absence) in an undo log, under keys of its own after every key group,
// in the same write transaction. A key group of the snapshot is read in a read transaction (or in
// parts, reopening between them, when the map passes its bound), the store's entries with the undo
// log's over them; the log goes when the snapshot is released.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";
import { DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import { InvalidArgumentError, WeirError } from "../../core/errors.ts";
import { KeyFilter } from "./key-filter.ts";
import { MappedEnvironment, PAGE_BYTES, TOUCH_BYTES } from "./mapped-environment.ts";
import { MAX_KEY_BYTES, UNDO_START, UndoLog } from "./snapshot-undo-log.ts";
import { cacheKeyOf, ScratchReader } from "./store-keys.ts";
import type { ValueCodec } from "./value-codecs.ts";

/** A cached store entry: `value` in decoded (heap) form; undefined = absent (a tombstone when dirty). */
interface CacheEntry {
  value: unknown;
  codec: ValueCodec;
  /** Estimated heap bytes of the entry (key, value, Map slot). */
  size: number;
  dirty: boolean;
  /** Read from the cache since the last eviction sweep (a second chance: hot entries survive one sweep). */
  hot: boolean;
}

export interface EmbeddedStoreOptions {
  /** The parent of the store's directory (default: the OS temp directory). */
  localDirectory?: string;
  /**
   * The store's share of managed memory in bytes (default 64 MiB): half bounds the write-back
   * cache on the heap, an eighth is the Bloom filter of the written keys; the rest is headroom for
   * what the cache's estimate does not see (evicted entries not yet collected by V8, the sort of a
   * flush, LMDB's transaction pages).
   */
  managedMemoryBytes?: number;
  /** An extra bound on the number of cached entries (tests use a small one to exercise eviction). */
  cacheEntries?: number;
  /**
   * Bytes of LMDB's map the store lets stay mapped before it reopens the environment (default: a
   * quarter of managed memory, at least MIN_MAPPED_BYTES; tests set a small one).
   */
  mappedBytes?: number;
}

export interface ScanOptions {
  limit?: number | undefined;
  exclusiveStart?: boolean;
  /** Write the dirty cache entries first (default true). */
  flush?: boolean;
}

export const DEFAULT_MANAGED_MEMORY_BYTES = 64 * 2 ** 20;
/** The smallest managed memory a store accepts (its cache and map would thrash below it). */
export const MIN_MANAGED_MEMORY_BYTES = 2 ** 20;

/**
 * The least map bound by default: below it the reopens cost more CPU than the map saves (16 MiB
 * of managed memory, a 4 MiB bound: a reopen every ~64 random lookups, 4-6 times the job's CPU in
 * test/state/embedded-memory-budget's child).
 */
export const MIN_MAPPED_BYTES = 32 * 2 ** 20;

/** Heap bytes of a cache entry besides its key text and value: Map slot, entry object, string header. */
const ENTRY_OVERHEAD = 112;
/**
 * Dirty entries written per LMDB transaction: a transaction holds a copy of each page it changes
 * (malloc'd, off the JS heap) until it commits, at most this many 4 KiB pages (16 MiB).
 */
const KEYS_PER_TRANSACTION = 4096;

/** A read-only view of the store at one moment (see EmbeddedStore.readSnapshot). */
export interface StoreSnapshot {
  /** The entries in [start, end) as of the snapshot; values are views valid until the next step. */
  scan(start: Buffer, end: Buffer): Generator<[Buffer, Buffer]>;
  done(): void;
}

/** The store's directory or files could not be created or used. */
export class StateStoreError extends WeirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IO", message, options);
  }
}

export class EmbeddedStore {
  readonly directory: string;
  private env: MappedEnvironment;
  /** Bytes of LMDB's map the store lets stay mapped before it reopens the environment. */
  private readonly mappedLimit: number;
  /** What open snapshots need of the values the store overwrites (snapshot-undo-log.ts). */
  private readonly undo = new UndoLog();
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheBytesLimit: number;
  private readonly cacheEntriesLimit: number;
  /** The keys written to LMDB: a read of a key not in it skips the lookup. */
  private readonly filter: KeyFilter;
  private misses = 0;
  private filtered = 0;
  private cacheBytes = 0;
  private dirty = 0;
  private disposed = false;
  private readonly out = new DataOutputSerializer(1024);
  private readonly input = new DataInputDeserializer();
  private readonly scanReader = new ScratchReader();
  private keyScratch = Buffer.allocUnsafe(256);
  /** The entries the flush's open transaction wrote (marked clean when it commits). */
  private readonly written: CacheEntry[] = [];

  constructor(options: EmbeddedStoreOptions = {}) {
    const parent = options.localDirectory ?? tmpdir();
    const managed = Math.max(
      MIN_MANAGED_MEMORY_BYTES,
      options.managedMemoryBytes ?? DEFAULT_MANAGED_MEMORY_BYTES,
    );
    this.cacheBytesLimit = Math.floor(managed / 2);
    this.cacheEntriesLimit = Math.max(1, options.cacheEntries ?? Number.MAX_SAFE_INTEGER);
    this.filter = new KeyFilter(Math.floor(managed / 8));
    this.mappedLimit = Math.max(
      1,
      options.mappedBytes ?? Math.max(Math.floor(managed / 4), MIN_MAPPED_BYTES),
    );
    try {
      mkdirSync(parent, { recursive: true });
      this.directory = mkdtempSync(join(parent, "weir-state-"));
      this.env = new MappedEnvironment(this.directory, this.mappedLimit);
    } catch (e) {
      throw new StateStoreError(
        `cannot create the embedded state store under '${parent}': ${(e as Error).message}; set the state backend's local directory to a writable local disk`,
        { cause: e },
      );
    }
  }

  /** The decoded value under `key` (its latin1 text is `ck`), through the cache. */
  get(key: Buffer, ck: string, codec: ValueCodec): unknown {
    const e = this.cache.get(ck);
    if (e !== undefined) {
      e.hot = true;
      return e.value;
    }
    this.misses++;
    let raw: Buffer | undefined;
    // A key too long to be written is absent (and LMDB refuses to look it up).
    if (ck.length <= MAX_KEY_BYTES && this.filter.mayContain(ck)) {
      const env = this.env;
      env.reopenIfMapped();
      raw = env.db.getBinaryFast(key);
      // A lookup maps a leaf page and its block (the branch pages above it are few and shared),
      // and the value's overflow pages when it spans any.
      env.touched +=
        raw === undefined || raw.length < PAGE_BYTES / 2 ? TOUCH_BYTES : TOUCH_BYTES + raw.length;
    } else this.filtered++;
    let value: unknown;
    let size = ENTRY_OVERHEAD + ck.length;
    if (raw !== undefined) {
      this.input.setBuffer(raw, 0, raw.length);
      value = codec.decode(this.input);
      size += valueBytes(raw.length);
    }
    this.add(ck, { value, codec, size, dirty: false, hot: false });
    return value;
  }

  /** Sets (undefined: deletes) the value under `key`; written to LMDB at the next flush. */
  set(_key: Buffer, ck: string, value: unknown, codec: ValueCodec): void {
    // Refused here, with the record that wrote it: at the flush, LMDB would fail the whole batch.
    if (ck.length > MAX_KEY_BYTES) throw tooLongKey(ck.length);
    const e = this.cache.get(ck);
    if (e !== undefined) {
      // Not marked hot: a write follows the read of the same record, which counted as its use.
      e.value = value;
      e.codec = codec;
      if (!e.dirty) {
        e.dirty = true;
        this.dirty++;
      }
      // The value may have grown (a list appended to in place): estimate it again, so that the
      // cache's bytes follow what it holds between flushes, not only at them.
      const size = ENTRY_OVERHEAD + ck.length + roughValueBytes(value, 0);
      this.cacheBytes += size - e.size;
      e.size = size;
      if (this.cacheBytes > this.cacheBytesLimit) this.evict();
      return;
    }
    const size = ENTRY_OVERHEAD + ck.length + roughValueBytes(value, 0);
    this.add(ck, { value, codec, size, dirty: true, hot: false });
    this.dirty++;
  }

  private add(ck: string, e: CacheEntry): void {
    if (this.cacheBytes + e.size > this.cacheBytesLimit || this.cache.size >= this.cacheEntriesLimit) {
      this.evict();
    }
    this.cache.set(ck, e);
    this.cacheBytes += e.size;
  }

  /**
   * Writes the dirty entries to LMDB in key order; the cache keeps them (clean). Sorted, neighbouring
   * keys share B-tree pages, so each page is copied once per transaction. The entries go in
   * transactions of KEYS_PER_TRANSACTION keys, which bounds the pages a transaction holds.
   */
  flush(): void {
    this.checkOpen();
    if (this.dirty === 0) return;
    const keys: string[] = [];
    for (const [ck, e] of this.cache) if (e.dirty) keys.push(ck);
    keys.sort();
    const perTransaction = KEYS_PER_TRANSACTION;
    const env = this.env;
    const written = this.written;
    let from = 0;
    while (from < keys.length) {
      const to = Math.min(keys.length, from + perTransaction);
      env.reopenIfMapped();
      written.length = 0;
      // A transaction ends early when the map passed its limit: the next one starts after a reopen.
      from = env.db.transactionSync(() => this.writeEntries(keys, from, to));
      // Clean only once committed: a transaction that throws (a value that cannot be encoded) is
      // rolled back, and its entries stay dirty for the next flush.
      for (const e of written) e.dirty = false;
    }
    written.length = 0;
    this.dirty = 0;
  }

  /**
   * Writes keys[from, to) in the open transaction, their entries into `written`; returns where it
   * stopped (early: map over its limit).
   */
  private writeEntries(keys: readonly string[], from: number, to: number): number {
    const env = this.env;
    const db = env.db;
    const out = this.out;
    const cache = this.cache;
    const undo = this.undo;
    const written = this.written;
    for (let i = from; i < to; i++) {
      const ck = keys[i]!;
      const e = cache.get(ck)!;
      written.push(e);
      const key = this.keyBytes(ck);
      if (undo.open.length > 0) undo.preserve(db, key, this.filter.mayContain(ck));
      if (e.value === undefined) db.removeSync(key);
      else {
        out.clear();
        e.codec.encode(e.value, out);
        db.putSync(key, out.buffer.subarray(0, out.position));
        this.filter.add(ck);
        const size = ENTRY_OVERHEAD + ck.length + valueBytes(out.position);
        this.cacheBytes += size - e.size;
        e.size = size;
      }
      // A write reads the leaf it changes through the map (LMDB copies it into the transaction).
      const bytes = e.value === undefined ? 0 : out.position;
      env.touched += bytes < PAGE_BYTES / 2 ? TOUCH_BYTES : TOUCH_BYTES + bytes;
      if (env.touched > env.limit && i + 1 < to && env.overLimit()) return i + 1;
    }
    return to;
  }

  /** The bytes of a cache key (latin1 text) in a scratch buffer, valid until the next call. */
  private keyBytes(ck: string): Buffer {
    if (ck.length > this.keyScratch.length) this.keyScratch = Buffer.allocUnsafe(ck.length * 2);
    const n = this.keyScratch.write(ck, 0, "latin1");
    return this.keyScratch.subarray(0, n);
  }

  /**
   * Makes room: writes the dirty entries, then drops cached entries until the cache holds half of
   * its budget — first those not read since the last sweep (second chance), then the oldest.
   */
  private evict(): void {
    this.flush();
    const target = this.cacheBytesLimit / 2;
    const entriesTarget = Math.floor(this.cacheEntriesLimit / 2);
    const cache = this.cache;
    for (const [ck, e] of cache) {
      if (this.cacheBytes <= target && cache.size <= entriesTarget) break;
      if (e.hot) e.hot = false;
      else {
        cache.delete(ck);
        this.cacheBytes -= e.size;
      }
    }
    for (const [ck, e] of cache) {
      if (this.cacheBytes <= target && cache.size <= entriesTarget) break;
      cache.delete(ck);
      this.cacheBytes -= e.size;
    }
  }

  /**
   * The entries of LMDB in [start, end) in key order, after a flush (so they include every write
   * so far; `flush: false` skips it). A snapshot of the store: writes during the iteration are
   * not seen by it. The value is a view valid until the next step; the key may be kept.
   */
  *scan(start: Buffer, end: Buffer | undefined, options: ScanOptions = {}): Generator<[Buffer, Buffer]> {
    if (options.flush !== false) this.flush();
    else this.checkOpen();
    const env = this.env;
    env.reopenIfMapped();
    yield* scanEnvironment(env, {
      start,
      // Never into the undo log of the snapshots.
      end: end === undefined || Buffer.compare(end, UNDO_START) > 0 ? UNDO_START : end,
      limit: options.limit,
      exclusiveStart: options.exclusiveStart,
      snapshot: true,
    });
  }

  /**
   * A consistent view of the store as of now, for a snapshot read while the task goes on: writes
   * the dirty entries, and from then until `done()` keeps in the undo log (snapshot-undo-log.ts)
   * the value as of now of every key the store writes to LMDB before the view has read its key
   * group. Nothing is copied and no transaction is held, so the store reopens its environment while
   * the view is read (between two ranges), as at any other time. Each whole key group can be read
   * once after the store wrote to it (a checkpoint reads each once); other ranges any number of times.
   */
  readSnapshot(): StoreSnapshot {
    this.flush();
    const undo = this.undo;
    const log = undo.begin();
    let open = true;
    return {
      scan: (start, end) => {
        if (!open) throw new StateStoreError("the store snapshot was already released");
        // A snapshot is read asynchronously (the checkpoint writer); a failing task disposes its
        // store meanwhile: the checkpoint it was for cannot complete.
        if (this.disposed) {
          throw new StateStoreError(
            `the embedded state store '${this.directory}' was disposed while a snapshot of it was read (its task closed); the checkpoint it was for cannot complete`,
          );
        }
        if (!undo.readable(log, start, end)) {
          throw new StateStoreError(
            `key group ${(start[0]! << 8) | start[1]!} of a snapshot of the embedded state store '${this.directory}' was already read and written to since: a snapshot reads each key group once`,
          );
        }
        this.env.reopenIfMapped();
        return undo.read(this.env, log, start, end);
      },
      done: () => {
        if (!open) return;
        open = false;
        if (this.disposed) return;
        undo.release(this.env, log);
      },
    };
  }

  /** Entries the undo log holds for open snapshots (tests). */
  undoEntries(): number {
    let n = 0;
    for (const log of this.undo.open) n += log.entries;
    return n;
  }

  /** Decodes a value returned by scan(). */
  decode(raw: Buffer, codec: ValueCodec): unknown {
    return codec.decode(this.scanReader.load(raw));
  }

  /** Writes encoded entries straight to LMDB (a restore); cached entries under these keys are dropped. */
  putAll(entries: Iterable<[Buffer, unknown, ValueCodec]>): void {
    this.flush();
    const env = this.env;
    env.reopenIfMapped();
    const db = env.db;
    const out = this.out;
    const undo = this.undo;
    db.transactionSync(() => {
      for (const [key, value, codec] of entries) {
        if (key.length > MAX_KEY_BYTES) throw tooLongKey(key.length);
        const ck = cacheKeyOf(key);
        this.drop(ck);
        if (undo.open.length > 0) undo.preserve(db, key, true);
        out.clear();
        codec.encode(value, out);
        db.putSync(key, out.buffer.subarray(0, out.position));
        env.touched += TOUCH_BYTES + out.position;
        this.filter.add(ck);
      }
    });
  }

  /**
   * Writes entries already encoded straight to LMDB in one transaction (a restore that copies a
   * checkpoint's bytes): `fill` calls `put` per entry; key and value are copied during the call.
   * Cached entries under these keys are dropped.
   */
  putEncoded(fill: (put: (key: Buffer, value: Uint8Array) => void) => void): void {
    this.flush();
    const env = this.env;
    env.reopenIfMapped();
    const db = env.db;
    const filter = this.filter;
    const undo = this.undo;
    db.transactionSync(() =>
      fill((key, value) => {
        if (key.length > MAX_KEY_BYTES) throw tooLongKey(key.length);
        if (this.cache.size > 0) this.drop(cacheKeyOf(key));
        if (undo.open.length > 0) undo.preserve(db, key, true);
        db.putSync(
          key,
          Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length),
        );
        // A restore writes keys in order, appending to the tree: the bytes written, not a page each.
        env.touched += key.length + value.length + 16;
        filter.addBytes(key);
      }),
    );
  }

  /** Deletes keys straight from LMDB (after a scan); cached entries under these keys are dropped. */
  removeAll(keys: readonly Buffer[]): void {
    if (keys.length === 0) return;
    this.flush();
    const env = this.env;
    env.reopenIfMapped();
    const db = env.db;
    db.transactionSync(() => {
      for (const key of keys) {
        this.drop(cacheKeyOf(key));
        if (this.undo.open.length > 0) this.undo.preserve(db, key, true);
        db.removeSync(key);
        env.touched += TOUCH_BYTES;
      }
    });
  }

  private drop(ck: string): void {
    const e = this.cache.get(ck);
    if (e === undefined) return;
    this.cache.delete(ck);
    this.cacheBytes -= e.size;
  }

  /** Estimated heap bytes of the cached entries (bounded by half of the managed memory). */
  cachedBytes(): number {
    return this.cacheBytes;
  }

  /** Whether the entry under this cache key is on the heap now (tests). */
  isCached(ck: string): boolean {
    return this.cache.has(ck);
  }

  /** Reads that missed the cache and went to LMDB (tests, benchmarks). */
  cacheMisses(): number {
    return this.misses;
  }

  /** Cache misses answered by the key filter without an LMDB lookup (tests, benchmarks). */
  filteredReads(): number {
    return this.filtered;
  }

  /** Times the store's LMDB environment was reopened to unmap the pages it touched (tests, benchmarks). */
  reopens(): number {
    return this.env.reopens;
  }

  /** Entries currently cached on the heap. */
  cachedEntries(): number {
    return this.cache.size;
  }

  /** Closes LMDB and removes the store's directory. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.clear();
    this.cacheBytes = 0;
    try {
      this.env.close();
    } finally {
      rmSync(this.directory, { recursive: true, force: true });
    }
  }

  private checkOpen(): void {
    if (this.disposed) {
      throw new StateStoreError(
        `the embedded state store '${this.directory}' was disposed; state cannot be used after its operator closed`,
      );
    }
  }
}

function tooLongKey(bytes: number): InvalidArgumentError {
  return new InvalidArgumentError(
    `a keyed state entry's store key takes ${bytes} bytes (key group, state, namespace, key and map key encoded); the embedded state backend holds keys of at most ${MAX_KEY_BYTES} bytes (LMDB's limit): use a shorter key or namespace`,
  );
}

/** The entries of a range of `env`, counting the bytes passed; no reopen of `env` until it ends. */
function* scanEnvironment(
  env: MappedEnvironment,
  range: Parameters<RootDatabase<Buffer, Buffer>["getRange"]>[0],
): Generator<[Buffer, Buffer]> {
  env.scans++;
  try {
    // The pages down to the first key, then the entries themselves (a page holds entries side by side).
    env.touched += 4 * TOUCH_BYTES;
    for (const { key, value } of env.db.getRange(range)) {
      env.touched += key.length + value.length + 16;
      yield [key, value];
    }
  } finally {
    env.scans--;
  }
}

/** Heap bytes of a decoded value whose encoding takes `encoded` bytes (a rough, generous estimate). */
function valueBytes(encoded: number): number {
  return 16 + 2 * encoded;
}

/** Elements or fields of a container looked at by roughValueBytes; the rest are extrapolated. */
const SAMPLED_ITEMS = 8;

/**
 * Heap bytes of a value just written, in the scale of valueBytes, without encoding it (its
 * encoding is known only at the next flush): strings by their length, containers by a sample of
 * their first items times their size, so a write costs O(1) whatever the value holds.
 */
function roughValueBytes(v: unknown, depth: number): number {
  if (typeof v === "string") return 16 + 2 * v.length;
  if (typeof v !== "object" || v === null) return 16;
  if (depth >= 3) return 64;
  if (Array.isArray(v)) {
    const n = v.length;
    const k = Math.min(n, SAMPLED_ITEMS);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += roughValueBytes(v[i], depth + 1);
    return 32 + (k === 0 ? 0 : (sum / k) * n);
  }
  if (ArrayBuffer.isView(v)) return 32 + v.byteLength;
  if (v instanceof Map || v instanceof Set) {
    const isMap = v instanceof Map;
    let k = 0;
    let sum = 0;
    for (const [a, b] of v.entries()) {
      sum += roughValueBytes(a, depth + 1) + (isMap ? roughValueBytes(b, depth + 1) : 0);
      if (++k === SAMPLED_ITEMS) break;
    }
    return 32 + (k === 0 ? 0 : (sum / k) * v.size);
  }
  // A plain object (or a class instance): its enumerable fields, counted all, sampled first few.
  let n = 0;
  let sum = 0;
  for (const key in v) {
    if (n++ < SAMPLED_ITEMS)
      sum += 2 * key.length + roughValueBytes((v as Record<string, unknown>)[key], depth + 1);
  }
  const k = Math.min(n, SAMPLED_ITEMS);
  return 32 + (k === 0 ? 0 : (sum / k) * n);
}
