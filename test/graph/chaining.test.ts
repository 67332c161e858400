// Operator chaining, as the execution plan shows it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamExecutionEnvironment } from "../../src/index.ts";

/** The plan as chains of operator names, e.g. [["src", "map", "filter"], ["sum", "sink"]]. */
function chains(env: StreamExecutionEnvironment): string[][] {
  const plan = JSON.parse(env.getExecutionPlan()) as {
    vertices: Array<{ operators: Array<{ name: string }> }>;
  };
  return plan.vertices.map((v) => v.operators.map((o) => o.name));
}

function pipeline(env: StreamExecutionEnvironment) {
  return env
    .fromSequence(1, 100)
    .name("src")
    .map((x) => x + 1)
    .name("map")
    .filter((x) => x % 2 === 0)
    .name("filter");
}

describe("chaining", () => {
  it("source -> map -> filter -> sink run as one vertex", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    pipeline(env).print().name("sink");
    assert.deepStrictEqual(chains(env), [["src", "map", "filter", "sink"]]);
    const v = env.plan().vertices[0]!;
    assert.equal(v.name, "src -> map -> filter -> sink");
    assert.deepStrictEqual(
      v.operators.map((o) => o.type),
      ["source", "operator", "operator", "sink"],
    );
  });

  it("keyBy breaks the chain; the keyed operator chains with what follows", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    pipeline(env)
      .keyBy((x) => x % 5)
      .reduce((a, b) => a + b)
      .name("reduce")
      .map((x) => x * 2)
      .name("after")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [
      ["src", "map", "filter"],
      ["reduce", "after", "sink"],
    ]);
    const plan = env.plan();
    assert.deepStrictEqual(plan.vertices[1]!.inputs, [{ vertex: 1, partitioner: "HASH", inputIndex: 0 }]);
  });

  it("at parallelism 1 a keyBy edge is chained: one subtask owns every key group", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    pipeline(env)
      .keyBy((x) => x % 5)
      .reduce((a, b) => a + b)
      .name("reduce")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [["src", "map", "filter", "reduce", "sink"]]);
  });

  it("a keyBy edge at parallelism 1 still breaks the chain where chaining is off on either side", () => {
    const build = (env: StreamExecutionEnvironment, cut: "start" | "disable" | "none") => {
      const reduce = pipeline(env)
        .keyBy((x) => x % 5)
        .reduce((a, b) => a + b)
        .name("reduce");
      if (cut === "start") reduce.startNewChain();
      if (cut === "disable") reduce.disableChaining();
      reduce.print().name("sink");
      return chains(env);
    };
    assert.deepStrictEqual(build(new StreamExecutionEnvironment({ parallelism: 1 }), "start"), [
      ["src", "map", "filter"],
      ["reduce", "sink"],
    ]);
    assert.deepStrictEqual(build(new StreamExecutionEnvironment({ parallelism: 1 }), "disable"), [
      ["src", "map", "filter"],
      ["reduce"],
      ["sink"],
    ]);
    assert.deepStrictEqual(
      build(new StreamExecutionEnvironment({ parallelism: 1, chaining: false }), "none"),
      [["src"], ["map"], ["filter"], ["reduce"], ["sink"]],
    );
  });

  it("keyed results are the same with the keyBy edge chained (p=1) and over the network (p=2)", async () => {
    const run = async (parallelism: number) => {
      const env = new StreamExecutionEnvironment({ parallelism });
      const out = pipeline(env)
        .map((x) => ({ k: x % 5, v: x }))
        .keyBy((r) => r.k)
        .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
        .collect();
      await env.execute();
      // The rolling sums of a key arrive in another order at p=2: compare each key's total.
      const totals = new Map<number, number>();
      for (const r of out.values) totals.set(r.k, Math.max(totals.get(r.k) ?? 0, r.v));
      return { count: out.values.length, totals: [...totals].sort((x, y) => x[0] - y[0]) };
    };
    const totals = new Map<number, number>();
    for (let x = 2; x <= 101; x += 2) totals.set(x % 5, (totals.get(x % 5) ?? 0) + x);
    const expected = { count: 50, totals: [...totals].sort((x, y) => x[0] - y[0]) };
    assert.deepStrictEqual(await run(1), expected);
    assert.deepStrictEqual(await run(2), expected);
  });

  it("disableChaining isolates an operator on both sides", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 10)
      .name("src")
      .map((x) => x)
      .name("a")
      .map((x) => x)
      .name("b")
      .disableChaining()
      .map((x) => x)
      .name("c")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [["src", "a"], ["b"], ["c", "sink"]]);
    assert.equal(env.plan().vertices[1]!.inputs[0]!.partitioner, "FORWARD");
  });

  it("startNewChain begins a chain that continues downstream", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 10)
      .name("src")
      .map((x) => x)
      .name("a")
      .map((x) => x)
      .name("b")
      .startNewChain()
      .map((x) => x)
      .name("c")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [
      ["src", "a"],
      ["b", "c", "sink"],
    ]);
  });

  it("a change of parallelism splits the chain (and the edge becomes a rebalance)", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    pipeline(env)
      .map((x) => x)
      .name("wide")
      .setParallelism(3)
      .print()
      .name("sink")
      .setParallelism(3);
    assert.deepStrictEqual(chains(env), [
      ["src", "map", "filter"],
      ["wide", "sink"],
    ]);
    const plan = env.plan();
    assert.equal(plan.vertices[1]!.parallelism, 3);
    assert.equal(plan.vertices[1]!.inputs[0]!.partitioner, "REBALANCE");
  });

  it("an explicit partitioner between equal parallelism splits the chain", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    pipeline(env)
      .rebalance()
      .map((x) => x)
      .name("after")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [
      ["src", "map", "filter"],
      ["after", "sink"],
    ]);
  });

  it("disableOperatorChaining() on the environment splits every operator", () => {
    for (const env of [
      new StreamExecutionEnvironment({ parallelism: 2 }).disableOperatorChaining(),
      new StreamExecutionEnvironment({ parallelism: 2, chaining: false }),
    ]) {
      pipeline(env).print().name("sink");
      assert.equal(env.isChainingEnabled(), false);
      assert.deepStrictEqual(chains(env), [["src"], ["map"], ["filter"], ["sink"]]);
      for (const v of env.plan().vertices.slice(1)) assert.equal(v.inputs[0]!.partitioner, "FORWARD");
    }
  });

  it("a different slot sharing group splits the chain (and is inherited downstream)", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    pipeline(env)
      .map((x) => x)
      .name("other")
      .slotSharingGroup("g2")
      .print()
      .name("sink");
    const plan = env.plan();
    assert.deepStrictEqual(chains(env), [
      ["src", "map", "filter"],
      ["other", "sink"],
    ]);
    assert.equal(plan.vertices[0]!.slotSharingGroup, "default");
    assert.equal(plan.vertices[1]!.slotSharingGroup, "g2");
  });

  it("an operator with two inputs (union) heads its own chain", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const a = env.fromSequence(1, 10).name("a");
    const b = env.fromSequence(11, 20).name("b");
    a.union(b)
      .map((x) => x)
      .name("m")
      .print()
      .name("sink");
    assert.deepStrictEqual(chains(env), [["a"], ["b"], ["m", "sink"]]);
    assert.equal(env.plan().vertices[2]!.inputs.length, 2);
  });

  it("chained and unchained plans compute the same result", async () => {
    const run = async (chaining: boolean) => {
      const env = new StreamExecutionEnvironment({ parallelism: 2, chaining });
      const out = pipeline(env).collect();
      await env.execute();
      return out.values.sort((x, y) => x - y);
    };
    const expected = Array.from({ length: 50 }, (_, i) => 2 * (i + 1));
    assert.deepStrictEqual(await run(true), expected);
    assert.deepStrictEqual(await run(false), expected);
  });
});
