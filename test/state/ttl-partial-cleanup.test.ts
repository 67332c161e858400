// TTL cleanup of list and map state is per element (Flink's TTL list/map serializers filter the
// expired elements, the entry goes only when none is left): a cleanup that finds an entry partly
// expired keeps its live elements, both at the full-snapshot cleanup before a checkpoint and in
// incremental cleanup, on every keyed backend.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { ListStateDescriptor, MapStateDescriptor, StateTtlConfig } from "../../src/core/state.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";

const MAX = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX - 1 };
const TTL = 100;

const backends: Array<[string, () => KeyedStateBackend]> = [
  ["heap", () => new HeapKeyedStateBackend(ALL, MAX)],
  ["embedded", () => new EmbeddedKeyedStateBackend(ALL, { cacheEntries: 16 })],
];

for (const [label, create] of backends) {
  describe(`${label}: TTL cleanup of a partly expired list or map entry`, () => {
    function setup(config: StateTtlConfig) {
      const b = create();
      const clock = { t: 1000 };
      b.setTimeProvider(() => clock.t);
      const at = (key: string): void => b.setCurrentKey(key, assignToKeyGroup(key, MAX));
      const list = b.getListState(new ListStateDescriptor<string>("l").enableTimeToLive(config));
      const map = b.getMapState(new MapStateDescriptor<string, number>("m").enableTimeToLive(config));
      // Per key: one element written at t=1000, one at t=1060; at t=1120 the first has expired.
      for (const key of ["a", "b", "c"]) {
        at(key);
        list.add(`${key} old`);
        map.put("old", 1);
      }
      clock.t += 60;
      for (const key of ["a", "b", "c"]) {
        at(key);
        list.add(`${key} new`);
        map.put("new", 2);
      }
      clock.t += 60;
      return { b, at, list, map };
    }

    it("cleanupExpired() (before a full snapshot) keeps the live elements", () => {
      const { b, at, list, map } = setup(StateTtlConfig.newBuilder(TTL).cleanupFullSnapshot().build());
      try {
        // (The heap's map state cleans its user map in place, which the count leaves out.)
        assert.ok(b.cleanupExpired() >= 3, "the list entries changed");
        assert.equal(b.size("l"), 3);
        assert.equal(b.size("m"), 3);
        for (const key of ["a", "b", "c"]) {
          at(key);
          assert.deepEqual([...list.get()], [`${key} new`], key);
          assert.deepEqual([...map.entries()], [["new", 2]], key);
        }
      } finally {
        b.dispose();
      }
    });

    it("incremental cleanup keeps the live elements of the entries it visits", () => {
      const { b, at, list, map } = setup(
        StateTtlConfig.newBuilder(TTL).returnExpiredIfNotCleanedUp().cleanupIncrementally(10).build(),
      );
      try {
        at("other");
        list.add("x"); // one access of each state: visits up to 10 entries, the 3 others among them
        map.put("x", 0);
        assert.equal(b.size("l"), 4);
        assert.equal(b.size("m"), 4);
        // Returned as stored now: the expired element was removed by the cleanup, not by this read.
        for (const key of ["a", "b", "c"]) {
          at(key);
          assert.deepEqual([...list.get()], [`${key} new`], key);
          assert.deepEqual([...map.entries()], [["new", 2]], key);
        }
      } finally {
        b.dispose();
      }
    });
  });
}
