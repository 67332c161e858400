// Slot sharing groups: the slots a job needs (the sum over its groups of their highest
// parallelism), how an operator inherits its inputs' group, and which slot each subtask takes.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamExecutionEnvironment } from "../../src/index.ts";

function slotsOf(env: StreamExecutionEnvironment) {
  const eg = env.compile().executionGraph;
  return {
    numSlots: eg.numSlots,
    groups: eg.slotSharingGroups.map((g) => [g.name, g.slots]),
    /** "vertex name/subtask" → slot */
    slot: new Map(eg.subtasks.map((s) => [`${s.vertex.name}/${s.index}`, s.slot])),
  };
}

describe("slot sharing groups", () => {
  it("one group: the job needs its highest parallelism", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 10)
      .name("src")
      .keyBy((x) => x % 3)
      .map((x) => x)
      .name("m")
      .setParallelism(3)
      .print()
      .name("sink");
    const s = slotsOf(env);
    assert.equal(s.numSlots, 3);
    assert.deepEqual(s.groups, [["default", 3]]);
    // Subtask i of every vertex of the group shares slot i.
    assert.equal(s.slot.get("src/1"), 1);
    assert.equal(s.slot.get("m/1"), 1);
    assert.equal(s.slot.get("sink/1"), 1);
    assert.equal(s.slot.get("m/2"), 2);
  });

  it("two groups: the sum of their highest parallelisms; downstream operators inherit the group", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 10)
      .name("src")
      .setParallelism(1)
      .keyBy((x) => x % 3)
      .map((x) => x)
      .name("m")
      .setParallelism(2)
      .slotSharingGroup("heavy")
      .keyBy((x) => x % 2)
      .map((x) => x)
      .name("n")
      .setParallelism(3)
      .print()
      .name("sink");
    const plan = env.plan();
    assert.deepEqual(
      plan.vertices.map((v) => [v.name, v.slotSharingGroup]),
      [
        ["src", "default"],
        ["m", "heavy"],
        ["n", "heavy"],
        ["sink", "heavy"],
      ],
    );
    const s = slotsOf(env);
    assert.deepEqual(s.groups, [
      ["default", 1],
      ["heavy", 3],
    ]);
    assert.equal(s.numSlots, 4);
    // The group's slots follow the default group's: m and n share slots 1..3.
    assert.equal(s.slot.get("src/0"), 0);
    assert.equal(s.slot.get("m/0"), 1);
    assert.equal(s.slot.get("n/0"), 1);
    assert.equal(s.slot.get("sink/1"), 2);
    assert.equal(s.slot.get("n/2"), 3);
  });

  it("a job in two groups computes what it computes in one", async () => {
    const run = async (groups: boolean) => {
      const env = new StreamExecutionEnvironment({ parallelism: 2 });
      const sums = env
        .fromSequence(1, 200)
        .map((x) => ({ key: x % 7, sum: x }))
        .keyBy((r) => r.key)
        .reduce((a, b) => ({ key: a.key, sum: a.sum + b.sum }));
      if (groups) sums.slotSharingGroup("sums");
      const out = sums.collect();
      await env.execute();
      assert.equal(env.compile().executionGraph.numSlots, groups ? 4 : 2);
      // The last (largest) rolling sum of each key is its total.
      const totals = new Map<number, number>();
      for (const r of out.values) totals.set(r.key, Math.max(totals.get(r.key) ?? 0, r.sum));
      return [...totals].sort((a, b) => a[0] - b[0]);
    };
    const expected = Array.from({ length: 7 }, (_, k) => {
      let sum = 0;
      for (let x = 1; x <= 200; x++) if (x % 7 === k) sum += x;
      return [k, sum];
    });
    assert.deepEqual(await run(true), expected);
    assert.deepEqual(await run(false), expected);
  });

  it("refuses an empty group name, on an operator and on a sink", () => {
    const env = new StreamExecutionEnvironment();
    const s = env.fromSequence(1, 2);
    assert.throws(() => s.map((x) => x).slotSharingGroup(""), /slotSharingGroup\(\) needs a non-empty name/);
    assert.throws(
      () => s.print().slotSharingGroup(""),
      /slotSharingGroup\(\) of a sink needs a non-empty name/,
    );
  });
});
