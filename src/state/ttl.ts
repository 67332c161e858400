// State TTL at run time: the stored form of a value with a timestamp, the expiry rule of a
// StateTtlConfig on the backend's clock, and incremental cleanup (a cursor over a state's entries
// that advances a few entries on every access and removes the expired ones).

import { StateVisibility, type StateTtlConfig, UpdateType } from "../core/state.ts";
import { type MapKey, type Namespace, type StateTable, VOID_NAMESPACE } from "./state-table.ts";

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

/** Cleans one stored entry: returns true when it was changed or removed. */
export type EntryCleaner = (
  keyGroupIndex: number,
  ns: Namespace,
  m: Map<MapKey, unknown>,
  k: MapKey,
  now: number,
) => boolean;

/**
 * A cursor over all entries of one state (key group by key group, void namespace first) that
 * survives between accesses; each step visits `size` entries. JS Map iterators stay valid when
 * entries are added or deleted, so the state may change freely between steps.
 */
export class IncrementalCleanup {
  private keyGroupIndex = -1;
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
          this.clean(this.keyGroupIndex, this.ns, this.map!, r.value, now);
          continue;
        }
        this.keyIterator = undefined;
      }
      if (!this.nextMap()) {
        if (wrapped) return;
        wrapped = true;
        this.keyGroupIndex = -1;
      }
    }
  }

  /** Moves to the next non-empty Map of the table; false at the end of the table. */
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
      if (++this.keyGroupIndex >= t.voidGroups.length) return false;
      this.nsIterator = t.nsGroups?.[this.keyGroupIndex]?.entries();
      const v = t.voidGroups[this.keyGroupIndex];
      if (v !== undefined && v.size > 0) {
        this.ns = VOID_NAMESPACE;
        this.map = v;
        this.keyIterator = v.keys();
        return true;
      }
    }
  }
}
