// The key → key group mapping, pinned: checkpoints written by one version of Weir are restored by
// another, so hashKey and assignToKeyGroup must give these exact values forever. A change here is
// a format break (every savepoint's keyed state lands in the wrong subtask), not a refactoring.
// Found by mutation testing: no other test notices when the hash changes, only when it is unstable.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.ts";
import { assignToKeyGroup, hashKey, keyGroupRangeFor } from "../../src/core/key-groups.ts";

/** [key, hashKey(key), assignToKeyGroup(key, 128)] as written by Weir 0.1. */
const PINNED: Array<[unknown, number, number]> = [
  ["", 0, 0],
  ["a", 1867108634, 26],
  ["ab", 374890698, 74],
  ["abc", 1118836419, 67],
  ["hello world", 1689409188, 36],
  ["ключ", 3797877012, 20],
  ["😀", 1443257913, 57],
  [0, 0, 0],
  [1, 1364076727, 55],
  [-1, 2180083513, 57],
  [42, 142593372, 92],
  [2147483647, 4190899880, 40],
  [-2147483648, 1832674720, 32],
  [2147483648, 3634796416, 0],
  [0.5, 2673920907, 11],
  [-1.25, 861367735, 55],
  [1e21, 1775543019, 107],
  [true, 1234, 82],
  [false, 1237, 85],
  [0n, 744309601, 97],
  [12345678901234567890n, 3931234293, 117],
  [-5n, 4068037232, 112],
  [[1, "a"], 1276400911, 15],
  [[], 2449446778, 122],
  [{ b: 1, a: [true, "x"] }, 186957592, 24],
  [{}, 3869663868, 124],
  [[1n, "a"], 3511067429, 37],
  [{ n: -5n }, 1587320727, 23],
  [[[0n]], 1629611840, 64],
];

function show(key: unknown): string {
  return typeof key === "bigint"
    ? `${key}n`
    : JSON.stringify(key, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
}

describe("the key → key group mapping never changes", () => {
  it("hashKey gives the pinned value for strings (even, odd, non-ASCII), numbers, booleans, bigints, composites", () => {
    for (const [key, hash] of PINNED) assert.equal(hashKey(key), hash, `hashKey(${show(key)})`);
  });

  it("assignToKeyGroup gives the pinned key group at max parallelism 128", () => {
    for (const [key, , group] of PINNED) assert.equal(assignToKeyGroup(key, 128), group, `key ${show(key)}`);
  });

  it("-0 is the key 0, and a composite key does not depend on property order", () => {
    assert.equal(hashKey(-0), hashKey(0));
    assert.equal(hashKey({ a: 1, b: "x" }), hashKey({ b: "x", a: 1 }));
  });

  it("a key that is not a string, number, boolean, bigint or array/plain object of those is rejected", () => {
    class Point {
      x = 1;
    }
    const bad: unknown[] = [
      null,
      undefined,
      new Date(0),
      new Map(),
      new Point(),
      () => 1,
      Symbol("k"),
      [new Date(0)],
    ];
    for (const key of bad) {
      assert.throws(() => hashKey(key), InvalidArgumentError, `key ${String(key)}`);
    }
  });

  it("a null key is named as what the key selector returned", () => {
    assert.throws(() => hashKey(null), /cannot hash key null \(null\); a key selector must return/);
  });
});

describe("keyGroupRangeFor checks its arguments (it is public API)", () => {
  it("rejects a parallelism above the max parallelism", () => {
    assert.throws(() => keyGroupRangeFor(4, 5, 0), /parallelism 5 exceeds max parallelism 4/);
    assert.deepEqual(keyGroupRangeFor(4, 4, 3), { start: 3, end: 3 });
  });

  it("rejects a max parallelism outside 1..32768 or not an integer", () => {
    for (const max of [0, -1, 1.5, 32769]) {
      assert.throws(
        () => keyGroupRangeFor(max, 1, 0),
        /max parallelism must be an integer in 1\.\.32768/,
        `max ${max}`,
      );
    }
    assert.deepEqual(keyGroupRangeFor(1, 1, 0), { start: 0, end: 0 });
    assert.deepEqual(keyGroupRangeFor(32768, 1, 0), { start: 0, end: 32767 });
  });
});
