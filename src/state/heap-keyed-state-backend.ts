// Heap keyed state: per state name, one Map per key group (so that a key-group range can be
// snapshotted and restored alone, and no single Map outgrows V8's 2^24-entry limit).

import { canonicalKey } from "../core/key-groups.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import type { KeyGroupRange } from "../core/key-groups.ts";
import type { KeyedStateStore, StateDescriptor, ValueState, ValueStateDescriptor } from "../core/state.ts";

type KeyGroupMaps = Array<Map<unknown, unknown> | undefined>;

export class HeapKeyedStateBackend implements KeyedStateStore {
  private readonly states = new Map<string, { descriptor: StateDescriptor<unknown>; groups: KeyGroupMaps }>();
  private currentKey: unknown = undefined;
  /** The Map key of the current key: primitives as they are, composite keys in canonical text form. */
  private currentMapKey: unknown = undefined;
  private currentKeyGroup = -1;

  constructor(readonly keyGroupRange: KeyGroupRange) {}

  setCurrentKey(key: unknown, keyGroup: number): void {
    this.currentKey = key;
    this.currentMapKey = typeof key === "object" && key !== null ? canonicalKey(key) : key;
    this.currentKeyGroup = keyGroup;
  }

  getCurrentKey(): unknown {
    return this.currentKey;
  }

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    const groups = this.register(descriptor);
    const backend = this;
    return {
      value(): T | undefined {
        return groups[backend.currentKeyGroup - backend.keyGroupRange.start]?.get(backend.currentMapKey) as
          | T
          | undefined;
      },
      update(value: T): void {
        const i = backend.currentKeyGroup - backend.keyGroupRange.start;
        let m = groups[i];
        if (m === undefined) groups[i] = m = new Map();
        m.set(backend.currentMapKey, value);
      },
      clear(): void {
        groups[backend.currentKeyGroup - backend.keyGroupRange.start]?.delete(backend.currentMapKey);
      },
    };
  }

  /** Number of entries of one state over all key groups (for tests and metrics). */
  size(stateName: string): number {
    let n = 0;
    for (const m of this.states.get(stateName)?.groups ?? []) n += m?.size ?? 0;
    return n;
  }

  private register(descriptor: StateDescriptor<unknown>): KeyGroupMaps {
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      if (existing.descriptor.kind !== descriptor.kind) {
        throw new InvalidArgumentError(
          `state '${descriptor.name}' was registered as ${existing.descriptor.kind} state and is now requested as ${descriptor.kind} state; give each state its own name`,
        );
      }
      return existing.groups;
    }
    const groups: KeyGroupMaps = new Array(this.keyGroupRange.end - this.keyGroupRange.start + 1);
    this.states.set(descriptor.name, { descriptor, groups });
    return groups;
  }
}
