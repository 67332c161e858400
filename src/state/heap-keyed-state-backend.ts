// Heap keyed state of one operator subtask over its key-group range: registers states by name,
// tracks the current key, key group and namespace that every state handle reads, and offers what
// window operators (namespaces, merging), broadcast functions (all keys) and checkpoints (per key
// group iteration, TTL cleanup) need. Storage per state: StateTable (one Map for the void
// namespace; a stored key's key group is assignToKeyGroup of the key with this backend's max
// parallelism, computed when snapshots and iterations by key group need it).
//
// Restored state belongs to every checkpoint whether or not the job has used it since (as in
// Flink): entries restored for a state whose descriptor has not registered yet (a trigger's
// count, window-scoped state, getState in processElement) wait in a table of their own, in their
// stored (snapshot) form, which snapshots, key-group iteration and namespace clearing include; the
// state adopts that very table when it registers, so a snapshot in flight keeps its copy-on-write
// hold. Their TTL is unknown until then: expired entries are carried as they are and expire by the
// descriptor's rules once it registers.

import { InvalidArgumentError } from "../core/errors.ts";
import { DEFAULT_MAX_PARALLELISM, type KeyGroupRange } from "../core/key-groups.ts";
import {
  type AggregatingStateDescriptor,
  type ReducingStateDescriptor,
  type StateDescriptor,
  StateDescriptorConflictError,
} from "../core/state.ts";
import { HeapMapState } from "./heap-map-state.ts";
import {
  type KeyGroupEntry,
  collectEntries,
  type KeyedStateBackend,
  type KeyedStateSnapshot,
  type SnapshotEntryVisitor,
  TypedStateAccess,
  visitSnapshotEntries,
} from "./keyed-state-backend.ts";
import {
  HeapAggregatingState,
  HeapListState,
  HeapReducingState,
  type HeapState,
  HeapTtlValueState,
  HeapValueState,
} from "./heap-states.ts";
import {
  checkNamespace,
  type KeyContext,
  type KeyGroupIndexOf,
  keyGroupOfMapKey,
  keyOfMapKey,
  type MapKey,
  mapKeyOf,
  type Namespace,
  StateTable,
  UNKNOWN_KEY_GROUP,
  VOID_NAMESPACE,
} from "./state-table.ts";
import { RestoredStateMeta, type StateMetaRanges } from "./state-meta.ts";
import { TtlPolicy } from "./ttl.ts";

export { VOID_NAMESPACE, type Namespace } from "./state-table.ts";

export type { KeyGroupEntry } from "./keyed-state-backend.ts";

type AnyDescriptor = StateDescriptor<unknown>;

export class HeapKeyedStateBackend extends TypedStateAccess implements KeyedStateBackend {
  private readonly states = new Map<string, HeapState>();
  private readonly ctx: KeyContext = {
    key: undefined,
    mapKey: "",
    keyGroupIndex: -1,
    namespace: VOID_NAMESPACE,
  };
  private readonly numKeyGroups: number;
  private timeProvider: () => number = Date.now;
  private readonly clock = { now: (): number => this.timeProvider() };

  /** The key group index of a stored key (its key group minus the range's first). */
  private readonly keyGroupIndexOf: KeyGroupIndexOf;

  /**
   * `maxParallelism`: the job's, which the key groups given to setCurrentKey and restoreKeyGroup
   * are computed with (assignToKeyGroup); snapshots group stored keys by it.
   */
  constructor(
    readonly keyGroupRange: KeyGroupRange,
    readonly maxParallelism: number = DEFAULT_MAX_PARALLELISM,
  ) {
    super();
    if (keyGroupRange.end >= maxParallelism) {
      throw new InvalidArgumentError(
        `key groups ${keyGroupRange.start}..${keyGroupRange.end} exceed max parallelism ${maxParallelism} (key groups 0..${maxParallelism - 1}); give the backend the job's max parallelism`,
      );
    }
    this.numKeyGroups = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
    this.restoredMeta = new RestoredStateMeta(keyGroupRange.start, keyGroupRange.end);
    const start = keyGroupRange.start;
    this.keyGroupIndexOf = (mapKey) => keyGroupOfMapKey(mapKey, maxParallelism) - start;
  }

  /** Makes `key` (of key group `keyGroup`, which must be in this backend's range) current. */
  setCurrentKey(key: unknown, keyGroup: number): void {
    const i = keyGroup - this.keyGroupRange.start;
    if (!(i >= 0 && i < this.numKeyGroups)) {
      throw new InvalidArgumentError(
        `key ${String(key)} is in key group ${keyGroup}, outside this subtask's key groups ${this.keyGroupRange.start}..${this.keyGroupRange.end}; records were sent to the wrong subtask (key selector not deterministic?)`,
      );
    }
    const ctx = this.ctx;
    ctx.key = key;
    ctx.mapKey = mapKeyOf(key);
    ctx.keyGroupIndex = i;
  }

  /**
   * Makes `key` current without its key group, which is computed from the key (with this backend's
   * max parallelism) only when something needs it: a snapshot still to read, namespaced state,
   * timers. For a backend over every key group (parallelism 1), where no key can be outside the
   * range: a keyed operator there need not hash each record's key.
   */
  setCurrentKeyLazily(key: unknown): void {
    const ctx = this.ctx;
    ctx.key = key;
    ctx.mapKey = mapKeyOf(key);
    ctx.keyGroupIndex = UNKNOWN_KEY_GROUP;
  }

  /** Whether this backend holds every key group of its max parallelism. */
  ownsAllKeyGroups(): boolean {
    return this.keyGroupRange.start === 0 && this.keyGroupRange.end === this.maxParallelism - 1;
  }

  getCurrentKey(): unknown {
    return this.ctx.key;
  }

  getCurrentKeyGroup(): number {
    const i = this.ctx.keyGroupIndex;
    if (i !== UNKNOWN_KEY_GROUP) return i + this.keyGroupRange.start;
    return (this.ctx.keyGroupIndex = this.keyGroupIndexOf(this.ctx.mapKey)) + this.keyGroupRange.start;
  }

  /** Scopes state to a namespace (a window as a primitive); VOID_NAMESPACE for unscoped state. */
  setCurrentNamespace(namespace: Namespace): void {
    this.ctx.namespace = checkNamespace(namespace);
  }

  getCurrentNamespace(): Namespace {
    return this.ctx.namespace;
  }

  /** The processing-time clock of state TTL (tests inject a controlled one). */
  setTimeProvider(now: () => number): void {
    this.timeProvider = now;
  }

  /**
   * For the current key: merges the state `stateName` of the `sources` namespaces into `target` and
   * removes it from the sources (list: appended; reducing: reduced; aggregating: AggregateFunction.merge).
   */
  mergeNamespaces(stateName: string, target: Namespace, sources: readonly Namespace[]): void {
    const state = this.states.get(stateName);
    if (state === undefined) return; // not registered: the operator registers before merging
    checkNamespace(target);
    for (const s of sources) checkNamespace(s);
    if (
      state instanceof HeapListState ||
      state instanceof HeapReducingState ||
      state instanceof HeapAggregatingState
    ) {
      state.mergeNamespaces(target, sources);
      return;
    }
    throw new InvalidArgumentError(
      `state '${stateName}' is ${state.descriptor.kind} state, which cannot merge namespaces; merging windows need list, reducing or aggregating state`,
    );
  }

  /** For the current key: removes the entries of `namespace` of one state, or of all states. */
  clearNamespace(namespace: Namespace, stateName?: string): void {
    checkNamespace(namespace);
    const keyGroupIndex = this.getCurrentKeyGroup() - this.keyGroupRange.start;
    const mapKey = this.ctx.mapKey;
    if (stateName !== undefined) {
      this.tableOf(stateName)?.delete(keyGroupIndex, namespace, mapKey);
      return;
    }
    for (const s of this.states.values()) s.table.delete(keyGroupIndex, namespace, mapKey);
    for (const table of this.pendingRestore.values()) table.delete(keyGroupIndex, namespace, mapKey);
  }

  /** The table of a state, registered or restored and waiting for its descriptor. */
  private tableOf(stateName: string): StateTable | undefined {
    return this.states.get(stateName)?.table ?? this.pendingRestore.get(stateName);
  }

  /** Every table with its state name: registered states, then restored ones not registered yet. */
  private tables(): Array<[string, StateTable]> {
    const out: Array<[string, StateTable]> = [];
    for (const [name, s] of this.states) out.push([name, s.table]);
    for (const e of this.pendingRestore) out.push(e);
    return out;
  }

  /** The keys that have an entry of `stateName` in `namespace` (a copy: safe to modify state meanwhile). */
  getKeys(stateName: string, namespace: Namespace = VOID_NAMESPACE): unknown[] {
    const table = this.tableOf(stateName);
    const out: unknown[] = [];
    if (table === undefined) return out;
    const byKeyGroup = table.nsKeysByKeyGroup(namespace);
    for (let i = 0; i < this.numKeyGroups; i++) {
      const keys = byKeyGroup[i];
      if (keys !== undefined) for (const k of keys) out.push(keyOfMapKey(k));
    }
    return out;
  }

  /**
   * Calls `fn` for every key that has this state (in `namespace`), with that key made current and
   * the state's handle (KeyedBroadcastProcessFunction's applyToKeyedState). Restores the current
   * key and namespace afterwards.
   */
  applyToAllKeys<S>(
    descriptor: StateDescriptor<any>,
    fn: (key: unknown, state: S) => void,
    namespace: Namespace = VOID_NAMESPACE,
  ): void {
    const state = this.register(descriptor) as unknown as S;
    const table = this.states.get(descriptor.name)!.table;
    const saved = { ...this.ctx };
    try {
      this.ctx.namespace = checkNamespace(namespace);
      const byKeyGroup = table.nsKeysByKeyGroup(this.ctx.namespace);
      for (let i = 0; i < this.numKeyGroups; i++) {
        const keys = byKeyGroup[i];
        if (keys === undefined) continue;
        for (const mk of keys) {
          this.ctx.key = keyOfMapKey(mk);
          this.ctx.mapKey = mk;
          this.ctx.keyGroupIndex = i;
          fn(this.ctx.key, state);
        }
      }
    } finally {
      Object.assign(this.ctx, saved);
    }
  }

  /** Number of (key, namespace) entries of one state over all key groups (for tests and metrics). */
  size(stateName: string): number {
    return this.tableOf(stateName)?.size() ?? 0;
  }

  /** Names of the registered states. */
  stateNames(): string[] {
    return [...this.states.keys()];
  }

  /**
   * Every entry of one key group (in this backend's range), state by state: what a snapshot of that
   * key group writes (restored states not registered yet included). Restoring will put entries back
   * with the same (state, namespace, mapKey).
   */
  *keyGroupEntries(keyGroup: number): Generator<KeyGroupEntry> {
    const i = keyGroup - this.keyGroupRange.start;
    if (!(i >= 0 && i < this.numKeyGroups)) {
      throw new InvalidArgumentError(
        `key group ${keyGroup} is outside this backend's key groups ${this.keyGroupRange.start}..${this.keyGroupRange.end}`,
      );
    }
    for (const [state, table] of this.tables()) {
      for (const [namespace, m] of table.namespacesOf(i)) {
        for (const [mapKey, value] of m) yield { state, namespace, mapKey, value };
      }
    }
  }

  /**
   * Removes expired entries of every TTL state configured with cleanupFullSnapshot() (all TTL states
   * when `all`); the checkpoint code calls this before a snapshot. Returns the entries removed or changed.
   * Restored states not registered yet are left as they are: their TTL is the descriptor's.
   */
  cleanupExpired(all = false): number {
    const now = this.timeProvider();
    let n = 0;
    for (const s of this.states.values()) {
      if (s.ttl === undefined || !(all || s.ttl.cleanupFullSnapshot)) continue;
      for (const [kgi, ns, m, k] of s.table.entries()) if (s.cleanupEntry(kgi, ns, m, k, now)) n++;
    }
    return n;
  }

  /** One key group's entries for a checkpoint: [state, namespace (null = void), map key, value]. */
  snapshotKeyGroup(keyGroup: number): Array<[string, unknown, unknown, unknown]> {
    return collectEntries((emit) => visitSnapshotEntries(this.keyGroupEntries(keyGroup), emit));
  }

  /**
   * Copy-on-write per entry: captures nothing; until the snapshot has read a key group, the first
   * access to an entry of it keeps the old value for the snapshot (StateTable.capture). Lists every
   * key group of the range when any state holds entries (finding the ones with entries would hash
   * every key in the synchronous part; the first read sorts the keys into key groups, and the
   * writer leaves empty key groups out). Each key group is read once. Restored states not
   * registered yet are in it too (a state that registers meanwhile adopts its table, captures and all).
   */
  snapshot(): KeyedStateSnapshot {
    const tables = this.tables();
    const indices: number[] = [];
    if (tables.some(([, t]) => t.size() > 0)) for (let i = 0; i < this.numKeyGroups; i++) indices.push(i);
    const captures = tables.map(([name, t]) => [name, t.capture(indices)] as const);
    const start = this.keyGroupRange.start;
    let released = false;
    const read = (keyGroup: number, emit: SnapshotEntryVisitor) => {
      if (released) throw new InvalidArgumentError("this keyed state snapshot was released");
      const i = keyGroup - start;
      for (const [name, c] of captures) {
        if (!c.isPending(i)) {
          if (indices.includes(i)) {
            throw new InvalidArgumentError(`key group ${keyGroup} of this snapshot was already read`);
          }
          return; // no entries at the snapshot
        }
        c.read(i, (ns, k, v) => emit(name, ns === VOID_NAMESPACE ? null : ns, k, v));
      }
    };
    return {
      keyGroups: indices.map((i) => i + start),
      read,
      entries: (keyGroup) => collectEntries((emit) => read(keyGroup, emit)),
      release: () => {
        if (released) return;
        released = true;
        for (const [, c] of captures) c.release();
      },
    };
  }

  /**
   * Put back a key group's entries from a checkpoint. States not registered yet (their descriptor
   * is first used later, in open() or on the first record) keep theirs in a table of their own,
   * part of every snapshot, that becomes the state's table when it registers.
   */
  restoreKeyGroup(keyGroup: number, entries: Array<[string, unknown, unknown, unknown]>): void {
    const i = keyGroup - this.keyGroupRange.start;
    if (!(i >= 0 && i < this.numKeyGroups)) return;
    for (const [state, ns, mapKey, value] of entries) {
      const namespace = (ns === null ? VOID_NAMESPACE : ns) as Namespace;
      let table = this.tableOf(state);
      if (table === undefined) {
        table = this.newTable(state);
        this.pendingRestore.set(state, table);
      }
      const registered = this.states.get(state);
      // A state registered before its key groups were restored reads them in its own form now.
      const migrate = registered === undefined ? null : this.restorePlanOf(registered.descriptor)?.(i);
      if (this.keyGroupIndexOf(mapKey as MapKey) !== i) {
        throw new InvalidArgumentError(
          `restored key ${String(keyOfMapKey(mapKey as MapKey))} of state '${state}' is stored in key group ${keyGroup}, but is in key group ${this.keyGroupIndexOf(mapKey as MapKey) + this.keyGroupRange.start} at max parallelism ${this.maxParallelism}; restore with the max parallelism the checkpoint was taken with`,
        );
      }
      table.mapOrCreate(namespace).set(mapKey as MapKey, migrate ? migrate(value) : value);
    }
  }

  private restorePlanOf(d: AnyDescriptor): ReturnType<RestoredStateMeta["plansFor"]> {
    return this.restoredMeta.plansFor(d, this.clock.now);
  }

  /** What a checkpoint records of each state (kind, types, TTL), by key-group range. */
  stateMetaInfo(): StateMetaRanges {
    return this.restoredMeta.snapshotOf(this.states);
  }

  /** The checkpoint's records of its states: before its key groups; registrations are checked against them. */
  restoreStateMetaInfo(parts: StateMetaRanges): void {
    this.restoredMeta.restoreChecked(parts, this.states, this.clock.now);
  }

  /** Nothing to release: the state lives in the JS heap. */
  dispose(): void {}

  private newTable(name: string): StateTable {
    return new StateTable(name, this.numKeyGroups, this.ctx, this.keyGroupIndexOf);
  }

  /** Restored tables of states whose descriptor has not registered yet, by state name. */
  private readonly pendingRestore = new Map<string, StateTable>();
  /** What the restored checkpoint recorded of its states, by key group. */
  private readonly restoredMeta: RestoredStateMeta;

  protected register(descriptor: AnyDescriptor): HeapState {
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      checkCompatible(existing.descriptor, descriptor);
      return existing;
    }
    // Checked before anything changes: an incompatible declaration throws StateMigrationError.
    const migrate = this.restorePlanOf(descriptor);
    const restored = this.pendingRestore.get(descriptor.name);
    if (restored !== undefined && migrate !== null) migrateTable(restored, migrate);
    const table = restored ?? this.newTable(descriptor.name);
    const ttl =
      descriptor.ttlConfig === undefined ? undefined : new TtlPolicy(descriptor.ttlConfig, this.clock);
    const state = createState(descriptor, table, this.ctx, ttl);
    this.pendingRestore.delete(descriptor.name);
    this.states.set(descriptor.name, state);
    return state;
  }
}

/** Rewrites every entry of a restored table by its key group's plan (a live snapshot keeps the old values). */
function migrateTable(
  table: StateTable,
  planOf: (keyGroupIndex: number) => ((v: unknown) => unknown) | null,
): void {
  for (const [, ns, map, key] of table.entries()) {
    const i = table.checkedKeyGroupIndexOf(key);
    const migrate = planOf(i);
    if (migrate === null) continue;
    table.touch(i, ns, key);
    map.set(key, migrate(map.get(key)));
  }
}

function createState(
  d: AnyDescriptor,
  table: StateTable,
  ctx: KeyContext,
  ttl: TtlPolicy | undefined,
): HeapState {
  switch (d.kind) {
    case "value":
      return ttl === undefined
        ? new HeapValueState(d, table, ctx, ttl)
        : new HeapTtlValueState(d, table, ctx, ttl);
    case "list":
      return new HeapListState(d, table, ctx, ttl);
    case "map":
      return new HeapMapState(d, table, ctx, ttl);
    case "reducing":
      return new HeapReducingState(d, table, ctx, ttl, (d as ReducingStateDescriptor<unknown>).reduceFn);
    case "aggregating":
      return new HeapAggregatingState(
        d,
        table,
        ctx,
        ttl,
        (d as AggregatingStateDescriptor<unknown, unknown, unknown>).aggregateFunction,
      );
    default:
      throw new InvalidArgumentError(`state '${d.name}' has an unknown kind '${String(d.kind)}'`);
  }
}

function describe(d: AnyDescriptor): string {
  const t = d.typeSignature();
  return t === undefined ? `${d.kind} state` : `${d.kind} state of ${t}`;
}

export function checkCompatible(existing: AnyDescriptor, requested: AnyDescriptor): void {
  const a = existing.typeSignature();
  const b = requested.typeSignature();
  if (existing.kind !== requested.kind || (a !== undefined && b !== undefined && a !== b)) {
    throw new StateDescriptorConflictError(
      `state descriptor reused with another type: state '${requested.name}' is registered as ${describe(existing)} and is now requested as ${describe(requested)}; give each state its own name`,
    );
  }
}
