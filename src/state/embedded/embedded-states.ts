// The keyed state handles of the embedded backend: value, list, reducing and aggregating state
// (map state is in embedded-map-state.ts). Same semantics as the heap handles (heap-states.ts);
// a handle reads the backend's current key group, key and namespace at call time and keeps the
// store key it built for them until the key or namespace changes.

import { InvalidArgumentError } from "../../core/errors.ts";
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  ReducingState,
  StateDescriptor,
  ValueState,
} from "../../core/state.ts";
import type { KeyContext, Namespace } from "../state-table.ts";
import type { TtlPolicy, TtlValue } from "../ttl.ts";
import type { EmbeddedStore } from "./embedded-store.ts";
import { cacheKeyOf, composeKey } from "./store-keys.ts";
import { codecFor, type ValueCodec } from "./value-codecs.ts";

/** What the handles need from their backend. */
export interface EmbeddedContext {
  readonly store: EmbeddedStore;
  /** The current key; `version` changes whenever key or namespace does. */
  readonly ctx: KeyContext & { version: number };
  /** The absolute current key group. */
  keyGroup(): number;
  /** The encoded [namespace][key] of the current key in `ns` (default: the current namespace). */
  suffix(ns?: Namespace): Uint8Array;
  /** Runs TTL incremental cleanup of `state` for one access. */
  cleanupStep(state: EmbeddedState, now: number): void;
}

export abstract class EmbeddedState {
  /** How its values are stored: its own (codecFor), or what its restored entries use (restoredCodecFor). */
  codec: ValueCodec;
  private keyVersion = -1;
  private key: Buffer = Buffer.alloc(0);
  private ck = "";

  constructor(
    readonly descriptor: StateDescriptor<unknown>,
    readonly id: number,
    protected readonly be: EmbeddedContext,
    readonly ttl: TtlPolicy | undefined,
  ) {
    this.codec = codecFor(descriptor, ttl !== undefined);
  }

  /** Map state stores one entry per user key under the key prefix. */
  get perUserKey(): boolean {
    return false;
  }

  /** The store key of the current key group, key and namespace (rebuilt when they change). */
  protected currentKey(): Buffer {
    if (this.keyVersion !== this.be.ctx.version) {
      this.key = composeKey(this.be.keyGroup(), this.id, this.be.suffix());
      this.ck = cacheKeyOf(this.key);
      this.keyVersion = this.be.ctx.version;
    }
    return this.key;
  }

  /** The stored value of the current key and namespace (undefined when none). */
  protected load(): unknown {
    const key = this.currentKey();
    return this.be.store.get(key, this.ck, this.codec);
  }

  /** Stores (undefined: removes) the value of the current key and namespace. */
  protected save(value: unknown): void {
    const key = this.currentKey();
    this.be.store.set(key, this.ck, value, this.codec);
  }

  /** The store key of the current key in namespace `ns`. */
  protected keyIn(ns: Namespace): Buffer {
    return composeKey(this.be.keyGroup(), this.id, this.be.suffix(ns));
  }

  /** The stored value without its expired parts: the same object when unchanged, undefined when all expired. */
  abstract cleanStored(stored: unknown, now: number): unknown;

  /** Marks an access of the state: returns the TTL clock's time (0 without TTL) and runs incremental cleanup. */
  protected accessed(): number {
    if (this.ttl === undefined) return 0;
    const now = this.ttl.now();
    if (this.ttl.incrementalCleanupSize > 0) this.be.cleanupStep(this, now);
    return now;
  }

  clear(): void {
    this.accessed();
    this.save(undefined);
  }
}

/** Value-like states (value, reducing, aggregating): one stored value per key and namespace. */
abstract class SingleValueState<T> extends EmbeddedState {
  cleanStored(stored: unknown, now: number): unknown {
    return this.ttl!.expired(stored as TtlValue<unknown>, now) ? undefined : stored;
  }

  /** The current value; with TTL: removed and hidden when expired (per visibility), refreshed on read. */
  protected read(now: number): T | undefined {
    const s = this.load();
    if (s === undefined || this.ttl === undefined) return s as T | undefined;
    const ttl = this.ttl;
    const tv = s as TtlValue<T>;
    if (ttl.expired(tv, now)) {
      this.save(undefined);
      return ttl.returnExpired ? tv.v : undefined;
    }
    if (ttl.updateOnRead) this.save({ v: tv.v, ts: now });
    return tv.v;
  }

  /** The current value for a read-modify-write (add): expired values count as absent. */
  protected readLive(now: number): T | undefined {
    return this.live(this.load(), now);
  }

  protected write(value: T, now: number): void {
    this.save(this.ttl === undefined ? value : { v: value, ts: now });
  }

  /** Merges `sources` into `target` for the current key with `merge` (reducing/aggregating). */
  protected mergeWith(target: Namespace, sources: readonly Namespace[], merge: (a: T, b: T) => T): void {
    const now = this.accessed();
    const store = this.be.store;
    let merged: T | undefined;
    for (const ns of sources) {
      if (ns === target) continue;
      const key = this.keyIn(ns);
      const ck = cacheKeyOf(key);
      const s = store.get(key, ck, this.codec);
      if (s === undefined) continue;
      store.set(key, ck, undefined, this.codec);
      const v = this.live(s, now);
      if (v !== undefined) merged = merged === undefined ? v : merge(merged, v);
    }
    if (merged === undefined) return;
    const key = this.keyIn(target);
    const ck = cacheKeyOf(key);
    const t = store.get(key, ck, this.codec);
    const tv = t === undefined ? undefined : this.live(t, now);
    const result = tv === undefined ? merged : merge(tv, merged);
    store.set(key, ck, this.ttl === undefined ? result : { v: result, ts: now }, this.codec);
  }

  private live(s: unknown, now: number): T | undefined {
    if (s === undefined || this.ttl === undefined) return s as T | undefined;
    return this.ttl.expired(s as TtlValue<T>, now) ? undefined : (s as TtlValue<T>).v;
  }
}

export class EmbeddedValueState<T> extends SingleValueState<T> implements ValueState<T> {
  private readonly defaultValue: T | undefined;

  constructor(
    descriptor: StateDescriptor<unknown> & { defaultValue?: unknown },
    id: number,
    be: EmbeddedContext,
    ttl: TtlPolicy | undefined,
  ) {
    super(descriptor, id, be, ttl);
    this.defaultValue = descriptor.defaultValue as T | undefined;
  }

  value(): T | undefined {
    const v = this.ttl === undefined ? (this.load() as T | undefined) : this.read(this.accessed());
    return v === undefined ? this.defaultValue : v;
  }

  update(value: T): void {
    if (value === undefined) {
      this.clear();
      return;
    }
    if (this.ttl === undefined) this.save(value);
    else this.write(value, this.accessed());
  }
}

export class EmbeddedReducingState<T> extends SingleValueState<T> implements ReducingState<T> {
  constructor(
    descriptor: StateDescriptor<unknown>,
    id: number,
    be: EmbeddedContext,
    ttl: TtlPolicy | undefined,
    private readonly reduce: (a: T, b: T) => T,
  ) {
    super(descriptor, id, be, ttl);
  }

  get(): T | undefined {
    return this.read(this.accessed());
  }

  add(value: T): void {
    if (value === undefined) {
      throw new InvalidArgumentError(`reducing state '${this.descriptor.name}': cannot add undefined`);
    }
    const now = this.accessed();
    const cur = this.readLive(now);
    this.write(cur === undefined ? value : this.reduce(cur, value), now);
  }

  mergeNamespaces(target: Namespace, sources: readonly Namespace[]): void {
    this.mergeWith(target, sources, this.reduce);
  }
}

export class EmbeddedAggregatingState<IN, ACC, OUT>
  extends SingleValueState<ACC>
  implements AggregatingState<IN, OUT>
{
  constructor(
    descriptor: StateDescriptor<unknown>,
    id: number,
    be: EmbeddedContext,
    ttl: TtlPolicy | undefined,
    private readonly fn: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(descriptor, id, be, ttl);
  }

  get(): OUT | undefined {
    const acc = this.read(this.accessed());
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }

  add(value: IN): void {
    const now = this.accessed();
    const cur = this.readLive(now);
    this.write(this.fn.add(value, cur === undefined ? this.fn.createAccumulator() : cur), now);
  }

  mergeNamespaces(target: Namespace, sources: readonly Namespace[]): void {
    const merge = this.fn.merge;
    if (typeof merge !== "function") {
      throw new InvalidArgumentError(
        `aggregating state '${this.descriptor.name}' cannot merge namespaces: its AggregateFunction has no merge(a, b); add one to use it with merging (session) windows`,
      );
    }
    this.mergeWith(target, sources, (a, b) => merge.call(this.fn, a, b));
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

export class EmbeddedListState<T> extends EmbeddedState implements ListState<T> {
  get(): readonly T[] {
    if (this.ttl === undefined) return (this.load() as T[] | undefined) ?? EMPTY;
    const now = this.accessed();
    const s = this.load() as TtlValue<T>[] | undefined;
    if (s === undefined) return EMPTY;
    const ttl = this.ttl;
    const out: T[] = [];
    const kept: TtlValue<T>[] = [];
    let changed = ttl.updateOnRead;
    for (const e of s) {
      if (ttl.expired(e, now)) {
        changed = true;
        if (ttl.returnExpired) out.push(e.v);
      } else {
        out.push(e.v);
        kept.push(ttl.updateOnRead ? { v: e.v, ts: now } : e);
      }
    }
    if (changed) this.save(kept.length === 0 ? undefined : kept);
    return out;
  }

  add(value: T): void {
    this.checkElement(value);
    const now = this.accessed();
    const e = this.ttl === undefined ? value : { v: value, ts: now };
    const s = this.load() as unknown[] | undefined;
    if (s === undefined) this.save([e]);
    else {
      s.push(e);
      this.save(s);
    }
  }

  addAll(values: Iterable<T>): void {
    const items = this.wrapAll(values);
    if (items.length === 0) return;
    const s = this.load() as unknown[] | undefined;
    if (s === undefined) this.save(items);
    else {
      for (const e of items) s.push(e);
      this.save(s);
    }
  }

  update(values: Iterable<T>): void {
    const items = this.wrapAll(values);
    if (items.length === 0) {
      this.clear();
      return;
    }
    this.save(items);
  }

  /** Appends the lists of `sources` to that of `target` for the current key (session windows). */
  mergeNamespaces(target: Namespace, sources: readonly Namespace[]): void {
    const store = this.be.store;
    let merged: unknown[] | undefined;
    for (const ns of sources) {
      if (ns === target) continue;
      const key = this.keyIn(ns);
      const ck = cacheKeyOf(key);
      const s = store.get(key, ck, this.codec) as unknown[] | undefined;
      if (s === undefined) continue;
      store.set(key, ck, undefined, this.codec);
      if (merged === undefined) merged = s.slice();
      else for (const e of s) merged.push(e);
    }
    if (merged === undefined) return;
    const key = this.keyIn(target);
    const ck = cacheKeyOf(key);
    const t = store.get(key, ck, this.codec) as unknown[] | undefined;
    store.set(key, ck, t === undefined ? merged : t.concat(merged), this.codec);
  }

  cleanStored(stored: unknown, now: number): unknown {
    const list = stored as TtlValue<unknown>[];
    const ttl = this.ttl!;
    if (!list.some((e) => ttl.expired(e, now))) return stored;
    const kept = list.filter((e) => !ttl.expired(e, now));
    return kept.length === 0 ? undefined : kept;
  }

  private wrapAll(values: Iterable<T>): unknown[] {
    const now = this.accessed();
    const items: unknown[] = [];
    for (const v of values) {
      this.checkElement(v);
      items.push(this.ttl === undefined ? v : { v, ts: now });
    }
    return items;
  }

  private checkElement(value: T): void {
    if (value === undefined || value === null) {
      throw new InvalidArgumentError(
        `list state '${this.descriptor.name}': cannot add ${value}; clear() removes all elements`,
      );
    }
  }
}
