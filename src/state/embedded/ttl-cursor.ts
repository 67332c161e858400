// TTL incremental cleanup for the embedded backend: a cursor over one state's entries in the store
// (key group by key group) that visits `size` entries per state access and removes the expired
// ones, as the heap backend's IncrementalCleanup does. The dirty cache is written to the store
// when a pass over the state begins; entries created during a pass are visited in the next one.

import type { KeyGroupRange } from "../../core/key-groups.ts";
import type { EmbeddedState } from "./embedded-states.ts";
import type { EmbeddedStore } from "./embedded-store.ts";
import { groupStart } from "./store-keys.ts";

export interface CleanupHost {
  readonly store: EmbeddedStore;
  cleanupEntry(s: EmbeddedState, key: Buffer, now: number): boolean;
}

export class TtlCursor {
  /** Key group of the cursor minus the range start; -1 before a pass begins. */
  private kgi = -1;
  /** The last key visited in the current key group. */
  private last: Buffer | undefined = undefined;

  constructor(
    private readonly host: CleanupHost,
    private readonly state: EmbeddedState,
    private readonly range: KeyGroupRange,
    private readonly size: number,
  ) {}

  /** Visits the next `size` entries (wrapping around at most once). */
  step(now: number): void {
    const numKeyGroups = this.range.end - this.range.start + 1;
    const store = this.host.store;
    const id = this.state.id;
    let visited = 0;
    let wrapped = false;
    while (visited < this.size) {
      if (this.kgi < 0) {
        store.flush();
        this.kgi = 0;
        this.last = undefined;
      }
      if (this.kgi >= numKeyGroups) {
        if (wrapped) return;
        wrapped = true;
        this.kgi = -1;
        continue;
      }
      const kg = this.kgi + this.range.start;
      const want = this.size - visited;
      let seen = 0;
      const keys: Buffer[] = [];
      for (const [k] of store.scan(this.last ?? groupStart(kg, id), groupStart(kg, id + 1), {
        limit: want,
        exclusiveStart: this.last !== undefined,
        flush: false,
      })) {
        keys.push(k);
        seen++;
      }
      for (const k of keys) this.host.cleanupEntry(this.state, k, now);
      visited += seen;
      if (seen < want) {
        this.kgi++;
        this.last = undefined;
      } else this.last = keys[keys.length - 1];
    }
  }
}
