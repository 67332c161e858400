// The embedded store's rough estimate of a value written (before its first flush, when its encoding
// is not known) opens three levels of containers at most, whatever they are: a container deeper
// counts a fixed 64 bytes, so a write's cost does not grow with the value's depth. A
// 100,000-character string inside nested Maps (as a map value as much as a key), Sets, arrays or
// objects counts in full inside three of them, and a few hundred bytes inside four or more. A Set
// counts its elements once, a Map its keys and values.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedStore } from "../../src/state/embedded/embedded-store.ts";
import { cacheKeyOf } from "../../src/state/embedded/store-keys.ts";
import { RAW_CODEC } from "../../src/state/embedded/value-codecs.ts";

const LEAF = "x".repeat(100_000);

/** The cache bytes a store counts for one entry holding `value` (not flushed). */
function estimate(value: unknown): number {
  const s = new EmbeddedStore();
  try {
    const key = Buffer.from("k", "latin1");
    s.set(key, cacheKeyOf(key), value, RAW_CODEC);
    return s.cachedBytes();
  } finally {
    s.dispose();
  }
}

/** `leaf` inside `levels` containers made by `wrap`. */
function nest(levels: number, wrap: (inner: unknown) => unknown): unknown {
  let v: unknown = LEAF;
  for (let i = 0; i < levels; i++) v = wrap(v);
  return v;
}

const containers: Array<[string, (inner: unknown) => unknown]> = [
  ["map value", (inner) => new Map([["a", inner]])],
  ["map key", (inner) => new Map([[inner, 1]])],
  ["set", (inner) => new Set([inner])],
  ["array", (inner) => [inner]],
  ["object", (inner) => ({ a: inner })],
];

describe("embedded store: the rough estimate of a nested value", () => {
  for (const [name, wrap] of containers) {
    it(`${name}: the string counts in full inside three, a fixed size inside four or more`, () => {
      assert.ok(estimate(nest(3, wrap)) > 2 * LEAF.length, "inside three: the string's bytes");
      const deep = [4, 5, 7].map((levels) => estimate(nest(levels, wrap)));
      for (const bytes of deep) assert.ok(bytes < 1000, `${name}: ${deep.join(", ")} bytes`);
    });
  }

  it("a Set counts each element once, as an array of them; a Map its keys and its values", () => {
    const long = Array.from({ length: 8 }, (_, i) => `${i}`.padStart(10_000, "x"));
    const array = estimate(long);
    const set = estimate(new Set(long));
    const map = estimate(new Map(long.map((s) => [s, s])));
    assert.ok(Math.abs(set - array) < 0.1 * array, `set ${set} against array ${array}`);
    assert.ok(Math.abs(map - 2 * array) < 0.1 * array, `map ${map} against twice the array ${array}`);
  });
});
