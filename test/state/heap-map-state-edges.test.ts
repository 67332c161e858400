// Heap MapState with TTL at its edges: contains() for a key that has no map, entries() refreshing
// the entries it returns (OnReadAndWrite), and a key whose every entry expired leaving no empty
// map behind (after get() and after cleanupExpired()).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import { MapStateDescriptor, StateTtlConfig, StateVisibility, UpdateType } from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const TTL = 100;

function setup(update: UpdateType) {
  const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
  const clock = { t: 1000 };
  b.setTimeProvider(() => clock.t);
  const at = (key: string) => {
    b.setCurrentKey(key, assignToKeyGroup(key, MAX));
    b.setCurrentNamespace(VOID_NAMESPACE);
  };
  // No background cleanup: expired entries go only when read or at cleanupExpired().
  const ttl = StateTtlConfig.newBuilder(TTL)
    .setUpdateType(update)
    .setStateVisibility(StateVisibility.NeverReturnExpired)
    .cleanupFullSnapshot()
    .build();
  const s = b.getMapState(new MapStateDescriptor<string, number>("m").enableTimeToLive(ttl));
  return { b, clock, at, s };
}

describe("heap MapState with TTL: edges", () => {
  it("contains() is false for a key that never had a map", () => {
    const { at, s } = setup(UpdateType.OnCreateAndWrite);
    at("nobody");
    assert.equal(s.contains("x"), false);
  });

  it("entries() with OnReadAndWrite extends the life of every entry it returns", () => {
    const { clock, at, s } = setup(UpdateType.OnReadAndWrite);
    at("k");
    s.put("a", 1);
    s.put("b", 2);
    clock.t += TTL - 10;
    assert.deepEqual([...s.entries()].sort(), [
      ["a", 1],
      ["b", 2],
    ]);
    clock.t += 20; // TTL + 10 after the writes, 20 after the read
    assert.equal(s.get("a"), 1);
    assert.equal(s.contains("b"), true);
  });

  it("get() of a key's last entry, expired, removes the key from the state", () => {
    const { b, clock, at, s } = setup(UpdateType.OnCreateAndWrite);
    at("k");
    s.put("a", 1);
    at("other");
    s.put("z", 26);
    assert.equal(b.size("m"), 2);
    clock.t += TTL;
    at("k");
    assert.equal(s.get("a"), undefined);
    assert.equal(b.size("m"), 1, "no empty map left for k");
  });

  it("cleanupExpired() removes a key whose every entry expired", () => {
    const { b, clock, at, s } = setup(UpdateType.OnCreateAndWrite);
    at("k");
    s.put("a", 1);
    s.put("b", 2);
    at("other");
    clock.t += 50;
    s.put("z", 26);
    clock.t += TTL - 50;
    assert.equal(b.cleanupExpired(), 1);
    assert.equal(b.size("m"), 1, "k is gone, other stays");
  });
});
