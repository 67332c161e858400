// Operator (non-keyed) state of one subtask: list state, union list state and broadcast state.
//
// Redistribution on restore at another parallelism (implemented with checkpoints):
// - list state ("split"): the elements of all old subtasks are concatenated and split evenly
//   (round-robin) over the new subtasks;
// - union list state ("union"): every new subtask gets the whole concatenation;
// - broadcast state ("broadcast"): identical on every subtask, so each new subtask gets one copy
//   (that of old subtask 0, or its own index modulo the old parallelism).
// TTL is a keyed-state feature: operator state descriptors with TTL are refused.

import { InvalidArgumentError } from "../core/errors.ts";
import {
  type BroadcastState,
  type ListState,
  type ListStateDescriptor,
  type MapStateDescriptor,
  type OperatorStateStore,
  type ReadOnlyBroadcastState,
  ReadOnlyStateError,
  type StateDescriptor,
} from "../core/state.ts";
import { checkCompatible } from "./heap-keyed-state-backend.ts";

export type OperatorStateMode = "split" | "union" | "broadcast";

export class OperatorListState<T> implements ListState<T> {
  private items: T[] = [];

  constructor(
    readonly descriptor: ListStateDescriptor<T>,
    readonly mode: "split" | "union",
  ) {}

  get(): readonly T[] {
    return this.items;
  }
  add(value: T): void {
    this.check(value);
    this.items.push(value);
  }
  addAll(values: Iterable<T>): void {
    for (const v of values) this.add(v);
  }
  update(values: Iterable<T>): void {
    const next: T[] = [];
    for (const v of values) {
      this.check(v);
      next.push(v);
    }
    this.items = next;
  }
  clear(): void {
    this.items = [];
  }
  private check(value: T): void {
    if (value === undefined || value === null) {
      throw new InvalidArgumentError(
        `operator list state '${this.descriptor.name}': cannot add ${value}; clear() removes all elements`,
      );
    }
  }
}

/** Broadcast state: a map, identical on every subtask because only broadcast input writes it. */
export class HeapBroadcastState<K, V> implements BroadcastState<K, V> {
  private readonly map = new Map<K, V>();
  /** The view given to the non-broadcast (keyed) side. */
  readonly readOnly: ReadOnlyBroadcastStateView<K, V>;

  constructor(readonly descriptor: MapStateDescriptor<K, V>) {
    this.readOnly = new ReadOnlyBroadcastStateView(this);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }
  contains(key: K): boolean {
    return this.map.has(key);
  }
  put(key: K, value: V): void {
    this.map.set(key, value);
  }
  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.map.set(k, v);
  }
  remove(key: K): void {
    this.map.delete(key);
  }
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
  immutableEntries(): IterableIterator<readonly [K, V]> {
    return this.map.entries();
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  isEmpty(): boolean {
    return this.map.size === 0;
  }
  clear(): void {
    this.map.clear();
  }
}

/** Reads through to the broadcast state; every write throws ReadOnlyStateError. */
export class ReadOnlyBroadcastStateView<K, V> implements ReadOnlyBroadcastState<K, V> {
  constructor(private readonly state: HeapBroadcastState<K, V>) {}

  get(key: K): V | undefined {
    return this.state.get(key);
  }
  contains(key: K): boolean {
    return this.state.contains(key);
  }
  immutableEntries(): IterableIterator<readonly [K, V]> {
    return this.state.immutableEntries();
  }
  keys(): IterableIterator<K> {
    return this.state.keys();
  }
  values(): IterableIterator<V> {
    return this.state.values();
  }
  isEmpty(): boolean {
    return this.state.isEmpty();
  }
  put(_key: K, _value: V): never {
    return this.refuse("put");
  }
  putAll(_entries: Iterable<readonly [K, V]>): never {
    return this.refuse("putAll");
  }
  remove(_key: K): never {
    return this.refuse("remove");
  }
  clear(): never {
    return this.refuse("clear");
  }
  entries(): never {
    return this.refuse("entries (use immutableEntries)");
  }
  private refuse(op: string): never {
    throw new ReadOnlyStateError(
      `broadcast state '${this.state.descriptor.name}' is read-only on the non-broadcast side: ${op} is not allowed; only processBroadcastElement may modify broadcast state, so that it stays identical on every subtask`,
    );
  }
}

export class DefaultOperatorStateStore implements OperatorStateStore {
  private readonly lists = new Map<string, OperatorListState<unknown>>();
  private readonly broadcasts = new Map<string, HeapBroadcastState<unknown, unknown>>();

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.list(descriptor, "split");
  }

  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.list(descriptor, "union");
  }

  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    return this.broadcast(descriptor);
  }

  /** The read-only view of a broadcast state, for the keyed/non-broadcast side. */
  getReadOnlyBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    return this.broadcast(descriptor).readOnly;
  }

  getRegisteredStateNames(): string[] {
    return [...this.lists.keys()];
  }

  getRegisteredBroadcastStateNames(): string[] {
    return [...this.broadcasts.keys()];
  }

  /** How a list state is redistributed on restore ("split" or "union"), for the checkpoint code. */
  listStateMode(name: string): "split" | "union" | undefined {
    return this.lists.get(name)?.mode;
  }

  private list<T>(descriptor: ListStateDescriptor<T>, mode: "split" | "union"): ListState<T> {
    checkOperatorDescriptor(descriptor, "list");
    const existing = this.lists.get(descriptor.name);
    if (existing !== undefined) {
      checkCompatible(
        existing.descriptor as StateDescriptor<unknown>,
        descriptor as StateDescriptor<unknown>,
      );
      if (existing.mode !== mode) {
        throw new InvalidArgumentError(
          `operator state '${descriptor.name}' is registered as ${existing.mode === "union" ? "union list" : "list"} state and is now requested as ${mode === "union" ? "union list" : "list"} state; give each state its own name`,
        );
      }
      return existing as OperatorListState<T>;
    }
    const state = new OperatorListState<T>(descriptor, mode);
    this.lists.set(descriptor.name, state as OperatorListState<unknown>);
    return state;
  }

  private broadcast<K, V>(descriptor: MapStateDescriptor<K, V>): HeapBroadcastState<K, V> {
    checkOperatorDescriptor(descriptor, "map");
    const existing = this.broadcasts.get(descriptor.name);
    if (existing !== undefined) {
      checkCompatible(
        existing.descriptor as StateDescriptor<unknown>,
        descriptor as StateDescriptor<unknown>,
      );
      return existing as unknown as HeapBroadcastState<K, V>;
    }
    const state = new HeapBroadcastState<K, V>(descriptor);
    this.broadcasts.set(descriptor.name, state as unknown as HeapBroadcastState<unknown, unknown>);
    return state;
  }
}

function checkOperatorDescriptor(d: StateDescriptor<unknown>, kind: "list" | "map"): void {
  if (d.kind !== kind) {
    throw new InvalidArgumentError(
      `operator state '${d.name}' needs a ${kind === "list" ? "ListStateDescriptor" : "MapStateDescriptor"}, got a ${d.kind} state descriptor`,
    );
  }
  if (d.ttlConfig !== undefined) {
    throw new InvalidArgumentError(
      `operator state '${d.name}' has TTL enabled, but TTL is only supported for keyed state; remove enableTimeToLive`,
    );
  }
}
