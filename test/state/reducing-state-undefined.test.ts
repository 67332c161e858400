// A reducing state refuses to add undefined, on both backends, naming the state, and keeps what
// it held: undefined is how a state says "no value", so a reduce over it would be lost or break
// the user's function later.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { ReducingStateDescriptor } from "../../src/core/state.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";

const RANGE: KeyGroupRange = { start: 0, end: 127 };
const backends: Array<[string, () => KeyedStateBackend]> = [
  ["heap", () => new HeapKeyedStateBackend(RANGE)],
  ["embedded", () => new EmbeddedKeyedStateBackend(RANGE, { cacheEntries: 4 })],
];

for (const [label, create] of backends) {
  describe(`${label} backend: reducing state and undefined`, () => {
    it("add(undefined) throws naming the state, and the sum is kept", () => {
      const b = create();
      try {
        b.setCurrentKey("k", assignToKeyGroup("k", 128));
        const total = b.getReducingState(new ReducingStateDescriptor<number>("total", (x, y) => x + y));
        total.add(2);
        total.add(3);
        assert.throws(
          () => total.add(undefined as unknown as number),
          (e: unknown) =>
            e instanceof InvalidArgumentError &&
            /reducing state 'total': cannot add undefined/.test(e.message),
        );
        assert.equal(total.get(), 5);
      } finally {
        (b as { dispose?: () => void }).dispose?.();
      }
    });
  });
}
