// Copy-on-write snapshots of the heap backend: a snapshot taken at one moment must read exactly the
// state of that moment however the task changes the state afterwards (values replaced, lists
// appended, map state and accumulators changed in place, windows merged and cleared, TTL cleanup),
// and the live state must see every change. Checked against a deep copy taken at the snapshot.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKeyedState } from "../../src/checkpoint/snapshot-writer.ts";
import { decodeKeyGroup } from "../../src/checkpoint/state-file.ts";
import { assignToKeyGroup } from "../../src/core/key-groups.ts";
import {
  type AggregateFunction,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import type { TaskSnapshot } from "../../src/runtime/snapshot.ts";
import { copyStateValue } from "../../src/state/copy.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyGroupSnapshotEntry, KeyedStateSnapshot } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";
import { prng as rng } from "../fixtures/helpers.ts";

const MAX = 128;

interface Acc {
  sum: number;
  items: number[];
}
/** Changes its accumulator in place, as many AggregateFunctions do. */
const inPlace: AggregateFunction<number, Acc, number> = {
  createAccumulator: () => ({ sum: 0, items: [] }),
  add(v, acc) {
    acc.sum += v;
    acc.items.push(v);
    return acc;
  },
  getResult: (acc) => acc.sum,
  merge(a, b) {
    a.sum += b.sum;
    a.items.push(...b.items);
    return a;
  },
};

/** A backend with every kind of state, and random operations on it. */
function workload(seed: number) {
  const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
  let now = 1_000;
  b.setTimeProvider(() => now);
  const ttl = StateTtlConfig.newBuilder(50).cleanupIncrementally(3).build();
  const count = new ValueStateDescriptor<number>("count");
  const obj = new ValueStateDescriptor<{ n: number; tags: string[] }>("obj");
  const list = new ListStateDescriptor<number>("list");
  const map = new MapStateDescriptor<string, { hits: number }>("map");
  const red = new ReducingStateDescriptor<number>("reduce", (a, b) => a + b);
  const agg = new AggregatingStateDescriptor<number, Acc, number>("agg", inPlace);
  const win = new ListStateDescriptor<number>("window");
  const expiring = new ValueStateDescriptor<number>("expiring").enableTimeToLive(ttl);
  const random = rng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const step = () => {
    const key = `k${pick(40)}`;
    b.setCurrentKey(key, assignToKeyGroup(key, MAX));
    b.setCurrentNamespace(VOID_NAMESPACE);
    const v = pick(100);
    switch (pick(11)) {
      case 0:
        b.getState(count).update((b.getState(count).value() ?? 0) + 1);
        break;
      case 1: {
        // changed in place, without update(): the snapshot must not see it
        const o = b.getState(obj).value();
        if (o === undefined) b.getState(obj).update({ n: v, tags: [key] });
        else {
          o.n += v;
          o.tags.push(`t${v}`);
        }
        break;
      }
      case 2:
        b.getListState(list).add(v);
        break;
      case 3: {
        const m = b.getMapState(map);
        const e = m.get(`u${v % 5}`);
        if (e === undefined) m.put(`u${v % 5}`, { hits: 1 });
        else e.hits++;
        break;
      }
      case 4:
        b.getReducingState(red).add(v);
        break;
      case 5:
        b.getAggregatingState(agg).add(v);
        break;
      case 6:
        b.setCurrentNamespace(`w${pick(4)}`);
        b.getListState(win).add(v);
        break;
      case 7:
        b.setCurrentNamespace(`w${pick(4)}`);
        b.getAggregatingState(agg).add(v);
        break;
      case 8:
        b.mergeNamespaces("agg", "w0", ["w1", "w2"]);
        b.mergeNamespaces("window", "w0", ["w1", "w2"]);
        break;
      case 9:
        if (v < 30) b.clearNamespace(`w${pick(4)}`);
        else if (v < 60) b.getListState(list).clear();
        else b.getMapState(map).remove(`u${v % 5}`);
        break;
      default:
        now += pick(20);
        b.getState(expiring).value();
        if (v < 50) b.getState(expiring).update(v);
    }
  };
  return { b, step };
}

/** What the old, eager snapshot gave: every key group's entries deep-copied now. */
function eager(b: HeapKeyedStateBackend): Map<number, KeyGroupSnapshotEntry[]> {
  const out = new Map<number, KeyGroupSnapshotEntry[]>();
  for (let kg = 0; kg < MAX; kg++) {
    const e = b.snapshotKeyGroup(kg);
    if (e.length > 0) out.set(kg, structuredClone(e));
  }
  return out;
}

/** Every key group of a snapshot (each can be read once), entries in a canonical order. */
function read(
  s: KeyedStateSnapshot,
  groups: readonly number[] = s.keyGroups,
): Map<number, KeyGroupSnapshotEntry[]> {
  const out = new Map<number, KeyGroupSnapshotEntry[]>();
  for (const kg of groups) {
    // Copied at once, as the writer encodes at once: once read, the key group is the task's again.
    const e = structuredClone(s.entries(kg));
    if (e.length > 0) out.set(kg, canonical(e));
  }
  return out;
}

/** Entries sorted (a snapshot may list changed entries after the others). */
function canonical(e: KeyGroupSnapshotEntry[]): KeyGroupSnapshotEntry[] {
  const key = (x: KeyGroupSnapshotEntry) => `${x[0]}\u0000${String(x[1])}\u0000${String(x[2])}`;
  return [...e].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function canonicalAll(m: Map<number, KeyGroupSnapshotEntry[]>): Map<number, KeyGroupSnapshotEntry[]> {
  return new Map([...m].map(([kg, e]) => [kg, canonical(e)]));
}

describe("heap backend: copy-on-write snapshots", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: overlapping snapshots read the state of their moment while the state changes`, () => {
      const { b, step } = workload(seed);
      const random = rng(seed * 7919);
      interface Live {
        snap: KeyedStateSnapshot;
        expected: Map<number, KeyGroupSnapshotEntry[]>;
        unread: number[];
        got: Map<number, KeyGroupSnapshotEntry[]>;
      }
      const live: Live[] = [];
      const finish = (l: Live) => {
        for (const [kg, e] of read(l.snap, l.unread)) l.got.set(kg, e);
        l.unread = [];
        assert.deepEqual(l.got, l.expected);
        l.snap.release();
      };
      for (let round = 0; round < 12; round++) {
        for (let i = 0; i < 100; i++) step();
        const expected = canonicalAll(eager(b));
        const snap = b.snapshot();
        live.push({ snap, expected, unread: [...snap.keyGroups], got: new Map() });
        // The state goes on changing while the writers read key groups, a few at a time.
        for (let i = 0; i < 300; i++) {
          step();
          for (const l of live) {
            if (l.unread.length === 0 || random() > 0.1) continue;
            const kg = l.unread.splice(Math.floor(random() * l.unread.length), 1)[0]!;
            for (const [g, e] of read(l.snap, [kg])) l.got.set(g, e);
          }
        }
        if (round % 3 === 2) for (const l of live.splice(0, 2)) finish(l);
      }
      for (const l of live) finish(l);
      assert.throws(() => live[0]!.snap.entries(0), /released/);
    });
  }

  it("a key group is read once; a released snapshot refuses reads", () => {
    const { b, step } = workload(9);
    for (let i = 0; i < 200; i++) step();
    const snap = b.snapshot();
    const kg = snap.keyGroups[0]!;
    snap.entries(kg);
    assert.throws(() => snap.entries(kg), /already read/);
    snap.release();
    assert.throws(() => snap.entries(snap.keyGroups[1]!), /released/);
  });

  it("the live state sees every change made after a snapshot, with the same result as without one", () => {
    const a = workload(42);
    const c = workload(42);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 300; i++) {
        a.step();
        c.step();
      }
      a.b.snapshot(); // never read nor released: logs grow, the live state must stay right
      const s = c.b.snapshot();
      s.release();
    }
    assert.deepEqual(eager(a.b), eager(c.b));
  });

  it("an object changed in place after the snapshot: the snapshot keeps its value of the barrier", () => {
    const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
    const d = new ValueStateDescriptor<{ n: number }>("v");
    for (let k = 0; k < 5000; k++) {
      b.setCurrentKey(k, assignToKeyGroup(k, MAX));
      b.getState(d).update({ n: k });
    }
    const snap = b.snapshot();
    b.setCurrentKey(7, assignToKeyGroup(7, MAX));
    const v = b.getState(d).value()!;
    v.n = -1; // in place, without update()
    const kg = assignToKeyGroup(7, MAX);
    const inSnap = snap.entries(kg).find((e) => e[2] === 7)!;
    assert.deepEqual(inSnap[3], { n: 7 });
    assert.equal(b.getState(d).value()!.n, -1);
    snap.release();
  });

  it("encodes asynchronously: the event loop runs between slices, and the groups decode back", async () => {
    const b = new HeapKeyedStateBackend({ start: 0, end: MAX - 1 });
    const d = new ValueStateDescriptor<string>("v");
    for (let k = 0; k < 200_000; k++) {
      b.setCurrentKey(k, assignToKeyGroup(k, MAX));
      b.getState(d).update(`value-${k}`);
    }
    const expected = eager(b);
    const snapshot: TaskSnapshot = {
      operators: { op: { keyedState: { state: b.snapshot(), timers: [] } } },
    };
    let turns = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      turns++;
      // the task changes its state between slices
      b.setCurrentKey(turns, assignToKeyGroup(turns, MAX));
      b.getState(d).update("changed");
      setImmediate(spin);
    };
    setImmediate(spin);
    await encodeKeyedState(snapshot, 0); // a slice per key group: the loop gets a turn after each
    done = true;
    assert.ok(turns > 0, "the event loop had turns while the snapshot was encoded");
    const op = snapshot.operators.op!;
    assert.equal(op.keyedState, undefined);
    const decoded = new Map(op.keyGroups!.map(([kg, g]) => [kg, decodeKeyGroup(g, "test").entries]));
    assert.deepEqual(canonicalAll(decoded), canonicalAll(expected));
  });
});

describe("copyStateValue", () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }
  it("copies plain data deeply, keeps prototypes, shares primitives and frozen objects", () => {
    const frozen = Object.freeze({ a: 1 });
    const v = {
      p: new Point(3, 4),
      list: [1, [2, 3]],
      m: new Map([["a", { n: 1 }]]),
      s: new Set([1, 2]),
      d: new Date(5),
      bytes: new Uint8Array([1, 2]),
      frozen,
      text: "t",
    };
    const c = copyStateValue(v);
    assert.deepEqual(c, v);
    assert.ok(c.p instanceof Point);
    assert.equal(c.p.norm(), 5);
    assert.notEqual(c.p, v.p);
    assert.notEqual(c.list[1], v.list[1]);
    assert.notEqual(c.m.get("a"), v.m.get("a"));
    assert.notEqual(c.s, v.s);
    assert.notEqual(c.d, v.d);
    assert.notEqual(c.bytes, v.bytes);
    assert.equal(c.frozen, frozen);
    assert.equal(copyStateValue(7), 7);
  });
});

describe("embedded backend: a snapshot reads the store as of the barrier", () => {
  it("keeps its view while the task writes on (cache flushes and evictions included)", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 }, { cacheEntries: 16 });
    try {
      const count = new ValueStateDescriptor<number>("count");
      const list = new ListStateDescriptor<string>("list");
      const map = new MapStateDescriptor<string, number>("map");
      const touch = (k: number, round: number) => {
        b.setCurrentKey(k, assignToKeyGroup(k, MAX));
        b.getState(count).update((b.getState(count).value() ?? 0) + 1);
        b.getListState(list).add(`r${round}`);
        b.getMapState(map).put(`m${round % 3}`, round);
        if (k % 7 === round % 7) b.getState(count).clear();
      };
      for (let k = 0; k < 300; k++) touch(k, 0);
      const expected = new Map<number, KeyGroupSnapshotEntry[]>();
      for (let kg = 0; kg < MAX; kg++) {
        const e = b.snapshotKeyGroup(kg);
        if (e.length > 0) expected.set(kg, e);
      }
      const snap = b.snapshot();
      for (let round = 1; round < 4; round++) for (let k = 0; k < 300; k++) touch(k, round);
      assert.deepEqual(read(snap), canonicalAll(expected));
      snap.release();
      assert.throws(() => snap.entries(0), /released/);
    } finally {
      b.dispose();
    }
  });
});
