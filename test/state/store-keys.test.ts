// The embedded backend's key layout: the exclusive end of a prefix range, which its scans over one
// key's entries (map state, a key's namespaces) use as their bound.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prefixEnd } from "../../src/state/embedded/store-keys.ts";

const bytes = (b: Buffer | undefined) => (b === undefined ? undefined : [...b]);

describe("prefixEnd", () => {
  it("is the prefix with its last byte raised", () => {
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(1, 2, 3))), [1, 2, 4]);
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(7))), [8], "a one-byte prefix");
  });

  it("drops trailing 0xff bytes and raises the one before", () => {
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(1, 0xff, 0xff))), [2]);
    assert.deepEqual(bytes(prefixEnd(Uint8Array.of(5, 0xff))), [6], "the first byte raised");
  });

  it("has no end when every byte is 0xff (the range runs to the end of the store)", () => {
    assert.equal(prefixEnd(Uint8Array.of(0xff, 0xff)), undefined);
    assert.equal(prefixEnd(new Uint8Array(0)), undefined);
  });

  it("leaves the prefix given unchanged", () => {
    const p = Uint8Array.of(1, 2);
    prefixEnd(p);
    assert.deepEqual([...p], [1, 2]);
  });
});
