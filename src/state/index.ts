// The keyed state backends and the factory the deployment calls: `heap` (state in the task's
// JS heap) or `embedded` (state in an on-disk LMDB store per operator subtask).

import type { KeyGroupRange } from "../core/key-groups.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import {
  EmbeddedKeyedStateBackend,
  type EmbeddedKeyedStateBackendOptions,
} from "./embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "./heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "./keyed-state-backend.ts";

export { EmbeddedKeyedStateBackend } from "./embedded/embedded-keyed-state-backend.ts";
export { StateStoreError } from "./embedded/embedded-store.ts";
export { HeapKeyedStateBackend } from "./heap-keyed-state-backend.ts";
export type { KeyedStateBackend, KeyGroupEntry, KeyGroupSnapshotEntry } from "./keyed-state-backend.ts";

export type StateBackendKind = "heap" | "embedded";

export interface KeyedStateBackendOptions extends EmbeddedKeyedStateBackendOptions {
  /** The job's max parallelism, which key groups are computed with (default 128). */
  maxParallelism?: number;
}
export { formatMemorySize, parseMemorySize } from "./embedded/memory-size.ts";

/**
 * The keyed state backend of one keyed operator subtask over its key-group range. The caller
 * owns it: call dispose() when the subtask ends (the embedded backend removes its directory).
 */
export function createKeyedStateBackend(
  kind: StateBackendKind,
  keyGroupRange: KeyGroupRange,
  options: KeyedStateBackendOptions = {},
): KeyedStateBackend {
  switch (kind) {
    case "heap":
      return new HeapKeyedStateBackend(keyGroupRange, options.maxParallelism);
    case "embedded":
      return new EmbeddedKeyedStateBackend(keyGroupRange, options);
    default:
      throw new InvalidArgumentError(`unknown state backend '${String(kind)}'; use "heap" or "embedded"`);
  }
}
