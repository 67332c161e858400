// The embedded backend's restore from encoded key groups (restoreEncodedKeyGroup): each entry's
// value goes from the checkpoint's bytes to the store without a decode, and a state that
// registers afterwards keeps those entries as written when it can read them so (restoredCodecFor)
// instead of rewriting each one. Checked against the decoding restore, for every state kind, typed
// and untyped, with TTL, namespaces and number keys.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeKeyGroup, encodeKeyGroupFrom, visitKeyGroup } from "../../src/checkpoint/state-file.ts";
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
import { groupStart } from "../../src/state/embedded/store-keys.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";
import type { KeyedStateBackend } from "../../src/state/keyed-state-backend.ts";
import { VOID_NAMESPACE } from "../../src/state/state-table.ts";

const MAX = 16;
const FULL: KeyGroupRange = { start: 0, end: MAX - 1 };
const KEYS = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? i : `key-${i}`));

const created: EmbeddedKeyedStateBackend[] = [];
after(() => {
  for (const b of created) b.dispose();
});
function embedded(range: KeyGroupRange = FULL): EmbeddedKeyedStateBackend {
  const b = new EmbeddedKeyedStateBackend(range, { cacheEntries: 8 });
  created.push(b);
  return b;
}

const avg: AggregateFunction<number, { s: number; n: number }, number> = {
  createAccumulator: () => ({ s: 0, n: 0 }),
  add: (v, acc) => ({ s: acc.s + v, n: acc.n + 1 }),
  getResult: (acc) => acc.s / acc.n,
  merge: (a, b) => ({ s: a.s + b.s, n: a.n + b.n }),
};

/** Fresh descriptors (a backend holds on to the ones it registered). */
function descriptors() {
  const ttl = new ValueStateDescriptor<string>("ttl", Types.STRING);
  ttl.enableTimeToLive(StateTtlConfig.newBuilder(1_000_000).build());
  return {
    untyped: new ValueStateDescriptor<unknown>("untyped"),
    count: new ValueStateDescriptor<number>("count", Types.NUMBER),
    when: new ValueStateDescriptor<Date>("when", Types.DATE),
    ttl,
    list: new ListStateDescriptor<number>("list", Types.NUMBER),
    sum: new ReducingStateDescriptor<number>("sum", (a, b) => a + b, Types.NUMBER),
    avg: new AggregatingStateDescriptor("avg", avg),
    map: new MapStateDescriptor<string, number>("map", Types.STRING, Types.NUMBER),
  };
}

function at(b: KeyedStateBackend, key: unknown, ns: unknown = VOID_NAMESPACE): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  b.setCurrentNamespace(ns as typeof VOID_NAMESPACE);
}

function fill(b: KeyedStateBackend): void {
  const d = descriptors();
  KEYS.forEach((key, i) => {
    at(b, key);
    b.getState(d.untyped).update({ i, tags: new Map([["a", [i, -0]]]) });
    b.getState(d.count).update(i * 1.5);
    b.getState(d.when).update(new Date(1_700_000_000_000 + i));
    b.getState(d.ttl).update(`s${i}`);
    for (let k = 0; k <= i % 3; k++) b.getListState(d.list).add(k);
    b.getReducingState(d.sum).add(i);
    b.getAggregatingState(d.avg).add(i);
    b.getMapState(d.map).put(`u${i}`, i);
    b.getMapState(d.map).put("x", -i);
    at(b, key, `window-${i % 2}`);
    b.getState(d.count).update(-i);
  });
}

/** Everything the states hold, read through a fresh set of descriptors (which registers them). */
function read(b: KeyedStateBackend): unknown[] {
  const d = descriptors();
  const out: unknown[] = [];
  for (const key of KEYS) {
    at(b, key);
    out.push([
      key,
      b.getState(d.untyped).value(),
      b.getState(d.count).value(),
      b.getState(d.when).value(),
      b.getState(d.ttl).value(),
      [...(b.getListState(d.list).get() ?? [])],
      b.getReducingState(d.sum).get(),
      b.getAggregatingState(d.avg).get(),
      [...b.getMapState(d.map).entries()].sort(),
    ]);
    at(b, key, `window-${KEYS.indexOf(key) % 2}`);
    out.push(b.getState(d.count).value());
  }
  return out;
}

/** The source's key groups as a checkpoint encodes them. */
function checkpoint(b: KeyedStateBackend): Map<number, Uint8Array> {
  const snap = b.snapshot();
  const out = new Map<number, Uint8Array>();
  try {
    for (const kg of snap.keyGroups)
      out.set(
        kg,
        encodeKeyGroupFrom((emit) => snap.read(kg, emit), []),
      );
  } finally {
    snap.release();
  }
  return out;
}

/** Every (key, value) of the store, as hex text. */
function storeContents(b: EmbeddedKeyedStateBackend): string[] {
  const out: string[] = [];
  for (const [k, v] of b.store.scan(groupStart(0), groupStart(MAX)))
    out.push(`${k.toString("hex")}=${v.toString("hex")}`);
  return out;
}

function restoreEncoded(b: EmbeddedKeyedStateBackend, groups: Map<number, Uint8Array>): void {
  for (const [kg, bytes] of groups) {
    b.restoreEncodedKeyGroup(kg, (visit) => {
      assert.deepEqual(visitKeyGroup(bytes, "f", visit), []);
    });
  }
}

function restoreDecoded(b: KeyedStateBackend, groups: Map<number, Uint8Array>): void {
  for (const [kg, bytes] of groups) b.restoreKeyGroup(kg, decodeKeyGroup(bytes, "f").entries);
}

describe("embedded backend: restore from encoded key groups", () => {
  for (const [name, source] of [
    ["from the heap backend", () => new HeapKeyedStateBackend(FULL, MAX)],
    ["from the embedded backend", () => embedded()],
  ] as const) {
    it(`gives every state back as the decoding restore does (${name})`, () => {
      const src = source();
      fill(src);
      const groups = checkpoint(src);
      const expected = read(src);

      const viaBytes = embedded();
      restoreEncoded(viaBytes, groups);
      const viaDecode = embedded();
      restoreDecoded(viaDecode, groups);
      const heap = new HeapKeyedStateBackend(FULL, MAX);
      restoreDecoded(heap, groups);

      assert.deepEqual(read(viaBytes), expected);
      assert.deepEqual(read(viaDecode), expected);
      assert.deepEqual(read(heap), expected);
      // And checkpoints again to the same bytes.
      assert.deepEqual(checkpoint(viaBytes), checkpoint(viaDecode));
    });
  }

  it("rescales: each new backend takes only its own key groups, and all of them", () => {
    const src = embedded();
    fill(src);
    const groups = checkpoint(src);
    const halves = [embedded({ start: 0, end: 6 }), embedded({ start: 7, end: MAX - 1 })];
    for (const h of halves) restoreEncoded(h, groups);
    const d = new ValueStateDescriptor<number>("count", Types.NUMBER);
    for (const key of KEYS) {
      const kg = assignToKeyGroup(key, MAX);
      const h = halves[kg <= 6 ? 0 : 1]!;
      h.setCurrentKey(key, kg);
      assert.equal(h.getState(d).value(), KEYS.indexOf(key) * 1.5);
    }
    assert.equal(halves[0]!.size("count") + halves[1]!.size("count"), KEYS.length * 2);
  });

  it("keeps the restored bytes of states that can read them (no rewrite when they register)", () => {
    const src = embedded();
    fill(src);
    const b = embedded();
    restoreEncoded(b, checkpoint(src));
    const before = storeContents(b);
    const d = descriptors();
    at(b, KEYS[1]);
    b.getState(d.count);
    b.getState(d.untyped);
    b.getState(d.ttl);
    b.getListState(d.list);
    b.getReducingState(d.sum);
    b.getAggregatingState(d.avg);
    assert.deepEqual(storeContents(b), before);
    // A DATE state and map state are rewritten in their own encoding.
    b.getState(d.when);
    b.getMapState(d.map);
    assert.notDeepEqual(storeContents(b), before);
  });

  it("a restored typed state still refuses a value of the wrong type, as a fresh one does", () => {
    const src = embedded();
    fill(src);
    const groups = checkpoint(src);
    for (const b of [
      embedded(),
      (() => {
        const r = embedded();
        restoreEncoded(r, groups);
        return r;
      })(),
    ]) {
      at(b, "key-1");
      (
        b.getState(new ValueStateDescriptor<number>("count", Types.NUMBER)) as { update(v: unknown): void }
      ).update("not a number");
      assert.throws(() => b.store.flush(), /NUMBER/);
    }
  });
});
