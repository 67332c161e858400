// The heap states' getAndClear (the window operator's fire-and-purge in one lookup): it returns
// what get() would have and leaves what clear() would have, for aggregating, reducing and list
// state, with and without TTL (expired values are not handed out).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  ReducingStateDescriptor,
  StateTtlConfig,
} from "../../src/core/state.ts";
import { HeapKeyedStateBackend } from "../../src/state/heap-keyed-state-backend.ts";

interface Takeable {
  getAndClear(): unknown;
}

function backend() {
  const b = new HeapKeyedStateBackend({ start: 0, end: 127 });
  let now = 1_000;
  b.setTimeProvider(() => now);
  const at = (key: string, ns: string) => {
    b.setCurrentKey(key, 5);
    b.setCurrentNamespace(ns);
  };
  return { b, at, advance: (ms: number) => void (now += ms) };
}

const count = {
  createAccumulator: () => ({ n: 0 }),
  add: (_v: unknown, a: { n: number }) => ({ n: a.n + 1 }),
  getResult: (a: { n: number }) => `n=${a.n}`,
};

describe("heap state getAndClear", () => {
  it("aggregating: the result, then nothing; other keys and namespaces keep theirs", () => {
    const { b, at } = backend();
    const s = b.getPartitionedState(new AggregatingStateDescriptor("agg", count));
    for (const [k, ns] of [
      ["a", "w1"],
      ["a", "w1"],
      ["b", "w1"],
      ["a", "w2"],
    ] as const) {
      at(k, ns);
      s.add(1);
    }
    at("a", "w1");
    assert.equal((s as unknown as Takeable).getAndClear(), "n=2");
    assert.equal(s.get(), undefined);
    assert.equal((s as unknown as Takeable).getAndClear(), undefined);
    at("b", "w1");
    assert.equal(s.get(), "n=1");
    at("a", "w2");
    assert.equal(s.get(), "n=1");
    assert.equal(b.size("agg"), 2);
  });

  it("reducing and list: the value or the elements; an absent list is empty", () => {
    const { b, at } = backend();
    const r = b.getPartitionedState(new ReducingStateDescriptor<number>("sum", (x, y) => x + y));
    const l = b.getPartitionedState(new ListStateDescriptor<string>("list"));
    at("k", "w");
    r.add(2);
    r.add(3);
    l.add("x");
    l.add("y");
    assert.equal((r as unknown as Takeable).getAndClear(), 5);
    assert.deepEqual((l as unknown as Takeable).getAndClear(), ["x", "y"]);
    assert.equal(r.get(), undefined);
    assert.deepEqual((l as unknown as Takeable).getAndClear(), []);
    assert.equal(b.size("sum") + b.size("list"), 0);
  });

  it("with TTL: a live value is handed out, an expired one is not; both are removed", () => {
    const { b, at, advance } = backend();
    const d = new AggregatingStateDescriptor("agg", count);
    d.enableTimeToLive(StateTtlConfig.newBuilder(100).build());
    const s = b.getPartitionedState(d);
    at("a", "w");
    s.add(1);
    at("b", "w");
    s.add(1);
    advance(50);
    at("a", "w");
    assert.equal((s as unknown as Takeable).getAndClear(), "n=1");
    advance(100);
    at("b", "w");
    assert.equal((s as unknown as Takeable).getAndClear(), undefined, "expired");
    assert.equal(b.size("agg"), 0);
  });
});
