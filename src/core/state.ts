// State as user code sees it: typed descriptors, the keyed and operator state handles they yield,
// and state time-to-live (StateTtlConfig). Backends (src/state) implement these interfaces.

import { InvalidArgumentError, InvalidJobError } from "./errors.ts";
import type { ReduceFn, ReduceFunction } from "./functions.ts";
import type { TypeInformation } from "./types/type-info.ts";

// ---------------------------------------------------------------------------------------------
// State handles. A keyed handle always works on the backend's current key (and namespace), read
// at call time: one handle, obtained once in open(), serves every record.

export interface ValueState<T> {
  /** The value for the current key, or the descriptor's default (undefined when none) when unset. */
  value(): T | undefined;
  /** Sets the value; `update(undefined)` clears it. */
  update(value: T): void;
  clear(): void;
}

/** State that values are added to; `get()` gives their combination. */
export interface AppendingState<IN, OUT> {
  get(): OUT;
  add(value: IN): void;
  clear(): void;
}

export interface ListState<T> extends AppendingState<T, readonly T[]> {
  /** The elements, oldest first; an empty array when there are none. Do not mutate it. */
  get(): readonly T[];
  /** Appends one element (null and undefined are refused). */
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  /** Replaces all elements; an empty iterable clears the state. */
  update(values: Iterable<T>): void;
}

export interface ReducingState<T> extends AppendingState<T, T | undefined> {}

export interface AggregatingState<IN, OUT> extends AppendingState<IN, OUT | undefined> {}

/** User-key to user-value map per key. User keys are primitives (string, number, boolean, bigint). */
export interface MapState<UK, UV> {
  get(key: UK): UV | undefined;
  put(key: UK, value: UV): void;
  putAll(entries: Iterable<readonly [UK, UV]>): void;
  remove(key: UK): void;
  contains(key: UK): boolean;
  entries(): IterableIterator<[UK, UV]>;
  keys(): IterableIterator<UK>;
  values(): IterableIterator<UV>;
  isEmpty(): boolean;
  clear(): void;
}

/** The read-only view of broadcast state that the keyed (non-broadcast) side of a connection sees. */
export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  immutableEntries(): IterableIterator<readonly [K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
}

/** Broadcast state as the broadcast side sees it: every subtask holds an identical copy. */
export interface BroadcastState<K, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  entries(): IterableIterator<[K, V]>;
  clear(): void;
}

/** Incremental aggregation: `add` folds a value into an accumulator, `merge` joins two (session windows). */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  merge?(a: ACC, b: ACC): ACC;
}

// ---------------------------------------------------------------------------------------------
// State time-to-live (Flink's StateTtlConfig; processing time, from the backend's time provider).

export const UpdateType = {
  /** The last-access timestamp is set when the state is created and on every write. */
  OnCreateAndWrite: "OnCreateAndWrite",
  /** As OnCreateAndWrite, and also on every read. */
  OnReadAndWrite: "OnReadAndWrite",
} as const;
export type UpdateType = (typeof UpdateType)[keyof typeof UpdateType];

export const StateVisibility = {
  /** Expired values are never returned, cleaned up or not. */
  NeverReturnExpired: "NeverReturnExpired",
  /** An expired value is returned (once) while it has not been cleaned up. */
  ReturnExpiredIfNotCleanedUp: "ReturnExpiredIfNotCleanedUp",
} as const;
export type StateVisibility = (typeof StateVisibility)[keyof typeof StateVisibility];

export class StateTtlConfig {
  static readonly UpdateType = UpdateType;
  static readonly StateVisibility = StateVisibility;

  private constructor(
    /** Time to live in milliseconds, from the last access that refreshes it (see updateType). */
    readonly ttl: number,
    readonly updateType: UpdateType,
    readonly stateVisibility: StateVisibility,
    /** Drop expired entries when the checkpoint code calls the backend's cleanupExpired(). */
    readonly cleanupFullSnapshot: boolean,
    /** Entries visited (and expired ones removed) on each access of the state; 0 = off. */
    readonly incrementalCleanupSize: number,
  ) {}

  static newBuilder(ttlMs: number): StateTtlConfigBuilder {
    return new StateTtlConfigBuilder(ttlMs);
  }

  /** @internal used by the builder */
  static create(
    ttl: number,
    updateType: UpdateType,
    visibility: StateVisibility,
    fullSnapshot: boolean,
    incremental: number,
  ): StateTtlConfig {
    return new StateTtlConfig(ttl, updateType, visibility, fullSnapshot, incremental);
  }
}

/** Default cleanup when none is chosen (as Flink's heap backend): visit 5 entries per state access. */
const DEFAULT_INCREMENTAL_CLEANUP_SIZE = 5;

export class StateTtlConfigBuilder {
  private ttl: number;
  private updateType: UpdateType = UpdateType.OnCreateAndWrite;
  private visibility: StateVisibility = StateVisibility.NeverReturnExpired;
  private fullSnapshot = false;
  private incremental: number | undefined;

  constructor(ttlMs: number) {
    this.ttl = checkTtl(ttlMs);
  }
  setTtl(ttlMs: number): this {
    this.ttl = checkTtl(ttlMs);
    return this;
  }
  setUpdateType(updateType: UpdateType): this {
    if (updateType !== UpdateType.OnCreateAndWrite && updateType !== UpdateType.OnReadAndWrite) {
      throw new InvalidArgumentError(
        `unknown TTL update type '${String(updateType)}'; use UpdateType.OnCreateAndWrite or UpdateType.OnReadAndWrite`,
      );
    }
    this.updateType = updateType;
    return this;
  }
  updateTtlOnCreateAndWrite(): this {
    return this.setUpdateType(UpdateType.OnCreateAndWrite);
  }
  updateTtlOnReadAndWrite(): this {
    return this.setUpdateType(UpdateType.OnReadAndWrite);
  }
  setStateVisibility(visibility: StateVisibility): this {
    if (
      visibility !== StateVisibility.NeverReturnExpired &&
      visibility !== StateVisibility.ReturnExpiredIfNotCleanedUp
    ) {
      throw new InvalidArgumentError(
        `unknown TTL state visibility '${String(visibility)}'; use StateVisibility.NeverReturnExpired or StateVisibility.ReturnExpiredIfNotCleanedUp`,
      );
    }
    this.visibility = visibility;
    return this;
  }
  neverReturnExpired(): this {
    return this.setStateVisibility(StateVisibility.NeverReturnExpired);
  }
  returnExpiredIfNotCleanedUp(): this {
    return this.setStateVisibility(StateVisibility.ReturnExpiredIfNotCleanedUp);
  }
  /** Remove expired entries when a snapshot is taken (the backend's cleanupExpired()). */
  cleanupFullSnapshot(): this {
    this.fullSnapshot = true;
    return this;
  }
  /** On each access of the state, visit `cleanupSize` entries and remove the expired ones. */
  cleanupIncrementally(cleanupSize: number): this {
    if (!Number.isInteger(cleanupSize) || cleanupSize < 0) {
      throw new InvalidArgumentError(
        `cleanupIncrementally needs a cleanup size that is an integer >= 0, got ${cleanupSize}`,
      );
    }
    this.incremental = cleanupSize;
    return this;
  }
  /** Turn off the default incremental cleanup (expired state is then removed on access and snapshot only). */
  disableCleanupInBackground(): this {
    this.incremental = 0;
    return this;
  }
  build(): StateTtlConfig {
    const incremental = this.incremental ?? (this.fullSnapshot ? 0 : DEFAULT_INCREMENTAL_CLEANUP_SIZE);
    return StateTtlConfig.create(this.ttl, this.updateType, this.visibility, this.fullSnapshot, incremental);
  }
}

function checkTtl(ttlMs: number): number {
  if (typeof ttlMs !== "number" || !(ttlMs > 0) || !Number.isFinite(ttlMs)) {
    throw new InvalidArgumentError(
      `state TTL must be a positive, finite number of milliseconds, got ${ttlMs}`,
    );
  }
  return ttlMs;
}

// ---------------------------------------------------------------------------------------------
// Descriptors: a state's name, kind, type and (for reducing/aggregating) its function.

export type StateKind = "value" | "list" | "map" | "reducing" | "aggregating";

export abstract class StateDescriptor<T> {
  abstract readonly kind: StateKind;
  readonly name: string;
  /** The type of the stored value (list: of an element; aggregating: of the accumulator). */
  readonly type: TypeInformation<T> | undefined;
  ttlConfig: StateTtlConfig | undefined = undefined;

  constructor(name: string, type?: TypeInformation<T>) {
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidArgumentError("a state descriptor needs a non-empty name");
    }
    this.name = name;
    this.type = type;
  }

  /** Entries of this state expire `ttlConfig.ttl` ms after their last (write or read) access. */
  enableTimeToLive(ttlConfig: StateTtlConfig): this {
    if (!(ttlConfig instanceof StateTtlConfig)) {
      throw new InvalidArgumentError(
        `state '${this.name}': enableTimeToLive needs a StateTtlConfig (StateTtlConfig.newBuilder(ms)...build())`,
      );
    }
    this.ttlConfig = ttlConfig;
    return this;
  }

  /** The type as compared when a name is registered twice; undefined when not (fully) given. */
  typeSignature(): string | undefined {
    return this.type?.name;
  }
}

export class ValueStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = "value" as const;
  constructor(
    name: string,
    type?: TypeInformation<T>,
    /** Returned by value() when unset. Shared, not copied: prefer immutable values. */
    readonly defaultValue?: T,
  ) {
    super(name, type);
  }
}

export class ListStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = "list" as const;
  constructor(name: string, elementType?: TypeInformation<T>) {
    super(name, elementType);
  }
}

export class MapStateDescriptor<K, V> extends StateDescriptor<V> {
  readonly kind = "map" as const;
  constructor(
    name: string,
    readonly keyType?: TypeInformation<K>,
    valueType?: TypeInformation<V>,
  ) {
    super(name, valueType);
  }
  override typeSignature(): string | undefined {
    return this.keyType !== undefined && this.type !== undefined
      ? `${this.keyType.name} -> ${this.type.name}`
      : undefined;
  }
}

export class ReducingStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = "reducing" as const;
  readonly reduceFn: ReduceFn<T>;
  constructor(name: string, reduceFn: ReduceFn<T> | ReduceFunction<T>, type?: TypeInformation<T>) {
    super(name, type);
    if (typeof reduceFn === "function") this.reduceFn = reduceFn;
    else if (typeof reduceFn === "object" && reduceFn !== null && typeof reduceFn.reduce === "function") {
      this.reduceFn = (a, b) => reduceFn.reduce(a, b);
    } else {
      throw new InvalidArgumentError(
        `reducing state '${name}' needs a reduce function (a, b) => c or an object with reduce(a, b)`,
      );
    }
  }
}

export class AggregatingStateDescriptor<IN, ACC, OUT> extends StateDescriptor<ACC> {
  readonly kind = "aggregating" as const;
  constructor(
    name: string,
    readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>,
    accumulatorType?: TypeInformation<ACC>,
  ) {
    super(name, accumulatorType);
    const f = aggregateFunction as Partial<AggregateFunction<IN, ACC, OUT>> | null;
    if (
      typeof f !== "object" ||
      f === null ||
      typeof f.createAccumulator !== "function" ||
      typeof f.add !== "function" ||
      typeof f.getResult !== "function"
    ) {
      throw new InvalidArgumentError(
        `aggregating state '${name}' needs an AggregateFunction with createAccumulator(), add(value, acc) and getResult(acc)`,
      );
    }
  }
}

/** A descriptor registered under a name already used by a state of another kind or type. */
export class StateDescriptorConflictError extends InvalidArgumentError {}

/**
 * Restored keyed state that the job's state declaration cannot read: another kind, or a type no
 * migration rule reaches (docs/checkpoints.md, "Changing state between runs"). Restarting would
 * read the same checkpoint again, so the job fails at once.
 */
export class StateMigrationError extends InvalidJobError {}

/** A write to read-only state (broadcast state on the keyed side of a broadcast connection). */
export class ReadOnlyStateError extends InvalidArgumentError {}

// ---------------------------------------------------------------------------------------------
// Stores: where functions get their state from.

/** Gives a keyed function its state; only available on a keyed stream. */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
}

/**
 * Non-keyed state of one operator subtask. On restore at another parallelism (with checkpoints):
 * list state is split evenly (round-robin over the new subtasks), union list state is given whole
 * to every subtask, and broadcast state is restored as an identical copy on every subtask.
 */
export interface OperatorStateStore {
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
  getRegisteredStateNames(): string[];
  getRegisteredBroadcastStateNames(): string[];
}
