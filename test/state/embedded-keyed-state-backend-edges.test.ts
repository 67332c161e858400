// The embedded keyed state backend at its edges: getKeys() of one state among several, size() of a
// backend whose key-group range does not start at 0, and the cache's estimate of a large value's
// heap bytes once it is written (the estimate is what keeps the cache within its budget); a snapshot
// read after its backend was disposed (a task that failed while its checkpoint was being written).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type KeyGroupRange, assignToKeyGroup } from "../../src/core/key-groups.ts";
import { ValueStateDescriptor } from "../../src/core/state.ts";
import { Types } from "../../src/core/types/types.ts";
import { EmbeddedKeyedStateBackend } from "../../src/state/embedded/embedded-keyed-state-backend.ts";

const MAX = 128;

function at(b: EmbeddedKeyedStateBackend, key: string): void {
  b.setCurrentKey(key, assignToKeyGroup(key, MAX));
}

/** Keys whose key group lies in `range`. */
function keysIn(range: KeyGroupRange, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const g = assignToKeyGroup(`k${i}`, MAX);
    if (g >= range.start && g <= range.end) out.push(`k${i}`);
  }
  return out;
}

describe("embedded keyed state backend: edges", () => {
  it("getKeys() names the keys of that state only", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 });
    try {
      const first = b.getState(new ValueStateDescriptor<number>("first", Types.NUMBER));
      const second = b.getState(new ValueStateDescriptor<number>("second", Types.NUMBER));
      // Keys of one key group each, so that both states have entries in the same groups.
      at(b, "x");
      first.update(1);
      second.update(2);
      at(b, "y");
      second.update(3);
      assert.deepEqual(b.getKeys("first"), ["x"]);
      assert.deepEqual(b.getKeys("second").sort(), ["x", "y"]);
    } finally {
      b.dispose();
    }
  });

  it("size() counts the entries of a backend over key groups 64..127", () => {
    const range = { start: 64, end: MAX - 1 };
    const b = new EmbeddedKeyedStateBackend(range);
    try {
      const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
      const keys = keysIn(range, 40);
      for (const k of keys) {
        at(b, k);
        s.update(1);
      }
      assert.equal(b.size("n"), 40);
      assert.deepEqual(b.getKeys("n").sort(), [...keys].sort());
    } finally {
      b.dispose();
    }
  });

  it("estimates a written value's heap bytes at least at twice its encoded length", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 });
    try {
      const s = b.getState(new ValueStateDescriptor<string>("text", Types.STRING));
      at(b, "k");
      s.update("x".repeat(100_000));
      b.store.flush();
      // One entry: its estimate is a fixed overhead plus 2 bytes per encoded byte (>= 100,000 here).
      assert.equal(b.store.cachedEntries(), 1);
      assert.ok(b.store.cachedBytes() >= 200_000, `estimated ${b.store.cachedBytes()} bytes`);
    } finally {
      b.dispose();
    }
  });
  it("a snapshot read after the backend was disposed throws a clear error, not a native crash", () => {
    // The checkpoint writer reads key groups asynchronously; a failing task disposes its backend
    // meanwhile. LMDB aborted the whole process ("No current read transaction available",
    // napi_throw: FATAL) when its closed environment was read (seen in the chaos test).
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 });
    const s = b.getState(new ValueStateDescriptor<number>("n", Types.NUMBER));
    at(b, "x");
    s.update(1);
    const snapshot = b.snapshot();
    const kg = assignToKeyGroup("x", MAX);
    const before: unknown[] = [];
    snapshot.read(kg, (e) => before.push(e));
    assert.equal(before.length, 1);
    b.dispose();
    assert.throws(
      () => snapshot.read(kg, () => {}),
      /the embedded state store '.*' was disposed while a snapshot of it was read/,
    );
    snapshot.release();
  });

  it("after applyToAllKeys a handle read inside it reads the restored current key again", () => {
    const b = new EmbeddedKeyedStateBackend({ start: 0, end: MAX - 1 });
    try {
      const descriptor = new ValueStateDescriptor<string>("v", Types.STRING);
      const s = b.getState(descriptor);
      at(b, "one");
      s.update("value of one");
      at(b, "two");
      s.update("value of two");
      // The handle reads the first key visited (and only that one): it remembers that key's
      // store key for the context's version of that moment.
      let read = false;
      b.applyToAllKeys(descriptor, () => {
        if (!read) s.value();
        read = true;
      });
      assert.equal(s.value(), "value of two", "the current key is 'two' again");
    } finally {
      b.dispose();
    }
  });
});
