// One operator subtask's on-disk store (an LMDB environment in its own directory) with a bounded
// write-back cache in front of it. Reads and writes of the record loop are synchronous: a read
// misses into LMDB (a memory-mapped B-tree lookup), a write only marks the cached entry dirty.
// When the cache reaches its bound, the dirty entries are written in one LMDB transaction and the
// cache is emptied, so the heap holds at most `cacheEntries` values. Range scans write the dirty
// entries first and then read LMDB alone. Durability is off (noSync): a crash loses the store,
// and state comes back from the last checkpoint.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { DataInputDeserializer, DataOutputSerializer } from "../../core/data-io.ts";
import { WeirError } from "../../core/errors.ts";
import { cacheKeyOf, ScratchReader } from "./store-keys.ts";
import type { ValueCodec } from "./value-codecs.ts";

/** A cached store entry: `value` in decoded (heap) form; undefined = absent (a tombstone when dirty). */
interface CacheEntry {
  readonly key: Buffer;
  value: unknown;
  dirty: boolean;
  codec: ValueCodec;
}

export interface EmbeddedStoreOptions {
  /** The parent of the store's directory (default: the OS temp directory). */
  localDirectory?: string;
  /** At most this many entries are cached on the heap (default 65536). */
  cacheEntries?: number;
}

export interface ScanOptions {
  limit?: number | undefined;
  exclusiveStart?: boolean;
  /** Write the dirty cache entries first (default true). */
  flush?: boolean;
}

export const DEFAULT_CACHE_ENTRIES = 65_536;

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
  private readonly db: RootDatabase<Buffer, Buffer>;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheEntries: number;
  private dirty = 0;
  private disposed = false;
  private readonly out = new DataOutputSerializer(1024);
  private readonly input = new DataInputDeserializer();
  private readonly scanReader = new ScratchReader();

  constructor(options: EmbeddedStoreOptions = {}) {
    const parent = options.localDirectory ?? tmpdir();
    this.cacheEntries = Math.max(1, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
    try {
      mkdirSync(parent, { recursive: true });
      this.directory = mkdtempSync(join(parent, "weir-state-"));
      this.db = open<Buffer, Buffer>({
        path: this.directory,
        keyEncoding: "binary",
        encoding: "binary",
        compression: false,
        cache: false,
        noSync: true,
        noMetaSync: true,
        noMemInit: true,
      });
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
    if (e !== undefined) return e.value;
    const raw = this.db.getBinaryFast(key);
    let value: unknown;
    if (raw !== undefined) {
      this.input.setBuffer(raw, 0, raw.length);
      value = codec.decode(this.input);
    }
    if (this.cache.size >= this.cacheEntries) this.evict();
    this.cache.set(ck, { key, value, dirty: false, codec });
    return value;
  }

  /** Sets (undefined: deletes) the value under `key`; written to LMDB at the next flush. */
  set(key: Buffer, ck: string, value: unknown, codec: ValueCodec): void {
    const e = this.cache.get(ck);
    if (e !== undefined) {
      e.value = value;
      e.codec = codec;
      if (!e.dirty) {
        e.dirty = true;
        this.dirty++;
      }
      return;
    }
    if (this.cache.size >= this.cacheEntries) this.evict();
    this.cache.set(ck, { key, value, dirty: true, codec });
    this.dirty++;
  }

  /** Writes the dirty entries to LMDB in one transaction; the cache keeps them (clean). */
  flush(): void {
    this.checkOpen();
    if (this.dirty === 0) return;
    const db = this.db;
    const out = this.out;
    db.transactionSync(() => {
      for (const e of this.cache.values()) {
        if (!e.dirty) continue;
        e.dirty = false;
        if (e.value === undefined) db.removeSync(e.key);
        else {
          out.clear();
          e.codec.encode(e.value, out);
          db.putSync(e.key, out.buffer.subarray(0, out.position));
        }
      }
    });
    this.dirty = 0;
  }

  private evict(): void {
    this.flush();
    this.cache.clear();
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
   * the dirty entries, then holds one LMDB read transaction until `done()`.
   */
  readSnapshot(): StoreSnapshot {
    this.flush();
    const txn = this.db.useReadTransaction();
    const db = this.db;
    let open = true;
    return {
      *scan(start, end) {
        if (!open) throw new StateStoreError("the store snapshot was already released");
        for (const { key, value } of db.getRange({ start, end, transaction: txn })) yield [key, value];
      },
      done() {
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
        this.cache.delete(cacheKeyOf(key));
        out.clear();
        codec.encode(value, out);
        db.putSync(key, out.buffer.subarray(0, out.position));
      }
    });
  }

  /** Deletes keys straight from LMDB (after a scan); cached entries under these keys are dropped. */
  removeAll(keys: readonly Buffer[]): void {
    if (keys.length === 0) return;
    this.flush();
    const db = this.db;
    db.transactionSync(() => {
      for (const key of keys) {
        this.cache.delete(cacheKeyOf(key));
        db.removeSync(key);
      }
    });
  }

  /** Entries currently cached on the heap (bounded by cacheEntries). */
  cachedEntries(): number {
    return this.cache.size;
  }

  /** Closes LMDB and removes the store's directory. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.clear();
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
