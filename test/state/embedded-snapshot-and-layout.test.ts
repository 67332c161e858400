import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import {
  type AggregateFunction,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
} from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import { createKeyedStateBackend } from "../../src/state/index.ts";
import type { KeyedStateBackend, KeyGroupSnapshotEntry } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX - 1 };
const created: KeyedStateBackend[] = [];
function embedded(range: KeyGroupRange = ALL, cacheEntries = 64): EmbeddedKeyedStateBackend {
  const b = new EmbeddedKeyedStateBackend(range, { cacheEntries });
  created.push(b);
  return b;
}
after(() => {
  for (const b of created) b.dispose();
});

function at(
  b: KeyedStateBackend,
  key: unknown,
  ns: string | number | typeof VOID_NAMESPACE = VOID_NAMESPACE,
) {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  b.setCurrentNamespace(ns);
}

const avg: AggregateFunction<number, { sum: number; n: number }, number> = {
  createAccumulator: () => ({ sum: 0, n: 0 }),
  add: (v, acc) => ({ sum: acc.sum + v, n: acc.n + 1 }),
  getResult: (acc) => acc.sum / acc.n,
  merge: (a, b) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
};

const CLOCK = () => 5000;
function descriptors() {
  return {
    v: new ValueStateDescriptor<number>("v", Types.NUMBER),
    g: new ValueStateDescriptor<unknown>("generic"),
    l: new ListStateDescriptor<string>("l", Types.STRING),
    m: new MapStateDescriptor<string, number>("m", Types.STRING, Types.NUMBER),
    r: new ReducingStateDescriptor<number>("r", (a, b) => a + b),
    a: new AggregatingStateDescriptor("a", avg),
    t: new ValueStateDescriptor<string>("ttl").enableTimeToLive(StateTtlConfig.newBuilder(60_000).build()),
    tm: new MapStateDescriptor<string, number>("ttlMap").enableTimeToLive(
      StateTtlConfig.newBuilder(60_000).build(),
    ),
  };
}

/** Every state kind, namespaces, composite keys and TTL, over 300 keys. */
function fill(b: KeyedStateBackend): void {
  b.setTimeProvider(CLOCK);
  const d = descriptors();
  const v = b.getState(d.v);
  const g = b.getState(d.g);
  const l = b.getListState(d.l);
  const m = b.getMapState(d.m);
  const r = b.getReducingState(d.r);
  const a = b.getAggregatingState(d.a);
  const t = b.getState(d.t);
  const tm = b.getMapState(d.tm);
  for (let i = 0; i < 300; i++) {
    const key = i % 5 === 0 ? ["c", i] : i % 7 === 0 ? i : `k${i}`;
    at(b, key);
    v.update(i);
    g.update({ i, s: `x${i}`, big: BigInt(i), nested: [1, { d: i / 3 }] });
    l.addAll([`a${i}`, `b${i}`]);
    m.put(`u${i}`, i);
    m.put(`w${i}`, -i);
    t.update(`t${i}`);
    tm.put("only", i);
    at(b, key, `win-${i % 3}`);
    r.add(i);
    r.add(1);
    a.add(i);
    l.add(`n${i}`);
    at(b, key, i % 4);
    m.put("ns", i);
  }
}

function snapshotAll(b: KeyedStateBackend): Map<number, KeyGroupSnapshotEntry[]> {
  const out = new Map<number, KeyGroupSnapshotEntry[]>();
  for (let kg = b.keyGroupRange.start; kg <= b.keyGroupRange.end; kg++) {
    const e = b.snapshotKeyGroup(kg);
    if (e.length > 0) out.set(kg, e);
  }
  return out;
}

function restoreAll(b: KeyedStateBackend, snap: Map<number, KeyGroupSnapshotEntry[]>): void {
  for (const [kg, entries] of snap) b.restoreKeyGroup(kg, entries);
}

const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
/** Entries in a canonical order (backends may list states and namespaces in another order). */
function canonical(snap: Map<number, KeyGroupSnapshotEntry[]>): Array<[number, KeyGroupSnapshotEntry[]]> {
  return [...snap]
    .sort(([a], [b]) => a - b)
    .map(([kg, e]) => [kg, [...e].sort((x, y) => text(x.slice(0, 3)).localeCompare(text(y.slice(0, 3))))]);
}

function registerAll(b: KeyedStateBackend): void {
  const d = descriptors();
  b.getState(d.v);
  b.getState(d.g);
  b.getListState(d.l);
  b.getMapState(d.m);
  b.getReducingState(d.r);
  b.getAggregatingState(d.a);
  b.getState(d.t);
  b.getMapState(d.tm);
}

describe("embedded backend: snapshots in the heap backend's format", () => {
  it("heap → embedded → heap: the entries are equal, whether states register before or after the restore", () => {
    const heap = new HeapKeyedStateBackend(ALL);
    fill(heap);
    const fromHeap = snapshotAll(heap);
    assert.ok(fromHeap.size > 100);

    const before = embedded(); // registered first, then restored
    registerAll(before);
    restoreAll(before, fromHeap);
    const late = embedded(); // restored first: raw entries converted on registration
    restoreAll(late, fromHeap);
    assert.deepEqual(
      canonical(snapshotAll(late)),
      canonical(fromHeap),
      "unregistered states are snapshotted too",
    );
    registerAll(late);
    for (const e of [before, late]) assert.deepEqual(canonical(snapshotAll(e)), canonical(fromHeap));

    const back = new HeapKeyedStateBackend(ALL);
    restoreAll(back, snapshotAll(late));
    registerAll(back);
    assert.deepEqual(canonical(snapshotAll(back)), canonical(fromHeap));
  });

  it("embedded → heap: state written through embedded handles restores into the heap with equal entries and values", () => {
    const e = embedded();
    fill(e);
    const fromEmbedded = snapshotAll(e);
    const heap = new HeapKeyedStateBackend(ALL);
    fill(heap);
    assert.deepEqual(canonical(fromEmbedded), canonical(snapshotAll(heap)));
    const restored = new HeapKeyedStateBackend(ALL);
    restoreAll(restored, fromEmbedded);
    restored.setTimeProvider(CLOCK);
    const d = descriptors();
    const m = restored.getMapState(d.m);
    const a = restored.getAggregatingState(d.a);
    at(restored, ["c", 10]);
    assert.deepEqual(
      [...m.entries()],
      [
        ["u10", 10],
        ["w10", -10],
      ],
    );
    at(restored, ["c", 10], "win-1");
    assert.equal(a.get(), 10);
    assert.equal(restored.getState(d.t).value(), undefined, "namespace win-1 has no ttl state");
    at(restored, "k11");
    assert.equal(restored.getState(d.t).value(), "t11");
  });

  it("a restore at another parallelism keeps only the backend's own key groups", () => {
    const heap = new HeapKeyedStateBackend(ALL);
    fill(heap);
    const snap = snapshotAll(heap);
    const half = embedded({ start: 64, end: 127 });
    restoreAll(half, snap);
    registerAll(half);
    const mine = new Map([...snap].filter(([kg]) => kg >= 64));
    assert.deepEqual(canonical(snapshotAll(half)), canonical(mine));
    const v = half.getState(descriptors().v);
    let n = 0;
    for (let i = 0; i < 300; i++) {
      const key = i % 5 === 0 ? ["c", i] : i % 7 === 0 ? i : `k${i}`;
      if (assignToKeyGroup(key, MAX) < 64) continue;
      at(half, key);
      assert.equal(v.value(), i);
      n++;
    }
    assert.ok(n > 100);
  });
});

describe("embedded backend: keys laid out by key group", () => {
  it("one key group is one range scan: its keys start with the key group (2 bytes big-endian)", () => {
    const b = embedded();
    fill(b);
    const store = b.store;
    for (const kg of [0, 1, 63, 127]) {
      const start = Buffer.from([kg >> 8, kg & 255]);
      const end = Buffer.from([(kg + 1) >> 8, (kg + 1) & 255]);
      const keys = [...store.scan(start, end)].map(([k]) => k);
      assert.ok(keys.length > 0, `key group ${kg} has entries`);
      for (const k of keys) assert.equal(k.readUInt16BE(0), kg);
      // the entries of the range are exactly what the key group's snapshot holds (map state: per user key)
      const perUserKey = b
        .snapshotKeyGroup(kg)
        .reduce((n, e) => n + (e[3] instanceof Map ? (e[3] as Map<unknown, unknown>).size : 1), 0);
      assert.equal(keys.length, perUserKey);
    }
  });

  it("getKeys, applyToAllKeys and size see every key group; the cache stays bounded", () => {
    const b = embedded(ALL, 100);
    const d = new ValueStateDescriptor<number>("n");
    const s = b.getState(d);
    for (let i = 0; i < 5000; i++) {
      at(b, i);
      s.update(i * 2);
      assert.ok(b.store.cachedEntries() <= 100);
    }
    assert.equal(b.size("n"), 5000);
    assert.equal(b.getKeys("n").length, 5000);
    let sum = 0;
    b.applyToAllKeys<typeof s>(d, (key, st) => {
      assert.equal(st.value(), (key as number) * 2);
      sum += st.value()!;
      st.update(1);
    });
    assert.equal(sum, 4999 * 5000);
    at(b, 1234);
    assert.equal(s.value(), 1);
  });
});

describe("embedded backend: lifecycle", () => {
  it("one directory per backend under the local directory, removed by dispose(); the factory makes both kinds", () => {
    const parent = mkdtempSync(join(tmpdir(), "weir-embedded-test-"));
    try {
      const a = createKeyedStateBackend("embedded", ALL, { localDirectory: parent });
      const b = createKeyedStateBackend("embedded", ALL, { localDirectory: parent });
      assert.ok(a instanceof EmbeddedKeyedStateBackend && b instanceof EmbeddedKeyedStateBackend);
      assert.notEqual(a.directory, b.directory);
      assert.equal(readdirSync(parent).length, 2);
      assert.ok(readdirSync(parent).every((n) => n.startsWith("weir-state-")));
      at(a, "k");
      a.getState(new ValueStateDescriptor<number>("x")).update(1);
      a.dispose();
      a.dispose();
      assert.equal(existsSync(a.directory), false);
      assert.equal(readdirSync(parent).length, 1);
      assert.throws(() => a.snapshotKeyGroup(0), /was disposed/);
      b.dispose();
      const h = createKeyedStateBackend("heap", ALL);
      assert.ok(h instanceof HeapKeyedStateBackend);
      h.dispose();
      assert.throws(
        () => createKeyedStateBackend("rocks" as "heap", ALL),
        /unknown state backend 'rocks'; use "heap" or "embedded"/,
      );
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
