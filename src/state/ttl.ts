// State TTL at run time: the stored form of a value with a timestamp, the expiry rule of a
// StateTtlConfig on the backend's clock, and incremental cleanup (a cursor over a state's entries
// that advances a few entries on every access and removes the expired ones).

import { StateVisibility, type StateTtlConfig, UpdateType } from "../core/state.ts";
import {
  type MapKey,
  type Namespace,
  type StateTable,
  UNKNOWN_KEY_GROUP,
  VOID_NAMESPACE,
} from "./state-table.ts";

/** A value under TTL: `ts` is the last access that refreshed it (processing time, ms). */
export interface TtlValue<T> {
  readonly v: T;
  readonly ts: number;
}

export interface Clock {
  now(): number;
}

export class TtlPolicy {
  readonly ttl: number;
  readonly updateOnRead: boolean;
  readonly returnExpired: boolean;
  readonly cleanupFullSnapshot: boolean;
  readonly incrementalCleanupSize: number;

  constructor(
    readonly config: StateTtlConfig,
    private readonly clock: Clock,
  ) {
    this.ttl = config.ttl;
    this.updateOnRead = config.updateType === UpdateType.OnReadAndWrite;
    this.returnExpired = config.stateVisibility === StateVisibility.ReturnExpiredIfNotCleanedUp;
    this.cleanupFullSnapshot = config.cleanupFullSnapshot;
    this.incrementalCleanupSize = config.incrementalCleanupSize;
  }

  now(): number {
    return this.clock.now();
  }

  /** Flink's rule: expired once last access + ttl <= now. */
  expired(value: TtlValue<unknown>, now: number): boolean {
    return value.ts + this.ttl <= now;
  }
}

/**
 * Cleans one stored entry: returns true when it was changed or removed. `keyGroupIndex` is
 * UNKNOWN_KEY_GROUP for the void Map's entries (StateTable.touch takes it as it is).
 */
export type EntryCleaner = (
  keyGroupIndex: number,
  ns: Namespace,
  m: Map<MapKey, unknown>,
  k: MapKey,
  now: number,
) => boolean;

/**
 * A cursor over all entries of one state (the void namespace, then namespace by namespace) that
 * survives between accesses; each step visits `size` entries. JS Map iterators stay valid when
 * entries are added or deleted, so the state may change freely between steps.
 */
export class IncrementalCleanup {
  /** VOID_STAGE: the void Map is next; NS_STAGE: the namespaced Maps; END_STAGE: done. */
  private stage = VOID_STAGE;
  private nsIterator: Iterator<[Namespace, Map<MapKey, unknown>]> | undefined = undefined;
  private ns: Namespace = VOID_NAMESPACE;
  private map: Map<MapKey, unknown> | undefined = undefined;
  private keyIterator: Iterator<MapKey> | undefined = undefined;

  constructor(
    private readonly table: StateTable,
    private readonly size: number,
    private readonly clean: EntryCleaner,
  ) {}

  /** Visits the next `size` entries (wrapping around at most once). */
  step(now: number): void {
    let wrapped = false;
    let visited = 0;
    while (visited < this.size) {
      const it = this.keyIterator;
      if (it !== undefined) {
        const r = it.next();
        if (!r.done) {
          visited++;
          this.clean(UNKNOWN_KEY_GROUP, this.ns, this.map!, r.value, now);
          continue;
        }
        this.keyIterator = undefined;
      }
      if (!this.nextMap()) {
        if (wrapped) return;
        wrapped = true;
        this.stage = VOID_STAGE;
      }
    }
  }

  /**
   * Moves to the next non-empty Map of the table (the void Map, then each namespace's Map); false
   * at the end of the table.
   */
  private nextMap(): boolean {
    const t = this.table;
    for (;;) {
      if (this.nsIterator !== undefined) {
        const r = this.nsIterator.next();
        if (!r.done) {
          if (r.value[1].size === 0) continue;
          this.ns = r.value[0];
          this.map = r.value[1];
          this.keyIterator = this.map.keys();
          return true;
        }
        this.nsIterator = undefined;
      }
      if (this.stage === VOID_STAGE) {
        this.stage = NS_STAGE;
        const v = t.voidMap;
        if (v.size > 0) {
          this.ns = VOID_NAMESPACE;
          this.map = v;
          this.keyIterator = v.keys();
          return true;
        }
        continue;
      }
      if (this.stage !== NS_STAGE) return false;
      this.stage = END_STAGE;
      this.nsIterator = t.nsMaps?.entries();
    }
  }
}

const VOID_STAGE = 0;
const NS_STAGE = 1;
const END_STAGE = 2;
