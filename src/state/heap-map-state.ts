// Keyed MapState on the heap: per key and namespace, a JS Map from user key to user value (with
// TTL, to a TtlValue per entry, so each entry expires on its own).

import { InvalidArgumentError } from "../core/errors.ts";
import type { MapState } from "../core/state.ts";
import { copyStateValue } from "./copy.ts";
import { HeapState } from "./heap-states.ts";
import type { TtlValue } from "./ttl.ts";

type UserMap = Map<unknown, unknown>;

function* none<T>(): Generator<T> {}

export class HeapMapState<UK, UV> extends HeapState implements MapState<UK, UV> {
  /** The current key's user map, or undefined. */
  private userMap(): UserMap | undefined {
    return this.table.current()?.get(this.ctx.mapKey) as UserMap | undefined;
  }

  private userMapOrCreate(): UserMap {
    const m = this.table.currentOrCreate();
    let um = m.get(this.ctx.mapKey) as UserMap | undefined;
    if (um === undefined) m.set(this.ctx.mapKey, (um = new Map()));
    return um;
  }

  /** Drops the current key's entry when its user map became empty. */
  private dropIfEmpty(um: UserMap): void {
    if (um.size > 0) return;
    const m = this.table.current();
    if (m !== undefined) this.removeCurrent(m);
  }

  get(key: UK): UV | undefined {
    if (this.ttl === undefined) return this.userMap()?.get(key) as UV | undefined;
    const now = this.accessed();
    const um = this.userMap();
    if (um === undefined) return undefined;
    const e = um.get(key) as TtlValue<UV> | undefined;
    if (e === undefined) return undefined;
    const ttl = this.ttl;
    if (ttl.expired(e, now)) {
      um.delete(key);
      this.dropIfEmpty(um);
      return ttl.returnExpired ? e.v : undefined;
    }
    if (ttl.updateOnRead) um.set(key, { v: e.v, ts: now });
    return e.v;
  }

  put(key: UK, value: UV): void {
    if (typeof key === "object" || typeof key === "function" || key === undefined) {
      throw new InvalidArgumentError(
        `map state '${this.descriptor.name}': user keys must be strings, numbers, booleans or bigints, got ${key === null ? "null" : typeof key}; turn composite keys into a string`,
      );
    }
    const now = this.accessed();
    this.userMapOrCreate().set(key, this.ttl === undefined ? value : { v: value, ts: now });
  }

  putAll(entries: Iterable<readonly [UK, UV]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: UK): void {
    this.accessed();
    const um = this.userMap();
    if (um?.delete(key)) this.dropIfEmpty(um);
  }

  contains(key: UK): boolean {
    if (this.ttl === undefined) return this.userMap()?.has(key) ?? false;
    const now = this.accessed();
    const um = this.userMap();
    if (um === undefined) return false;
    const e = um.get(key) as TtlValue<UV> | undefined;
    if (e === undefined) return false;
    if (!this.ttl.expired(e, now)) return true;
    um.delete(key);
    this.dropIfEmpty(um);
    return this.ttl.returnExpired;
  }

  entries(): IterableIterator<[UK, UV]> {
    const now = this.accessed();
    const um = this.userMap();
    if (um === undefined) return none();
    if (this.ttl === undefined) return um.entries() as IterableIterator<[UK, UV]>;
    return this.liveEntries(um, now);
  }

  *keys(): IterableIterator<UK> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<UV> {
    for (const [, v] of this.entries()) yield v;
  }

  isEmpty(): boolean {
    const um = this.userMap();
    if (um === undefined) return true;
    if (this.ttl === undefined) return um.size === 0;
    // Expired entries count as absent; visibility only decides whether their values are returned.
    const now = this.accessed();
    for (const e of um.values()) if (!this.ttl.expired(e as TtlValue<unknown>, now)) return false;
    return true;
  }

  /** With TTL: live entries (refreshed on read per config); expired ones removed, returned per visibility. */
  private liveEntries(um: UserMap, now: number): IterableIterator<[UK, UV]> {
    const ttl = this.ttl!;
    const out: Array<[UK, UV]> = [];
    for (const [k, e] of um as Map<UK, TtlValue<UV>>) {
      if (ttl.expired(e, now)) {
        um.delete(k);
        if (ttl.returnExpired) out.push([k, e.v]);
      } else {
        if (ttl.updateOnRead) um.set(k, { v: e.v, ts: now });
        out.push([k, e.v]);
      }
    }
    this.dropIfEmpty(um);
    return out[Symbol.iterator]();
  }

  /** A new user map; its values deep-copied (users may change a value they got without put()). */
  protected override copyStored(stored: unknown): unknown {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of stored as UserMap) out.set(k, copyStateValue(v));
    return out;
  }

  protected cleanStored(stored: unknown, now: number): unknown {
    const um = stored as Map<unknown, TtlValue<unknown>>;
    const ttl = this.ttl!;
    for (const [k, e] of um) if (ttl.expired(e, now)) um.delete(k);
    return um.size === 0 ? undefined : stored;
  }
}
