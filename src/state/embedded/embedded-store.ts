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

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";
import { DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import { WeirError } from "../../core/errors.ts";
import { KeyFilter } from "./key-filter.ts";
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
function openEnvironment(path: string, readOnly = false): RootDatabase<Buffer, Buffer> {
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
    readOnly,
    // Address space only, the file grows as needed: no remap while the store grows to 16 GiB
    // (lmdb grows the map past it). Not more: many stores can be open in one process.
    mapSize: 2 ** 34,
  };
  return lmdbModule().open<Buffer, Buffer>(options);
}

export class EmbeddedStore {
  readonly directory: string;
  private db: RootDatabase<Buffer, Buffer>;
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

  constructor(options: EmbeddedStoreOptions = {}) {
    const parent = options.localDirectory ?? tmpdir();
    const managed = Math.max(
      MIN_MANAGED_MEMORY_BYTES,
      options.managedMemoryBytes ?? DEFAULT_MANAGED_MEMORY_BYTES,
    );
    this.cacheBytesLimit = Math.floor(managed / 2);
    this.cacheEntriesLimit = Math.max(1, options.cacheEntries ?? Number.MAX_SAFE_INTEGER);
    this.filter = new KeyFilter(Math.floor(managed / 8));
    try {
      mkdirSync(parent, { recursive: true });
      this.directory = mkdtempSync(join(parent, "weir-state-"));
      this.db = openEnvironment(this.directory);
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
    if (this.filter.mayContain(ck)) raw = this.db.getBinaryFast(key);
    else this.filtered++;
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
    for (let from = 0; from < keys.length; from += perTransaction) {
      const to = Math.min(keys.length, from + perTransaction);
      this.db.transactionSync(() => this.writeEntries(keys, from, to));
    }
    this.dirty = 0;
  }

  private writeEntries(keys: readonly string[], from: number, to: number): void {
    const db = this.db;
    const out = this.out;
    const cache = this.cache;
    for (let i = from; i < to; i++) {
      const ck = keys[i]!;
      const e = cache.get(ck)!;
      e.dirty = false;
      const key = this.keyBytes(ck);
      if (e.value === undefined) {
        db.removeSync(key);
        continue;
      }
      out.clear();
      e.codec.encode(e.value, out);
      db.putSync(key, out.buffer.subarray(0, out.position));
      this.filter.add(ck);
      const size = ENTRY_OVERHEAD + ck.length + valueBytes(out.position);
      this.cacheBytes += size - e.size;
      e.size = size;
    }
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
    const range = this.db.getRange({
      start,
      end,
      limit: options.limit,
      exclusiveStart: options.exclusiveStart,
      snapshot: true,
    });
    for (const { key, value } of range) yield [key, value];
  }

  /**
   * A consistent view of the store as of now, for a snapshot read while the task goes on: writes
   * the dirty entries, then holds one LMDB read transaction until `done()` (LMDB keeps the pages
   * it sees; the task's writes meanwhile go to new pages). Nothing is copied.
   */
  readSnapshot(): StoreSnapshot {
    this.flush();
    const txn = this.db.useReadTransaction();
    const db = this.db;
    let open = true;
    return {
      scan: (start, end) => {
        if (!open) throw new StateStoreError("the store snapshot was already released");
        // A snapshot is read asynchronously (the checkpoint writer); a failing task disposes its
        // store meanwhile. LMDB must not be touched then: reading a closing environment aborts
        // the whole process from native code ("No current read transaction available").
        if (this.disposed) {
          throw new StateStoreError(
            `the embedded state store '${this.directory}' was disposed while a snapshot of it was read (its task closed); the checkpoint it was for cannot complete`,
          );
        }
        return scanTransaction(db, txn, start, end);
      },
      done: () => {
        if (!open) return;
        open = false;
        try {
          txn.done();
        } catch {
          // the store was closed meanwhile: its read transactions went with it
        }
      },
    };
  }

  /** Decodes a value returned by scan(). */
  decode(raw: Buffer, codec: ValueCodec): unknown {
    return codec.decode(this.scanReader.load(raw));
  }

  /** Writes encoded entries straight to LMDB (a restore); cached entries under these keys are dropped. */
  putAll(entries: Iterable<[Buffer, unknown, ValueCodec]>): void {
    this.flush();
    const db = this.db;
    const out = this.out;
    db.transactionSync(() => {
      for (const [key, value, codec] of entries) {
        const ck = cacheKeyOf(key);
        this.drop(ck);
        out.clear();
        codec.encode(value, out);
        db.putSync(key, out.buffer.subarray(0, out.position));
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
    const db = this.db;
    const filter = this.filter;
    db.transactionSync(() =>
      fill((key, value) => {
        if (this.cache.size > 0) this.drop(cacheKeyOf(key));
        db.putSync(
          key,
          Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length),
        );
        filter.addBytes(key);
      }),
    );
  }

  /** Deletes keys straight from LMDB (after a scan); cached entries under these keys are dropped. */
  removeAll(keys: readonly Buffer[]): void {
    if (keys.length === 0) return;
    this.flush();
    const db = this.db;
    db.transactionSync(() => {
      for (const key of keys) {
        this.drop(cacheKeyOf(key));
        db.removeSync(key);
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
      void this.db.close().catch(() => {});
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

function* scanTransaction(
  db: RootDatabase<Buffer, Buffer>,
  txn: ReturnType<RootDatabase<Buffer, Buffer>["useReadTransaction"]>,
  start: Buffer,
  end: Buffer,
): Generator<[Buffer, Buffer]> {
  for (const { key, value } of db.getRange({ start, end, transaction: txn })) yield [key, value];
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
