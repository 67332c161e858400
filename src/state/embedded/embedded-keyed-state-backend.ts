// The embedded keyed state backend: keyed state of one operator subtask in an on-disk LMDB store
// (EmbeddedStore) instead of the heap, so state can be far larger than memory. Same API and
// semantics as HeapKeyedStateBackend; keys are laid out by key group (store-keys.ts) so that one
// key group is one range scan, and snapshots/restores use the heap backend's entry format.
// States restored before their descriptor registers are kept in the store in a raw (GENERIC)
// form and converted when it does; they are part of every snapshot meanwhile (a snapshot decodes
// them by what was raw when it was taken, even if the state registers before it is read).

import { DataOutputSerializer } from "../../core/data-io.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { KeyGroupRange } from "../../core/key-groups.ts";
import type {
  AggregatingStateDescriptor,
  ReducingStateDescriptor,
  StateDescriptor,
} from "../../core/state.ts";
import { checkCompatible } from "../heap-keyed-state-backend.ts";
import {
  collectEntries,
  type EncodedEntryVisitor,
  type KeyedStateBackend,
  type KeyGroupEntry,
  type KeyGroupSnapshotEntry,
  type KeyedStateSnapshot,
  TypedStateAccess,
  visitSnapshotEntries,
} from "../keyed-state-backend.ts";
import {
  checkNamespace,
  type KeyContext,
  keyOfMapKey,
  type MapKey,
  mapKeyOf,
  type Namespace,
  VOID_NAMESPACE,
} from "../state-table.ts";
import { RestoredStateMeta, type StateMetaRanges } from "../state-meta.ts";
import { TtlPolicy } from "../ttl.ts";
import { EmbeddedMapState } from "./embedded-map-state.ts";
import {
  type EmbeddedContext,
  EmbeddedAggregatingState,
  EmbeddedListState,
  EmbeddedReducingState,
  type EmbeddedState,
  EmbeddedValueState,
} from "./embedded-states.ts";
import { EmbeddedStore, type EmbeddedStoreOptions, type StoreSnapshot } from "./embedded-store.ts";
import {
  cacheKeyOf,
  composeKey,
  decodeKey,
  groupStart,
  ScratchReader,
  prefixEnd,
  writeNamespaceAndKey,
  writeUserKey,
} from "./store-keys.ts";
import { RAW_CODEC, restoredCodecFor } from "./value-codecs.ts";
import { TtlCursor } from "./ttl-cursor.ts";

export type EmbeddedKeyedStateBackendOptions = EmbeddedStoreOptions;

type AnyDescriptor = StateDescriptor<unknown>;

/** The most states one backend can hold (state ids are 2 bytes in the store key). */
const MAX_STATES = 0xffff;

export class EmbeddedKeyedStateBackend
  extends TypedStateAccess
  implements KeyedStateBackend, EmbeddedContext
{
  readonly store: EmbeddedStore;
  readonly ctx: KeyContext & { version: number } = {
    key: undefined,
    mapKey: "",
    keyGroupIndex: -1,
    namespace: VOID_NAMESPACE,
    version: 0,
  };
  private readonly numKeyGroups: number;
  /** Every state name seen (registered or restored) and its id in store keys. */
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly states = new Map<string, EmbeddedState>();
  /** Names with restored entries still in raw form (their descriptor has not registered yet). */
  private readonly pending = new Set<string>();
  private readonly cursors = new Map<EmbeddedState, TtlCursor>();
  private timeProvider: () => number = Date.now;
  private readonly clock = { now: (): number => this.timeProvider() };
  private readonly suffixOut = new DataOutputSerializer(256);
  private suffixVersion = -1;
  private suffixBytes: Uint8Array = new Uint8Array(0);
  private readonly restoreReader = new ScratchReader();
  /** What the restored checkpoint recorded of its states, by key group. */
  private readonly restoredMeta: RestoredStateMeta;

  constructor(
    readonly keyGroupRange: KeyGroupRange,
    options: EmbeddedKeyedStateBackendOptions = {},
  ) {
    super();
    this.numKeyGroups = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
    this.restoredMeta = new RestoredStateMeta(keyGroupRange.start, keyGroupRange.end);
    this.store = new EmbeddedStore(options);
  }

  /** The directory of this backend's store (removed by dispose()). */
  get directory(): string {
    return this.store.directory;
  }

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
    ctx.version++;
  }

  getCurrentKey(): unknown {
    return this.ctx.key;
  }

  getCurrentKeyGroup(): number {
    return this.ctx.keyGroupIndex + this.keyGroupRange.start;
  }

  keyGroup(): number {
    return this.ctx.keyGroupIndex + this.keyGroupRange.start;
  }

  setCurrentNamespace(namespace: Namespace): void {
    checkNamespace(namespace);
    if (namespace === this.ctx.namespace) return;
    this.ctx.namespace = namespace;
    this.ctx.version++;
  }

  getCurrentNamespace(): Namespace {
    return this.ctx.namespace;
  }

  setTimeProvider(now: () => number): void {
    this.timeProvider = now;
  }

  /** The encoded [namespace][key] of the current key (in `ns`, default the current namespace). */
  suffix(ns?: Namespace): Uint8Array {
    const ctx = this.ctx;
    if (ns !== undefined && ns !== ctx.namespace) {
      const out = this.suffixOut;
      out.clear();
      writeNamespaceAndKey(out, ns, ctx.mapKey);
      this.suffixVersion = -1;
      return out.buffer.subarray(0, out.position);
    }
    if (this.suffixVersion !== ctx.version) {
      const out = this.suffixOut;
      out.clear();
      writeNamespaceAndKey(out, ctx.namespace, ctx.mapKey);
      this.suffixBytes = out.buffer.subarray(0, out.position);
      this.suffixVersion = ctx.version;
    }
    return this.suffixBytes;
  }

  mergeNamespaces(stateName: string, target: Namespace, sources: readonly Namespace[]): void {
    const state = this.states.get(stateName);
    if (state === undefined) return;
    checkNamespace(target);
    for (const s of sources) checkNamespace(s);
    if (
      state instanceof EmbeddedListState ||
      state instanceof EmbeddedReducingState ||
      state instanceof EmbeddedAggregatingState
    ) {
      state.mergeNamespaces(target, sources);
      return;
    }
    throw new InvalidArgumentError(
      `state '${stateName}' is ${state.descriptor.kind} state, which cannot merge namespaces; merging windows need list, reducing or aggregating state`,
    );
  }

  clearNamespace(namespace: Namespace, stateName?: string): void {
    checkNamespace(namespace);
    if (stateName !== undefined) {
      const s = this.states.get(stateName);
      if (s !== undefined) this.clearIn(s, namespace);
      else if (this.pending.has(stateName)) this.clearRawIn(stateName, namespace);
      return;
    }
    for (const s of this.states.values()) this.clearIn(s, namespace);
    for (const name of this.pending) this.clearRawIn(name, namespace);
  }

  /** Removes the current key's raw restored entry of a state not registered yet in `namespace`. */
  private clearRawIn(name: string, namespace: Namespace): void {
    const key = composeKey(this.keyGroup(), this.ids.get(name)!, this.suffix(namespace));
    this.store.set(key, cacheKeyOf(key), undefined, RAW_CODEC);
  }

  private clearIn(s: EmbeddedState, namespace: Namespace): void {
    const key = composeKey(this.keyGroup(), s.id, this.suffix(namespace));
    if (!s.perUserKey) {
      this.store.set(key, cacheKeyOf(key), undefined, s.codec);
      return;
    }
    const keys: Buffer[] = [];
    for (const [k] of this.store.scan(key, prefixEnd(key))) keys.push(k);
    this.store.removeAll(keys);
  }

  /** The map keys of one key group that have `stateId` entries in `namespace`, each once. */
  private mapKeysIn(kgi: number, stateId: number, namespace: Namespace): MapKey[] {
    const out: MapKey[] = [];
    const start = groupStart(kgi + this.keyGroupRange.start, stateId);
    const end = groupStart(kgi + this.keyGroupRange.start, stateId + 1);
    let last: MapKey | undefined;
    let first = true;
    for (const [k] of this.store.scan(start, end)) {
      const d = decodeKey(k, false);
      if (d.namespace !== namespace) continue;
      if (!first && Object.is(d.mapKey, last)) continue; // map state: one entry per user key
      first = false;
      last = d.mapKey;
      out.push(d.mapKey);
    }
    return out;
  }

  getKeys(stateName: string, namespace: Namespace = VOID_NAMESPACE): unknown[] {
    const id = this.states.get(stateName)?.id ?? this.ids.get(stateName);
    const out: unknown[] = [];
    if (id === undefined) return out;
    for (let i = 0; i < this.numKeyGroups; i++) {
      for (const mk of this.mapKeysIn(i, id, namespace)) out.push(keyOfMapKey(mk));
    }
    return out;
  }

  applyToAllKeys<S>(
    descriptor: StateDescriptor<any>,
    fn: (key: unknown, state: S) => void,
    namespace: Namespace = VOID_NAMESPACE,
  ): void {
    const state = this.register(descriptor);
    const saved = { ...this.ctx };
    const ctx = this.ctx;
    try {
      this.setCurrentNamespace(namespace);
      for (let i = 0; i < this.numKeyGroups; i++) {
        for (const mk of this.mapKeysIn(i, state.id, namespace)) {
          ctx.mapKey = mk;
          ctx.key = keyOfMapKey(mk);
          ctx.keyGroupIndex = i;
          ctx.version++;
          fn(ctx.key, state as unknown as S);
        }
      }
    } finally {
      const version = ctx.version;
      Object.assign(ctx, saved);
      ctx.version = version + 1; // handles rebuild their keys for the restored context
    }
  }

  size(stateName: string): number {
    const s = this.states.get(stateName);
    const id = s?.id ?? this.ids.get(stateName);
    if (id === undefined) return 0;
    let n = 0;
    for (let i = 0; i < this.numKeyGroups; i++) {
      const kg = i + this.keyGroupRange.start;
      let last: Buffer | undefined;
      for (const [k] of this.store.scan(groupStart(kg, id), groupStart(kg, id + 1))) {
        if (s?.perUserKey) {
          const len = decodeKey(k, false).prefixLength;
          if (last !== undefined && last.length === len && last.equals(k.subarray(0, len))) continue;
          last = k.subarray(0, len);
        }
        n++;
      }
    }
    return n;
  }

  stateNames(): string[] {
    return [...this.states.keys()];
  }

  /**
   * Every entry of one key group, now or (with `from`) as of a store snapshot, whose entries of the
   * states named in `rawStates` are still in raw form (those not registered when it was taken).
   */
  *keyGroupEntries(
    keyGroup: number,
    from?: StoreSnapshot,
    rawStates: ReadonlySet<string> = this.pending,
  ): Generator<KeyGroupEntry> {
    if (!this.inRange(keyGroup)) {
      throw new InvalidArgumentError(
        `key group ${keyGroup} is outside this backend's key groups ${this.keyGroupRange.start}..${this.keyGroupRange.end}`,
      );
    }
    let group: KeyGroupEntry | undefined; // a map state's entry being assembled
    const start = groupStart(keyGroup);
    const end = groupStart(keyGroup + 1);
    for (const [k, raw] of from?.scan(start, end) ?? this.store.scan(start, end)) {
      const name = this.names[(k[2]! << 8) | k[3]!]!;
      const s = rawStates.has(name) ? undefined : this.states.get(name);
      if (s === undefined || !s.perUserKey) {
        if (group !== undefined) yield group;
        group = undefined;
        const d = decodeKey(k, false);
        const value = this.store.decode(raw, s?.codec ?? RAW_CODEC);
        yield { state: name, namespace: d.namespace, mapKey: d.mapKey, value };
        continue;
      }
      const d = decodeKey(k, true);
      const value = this.store.decode(raw, s.codec);
      if (
        group === undefined ||
        group.state !== name ||
        group.namespace !== d.namespace ||
        !Object.is(group.mapKey, d.mapKey)
      ) {
        if (group !== undefined) yield group;
        group = { state: name, namespace: d.namespace, mapKey: d.mapKey, value: new Map() };
      }
      (group.value as Map<unknown, unknown>).set(d.userKey, value);
    }
    if (group !== undefined) yield group;
  }

  cleanupExpired(all = false): number {
    const now = this.timeProvider();
    let n = 0;
    for (const s of this.states.values()) {
      if (s.ttl === undefined || !(all || s.ttl.cleanupFullSnapshot)) continue;
      for (let i = 0; i < this.numKeyGroups; i++) {
        const kg = i + this.keyGroupRange.start;
        for (const [k] of this.store.scan(groupStart(kg, s.id), groupStart(kg, s.id + 1))) {
          if (this.cleanupEntry(s, k, now)) n++;
        }
      }
    }
    return n;
  }

  /** Removes the expired parts of one stored entry (the cached value wins over the store's); true when changed. */
  cleanupEntry(s: EmbeddedState, key: Buffer, now: number): boolean {
    const ck = cacheKeyOf(key);
    const stored = this.store.get(key, ck, s.codec);
    if (stored === undefined) return false;
    const c = s.cleanStored(stored, now);
    if (c === stored) return false;
    this.store.set(key, ck, c, s.codec);
    return true;
  }

  cleanupStep(state: EmbeddedState, now: number): void {
    let c = this.cursors.get(state);
    if (c === undefined) {
      c = new TtlCursor(this, state, this.keyGroupRange, state.ttl!.incrementalCleanupSize);
      this.cursors.set(state, c);
    }
    c.step(now);
  }

  snapshotKeyGroup(
    keyGroup: number,
    from?: StoreSnapshot,
    raw: ReadonlySet<string> = this.pending,
  ): KeyGroupSnapshotEntry[] {
    return collectEntries((emit) => visitSnapshotEntries(this.keyGroupEntries(keyGroup, from, raw), emit));
  }

  /**
   * The synchronous part writes the cached changes to the store and opens a read transaction (an
   * LMDB snapshot); the key groups are read from it later, while the task goes on writing. Restored
   * states not registered yet are read in raw form, even if they register before the read.
   */
  snapshot(): KeyedStateSnapshot {
    const view = this.store.readSnapshot();
    const raw: ReadonlySet<string> = new Set(this.pending);
    const keyGroups: number[] = [];
    for (let kg = this.keyGroupRange.start; kg <= this.keyGroupRange.end; kg++) keyGroups.push(kg);
    return {
      keyGroups,
      read: (kg, emit) => visitSnapshotEntries(this.keyGroupEntries(kg, view, raw), emit),
      entries: (kg) => this.snapshotKeyGroup(kg, view, raw),
      release: () => view.done(),
    };
  }

  /** What a checkpoint records of each state (kind, types, TTL), by key-group range. */
  stateMetaInfo(): StateMetaRanges {
    return this.restoredMeta.snapshotOf(this.states);
  }

  /** The checkpoint's records of its states: before its key groups; registrations are checked against them. */
  restoreStateMetaInfo(parts: StateMetaRanges): void {
    this.restoredMeta.restoreChecked(parts, this.states, this.clock.now);
  }

  restoreKeyGroup(keyGroup: number, entries: KeyGroupSnapshotEntry[]): void {
    if (!this.inRange(keyGroup)) return;
    const out = this.suffixOut;
    this.suffixVersion = -1;
    const writes: Array<[Buffer, unknown, EmbeddedState["codec"]]> = [];
    for (const [state, ns, mapKey, value] of entries) {
      const namespace = checkNamespace(ns === null ? VOID_NAMESPACE : ns);
      const id = this.idOf(state);
      const s = this.states.get(state);
      out.clear();
      writeNamespaceAndKey(out, namespace, mapKey as MapKey);
      const key = composeKey(keyGroup, id, out.buffer.subarray(0, out.position));
      if (s === undefined) {
        this.pending.add(state);
        writes.push([key, value, RAW_CODEC]);
        continue;
      }
      // A state registered before its key groups were restored reads them in its own form now.
      const migrate = this.restoredMeta.plansFor(
        s.descriptor,
        this.clock.now,
      )?.(keyGroup - this.keyGroupRange.start);
      const stored = migrate ? migrate(value) : value;
      if (s instanceof EmbeddedMapState) {
        for (const [uk, v] of stored as Map<unknown, unknown>)
          writes.push([userEntryKey(key, uk), v, s.codec]);
      } else writes.push([key, stored, s.codec]);
    }
    this.store.putAll(writes);
  }

  /**
   * restoreKeyGroup without decoding the values of states not registered yet: their raw form is
   * the GENERIC encoding the checkpoint holds, so its bytes go to the store as they are (written
   * once; see restoredCodecFor for the registration). Entries of registered states are decoded.
   */
  restoreEncodedKeyGroup(keyGroup: number, read: (visit: EncodedEntryVisitor) => void): void {
    if (!this.inRange(keyGroup)) return;
    const out = this.suffixOut;
    this.suffixVersion = -1;
    const decoded: KeyGroupSnapshotEntry[] = [];
    const reader = this.restoreReader;
    let key = Buffer.allocUnsafe(256);
    this.store.putEncoded((put) =>
      read((state, ns, mapKey, value) => {
        if (this.states.has(state)) {
          decoded.push([state, ns, mapKey, RAW_CODEC.decode(reader.load(value))]);
          return;
        }
        this.pending.add(state);
        const id = this.idOf(state);
        out.clear();
        writeNamespaceAndKey(out, checkNamespace(ns === null ? VOID_NAMESPACE : ns), mapKey as MapKey);
        const n = 4 + out.position;
        if (n > key.length) key = Buffer.allocUnsafe(n * 2);
        key[0] = keyGroup >>> 8;
        key[1] = keyGroup & 255;
        key[2] = id >>> 8;
        key[3] = id & 255;
        key.set(out.buffer.subarray(0, out.position), 4);
        put(key.subarray(0, n), value);
      }),
    );
    if (decoded.length > 0) this.restoreKeyGroup(keyGroup, decoded);
  }

  /** Closes the store and removes its directory. */
  dispose(): void {
    this.store.dispose();
  }

  private inRange(keyGroup: number): boolean {
    const i = keyGroup - this.keyGroupRange.start;
    return i >= 0 && i < this.numKeyGroups;
  }

  private idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      if (id >= MAX_STATES) {
        throw new InvalidArgumentError(
          `state '${name}': one operator can hold at most ${MAX_STATES} keyed states in the embedded backend`,
        );
      }
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  protected register(descriptor: AnyDescriptor): EmbeddedState {
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      checkCompatible(existing.descriptor, descriptor);
      return existing;
    }
    // Checked before anything changes: an incompatible declaration throws StateMigrationError.
    const migrate = this.restoredMeta.plansFor(descriptor, this.clock.now);
    const id = this.idOf(descriptor.name);
    const ttl =
      descriptor.ttlConfig === undefined ? undefined : new TtlPolicy(descriptor.ttlConfig, this.clock);
    const state = createState(descriptor, id, this, ttl);
    this.states.set(descriptor.name, state);
    if (this.pending.delete(descriptor.name)) {
      // Entries restored before the state registered are in raw form: kept as they are when the
      // state can read them so, else rewritten in its own encoding (migrated first if they must be).
      const kept = migrate === null ? restoredCodecFor(descriptor, ttl !== undefined) : undefined;
      if (kept !== undefined) state.codec = kept;
      else this.convertRestored(state, migrate);
    }
    return state;
  }

  /**
   * Rewrites the raw entries restored for `state` in its own encoding: each in place (same store
   * key), map state as one entry per user key (the raw entry, one Map per key, is removed).
   */
  private convertRestored(
    state: EmbeddedState,
    planOf: ((keyGroupIndex: number) => ((v: unknown) => unknown) | null) | null,
  ): void {
    for (let i = 0; i < this.numKeyGroups; i++) {
      const kg = i + this.keyGroupRange.start;
      const rawKeys: Buffer[] = [];
      const writes: Array<[Buffer, unknown, EmbeddedState["codec"]]> = [];
      const migrate = planOf?.(i) ?? null;
      for (const [k, raw] of this.store.scan(groupStart(kg, state.id), groupStart(kg, state.id + 1))) {
        const decoded = this.store.decode(raw, RAW_CODEC);
        const value = migrate === null ? decoded : migrate(decoded);
        if (state.perUserKey) {
          rawKeys.push(k);
          for (const [uk, v] of value as Map<unknown, unknown>)
            writes.push([userEntryKey(k, uk), v, state.codec]);
        } else writes.push([k, value, state.codec]);
      }
      this.store.removeAll(rawKeys);
      this.store.putAll(writes);
    }
  }
}

const userKeyOut = new DataOutputSerializer(64);

function userEntryKey(prefix: Buffer, userKey: unknown): Buffer {
  userKeyOut.clear();
  writeUserKey(userKeyOut, userKey);
  return Buffer.concat([prefix, userKeyOut.buffer.subarray(0, userKeyOut.position)]);
}

function createState(
  d: AnyDescriptor,
  id: number,
  be: EmbeddedContext,
  ttl: TtlPolicy | undefined,
): EmbeddedState {
  switch (d.kind) {
    case "value":
      return new EmbeddedValueState(d, id, be, ttl);
    case "list":
      return new EmbeddedListState(d, id, be, ttl);
    case "map":
      return new EmbeddedMapState(d, id, be, ttl);
    case "reducing":
      return new EmbeddedReducingState(d, id, be, ttl, (d as ReducingStateDescriptor<unknown>).reduceFn);
    case "aggregating":
      return new EmbeddedAggregatingState(
        d,
        id,
        be,
        ttl,
        (d as AggregatingStateDescriptor<unknown, unknown, unknown>).aggregateFunction,
      );
    default:
      throw new InvalidArgumentError(`state '${d.name}' has an unknown kind '${String(d.kind)}'`);
  }
}
