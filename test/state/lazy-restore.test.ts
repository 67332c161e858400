// Restored keyed state whose descriptor has not registered again (lazily registered state: a
// trigger's count, window-scoped state, getState inside processElement) belongs to every
// checkpoint, as in Flink: restore → checkpoint before first use → restore again keeps it. Run
// against both backends, through the real key-group encoding, plus a seeded property over random
// registration orders (before the snapshot, between the snapshot and its asynchronous read, never).

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeKeyGroup, encodeKeyGroupFrom } from "../../src/checkpoint/state-file.ts";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import {
  type AggregateFunction,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  type StateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type {
  KeyGroupSnapshotEntry,
  KeyedStateBackend,
  KeyedStateSnapshot,
} from "../../src/state/keyed-state-backend.ts";
import { type Namespace, VOID_NAMESPACE } from "../../src/state/state-table.ts";
import { prng as rng } from "../fixtures/helpers.ts";

const MAX = 128;
const FULL: KeyGroupRange = { start: 0, end: MAX - 1 };

type Restored = Array<[number, KeyGroupSnapshotEntry[]]>;

/** Reads a whole snapshot through the checkpoint's key-group encoding, then releases it. */
function readAll(snap: KeyedStateSnapshot): Restored {
  const out: Restored = [];
  try {
    for (const kg of snap.keyGroups) {
      const bytes = encodeKeyGroupFrom((emit) => snap.read(kg, emit), []);
      const g = decodeKeyGroup(bytes, `key group ${kg}`);
      if (g.entries.length > 0) out.push([kg, g.entries]);
    }
  } finally {
    snap.release();
  }
  return out;
}

function restoreInto(b: KeyedStateBackend, groups: Restored): KeyedStateBackend {
  for (const [kg, entries] of groups) b.restoreKeyGroup(kg, entries);
  return b;
}

function at(b: KeyedStateBackend, key: unknown, ns: Namespace = VOID_NAMESPACE): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  b.setCurrentNamespace(ns);
}

const sumCount: AggregateFunction<number, { s: number; n: number }, string> = {
  createAccumulator: () => ({ s: 0, n: 0 }),
  add: (v, acc) => ({ s: acc.s + v, n: acc.n + 1 }),
  getResult: (acc) => `${acc.s}/${acc.n}`,
  merge: (a, b) => ({ s: a.s + b.s, n: a.n + b.n }),
};

const KEYS = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? i : `key-${i}`));

const backends: Array<[string, (range: KeyGroupRange) => KeyedStateBackend]> = [];
const created: EmbeddedKeyedStateBackend[] = [];
after(() => {
  for (const b of created) b.dispose();
});
backends.push(["heap", (range) => new HeapKeyedStateBackend(range)]);
backends.push([
  "embedded",
  (range) => {
    const b = new EmbeddedKeyedStateBackend(range, { cacheEntries: 16 });
    created.push(b);
    return b;
  },
]);

for (const [label, create] of backends) {
  const fresh = (range: KeyGroupRange = FULL) => create(range);
  const count = () => new ValueStateDescriptor<number>("count");

  /** A backend where every key of KEYS has count = index + 1, then a restore of it that never registers. */
  function restoredUntouched(): KeyedStateBackend {
    const first = fresh();
    const s = first.getState(count());
    KEYS.forEach((k, i) => {
      at(first, k);
      s.update(i + 1);
    });
    return restoreInto(fresh(), readAll(first.snapshot()));
  }

  function assertCounts(b: KeyedStateBackend, keys: readonly unknown[] = KEYS): void {
    const s = b.getState(count());
    for (const k of keys) {
      at(b, k);
      assert.equal(s.value(), KEYS.indexOf(k as never) + 1, `count of key ${String(k)}`);
    }
  }

  describe(`${label}: restored state not registered since the restore`, () => {
    it("is in a checkpoint taken before its first use, and so in the next restore", () => {
      const second = restoredUntouched();
      const third = restoreInto(fresh(), readAll(second.snapshot()));
      const fourth = restoreInto(fresh(), readAll(third.snapshot()));
      assertCounts(fourth);
    });

    it("is in keyGroupEntries, snapshotKeyGroup and size", () => {
      const b = restoredUntouched();
      const kg = assignToKeyGroup(KEYS[0], MAX);
      const entries = [...b.keyGroupEntries(kg)].filter((e) => e.state === "count");
      assert.ok(entries.some((e) => e.mapKey === KEYS[0] && e.value === 1));
      assert.ok(
        b
          .snapshotKeyGroup(kg)
          .some(([st, ns, k, v]) => st === "count" && ns === null && k === KEYS[0] && v === 1),
      );
      assert.equal(b.size("count"), KEYS.length);
    });

    it("registered between the snapshot and its read: the snapshot has the values as restored", () => {
      const b = restoredUntouched();
      const snap = b.snapshot();
      const s = b.getState(count());
      for (const k of KEYS) {
        at(b, k);
        if (k === KEYS[1]) s.clear();
        else s.update(1000);
      }
      at(b, "new-key");
      s.update(5);
      const next = restoreInto(fresh(), readAll(snap));
      assertCounts(next);
      at(next, "new-key");
      assert.equal(next.getState(count()).value(), undefined);
      // and the live state has the changes
      at(b, KEYS[2]);
      assert.equal(s.value(), 1000);
      const after = restoreInto(fresh(), readAll(b.snapshot()));
      at(after, KEYS[1]);
      assert.equal(after.getState(count()).value(), undefined);
      at(after, KEYS[2]);
      assert.equal(after.getState(count()).value(), 1000);
    });

    it("map and list state with TTL registered between the snapshot and its read: read as restored", () => {
      const ttl = StateTtlConfig.newBuilder(1_000_000).build();
      const mapD = () => new MapStateDescriptor<string, number[]>("m").enableTimeToLive(ttl);
      const listD = () => new ListStateDescriptor<{ n: number }>("l").enableTimeToLive(ttl);
      const first = fresh();
      const m = first.getMapState(mapD());
      const l = first.getListState(listD());
      for (const [i, k] of KEYS.entries()) {
        at(first, k, "w");
        m.put("a", [i]);
        m.put("b", [i, i]);
        l.add({ n: i });
      }
      const b = restoreInto(fresh(), readAll(first.snapshot()));
      const snap = b.snapshot();
      const m2 = b.getMapState(mapD());
      const l2 = b.getListState(listD());
      for (const k of KEYS) {
        at(b, k, "w");
        m2.get("a")!.push(99); // in place, as user code may
        m2.put("b", []);
        m2.remove("a");
        l2.add({ n: -1 });
      }
      const next = restoreInto(fresh(), readAll(snap));
      const m3 = next.getMapState(mapD());
      const l3 = next.getListState(listD());
      for (const [i, k] of KEYS.entries()) {
        at(next, k, "w");
        assert.deepEqual(
          [...m3.entries()].sort(),
          [
            ["a", [i]],
            ["b", [i, i]],
          ],
          `map of ${String(k)}`,
        );
        assert.deepEqual([...l3.get()], [{ n: i }], `list of ${String(k)}`);
      }
    });

    it("survives a rescale: split into two subtasks untouched, merged back untouched", () => {
      const groups = readAll(restoredUntouched().snapshot());
      const lo = { start: 0, end: 63 };
      const hi = { start: 64, end: 127 };
      const a = restoreInto(
        fresh(lo),
        groups.filter(([kg]) => kg <= 63),
      );
      const c = restoreInto(
        fresh(hi),
        groups.filter(([kg]) => kg >= 64),
      );
      const merged = restoreInto(fresh(), [...readAll(a.snapshot()), ...readAll(c.snapshot())]);
      const again = restoreInto(fresh(), readAll(merged.snapshot()));
      assertCounts(again);
    });

    it("clearNamespace of all states also clears the current key's restored entries", () => {
      const first = fresh();
      const w = first.getState(new ValueStateDescriptor<number>("per-window"));
      for (const k of KEYS.slice(0, 4)) {
        at(first, k, "w1");
        w.update(1);
        at(first, k, "w2");
        w.update(2);
      }
      const b = restoreInto(fresh(), readAll(first.snapshot()));
      at(b, KEYS[0], "w1");
      b.clearNamespace("w1");
      const next = restoreInto(fresh(), readAll(b.snapshot()));
      const s = next.getState(new ValueStateDescriptor<number>("per-window"));
      at(next, KEYS[0], "w1");
      assert.equal(s.value(), undefined, "cleared window");
      at(next, KEYS[0], "w2");
      assert.equal(s.value(), 2);
      at(next, KEYS[1], "w1");
      assert.equal(s.value(), 1);
    });

    it("TTL: restored entries are kept as they are until registration, then expire by the descriptor", () => {
      const clock = { t: 1_000 };
      const ttl = StateTtlConfig.newBuilder(100).cleanupFullSnapshot().build();
      const d = () => {
        const x = new ValueStateDescriptor<number>("ttl-count");
        x.enableTimeToLive(ttl);
        return x;
      };
      const first = fresh();
      first.setTimeProvider(() => clock.t);
      const s = first.getState(d());
      at(first, "old");
      s.update(1);
      clock.t = 1_080;
      at(first, "young");
      s.update(2);
      const second = restoreInto(fresh(), readAll(first.snapshot()));
      second.setTimeProvider(() => clock.t);
      clock.t = 1_150; // "old" has expired, "young" has not
      second.cleanupExpired(); // what a checkpoint runs first: cannot judge an unregistered state
      const third = restoreInto(fresh(), readAll(second.snapshot()));
      third.setTimeProvider(() => clock.t);
      assert.equal(third.size("ttl-count"), 2, "both entries carried while unregistered");
      const s3 = third.getState(d());
      third.cleanupExpired();
      assert.equal(third.size("ttl-count"), 1);
      at(third, "old");
      assert.equal(s3.value(), undefined);
      at(third, "young");
      assert.equal(s3.value(), 2);
    });
  });

  describe(`${label}: random registration orders (seeded property)`, () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      it(`seed ${seed}: every state keeps its entries through restores however late it registers`, () => {
        propertyRun(seed, fresh);
      });
    }
  });
}

// ---- the property ----------------------------------------------------------------------------

type Kind = "value" | "list" | "map" | "reducing" | "aggregating";

interface StateSpec {
  name: string;
  kind: Kind;
  ttl: boolean;
  namespaces: Namespace[];
}

/** The observable content of one state: per "key|namespace", what a read returns. */
type Model = Map<string, Map<string, unknown>>;

function descriptorOf(spec: StateSpec): StateDescriptor<any> {
  let d: StateDescriptor<any>;
  switch (spec.kind) {
    case "value":
      d = new ValueStateDescriptor<number>(spec.name);
      break;
    case "list":
      d = new ListStateDescriptor<number>(spec.name);
      break;
    case "map":
      d = new MapStateDescriptor<string, number>(spec.name);
      break;
    case "reducing":
      d = new ReducingStateDescriptor<number>(spec.name, (a, b) => a + b);
      break;
    case "aggregating":
      d = new AggregatingStateDescriptor(spec.name, sumCount);
      break;
  }
  if (spec.ttl) d.enableTimeToLive(StateTtlConfig.newBuilder(1_000_000).build());
  return d;
}

/** What a read of the state returns for the current key and namespace (undefined = nothing stored). */
function observe(b: KeyedStateBackend, spec: StateSpec): unknown {
  const h = b.getPartitionedState(descriptorOf(spec) as never) as any;
  switch (spec.kind) {
    case "value":
      return h.value() ?? undefined;
    case "list": {
      const l = [...(h.get() ?? [])];
      return l.length === 0 ? undefined : l;
    }
    case "map": {
      const e = [...h.entries()].sort((x: [string, number], y: [string, number]) => (x[0] < y[0] ? -1 : 1));
      return e.length === 0 ? undefined : e;
    }
    default:
      return h.get() ?? undefined;
  }
}

/** One random change of the current key's entry, applied to the backend and the model. */
function mutate(
  b: KeyedStateBackend,
  spec: StateSpec,
  random: () => number,
  slot: Map<string, unknown>,
  id: string,
): void {
  const h = b.getPartitionedState(descriptorOf(spec) as never) as any;
  const v = Math.floor(random() * 100);
  if (random() < 0.15) {
    h.clear();
  } else {
    switch (spec.kind) {
      case "value":
        h.update(v);
        break;
      case "list":
        h.add(v);
        break;
      case "map":
        if (random() < 0.2) h.remove(`u${v % 3}`);
        else h.put(`u${v % 3}`, v);
        break;
      default:
        h.add(v);
    }
  }
  const seen = observe(b, spec);
  if (seen === undefined) slot.delete(id);
  else slot.set(id, seen);
}

function propertyRun(seed: number, fresh: (range?: KeyGroupRange) => KeyedStateBackend): void {
  const random = rng(seed);
  const kinds: Kind[] = ["value", "list", "map", "reducing", "aggregating"];
  const specs: StateSpec[] = Array.from({ length: 8 }, (_, i) => ({
    name: `s${i}`,
    kind: kinds[i % kinds.length]!,
    ttl: random() < 0.4,
    namespaces: random() < 0.4 ? [VOID_NAMESPACE] : ["w:0:10", "w:10:20", 7],
  }));
  const clock = { t: 5_000 };
  const model: Model = new Map(specs.map((s) => [s.name, new Map()]));
  const idOf = (k: unknown, ns: Namespace) => `${String(k)}|${String(ns)}`;
  const keys = KEYS.slice(0, 10);

  const touch = (b: KeyedStateBackend, spec: StateSpec, m: Model) => {
    for (let n = 0; n < 12; n++) {
      const k = keys[Math.floor(random() * keys.length)]!;
      const ns = spec.namespaces[Math.floor(random() * spec.namespaces.length)]!;
      at(b, k, ns);
      mutate(b, spec, random, m.get(spec.name)!, idOf(k, ns));
    }
  };

  let live = fresh();
  live.setTimeProvider(() => clock.t);
  for (const spec of specs) touch(live, spec, model); // generation 0: every state has entries

  for (let gen = 1; gen <= 5; gen++) {
    clock.t += 10;
    // restore, with a rescale through two subtasks now and then
    const groups = readAll(live.snapshot());
    if (random() < 0.3) {
      const lo = fresh({ start: 0, end: 63 });
      const hi = fresh({ start: 64, end: 127 });
      restoreInto(
        lo,
        groups.filter(([kg]) => kg <= 63),
      );
      restoreInto(
        hi,
        groups.filter(([kg]) => kg >= 64),
      );
      live = restoreInto(fresh(), [...readAll(lo.snapshot()), ...readAll(hi.snapshot())]);
    } else live = restoreInto(fresh(), groups);
    live.setTimeProvider(() => clock.t);
    const before: StateSpec[] = [];
    const between: StateSpec[] = [];
    for (const spec of specs) {
      const r = random();
      if (r < 0.3) before.push(spec);
      else if (r < 0.55) between.push(spec);
    }
    for (const spec of before) if (random() < 0.7) touch(live, spec, model);
    const snap = live.snapshot();
    const atSnapshot: Model = new Map([...model].map(([n, m]) => [n, new Map(m)]));
    const scratch: Model = new Map([...model].map(([n, m]) => [n, new Map(m)]));
    for (const spec of between) touch(live, spec, scratch); // after the barrier: not in this snapshot
    const restored = restoreInto(fresh(), readAll(snap));
    live = restored;
    live.setTimeProvider(() => clock.t);
    model.clear();
    for (const [n, m] of atSnapshot) model.set(n, m);
  }

  // last generation: register everything and compare with the model
  for (const spec of [...specs].sort(() => random() - 0.5)) {
    for (const k of keys) {
      for (const ns of spec.namespaces) {
        at(live, k, ns);
        assert.deepEqual(
          observe(live, spec),
          model.get(spec.name)!.get(idOf(k, ns)),
          `seed ${seed}: state ${spec.name} (${spec.kind}${spec.ttl ? ", ttl" : ""}) of key ${String(k)} in ${String(ns)}`,
        );
      }
    }
  }
}
