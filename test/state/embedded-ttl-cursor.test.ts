// Incremental TTL cleanup of the embedded backend (src/state/embedded/ttl-cursor.ts), counted
// access by access: each access of a state visits exactly `cleanupIncrementally(n)` of its stored
// entries, key group after key group of the backend's range (which need not start at 0), going on
// inside a key group where the last access stopped, wrapping around at most once, and never
// touching another state's entries.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignToKeyGroup, type KeyGroupRange } from "../../src/core/key-groups.ts";
import { StateTtlConfig, ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";

const MAX = 128;
const TTL = 100;
const RANGE: KeyGroupRange = { start: 40, end: 55 };

/** `n` keys of the range whose key groups satisfy `ok`, in order of their names. */
function keysWhere(n: number, ok: (kg: number) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const kg = assignToKeyGroup(`key-${i}`, MAX);
    if (kg >= RANGE.start && kg <= RANGE.end && ok(kg)) out.push(`key-${i}`);
  }
  return out;
}

/** A key of the range never written by these tests (they use fewer than 200 keys). */
const ABSENT = keysWhere(200, () => true)[199]!;

function setup(cleanupSize: number) {
  const b = new EmbeddedKeyedStateBackend(RANGE, { managedMemoryBytes: 2 ** 21 });
  const clock = { t: 1000 };
  b.setTimeProvider(() => clock.t);
  const at = (key: string) => b.setCurrentKey(key, assignToKeyGroup(key, MAX));
  const ttl = StateTtlConfig.newBuilder(TTL).cleanupIncrementally(cleanupSize).build();
  const state = (name: string) =>
    b.getState(new ValueStateDescriptor<number>(name, Types.NUMBER).enableTimeToLive(ttl));
  return { b, clock, at, state };
}

describe("embedded backend: incremental TTL cleanup, access by access", () => {
  it("each access removes exactly its share of expired entries, across every key group of the range", () => {
    const { b, clock, at, state } = setup(4);
    try {
      const s = state("s");
      // Two keys in each of the first 6 key groups, one in each of the others up to the range's end.
      const keys: string[] = [];
      for (let kg = RANGE.start; kg <= RANGE.end; kg++) {
        keys.push(...keysWhere(kg < RANGE.start + 6 ? 2 : 1, (g) => g === kg));
      }
      for (const [i, k] of keys.entries()) {
        at(k);
        s.update(i);
      }
      assert.equal(b.size("s"), 22);
      clock.t += TTL;
      const left: number[] = [];
      for (let i = 0; i < 7; i++) {
        at(ABSENT); // a read of a key never written: creates nothing
        assert.equal(s.value(), undefined);
        left.push(b.size("s"));
      }
      assert.deepEqual(left, [18, 14, 10, 6, 2, 0, 0]);
    } finally {
      b.dispose();
    }
  });

  it("goes on inside a key group where the last access stopped", () => {
    const { b, clock, at, state } = setup(3);
    try {
      const s = state("s");
      const group = assignToKeyGroup(keysWhere(1, () => true)[0]!, MAX);
      const keys = keysWhere(10, (kg) => kg === group); // all in one key group
      for (const [i, k] of keys.entries()) {
        at(k);
        s.update(i);
      }
      clock.t += TTL;
      const left: number[] = [];
      for (let i = 0; i < 4; i++) {
        at(ABSENT);
        s.value();
        left.push(b.size("s"));
      }
      assert.deepEqual(left, [7, 4, 1, 0]);
    } finally {
      b.dispose();
    }
  });

  it("gets past live entries at the start of the range's first key group", () => {
    const { b, clock, at, state } = setup(3);
    try {
      const s = state("s");
      const keys = keysWhere(10, (kg) => kg === RANGE.start);
      for (const [i, k] of keys.entries()) {
        at(k);
        s.update(i);
      }
      // The first three in the store's order stay live; the other seven expire.
      const live = b.getKeys("s").slice(0, 3) as string[];
      clock.t += TTL - 1;
      for (const k of live) {
        at(k);
        s.update(-1);
      }
      clock.t += 1;
      // Four accesses of three visits cover all ten entries, wherever the cursor stood.
      for (let i = 0; i < 4; i++) {
        at(ABSENT);
        s.value();
      }
      assert.equal(b.size("s"), 3);
      assert.deepEqual((b.getKeys("s") as string[]).sort(), [...live].sort());
    } finally {
      b.dispose();
    }
  });

  it("visits only live entries once a pass wrapped, and leaves fresh ones and other states alone", () => {
    const { b, clock, at, state } = setup(5);
    try {
      const s = state("s");
      const other = state("other");
      const keys = keysWhere(6, () => true);
      for (const [i, k] of keys.entries()) {
        at(k);
        other.update(i);
      }
      for (const [i, k] of keys.slice(0, 3).entries()) {
        at(k);
        s.update(i);
      }
      clock.t += TTL - 1;
      at(keys[5]!);
      s.update(99); // fresh when the others expire
      clock.t += 1;
      // 4 entries, 3 expired: one access visits all (wrapping once), removes the 3, stops.
      at(ABSENT);
      assert.equal(s.value(), undefined);
      assert.equal(b.size("s"), 1);
      assert.equal(b.size("other"), 6, "another state's entries are not visited by this state's cursor");
      at(keys[5]!);
      assert.equal(s.value(), 99);
      // The other state's own cursor: 5 of its 6 at its first access, the last at the next.
      at(ABSENT);
      assert.equal(other.value(), undefined);
      assert.equal(b.size("other"), 1);
      other.value();
      assert.equal(b.size("other"), 0);
    } finally {
      b.dispose();
    }
  });
});
