// Composite keys. Flink keys by several fields with keyBy("a", "b") (deprecated) or a selector
// returning a tuple; in Weir a selector returning an array is the composite key (equal arrays are
// the same key, in state and in partitioning), and keyBy with more than one argument is refused
// instead of keying by the first field only.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError, StreamExecutionEnvironment } from "../../src/index.ts";

interface Sale {
  shop: string;
  day: number;
  amount: number;
}

const SALES: Sale[] = [
  { shop: "a", day: 1, amount: 1 },
  { shop: "a", day: 1, amount: 2 },
  { shop: "a", day: 2, amount: 4 },
  { shop: "b", day: 1, amount: 8 },
  { shop: "a", day: 1, amount: 16 },
  { shop: "b", day: 1, amount: 32 },
];

describe("keyBy with a composite key", () => {
  for (const p of [1, 2]) {
    it(`a selector returning [shop, day] keys by both fields (p=${p})`, async () => {
      const env = StreamExecutionEnvironment.getExecutionEnvironment({ parallelism: p });
      const out = await env
        .fromCollection(SALES)
        .keyBy((s) => [s.shop, s.day])
        .sum("amount")
        .executeAndCollect();
      const last = new Map<string, number>();
      for (const s of out)
        last.set(`${s.shop}/${s.day}`, Math.max(last.get(`${s.shop}/${s.day}`) ?? 0, s.amount));
      assert.deepEqual(Object.fromEntries([...last].sort()), { "a/1": 19, "a/2": 4, "b/1": 40 });
      assert.equal(out.length, SALES.length);
    });
  }

  it("keyBy with two field names is refused, pointing to the array selector", () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const sales = env.fromCollection(SALES);
    assert.throws(
      () => (sales.keyBy as (...a: unknown[]) => unknown)("shop", "day"),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        /keyBy\(\) takes one key/.test(e.message) &&
        /\[r\.shop, r\.day\]|\(r\) => \[/.test(e.message),
    );
  });
});
