// fieldReplacer: the shape-compiled copy behind sum/min/max must equal `{ ...record, [field]: v }`.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fieldReplacer } from "../../src/api/field-replacer.ts";

function spread(r: object, field: string, v: unknown): object {
  return { ...r, [field]: v };
}

function same(a: object, b: object): void {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.deepEqual(a, b);
  assert.equal(Object.getPrototypeOf(a), Object.getPrototypeOf(b));
}

describe("fieldReplacer", () => {
  it("copies every field in order and replaces one, without touching the input", () => {
    const replace = fieldReplacer("count");
    const r = { word: "a", count: 1, extra: [1] };
    const c = replace(r, 5);
    same(c, spread(r, "count", 5));
    assert.notEqual(c, r);
    assert.equal(r.count, 1);
    assert.equal((c as { extra: number[] }).extra, r.extra); // shallow, as a spread
  });

  it("handles several shapes, integer-like keys, a missing field and __proto__", () => {
    const replace = fieldReplacer("n");
    const inputs: object[] = [
      { k: "x", n: 1 },
      { n: 2, k: "y", z: true },
      { 2: "two", 1: "one", n: 3 },
      { k: "no n" },
      { k: "x", n: 4 },
    ];
    for (let round = 0; round < 3; round++) for (const r of inputs) same(replace(r, 9), spread(r, "n", 9));
    const proto = fieldReplacer("__proto__");
    const r = { a: 1 };
    same(proto(r, 7), spread(r, "__proto__", 7));
    assert.equal(Object.getPrototypeOf(proto(r, 7)), Object.prototype);
  });

  it("copies own properties of class instances and skips inherited enumerable ones", () => {
    class P {
      constructor(
        readonly id: string,
        readonly n: number,
      ) {}
      twice(): number {
        return this.n * 2;
      }
    }
    const replace = fieldReplacer("n");
    const p = new P("a", 1);
    same(replace(p, 3), spread(p, "n", 3));
    const withInherited = Object.create({ inherited: 1 }) as Record<string, unknown>;
    withInherited.n = 1;
    same(replace(withInherited, 2), spread(withInherited, "n", 2));
    const sym = Symbol("s");
    const withSymbol = { n: 1, [sym]: "kept" };
    same(replace(withSymbol, 2), spread(withSymbol, "n", 2));
    assert.equal((replace(withSymbol, 2) as Record<symbol, string>)[sym], "kept");
  });

  it("falls back to the spread past 8 shapes", () => {
    const replace = fieldReplacer("n");
    for (let i = 0; i < 20; i++) {
      const r = { [`f${i}`]: i, n: i };
      same(replace(r, -1), spread(r, "n", -1));
    }
  });
});
