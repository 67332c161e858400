// The keyed state backend contract that operators, runtime contexts and checkpoints program
// against: the current key/namespace, state handles, window helpers, per-key-group snapshot and
// restore, and dispose(). Implemented by the heap backend and by the embedded (on-disk) backend,
// which share one snapshot entry format so that a snapshot of one restores into the other.

import type { KeyGroupRange } from "../core/key-groups.ts";
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedStateStore,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from "../core/state.ts";
import type { StateMetaRanges } from "./state-meta.ts";
import { type MapKey, type Namespace, VOID_NAMESPACE } from "./state-table.ts";

/** One stored entry, as a snapshot writes it: the key in Map form (see keyOfMapKey) and the stored value. */
export interface KeyGroupEntry {
  state: string;
  namespace: Namespace;
  mapKey: MapKey;
  /** The stored value (TtlValue-wrapped under TTL; a JS Map for map state; an array for list state). */
  value: unknown;
}

/**
 * One entry of a key group in a checkpoint: [state name, namespace (null = void), map key (as
 * mapKeyOf gives it), stored value (as KeyGroupEntry.value)]. Both backends write and read it.
 */
export type KeyGroupSnapshotEntry = [string, unknown, unknown, unknown];

/**
 * Receives one restored entry whose value is still the GENERIC encoding of its heap form (`value`
 * is a view valid during the call).
 */
export type EncodedEntryVisitor = (
  state: string,
  namespace: unknown,
  mapKey: unknown,
  value: Uint8Array,
) => void;

/** Receives a snapshot's entries one by one: no array per entry. */
export type SnapshotEntryVisitor = (
  state: string,
  namespace: unknown,
  mapKey: unknown,
  value: unknown,
) => void;

/** Collects what a visitor receives into snapshot entries. */
export function collectEntries(read: (emit: SnapshotEntryVisitor) => void): KeyGroupSnapshotEntry[] {
  const out: KeyGroupSnapshotEntry[] = [];
  read((state, ns, k, v) => out.push([state, ns, k, v]));
  return out;
}

/** Passes stored entries on in snapshot form (namespace null = void). */
export function visitSnapshotEntries(entries: Iterable<KeyGroupEntry>, emit: SnapshotEntryVisitor): void {
  for (const e of entries)
    emit(e.state, e.namespace === VOID_NAMESPACE ? null : e.namespace, e.mapKey, e.value);
}

/**
 * The keyed state of a backend as it was at one barrier, to be read after the task has gone on
 * (the heap backend copies on write meanwhile). Taking it is the synchronous part of a checkpoint;
 * reading it is the asynchronous part. Release it when done (also on failure).
 */
export interface KeyedStateSnapshot {
  /**
   * The key groups to read, ascending, each once: every key group of the range that holds entries,
   * and possibly others (the embedded backend lists its whole range: finding the ones with entries
   * would read the store in the synchronous part). Reading a key group without entries emits
   * nothing.
   */
  readonly keyGroups: readonly number[];
  /**
   * Calls `emit` for each entry of one key group as of the snapshot, state by state and namespace
   * by namespace (namespace null = void). A key group is read once, and its values are the task's
   * again afterwards: encode them before the task runs.
   */
  read(keyGroup: number, emit: SnapshotEntryVisitor): void;
  /** read(), collected into entries (for tests and small states). */
  entries(keyGroup: number): KeyGroupSnapshotEntry[];
  /** The snapshot will not be read again. */
  release(): void;
}

export interface KeyedStateBackend extends KeyedStateStore {
  readonly keyGroupRange: KeyGroupRange;

  /** Makes `key` (of key group `keyGroup`, which must be in this backend's range) current. */
  setCurrentKey(key: unknown, keyGroup: number): void;
  /**
   * Makes `key` current, its key group computed only when needed; only where ownsAllKeyGroups()
   * (no key can be outside the range). Backends without it take setCurrentKey.
   */
  setCurrentKeyLazily?(key: unknown): void;
  /** Whether the backend holds every key group of the job's max parallelism (parallelism 1). */
  ownsAllKeyGroups?(): boolean;
  getCurrentKey(): unknown;
  getCurrentKeyGroup(): number;
  /** Scopes state to a namespace (a window as a primitive); VOID_NAMESPACE for unscoped state. */
  setCurrentNamespace(namespace: Namespace): void;
  getCurrentNamespace(): Namespace;
  /** The processing-time clock of state TTL (tests inject a controlled one). */
  setTimeProvider(now: () => number): void;

  /** The handle of any descriptor (dispatch on its kind); the same handle for the same name. */
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getPartitionedState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getPartitionedState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;

  /** For the current key: merges `stateName` of the `sources` namespaces into `target` (list/reducing/aggregating). */
  mergeNamespaces(stateName: string, target: Namespace, sources: readonly Namespace[]): void;
  /** For the current key: removes the entries of `namespace` of one state, or of all states. */
  clearNamespace(namespace: Namespace, stateName?: string): void;
  /** The keys that have an entry of `stateName` in `namespace` (a copy: safe to modify state meanwhile). */
  getKeys(stateName: string, namespace?: Namespace): unknown[];
  /** Calls `fn` for every key that has this state (in `namespace`) with that key current; restores the context. */
  applyToAllKeys<S>(
    descriptor: StateDescriptor<any>,
    fn: (key: unknown, state: S) => void,
    namespace?: Namespace,
  ): void;

  /** Number of (key, namespace) entries of one state over all key groups. */
  size(stateName: string): number;
  /** Names of the registered states. */
  stateNames(): string[];

  /** Every entry of one key group in this backend's range, state by state. */
  keyGroupEntries(keyGroup: number): Iterable<KeyGroupEntry>;
  /** Removes expired entries of TTL states with cleanupFullSnapshot (all TTL states when `all`). */
  cleanupExpired(all?: boolean): number;
  /** One key group's entries for a checkpoint. */
  snapshotKeyGroup(keyGroup: number): KeyGroupSnapshotEntry[];
  /** The whole keyed state as of now, read later (see KeyedStateSnapshot). */
  snapshot(): KeyedStateSnapshot;
  /**
   * What a checkpoint records of each state beside its entries (kind, declared types, TTL), by
   * key-group range: registered states, and restored ones not registered yet as they were restored.
   */
  stateMetaInfo(): StateMetaRanges;
  /**
   * Those records from the checkpoint restored, before its key groups: a state registering later
   * is checked against them and its restored entries migrated (state-meta.ts); an incompatible
   * declaration throws StateMigrationError.
   */
  restoreStateMetaInfo(parts: StateMetaRanges): void;
  /** Puts back a key group's entries from a checkpoint (states not registered yet get theirs on registration). */
  restoreKeyGroup(keyGroup: number, entries: KeyGroupSnapshotEntry[]): void;
  /**
   * restoreKeyGroup from a key group still encoded: `read` hands every entry to the visitor with
   * its value undecoded. Implemented by backends that store encoded values (the embedded one).
   */
  restoreEncodedKeyGroup?(keyGroup: number, read: (visit: EncodedEntryVisitor) => void): void;

  /** Releases what the backend holds outside the JS heap (the embedded store and its directory). */
  dispose(): void;
}

/**
 * The typed state accessors both backends share: every one resolves through `register`, which
 * returns the one handle of a state name (created on first use, checked for a compatible kind).
 */
export abstract class TypedStateAccess {
  protected abstract register(descriptor: StateDescriptor<unknown>): unknown;

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.register(descriptor) as ValueState<T>;
  }
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.register(descriptor) as ListState<T>;
  }
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.register(descriptor) as MapState<K, V>;
  }
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.register(descriptor) as ReducingState<T>;
  }
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.register(descriptor) as AggregatingState<IN, OUT>;
  }

  /** The handle of any descriptor (dispatch on its kind); the same handle for the same name. */
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getPartitionedState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getPartitionedState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
  getPartitionedState(descriptor: StateDescriptor<unknown>): unknown {
    return this.register(descriptor);
  }
}
