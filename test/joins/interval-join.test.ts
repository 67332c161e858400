// Interval join against a nested-loop reference on random out-of-order data, at p=1 and p=2;
// inclusive and exclusive bounds; output timestamps; errors.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  OutputTag,
  type ProcessFunction,
  type ProcessJoinFunction,
  StreamExecutionEnvironment,
  WatermarkStrategy,
} from "../../src/index.ts";
import { type Ev, randomEvents, sortedPairs } from "./random-streams.ts";

type Bounds = { lower: number; upper: number; lowerExclusive?: boolean; upperExclusive?: boolean };

function reference(left: Ev[], right: Ev[], b: Bounds): string[] {
  const out: string[] = [];
  for (const l of left) {
    for (const r of right) {
      if (l.k !== r.k) continue;
      const from = l.t + b.lower;
      const to = l.t + b.upper;
      if (b.lowerExclusive ? r.t <= from : r.t < from) continue;
      if (b.upperExclusive ? r.t >= to : r.t > to) continue;
      out.push(`${l.id}|${r.id}@${Math.max(l.t, r.t)}`);
    }
  }
  return out.sort();
}

const DISORDER = 200;

async function runJoin(left: Ev[], right: Ev[], b: Bounds, p: number) {
  const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
  const strategy = () =>
    WatermarkStrategy.forBoundedOutOfOrderness<Ev>(DISORDER).withTimestampAssigner((e) => e.t);
  const l = env
    .fromCollection(left)
    .assignTimestampsAndWatermarks(strategy())
    .keyBy((e) => e.k);
  const r = env
    .fromCollection(right)
    .assignTimestampsAndWatermarks(strategy())
    .keyBy((e) => e.k);
  let joined = l.intervalJoin(r).between(b.lower, b.upper);
  if (b.lowerExclusive) joined = joined.lowerBoundExclusive();
  if (b.upperExclusive) joined = joined.upperBoundExclusive();
  const fn: ProcessJoinFunction<Ev, Ev, string> = {
    processElement(a, c, ctx, out) {
      assert.equal(ctx.leftTimestamp, a.t);
      assert.equal(ctx.rightTimestamp, c.t);
      assert.equal(ctx.timestamp, Math.max(a.t, c.t));
      out.collect(`${a.id}|${c.id}`);
    },
  };
  // The record timestamp downstream is the max of both sides.
  const stamp: ProcessFunction<string, string> = {
    processElement(v, ctx, out) {
      out.collect(`${v}@${ctx.timestamp()}`);
    },
  };
  const out = joined.process(fn).uid("ij").process(stamp).collect();
  const result = await env.execute("interval-join");
  return { values: out.values, result };
}

describe("interval join", () => {
  const left = randomEvents("L", 1500, 7, 11, DISORDER);
  const right = randomEvents("R", 1500, 7, 12, DISORDER);
  const cases: Bounds[] = [
    { lower: -50, upper: 100 },
    { lower: 0, upper: 0 },
    { lower: -100, upper: -20, lowerExclusive: true },
    { lower: 10, upper: 200, upperExclusive: true },
    { lower: -30, upper: 30, lowerExclusive: true, upperExclusive: true },
  ];
  for (const p of [1, 2]) {
    for (const b of cases) {
      const name = `${b.lowerExclusive ? "(" : "["}${b.lower}, ${b.upper}${b.upperExclusive ? ")" : "]"}`;
      it(`matches a nested-loop reference on shuffled input: ${name} at p=${p}`, async () => {
        const expected = reference(left, right, b);
        assert.ok(expected.length > 100, "the case should produce joins");
        const { values, result } = await runJoin(left, right, b, p);
        assert.deepEqual(sortedPairs(values), expected);
        assert.equal(result.getAccumulatorResult("IntervalJoin.numLateRecordsDropped") ?? 0, 0);
      });
    }
  }

  it("refuses bad bounds and non-keyed streams when the job is built", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const a = env.fromCollection([{ k: 1 }]).keyBy((e) => e.k);
    const b = env.fromCollection([{ k: 1 }]).keyBy((e) => e.k);
    assert.throws(() => a.intervalJoin(b).between(10, 5), /lower bound must be <= the upper bound/);
    assert.throws(() => a.intervalJoin(b).between(Number.NaN, 5), /finite bounds/);
    assert.throws(
      () =>
        a
          .intervalJoin(b)
          .between(5, 5)
          .lowerBoundExclusive()
          .process(() => {}),
      /can never join/,
    );
    assert.throws(() => a.intervalJoin(env.fromCollection([1]) as never), /needs a KeyedStream/);
  });

  it("fails with a clear error on records without timestamps (event time only)", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const a = env.fromCollection([{ k: 1 }]).keyBy((e) => e.k);
    const b = env.fromCollection([{ k: 1 }]).keyBy((e) => e.k);
    a.intervalJoin(b)
      .between(0, 1)
      .process((x, y, _ctx, out) => out.collect([x, y]))
      .collect();
    await assert.rejects(
      env.execute("no-timestamps"),
      /has no timestamp; the interval join works in event time/,
    );
  });

  it("a ProcessJoinFunction's side output reaches getSideOutput", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const ts = WatermarkStrategy.forMonotonousTimestamps<{ k: number; t: number }>().withTimestampAssigner(
      (e) => e.t,
    );
    const a = env
      .fromCollection([{ k: 1, t: 10 }])
      .assignTimestampsAndWatermarks(ts)
      .keyBy((e) => e.k);
    const b = env
      .fromCollection([{ k: 1, t: 12 }])
      .assignTimestampsAndWatermarks(ts)
      .keyBy((e) => e.k);
    const GAP = new OutputTag<number>("gap");
    const joined = a
      .intervalJoin(b)
      .between(0, 5)
      .process<string>((x, y, ctx, out) => {
        out.collect(`${x.t}|${y.t}`);
        ctx.output(GAP, y.t - x.t);
      });
    const main = joined.collect();
    const gaps = joined.getSideOutput(GAP).collect();
    await env.execute("join-side-output");
    assert.deepEqual(main.values, ["10|12"]);
    assert.deepEqual(gaps.values, [2]);
  });
});
