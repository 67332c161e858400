import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { liveWorkerCount } from "../../src/cluster/worker-threads.ts";
import { assignToKeyGroup, keyGroupRangeFor, operatorIndexForKeyGroup } from "../../src/core/key-groups.ts";
import { StreamExecutionEnvironment } from "../../src/index.ts";
import { runJob } from "../../src/cluster/index.ts";
import { type Hop, PARTITIONER_SINKS, buildPartitionerJob, keyOf } from "../fixtures/partitioners-job.ts";
import { waitFor } from "../fixtures/helpers.ts";

const N = 3000;
const JOB = fileURLToPath(new URL("../fixtures/partitioners-job.ts", import.meta.url));

/** Every value 0..n-1 exactly `times` times in `hops`. */
function assertEachValue(hops: Hop[], n: number, times = 1): void {
  const seen = new Uint32Array(n);
  for (const [v] of hops) {
    assert.ok(Number.isInteger(v) && v >= 0 && v < n, `unexpected value ${v}`);
    seen[v]!++;
  }
  for (let v = 0; v < n; v++)
    assert.equal(seen[v], times, `value ${v} arrived ${seen[v]} times, expected ${times}`);
}

/** For each producer, the records it sent are spread round-robin over `consumers` (counts differ by <= 1). */
function assertRoundRobin(hops: Hop[], consumersOfProducer: (p: number) => number[]): void {
  const byProducer = new Map<number, Map<number, number>>();
  for (const [, p, c] of hops) {
    const m = byProducer.get(p) ?? new Map<number, number>();
    m.set(c, (m.get(c) ?? 0) + 1);
    byProducer.set(p, m);
  }
  for (const [p, m] of byProducer) {
    const allowed = consumersOfProducer(p);
    for (const c of m.keys())
      assert.ok(allowed.includes(c), `producer ${p} sent to consumer ${c}, allowed ${allowed}`);
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    if (total >= allowed.length) {
      const counts = allowed.map((c) => m.get(c) ?? 0);
      assert.ok(
        Math.max(...counts) - Math.min(...counts) <= 1,
        `producer ${p} spread ${counts} over consumers ${allowed}: not round-robin`,
      );
    }
  }
}

function checkAll(get: (sink: string) => Hop[]): void {
  // rebalance 4 -> 3: all-to-all, round-robin.
  const rebalance = get("rebalance");
  assertEachValue(rebalance, N);
  assertRoundRobin(rebalance, () => [0, 1, 2]);

  // rescale 4 -> 2: producers 0,1 feed consumer 0; producers 2,3 feed consumer 1.
  const r42 = get("rescale-4-2");
  assertEachValue(r42, N);
  for (const [v, p, c] of r42)
    assert.equal(c, p < 2 ? 0 : 1, `rescale 4->2: value ${v} from ${p} went to ${c}`);

  // rescale 2 -> 4: producer 0 feeds consumers 0,1; producer 1 feeds 2,3, round-robin.
  const r24 = get("rescale-2-4");
  assertEachValue(r24, N);
  assertRoundRobin(r24, (p) => (p === 0 ? [0, 1] : [2, 3]));

  // shuffle: each record once, to some consumer; with 3000 records every consumer gets some.
  const shuffle = get("shuffle");
  assertEachValue(shuffle, N);
  assert.deepStrictEqual(new Set(shuffle.map((h) => h[2])), new Set([0, 1, 2]));

  // broadcast: each record once to every consumer.
  const broadcast = get("broadcast");
  assertEachValue(broadcast, N, 3);
  for (let c = 0; c < 3; c++)
    assertEachValue(
      broadcast.filter((h) => h[2] === c),
      N,
    );

  // global: everything to subtask 0.
  const global = get("global");
  assertEachValue(global, N);
  for (const [v, , c] of global) assert.equal(c, 0, `global: value ${v} went to subtask ${c}`);

  // forward (over the network and chained): producer i to consumer i.
  for (const sink of ["forward-network", "forward-chained"]) {
    const fwd = get(sink);
    assertEachValue(fwd, N);
    for (const [v, p, c] of fwd) assert.equal(c, p, `${sink}: value ${v} from ${p} went to ${c}`);
  }

  // keyBy: the subtask that owns the key's key group, and one subtask per key.
  const keyed = get("keyBy");
  assertEachValue(keyed, N);
  const subtaskOfKey = new Map<string, number>();
  for (const [v, , c] of keyed) {
    const key = keyOf(v);
    const kg = assignToKeyGroup(key, 128);
    const range = keyGroupRangeFor(128, 3, c);
    assert.ok(
      kg >= range.start && kg <= range.end,
      `key ${key} (group ${kg}) at subtask ${c} owning ${range.start}..${range.end}`,
    );
    assert.equal(c, operatorIndexForKeyGroup(128, 3, kg));
    const prev = subtaskOfKey.get(key);
    assert.ok(prev === undefined || prev === c, `key ${key} at subtasks ${prev} and ${c}`);
    subtaskOfKey.set(key, c);
  }
  assert.equal(subtaskOfKey.size, 97);

  // custom: the partitioner's choice.
  const custom = get("custom");
  assertEachValue(custom, N);
  for (const [v, , c] of custom) assert.equal(c, (v * 7) % 3, `custom: value ${v} went to ${c}`);

  // parallelism 4 -> 3 without a partitioner: rebalance.
  const implicit = get("implicit-4-3");
  assertEachValue(implicit, N);
  assertRoundRobin(implicit, () => [0, 1, 2]);
}

describe("partitioners", () => {
  it("in-thread: every partitioner sends each record once to the right subtask", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    const handles = buildPartitionerJob(env, N);
    await env.execute("partitioners");
    checkAll((sink) => handles.get(sink)!.values);
    // The edges in the plan carry the expected partitioners.
    const plan = env.plan();
    const inputOf = (name: string) =>
      plan.vertices.find((v) => v.operators.some((o) => o.name === name))!.inputs;
    assert.equal(inputOf("after-rebalance")[0]!.partitioner, "REBALANCE");
    assert.equal(inputOf("after-rescale-4-2")[0]!.partitioner, "RESCALE");
    assert.equal(inputOf("after-shuffle")[0]!.partitioner, "SHUFFLE");
    assert.equal(inputOf("after-broadcast")[0]!.partitioner, "BROADCAST");
    assert.equal(inputOf("after-global")[0]!.partitioner, "GLOBAL");
    assert.equal(inputOf("after-forward-network")[0]!.partitioner, "FORWARD");
    assert.equal(inputOf("after-keyBy")[0]!.partitioner, "HASH");
    assert.equal(inputOf("after-custom")[0]!.partitioner, "CUSTOM");
    assert.equal(inputOf("after-implicit")[0]!.partitioner, "REBALANCE");
  });

  it("threaded: every partitioner sends each record once to the right subtask", async () => {
    process.env.WEIR_TEST_PART_N = String(N);
    const r = await runJob({ job: JOB, parallelism: 4 });
    for (const s of PARTITIONER_SINKS) assert.ok(r.collected.has(s), `no records from sink ${s}`);
    checkAll((sink) => r.collected.get(sink) as Hop[]);
    await waitFor(() => liveWorkerCount() === 0, "every worker thread to exit");
  });

  it("keyBy honours a small maxParallelism (key groups 0..9 over 3 subtasks)", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3, maxParallelism: 10 });
    const out = env
      .fromSequence(0, 999)
      .keyBy((v) => v % 101)
      .map((v: number, ctx): [number, number] => [v, ctx.indexOfThisSubtask])
      .collect();
    await env.execute();
    assert.equal(out.values.length, 1000);
    for (const [v, c] of out.values) {
      assert.equal(c, operatorIndexForKeyGroup(10, 3, assignToKeyGroup(v % 101, 10)), `value ${v}`);
    }
  });
});
