// Randomized: shuffled event-time input with bounded out-of-orderness, at p = 1, 2 and 4 (split
// over parallel watermark generators by a rebalance), gives the same tumbling, sliding and
// session results as sorting the input and computing the windows directly.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EventTimeSessionWindows,
  SlidingEventTimeWindows,
  StreamExecutionEnvironment,
  type TimeWindow,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import { prng } from "../fixtures/helpers.ts";
import { type Ev, referenceSessions, referenceSliding } from "./helpers.ts";

const BOUND = 3_000;

/** Events in arrival order: base times increase, each displaced by up to BOUND - 1 ms. */
function events(seed: number, n: number): Ev[] {
  const rnd = prng(seed);
  const out: Ev[] = [];
  let base = -50_000; // negative timestamps too
  for (let i = 0; i < n; i++) {
    base += Math.floor(rnd() * 40);
    const k = `k${Math.floor(rnd() * rnd() * 12)}`;
    // sparse keys make sessions end; dense ones make them long
    out.push({ k, t: base + Math.floor(rnd() * BOUND), v: 1 + Math.floor(rnd() * 100) });
  }
  return out;
}

const fmt = (m: Map<string, number[]>) =>
  [...m].map(([id, vs]) => `${id}=${vs.reduce((a, b) => a + b, 0)}/${vs.length}`).sort();

describe("randomized event-time windows against a direct computation", () => {
  for (const p of [1, 2, 4]) {
    it(`tumbling, sliding and session windows agree with the reference (p=${p})`, async () => {
      const input = events(1000 + p, 6000);
      const env = new StreamExecutionEnvironment({
        parallelism: p,
        autoWatermarkInterval: 1,
        bufferTimeout: 0,
      });
      const keyed = env
        .fromCollection(input)
        .rebalance()
        .map((e) => e)
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forBoundedOutOfOrderness<Ev>(BOUND).withTimestampAssigner((e) => e.t),
        )
        .keyBy((e) => e.k);
      const summary = {
        process: (
          key: string,
          ctx: { window: TimeWindow },
          els: readonly Ev[],
          out: { collect(s: string): void },
        ) =>
          out.collect(
            `${key}|${ctx.window.start}|${ctx.window.end}=${els.reduce((a, e) => a + e.v, 0)}/${els.length}`,
          ),
      };
      const tumbling = keyed.window(TumblingEventTimeWindows.of(1_000)).process(summary).collect();
      const sliding = keyed
        .window(SlidingEventTimeWindows.of(2_000, 500))
        .aggregate(
          {
            createAccumulator: () => [0, 0] as [number, number],
            add: (e: Ev, a: [number, number]) => [a[0] + e.v, a[1] + 1] as [number, number],
            getResult: (a: [number, number]) => a,
            merge: (a: [number, number], b: [number, number]) =>
              [a[0] + b[0], a[1] + b[1]] as [number, number],
          },
          {
            process: (key, ctx, r, out) =>
              out.collect(`${key}|${ctx.window.start}|${ctx.window.end}=${r[0]![0]}/${r[0]![1]}`),
          },
        )
        .collect();
      const sessions = keyed.window(EventTimeSessionWindows.withGap(400)).process(summary).collect();
      const r = await env.execute();
      assert.equal(r.getAccumulatorResult("numLateRecordsDropped"), 0, "no element may be late");
      const sortedInput = [...input].sort((a, b) => a.t - b.t);
      assert.deepEqual([...tumbling.values].sort(), fmt(referenceSliding(sortedInput, 1_000, 1_000)));
      assert.deepEqual([...sliding.values].sort(), fmt(referenceSliding(sortedInput, 2_000, 500)));
      const expectedSessions = fmt(referenceSessions(sortedInput, 400));
      assert.ok(expectedSessions.length > 50, `enough sessions to be a test (${expectedSessions.length})`);
      assert.deepEqual([...sessions.values].sort(), expectedSessions);
    });
  }
});
