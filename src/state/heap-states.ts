// The keyed state handles of the heap backend: value, list, reducing and aggregating state (map
// state is in heap-map-state.ts). A handle reads the backend's current key, key group and namespace
// at call time. Without TTL the stored value is the user's; with TTL it is wrapped in a TtlValue
// (per element for lists).

import { InvalidArgumentError } from "../core/errors.ts";
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  ReducingState,
  StateDescriptor,
  ValueState,
} from "../core/state.ts";
import { copyStateValue } from "./copy.ts";
import {
  type KeyContext,
  type MapKey,
  type Namespace,
  type StateTable,
  VOID_NAMESPACE,
} from "./state-table.ts";
import { IncrementalCleanup, type TtlPolicy, type TtlValue } from "./ttl.ts";

type KeyMap = Map<MapKey, unknown>;

export abstract class HeapState {
  readonly cleanup: IncrementalCleanup | undefined;

  constructor(
    readonly descriptor: StateDescriptor<unknown>,
    readonly table: StateTable,
    protected readonly ctx: KeyContext,
    readonly ttl: TtlPolicy | undefined,
  ) {
    table.copyValue = (stored) => this.copyStored(stored);
    this.cleanup =
      ttl !== undefined && ttl.incrementalCleanupSize > 0
        ? new IncrementalCleanup(table, ttl.incrementalCleanupSize, (kgi, ns, m, k, now) =>
            this.cleanupEntry(kgi, ns, m, k, now),
          )
        : undefined;
  }

  /** A copy of a stored value for copy-on-write snapshots (value-like states: a deep copy). */
  protected copyStored(stored: unknown): unknown {
    return copyStateValue(stored);
  }

  /** The stored value without its expired parts: the same object when unchanged, undefined when all expired. */
  protected abstract cleanStored(stored: unknown, now: number): unknown;

  /**
   * Removes the expired parts of one entry; true when something was removed. The Map is looked up
   * again (an incremental cleanup holds its iterator across records).
   */
  cleanupEntry(kgi: number, ns: Namespace, _m: KeyMap, k: MapKey, now: number): boolean {
    const m = this.table.mapOf(ns);
    if (m === undefined) return false;
    this.table.touch(kgi, ns, k);
    const s = m.get(k);
    if (s === undefined) return false;
    const c = this.cleanStored(s, now);
    if (c === s) return false;
    if (c === undefined) {
      m.delete(k);
      this.table.dropIfEmpty(ns, m);
    } else m.set(k, c);
    return true;
  }

  /** Marks an access of the state: returns the TTL clock's time (0 without TTL) and runs incremental cleanup. */
  protected accessed(): number {
    if (this.ttl === undefined) return 0;
    const now = this.ttl.now();
    this.cleanup?.step(now);
    return now;
  }

  clear(): void {
    this.accessed();
    const ctx = this.ctx;
    // The key group only for a live snapshot (the table computes it then).
    this.table.delete(ctx.keyGroupIndex, ctx.namespace, ctx.mapKey);
  }

  /**
   * get() then clear(), with one lookup without TTL (a window's contents as it fires for the last
   * time): what get() returned.
   */
  getAndClear(): unknown {
    if (this.ttl !== undefined) {
      const v = this.getForClear();
      this.clear();
      return v;
    }
    const ctx = this.ctx;
    return this.resultOf(this.table.take(ctx.keyGroupIndex, ctx.namespace, ctx.mapKey));
  }

  /** What get() returns (with TTL); value-like and list states have one. */
  protected getForClear(): unknown {
    throw new InvalidArgumentError(`${this.descriptor.kind} state '${this.descriptor.name}' has no get()`);
  }

  /** What get() returns for a stored value without TTL (undefined: no entry). */
  protected resultOf(stored: unknown): unknown {
    return stored;
  }

  /** Removes the current key's entry from the current namespace's Map `m`. */
  protected removeCurrent(m: KeyMap): void {
    m.delete(this.ctx.mapKey);
    if (this.ctx.namespace !== VOID_NAMESPACE) this.table.dropIfEmpty(this.ctx.namespace, m);
  }
}

/** Value-like states (value, reducing, aggregating): one stored value per key and namespace. */
abstract class SingleValueState<T> extends HeapState {
  protected cleanStored(stored: unknown, now: number): unknown {
    return this.ttl!.expired(stored as TtlValue<unknown>, now) ? undefined : stored;
  }

  /** The current value; with TTL: cleaned and hidden when expired (per visibility), refreshed on read. */
  protected read(now: number): T | undefined {
    const m = this.table.current();
    if (m === undefined) return undefined;
    const s = m.get(this.ctx.mapKey);
    if (s === undefined || this.ttl === undefined) return s as T | undefined;
    const ttl = this.ttl;
    const tv = s as TtlValue<T>;
    if (ttl.expired(tv, now)) {
      this.removeCurrent(m);
      return ttl.returnExpired ? tv.v : undefined;
    }
    if (ttl.updateOnRead) m.set(this.ctx.mapKey, { v: tv.v, ts: now });
    return tv.v;
  }

  /** The current value for a read-modify-write (add): expired values count as absent. */
  protected readLive(m: KeyMap | undefined, now: number): T | undefined {
    const s = m?.get(this.ctx.mapKey);
    if (s === undefined || this.ttl === undefined) return s as T | undefined;
    return this.ttl.expired(s as TtlValue<T>, now) ? undefined : (s as TtlValue<T>).v;
  }

  protected write(m: KeyMap, value: T, now: number): void {
    m.set(this.ctx.mapKey, this.ttl === undefined ? value : { v: value, ts: now });
  }

  /** Merges `sources` into `target` for the current key with `merge` (reducing/aggregating). */
  protected mergeWith(target: Namespace, sources: readonly Namespace[], merge: (a: T, b: T) => T): void {
    const kgi = this.table.currentKeyGroupIndex();
    const mapKey = this.ctx.mapKey;
    const now = this.accessed();
    let merged: T | undefined;
    for (const ns of sources) {
      if (ns === target) continue;
      const s = this.table.mapOf(ns)?.get(mapKey);
      if (s === undefined) continue;
      this.table.delete(kgi, ns, mapKey);
      const v = this.live(s, now);
      if (v !== undefined) merged = merged === undefined ? v : merge(merged, v);
    }
    if (merged === undefined) return;
    this.table.touch(kgi, target, mapKey);
    const tm = this.table.mapOrCreate(target);
    const t = tm.get(mapKey);
    const tv = t === undefined ? undefined : this.live(t, now);
    const result = tv === undefined ? merged : merge(tv, merged);
    tm.set(mapKey, this.ttl === undefined ? result : { v: result, ts: now });
  }

  private live(s: unknown, now: number): T | undefined {
    if (this.ttl === undefined) return s as T;
    return this.ttl.expired(s as TtlValue<T>, now) ? undefined : (s as TtlValue<T>).v;
  }
}

/**
 * Value state without TTL: `value()` and `update()` are one Map lookup each on the void namespace
 * while no snapshot holds the table (the read-modify-write a keyed count does per record). With
 * TTL, HeapTtlValueState: its own methods, so this path carries neither its branches nor its
 * inlined code (a job, or the bench's process, with both kinds of state).
 */
export class HeapValueState<T> extends SingleValueState<T> implements ValueState<T> {
  protected readonly defaultValue: T | undefined;

  constructor(
    descriptor: StateDescriptor<unknown> & { defaultValue?: unknown },
    table: StateTable,
    ctx: KeyContext,
    ttl: TtlPolicy | undefined,
  ) {
    super(descriptor, table, ctx, ttl);
    this.defaultValue = descriptor.defaultValue as T | undefined;
  }

  protected override getForClear(): unknown {
    return this.value();
  }

  value(): T | undefined {
    const t = this.table;
    const ctx = this.ctx;
    const m = ctx.namespace === VOID_NAMESPACE && t.holds === 0 ? t.voidMap : t.current();
    const v = m?.get(ctx.mapKey) as T | undefined;
    return v === undefined ? this.defaultValue : v;
  }

  update(value: T): void {
    if (value === undefined) {
      this.clear();
      return;
    }
    const t = this.table;
    const ctx = this.ctx;
    (ctx.namespace === VOID_NAMESPACE && t.holds === 0 ? t.voidMap : t.currentOrCreate()).set(
      ctx.mapKey,
      value,
    );
  }
}

/** Value state with TTL: stored values are TtlValues, read through the TTL policy. */
export class HeapTtlValueState<T> extends HeapValueState<T> {
  override value(): T | undefined {
    const v = this.read(this.accessed());
    return v === undefined ? this.defaultValue : v;
  }

  override update(value: T): void {
    if (value === undefined) {
      this.clear();
      return;
    }
    this.write(this.table.currentOrCreate(), value, this.accessed());
  }
}

export class HeapReducingState<T> extends SingleValueState<T> implements ReducingState<T> {
  constructor(
    descriptor: StateDescriptor<unknown>,
    table: StateTable,
    ctx: KeyContext,
    ttl: TtlPolicy | undefined,
    private readonly reduce: (a: T, b: T) => T,
  ) {
    super(descriptor, table, ctx, ttl);
  }

  get(): T | undefined {
    return this.read(this.accessed());
  }

  protected override getForClear(): unknown {
    return this.get();
  }

  add(value: T): void {
    if (value === undefined) {
      throw new InvalidArgumentError(`reducing state '${this.descriptor.name}': cannot add undefined`);
    }
    const now = this.accessed();
    const m = this.table.currentOrCreate();
    const cur = this.readLive(m, now);
    this.write(m, cur === undefined ? value : this.reduce(cur, value), now);
  }

  mergeNamespaces(target: Namespace, sources: readonly Namespace[]): void {
    this.mergeWith(target, sources, this.reduce);
  }
}

export class HeapAggregatingState<IN, ACC, OUT>
  extends SingleValueState<ACC>
  implements AggregatingState<IN, OUT>
{
  constructor(
    descriptor: StateDescriptor<unknown>,
    table: StateTable,
    ctx: KeyContext,
    ttl: TtlPolicy | undefined,
    private readonly fn: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(descriptor, table, ctx, ttl);
  }

  get(): OUT | undefined {
    const acc = this.read(this.accessed());
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }

  protected override getForClear(): unknown {
    return this.get();
  }

  protected override resultOf(stored: unknown): unknown {
    return stored === undefined ? undefined : this.fn.getResult(stored as ACC);
  }

  add(value: IN): void {
    const now = this.accessed();
    const m = this.table.currentOrCreate();
    const cur = this.readLive(m, now);
    this.write(m, this.fn.add(value, cur === undefined ? this.fn.createAccumulator() : cur), now);
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

export class HeapListState<T> extends HeapState implements ListState<T> {
  protected override getForClear(): unknown {
    return this.get();
  }

  protected override resultOf(stored: unknown): unknown {
    return stored ?? EMPTY;
  }

  get(): readonly T[] {
    if (this.ttl === undefined)
      return (this.table.current()?.get(this.ctx.mapKey) as T[] | undefined) ?? EMPTY;
    const now = this.accessed();
    const m = this.table.current();
    const s = m?.get(this.ctx.mapKey) as unknown[] | undefined;
    if (s === undefined) return EMPTY;
    const ttl = this.ttl;
    const out: T[] = [];
    const kept: TtlValue<T>[] = [];
    let changed = ttl.updateOnRead;
    for (const e of s as TtlValue<T>[]) {
      if (ttl.expired(e, now)) {
        changed = true;
        if (ttl.returnExpired) out.push(e.v);
      } else {
        out.push(e.v);
        kept.push(ttl.updateOnRead ? { v: e.v, ts: now } : e);
      }
    }
    if (changed) {
      if (kept.length === 0) this.removeCurrent(m!);
      else m!.set(this.ctx.mapKey, kept);
    }
    return out;
  }

  add(value: T): void {
    this.checkElement(value);
    const now = this.accessed();
    const m = this.table.currentOrCreate();
    const e = this.ttl === undefined ? value : { v: value, ts: now };
    const s = m.get(this.ctx.mapKey) as unknown[] | undefined;
    if (s === undefined) m.set(this.ctx.mapKey, [e]);
    else s.push(e);
  }

  addAll(values: Iterable<T>): void {
    const items = this.wrapAll(values);
    if (items.length === 0) return;
    const m = this.table.currentOrCreate();
    const s = m.get(this.ctx.mapKey) as unknown[] | undefined;
    if (s === undefined) m.set(this.ctx.mapKey, items);
    else for (const e of items) s.push(e);
  }

  update(values: Iterable<T>): void {
    const items = this.wrapAll(values);
    if (items.length === 0) {
      this.clear();
      return;
    }
    this.table.currentOrCreate().set(this.ctx.mapKey, items);
  }

  /** Appends the lists of `sources` to that of `target` for the current key (session windows). */
  mergeNamespaces(target: Namespace, sources: readonly Namespace[]): void {
    const kgi = this.table.currentKeyGroupIndex();
    const mapKey = this.ctx.mapKey;
    let merged: unknown[] | undefined;
    for (const ns of sources) {
      if (ns === target) continue;
      const s = this.table.mapOf(ns)?.get(mapKey) as unknown[] | undefined;
      if (s === undefined) continue;
      this.table.delete(kgi, ns, mapKey);
      if (merged === undefined) merged = s.slice();
      else for (const e of s) merged.push(e);
    }
    if (merged === undefined) return;
    this.table.touch(kgi, target, mapKey);
    const tm = this.table.mapOrCreate(target);
    const t = tm.get(mapKey) as unknown[] | undefined;
    tm.set(mapKey, t === undefined ? merged : t.concat(merged));
  }

  /** The list is ours to copy; its elements are never changed in place (TTL wrappers are replaced). */
  protected override copyStored(stored: unknown): unknown {
    return (stored as unknown[]).slice();
  }

  protected cleanStored(stored: unknown, now: number): unknown {
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
