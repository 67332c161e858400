// The embedded backend's incremental TTL cleanup meets an entry cleared since its pass began: the
// cursor scans the store without writing the cache first, so it finds the entry's old bytes while
// the cache already holds its removal; cleanupEntry must take it as gone (nothing to clean), and
// the state access that ran the step must not fail.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { StateTtlConfig, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";

const MAX = 128;

function keyIn(kg: number, nth = 0): string {
  let found = 0;
  for (let i = 0; ; i++) if (assignToKeyGroup(`k${i}`, MAX) === kg && found++ === nth) return `k${i}`;
}

describe("embedded backend: incremental TTL cleanup over an entry cleared mid-pass", () => {
  it("skips the cleared entry and goes on", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 }, { cacheEntries: 64 });
    try {
      let now = 1000;
      b.setTimeProvider(() => now);
      const v = b.getState(
        new ValueStateDescriptor<number>("v", Types.NUMBER).enableTimeToLive(
          StateTtlConfig.newBuilder(1_000_000).cleanupIncrementally(1).build(),
        ),
      );
      const keys = [keyIn(3, 0), keyIn(3, 1), keyIn(9, 0)];
      const at = (k: string) => b.setCurrentKey(k, assignToKeyGroup(k, MAX));
      for (const k of keys) {
        at(k);
        v.update(1);
      }
      // each access steps the cursor by one entry; the first step of a pass flushes the cache
      at(keys[0]!);
      assert.equal(v.value(), 1);
      // clear an entry ahead of the cursor: the removal is in the cache, its bytes still stored
      at(keys[2]!);
      v.clear();
      now += 1;
      for (let i = 0; i < 6; i++) {
        at(keys[1]!);
        assert.equal(v.value(), 1);
      }
      at(keys[2]!);
      assert.equal(v.value(), undefined);
      assert.equal(b.size("v"), 2);
    } finally {
      b.dispose();
    }
  });
});
