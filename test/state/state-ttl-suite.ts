// State TTL tests, run against every keyed state backend (heap, embedded).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateTtlConfig,
  StateVisibility,
  UpdateType,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import type { KeyGroupRange } from "../../src/core/key-groups.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const TTL = 100;

function setupWith(create: (range: KeyGroupRange) => KeyedStateBackend) {
  const b = create({ start: 0, end: MAX - 1 });
  const clock = { t: 1000 };
  b.setTimeProvider(() => clock.t);
  const at = (key: unknown, ns?: string) => {
    b.setCurrentKey(key, assignToKeyGroup(key, MAX));
    b.setCurrentNamespace(ns ?? VOID_NAMESPACE);
  };
  return { b, clock, at };
}

/** TTL without background cleanup: expired state goes only when read or at cleanupExpired(). */
function ttl(update: UpdateType, visibility: StateVisibility): StateTtlConfig {
  return StateTtlConfig.newBuilder(TTL)
    .setUpdateType(update)
    .setStateVisibility(visibility)
    .cleanupFullSnapshot()
    .build();
}
const { OnCreateAndWrite, OnReadAndWrite } = UpdateType;
const { NeverReturnExpired, ReturnExpiredIfNotCleanedUp } = StateVisibility;

/** Registers the TTL tests; `create` makes a backend over a key-group range. */
export function stateTtlSuite(label: string, create: (range: KeyGroupRange) => KeyedStateBackend): void {
  const setup = () => setupWith(create);

  describe(`${label}: StateTtlConfig`, () => {
    it("builds with Flink's defaults and refuses bad values", () => {
      const c = StateTtlConfig.newBuilder(5000).build();
      assert.equal(c.ttl, 5000);
      assert.equal(c.updateType, StateTtlConfig.UpdateType.OnCreateAndWrite);
      assert.equal(c.stateVisibility, StateTtlConfig.StateVisibility.NeverReturnExpired);
      assert.equal(
        c.incrementalCleanupSize,
        5,
        "incremental cleanup of 5 entries when no strategy is chosen",
      );
      assert.equal(c.cleanupFullSnapshot, false);
      const d = StateTtlConfig.newBuilder(1)
        .updateTtlOnReadAndWrite()
        .returnExpiredIfNotCleanedUp()
        .cleanupIncrementally(10)
        .build();
      assert.equal(d.updateType, "OnReadAndWrite");
      assert.equal(d.stateVisibility, "ReturnExpiredIfNotCleanedUp");
      assert.equal(d.incrementalCleanupSize, 10);
      assert.throws(() => StateTtlConfig.newBuilder(0), /positive, finite number of milliseconds/);
      assert.throws(() => StateTtlConfig.newBuilder(10).cleanupIncrementally(-1), /integer >= 0/);
      assert.throws(
        () => StateTtlConfig.newBuilder(10).setUpdateType("Sometimes" as UpdateType),
        /unknown TTL update type/,
      );
      assert.throws(
        () => new ValueStateDescriptor("v").enableTimeToLive({} as StateTtlConfig),
        /needs a StateTtlConfig/,
      );
    });
  });

  describe(`${label}: State TTL: ValueState`, () => {
    it("NeverReturnExpired: invisible once expired (last write + ttl <= now), removed on access", () => {
      const { b, clock, at } = setup();
      const s = b.getState(
        new ValueStateDescriptor<string>("v", undefined, "dflt").enableTimeToLive(
          ttl(OnCreateAndWrite, NeverReturnExpired),
        ),
      );
      at("k");
      s.update("x");
      clock.t += TTL - 1;
      assert.equal(s.value(), "x");
      clock.t += 1;
      assert.equal(s.value(), "dflt", "expired: the default value, as if unset");
      assert.equal(b.size("v"), 0, "cleaned on access");
    });

    it("ReturnExpiredIfNotCleanedUp: the expired value is returned once, then it is gone", () => {
      const { b, clock, at } = setup();
      const s = b.getState(
        new ValueStateDescriptor<string>("v").enableTimeToLive(
          ttl(OnCreateAndWrite, ReturnExpiredIfNotCleanedUp),
        ),
      );
      at("k");
      s.update("x");
      clock.t += TTL + 50;
      assert.equal(s.value(), "x");
      assert.equal(s.value(), undefined);
      // Cleaned up before it is read: not returned.
      s.update("y");
      clock.t += TTL;
      assert.equal(b.cleanupExpired(), 1);
      assert.equal(s.value(), undefined);
    });

    it("OnCreateAndWrite: reads do not extend the lifetime; writes do", () => {
      const { b, clock, at } = setup();
      const s = b.getState(
        new ValueStateDescriptor<number>("v").enableTimeToLive(ttl(OnCreateAndWrite, NeverReturnExpired)),
      );
      at("k");
      s.update(1);
      clock.t += 60;
      assert.equal(s.value(), 1);
      clock.t += 60;
      assert.equal(s.value(), undefined, "read at +60 did not refresh");
      s.update(2);
      clock.t += 60;
      s.update(3);
      clock.t += 60;
      assert.equal(s.value(), 3, "write at +60 refreshed");
    });

    it("OnReadAndWrite: every read extends the lifetime", () => {
      const { b, clock, at } = setup();
      const s = b.getState(
        new ValueStateDescriptor<number>("v").enableTimeToLive(ttl(OnReadAndWrite, NeverReturnExpired)),
      );
      at("k");
      s.update(1);
      for (let i = 0; i < 5; i++) {
        clock.t += 60;
        assert.equal(s.value(), 1);
      }
      clock.t += TTL;
      assert.equal(s.value(), undefined);
    });

    it("TTL is per key and per namespace", () => {
      const { b, clock, at } = setup();
      const s = b.getState(
        new ValueStateDescriptor<number>("v").enableTimeToLive(ttl(OnCreateAndWrite, NeverReturnExpired)),
      );
      at("a");
      s.update(1);
      at("a", "w");
      clock.t += 50;
      s.update(2);
      at("b");
      s.update(3);
      clock.t += 50;
      at("a");
      assert.equal(s.value(), undefined);
      at("a", "w");
      assert.equal(s.value(), 2);
      at("b");
      assert.equal(s.value(), 3);
    });
  });

  describe(`${label}: State TTL: per-element TTL of list and map state`, () => {
    it("ListState: each element expires on its own; get drops expired ones (or returns them once)", () => {
      for (const visibility of [NeverReturnExpired, ReturnExpiredIfNotCleanedUp]) {
        const { b, clock, at } = setup();
        const s = b.getListState(
          new ListStateDescriptor<string>("l").enableTimeToLive(ttl(OnCreateAndWrite, visibility)),
        );
        at("k");
        s.add("old");
        clock.t += 60;
        s.addAll(["new1", "new2"]);
        clock.t += 60;
        const expectFirst = visibility === NeverReturnExpired ? ["new1", "new2"] : ["old", "new1", "new2"];
        assert.deepEqual([...s.get()], expectFirst, visibility);
        assert.deepEqual([...s.get()], ["new1", "new2"], `${visibility}: cleaned after the read`);
        clock.t += 60;
        assert.deepEqual([...s.get()].length, visibility === NeverReturnExpired ? 0 : 2);
        assert.equal(b.size("l"), 0);
      }
    });

    it("ListState with OnReadAndWrite: get refreshes every returned element; update resets all", () => {
      const { b, clock, at } = setup();
      const s = b.getListState(
        new ListStateDescriptor<number>("l").enableTimeToLive(ttl(OnReadAndWrite, NeverReturnExpired)),
      );
      at("k");
      s.add(1);
      clock.t += 90;
      s.add(2);
      assert.deepEqual([...s.get()], [1, 2]);
      clock.t += 90;
      assert.deepEqual([...s.get()], [1, 2], "both refreshed by the read at +90");
      clock.t += TTL;
      s.update([7]);
      assert.deepEqual([...s.get()], [7]);
    });

    it("MapState: each entry expires on its own; get/contains/entries/isEmpty honour visibility", () => {
      for (const visibility of [NeverReturnExpired, ReturnExpiredIfNotCleanedUp]) {
        const { b, clock, at } = setup();
        const s = b.getMapState(
          new MapStateDescriptor<string, number>("m").enableTimeToLive(ttl(OnCreateAndWrite, visibility)),
        );
        const returned = visibility === ReturnExpiredIfNotCleanedUp;
        at("k");
        s.put("a", 1);
        s.put("b", 2);
        clock.t += 60;
        s.put("c", 3);
        s.put("a", 10); // a rewritten: new timestamp
        clock.t += 60; // b expired, a and c live
        assert.equal(s.isEmpty(), false);
        assert.equal(s.get("b"), returned ? 2 : undefined, visibility);
        assert.equal(s.get("b"), undefined);
        assert.equal(s.contains("b"), false);
        assert.deepEqual([...s.entries()].sort(), [
          ["a", 10],
          ["c", 3],
        ]);
        clock.t += 60;
        assert.equal(s.isEmpty(), true, "expired entries count as absent");
        assert.deepEqual([...s.keys()].sort(), returned ? ["a", "c"] : []);
        assert.deepEqual([...s.keys()], []);
        assert.equal(b.size("m"), 0);
      }
    });

    it("MapState with OnCreateAndWrite: get does not extend an entry's lifetime", () => {
      const { b, clock, at } = setup();
      const s = b.getMapState(
        new MapStateDescriptor<string, number>("m").enableTimeToLive(
          ttl(OnCreateAndWrite, NeverReturnExpired),
        ),
      );
      at("k");
      s.put("a", 1);
      clock.t += 60;
      assert.equal(s.get("a"), 1);
      clock.t += 60;
      assert.equal(s.get("a"), undefined, "the read at +60 did not refresh the entry");
      assert.equal(s.contains("a"), false);
    });

    it("MapState with OnReadAndWrite: get refreshes only the entry read", () => {
      const { b, clock, at } = setup();
      const s = b.getMapState(
        new MapStateDescriptor<string, number>("m").enableTimeToLive(ttl(OnReadAndWrite, NeverReturnExpired)),
      );
      at("k");
      s.put("a", 1);
      s.put("b", 2);
      clock.t += 60;
      assert.equal(s.get("a"), 1);
      clock.t += 60;
      assert.equal(s.contains("b"), false);
      assert.equal(s.get("a"), 1);
    });
  });

  describe(`${label}: State TTL: reducing and aggregating state`, () => {
    it("ReducingState: an expired value does not take part in add; OnReadAndWrite refreshes on get", () => {
      const { b, clock, at } = setup();
      const s = b.getReducingState(
        new ReducingStateDescriptor<number>("r", (x, y) => x + y).enableTimeToLive(
          ttl(OnReadAndWrite, ReturnExpiredIfNotCleanedUp),
        ),
      );
      at("k");
      s.add(1);
      s.add(2);
      clock.t += 90;
      assert.equal(s.get(), 3);
      clock.t += 90;
      assert.equal(s.get(), 3, "refreshed by the read");
      clock.t += TTL;
      s.add(5);
      assert.equal(s.get(), 5, "expired sum dropped by add");
    });

    it("AggregatingState: expires after ttl; merging namespaces drops expired sources", () => {
      const { b, clock, at } = setup();
      const s = b.getAggregatingState(
        new AggregatingStateDescriptor("a", {
          createAccumulator: () => 0,
          add: (v: number, acc: number) => acc + v,
          getResult: (acc: number) => acc,
          merge: (x: number, y: number) => x + y,
        }).enableTimeToLive(ttl(OnCreateAndWrite, NeverReturnExpired)),
      );
      at("k", "old");
      s.add(100);
      clock.t += 60;
      at("k", "s1");
      s.add(1);
      at("k", "t");
      s.add(2);
      clock.t += 60; // "old" expired
      b.mergeNamespaces("a", "t", ["old", "s1"]);
      assert.equal(s.get(), 3);
      clock.t += 99;
      assert.equal(s.get(), 3, "merged value is fresh");
      clock.t += 1;
      assert.equal(s.get(), undefined);
    });
  });

  describe(`${label}: State TTL: cleanup`, () => {
    it("cleanupExpired() removes expired entries of states with cleanupFullSnapshot (all TTL states with all=true)", () => {
      const { b, clock, at } = setup();
      const snap = b.getState(
        new ValueStateDescriptor<number>("snap").enableTimeToLive(
          ttl(OnCreateAndWrite, ReturnExpiredIfNotCleanedUp),
        ),
      );
      const other = b.getState(
        new ValueStateDescriptor<number>("other").enableTimeToLive(
          StateTtlConfig.newBuilder(TTL).returnExpiredIfNotCleanedUp().disableCleanupInBackground().build(),
        ),
      );
      const plain = b.getState(new ValueStateDescriptor<number>("plain"));
      for (let i = 0; i < 50; i++) {
        at(i, i % 2 === 0 ? "w" : undefined);
        snap.update(i);
        other.update(i);
        plain.update(i);
      }
      clock.t += 10;
      at(0, "w");
      snap.update(-1); // one fresh entry
      clock.t += TTL - 5;
      assert.equal(b.cleanupExpired(), 49);
      assert.equal(b.size("snap"), 1);
      assert.equal(b.size("other"), 50, "not configured for snapshot cleanup");
      assert.equal(b.size("plain"), 50);
      assert.equal(b.cleanupExpired(true), 50);
      assert.equal(b.size("other"), 0);
    });

    it("incremental cleanup visits N entries per access and removes the expired ones", () => {
      const { b, clock, at } = setup();
      const s = b.getListState(
        new ListStateDescriptor<number>("l").enableTimeToLive(
          StateTtlConfig.newBuilder(TTL).returnExpiredIfNotCleanedUp().cleanupIncrementally(10).build(),
        ),
      );
      for (let i = 0; i < 100; i++) {
        at(i, i % 3 === 0 ? "w" : undefined);
        s.add(i);
      }
      clock.t += TTL;
      at("fresh");
      s.add(1); // one access: visits 10 entries
      assert.equal(b.size("l"), 91);
      for (let i = 0; i < 10; i++) s.get();
      assert.equal(b.size("l"), 1, "only the fresh entry is left");
      clock.t += TTL;
      at("fresh");
      assert.deepEqual([...s.get()], [], "cleaned up by the access itself before it was read: not returned");
    });
  });
}
