// Keyed MapState in the embedded store: one store entry per user key, under the prefix of the
// current (key group, state, namespace, key), so a large user map is never read whole except by
// entries()/keys()/values(). Iteration order is the byte order of the encoded user keys (not
// insertion order, as in Flink's RocksDB backend). With TTL each entry expires on its own.

import { InvalidArgumentError } from "../../core/errors.ts";
import type { MapState } from "../../core/state.ts";
import type { TtlValue } from "../ttl.ts";
import { EmbeddedState } from "./embedded-states.ts";
import { cacheKeyOf, decodeKey, keyWriter, prefixEnd, writeUserKey } from "./store-keys.ts";

const userKeyOut = keyWriter();

export class EmbeddedMapState<UK, UV> extends EmbeddedState implements MapState<UK, UV> {
  override get perUserKey(): boolean {
    return true;
  }

  /** The store key of `userKey` under the current key and namespace. */
  private entryKey(userKey: unknown): Buffer {
    const prefix = this.currentKey();
    userKeyOut.clear();
    writeUserKey(userKeyOut, userKey);
    const b = Buffer.allocUnsafe(prefix.length + userKeyOut.position);
    b.set(prefix, 0);
    b.set(userKeyOut.buffer.subarray(0, userKeyOut.position), prefix.length);
    return b;
  }

  private loadEntry(key: Buffer, ck: string): unknown {
    return this.be.store.get(key, ck, this.codec);
  }

  get(key: UK): UV | undefined {
    const now = this.accessed();
    const k = this.entryKey(key);
    const ck = cacheKeyOf(k);
    const e = this.loadEntry(k, ck);
    if (e === undefined || this.ttl === undefined) return e as UV | undefined;
    const ttl = this.ttl;
    const tv = e as TtlValue<UV>;
    if (ttl.expired(tv, now)) {
      this.be.store.set(k, ck, undefined, this.codec);
      return ttl.returnExpired ? tv.v : undefined;
    }
    if (ttl.updateOnRead) this.be.store.set(k, ck, { v: tv.v, ts: now }, this.codec);
    return tv.v;
  }

  put(key: UK, value: UV): void {
    if (typeof key === "object" || typeof key === "function" || key === undefined) {
      throw new InvalidArgumentError(
        `map state '${this.descriptor.name}': user keys must be strings, numbers, booleans or bigints, got ${key === null ? "null" : typeof key}; turn composite keys into a string`,
      );
    }
    const now = this.accessed();
    const k = this.entryKey(key);
    this.be.store.set(k, cacheKeyOf(k), this.ttl === undefined ? value : { v: value, ts: now }, this.codec);
  }

  putAll(entries: Iterable<readonly [UK, UV]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: UK): void {
    this.accessed();
    if (typeof key === "object" || typeof key === "function" || key === undefined) return;
    const k = this.entryKey(key);
    this.be.store.set(k, cacheKeyOf(k), undefined, this.codec);
  }

  contains(key: UK): boolean {
    const now = this.accessed();
    if (typeof key === "object" || typeof key === "function" || key === undefined) return false;
    const k = this.entryKey(key);
    const ck = cacheKeyOf(k);
    const e = this.loadEntry(k, ck);
    if (e === undefined) return false;
    if (this.ttl === undefined || !this.ttl.expired(e as TtlValue<unknown>, now)) return true;
    this.be.store.set(k, ck, undefined, this.codec);
    return this.ttl.returnExpired;
  }

  /** [user key, store key, stored value] of the current key and namespace, in key order. */
  private stored(limit?: number): Array<[unknown, Buffer, unknown]> {
    const prefix = this.currentKey();
    const out: Array<[unknown, Buffer, unknown]> = [];
    for (const [k, raw] of this.be.store.scan(prefix, prefixEnd(prefix), { limit })) {
      out.push([decodeKey(k, true).userKey, k, this.be.store.decode(raw, this.codec)]);
    }
    return out;
  }

  entries(): IterableIterator<[UK, UV]> {
    const now = this.accessed();
    const out: Array<[UK, UV]> = [];
    const ttl = this.ttl;
    for (const [uk, k, e] of this.stored()) {
      if (ttl === undefined) {
        out.push([uk as UK, e as UV]);
        continue;
      }
      const tv = e as TtlValue<UV>;
      const ck = cacheKeyOf(k);
      if (ttl.expired(tv, now)) {
        this.be.store.set(k, ck, undefined, this.codec);
        if (ttl.returnExpired) out.push([uk as UK, tv.v]);
      } else {
        if (ttl.updateOnRead) this.be.store.set(k, ck, { v: tv.v, ts: now }, this.codec);
        out.push([uk as UK, tv.v]);
      }
    }
    return out[Symbol.iterator]();
  }

  *keys(): IterableIterator<UK> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<UV> {
    for (const [, v] of this.entries()) yield v;
  }

  isEmpty(): boolean {
    if (this.ttl === undefined) return this.stored(1).length === 0;
    // Expired entries count as absent; visibility only decides whether their values are returned.
    const now = this.accessed();
    for (const [, , e] of this.stored()) if (!this.ttl.expired(e as TtlValue<unknown>, now)) return false;
    return true;
  }

  override clear(): void {
    this.accessed();
    this.be.store.removeAll(this.stored().map(([, k]) => k));
  }

  cleanStored(stored: unknown, now: number): unknown {
    return this.ttl!.expired(stored as TtlValue<unknown>, now) ? undefined : stored;
  }
}
