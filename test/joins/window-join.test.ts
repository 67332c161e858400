// Window join and coGroup against nested-loop references on random out-of-order data, at p=1 and
// p=2, with tumbling, sliding and session windows.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EventTimeSessionWindows,
  type ProcessFunction,
  SlidingEventTimeWindows,
  StreamExecutionEnvironment,
  Time,
  TumblingEventTimeWindows,
  WatermarkStrategy,
} from "../../src/index.ts";
import { type Ev, randomEvents } from "./random-streams.ts";

const DISORDER = 200;

function sources(env: StreamExecutionEnvironment, left: Ev[], right: Ev[]) {
  const strategy = () =>
    WatermarkStrategy.forBoundedOutOfOrderness<Ev>(DISORDER).withTimestampAssigner((e) => e.t);
  return [
    env.fromCollection(left).assignTimestampsAndWatermarks(strategy()),
    env.fromCollection(right).assignTimestampsAndWatermarks(strategy()),
  ] as const;
}

/** Window starts of a sliding window (size, slide) that contain t. */
function slidingStarts(t: number, size: number, slide: number): number[] {
  const out: number[] = [];
  for (let s = Math.floor(t / slide) * slide; s > t - size; s -= slide) out.push(s);
  return out;
}

/** Sessions per key over both sides: [t, t + gap) per element, merged when they overlap or touch (as TimeWindow.intersects). */
function sessions(events: Array<{ ev: Ev; side: 0 | 1 }>, gap: number) {
  const byKey = new Map<number, Array<{ ev: Ev; side: 0 | 1 }>>();
  for (const e of events) {
    const list = byKey.get(e.ev.k) ?? [];
    list.push(e);
    byKey.set(e.ev.k, list);
  }
  const out: Array<Array<{ ev: Ev; side: 0 | 1 }>> = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a.ev.t - b.ev.t);
    let cur: Array<{ ev: Ev; side: 0 | 1 }> = [];
    let end = Number.NEGATIVE_INFINITY;
    for (const e of list) {
      if (e.ev.t > end && cur.length > 0) {
        out.push(cur);
        cur = [];
      }
      cur.push(e);
      end = Math.max(end, e.ev.t + gap);
    }
    if (cur.length > 0) out.push(cur);
  }
  return out;
}

const group = (k: number, l: Ev[], r: Ev[]) =>
  `${k}:${l
    .map((e) => e.id)
    .sort()
    .join(",")}/${r
    .map((e) => e.id)
    .sort()
    .join(",")}`;

describe("window join", () => {
  const left = randomEvents("L", 1200, 9, 21, DISORDER);
  const right = randomEvents("R", 1200, 9, 22, DISORDER);

  for (const p of [1, 2]) {
    it(`tumbling: every pair of a key and window, stamped with the window's max timestamp (p=${p})`, async () => {
      const SIZE = 100;
      const expected: string[] = [];
      for (const l of left)
        for (const r of right)
          if (l.k === r.k && Math.floor(l.t / SIZE) === Math.floor(r.t / SIZE))
            expected.push(`${l.id}|${r.id}@${Math.floor(l.t / SIZE) * SIZE + SIZE - 1}`);
      assert.ok(expected.length > 500);
      const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
      const [a, b] = sources(env, left, right);
      const stamp: ProcessFunction<string, string> = {
        processElement: (v, ctx, out) => out.collect(`${v}@${ctx.timestamp()}`),
      };
      const out = a
        .join(b)
        .where((e) => e.k)
        .equalTo((e) => e.k)
        .window(TumblingEventTimeWindows.of(Time.milliseconds(SIZE)))
        .apply((l, r) => `${l.id}|${r.id}`)
        .process(stamp)
        .collect();
      await env.execute("window-join-tumbling");
      assert.deepEqual([...out.values].sort(), expected.sort());
    });

    it(`sliding: a pair once per window that holds both; flat join function (p=${p})`, async () => {
      const SIZE = 200;
      const SLIDE = 50;
      const expected: string[] = [];
      for (const l of left)
        for (const r of right) {
          if (l.k !== r.k) continue;
          const rs = new Set(slidingStarts(r.t, SIZE, SLIDE));
          for (const s of slidingStarts(l.t, SIZE, SLIDE))
            if (rs.has(s) && l.t % 20 === 0) expected.push(`${l.id}|${r.id}`);
        }
      assert.ok(expected.length > 500);
      const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
      const [a, b] = sources(env, left, right);
      const out = a
        .join(b)
        .where((e) => e.k)
        .equalTo((e) => e.k)
        .window(SlidingEventTimeWindows.of(Time.milliseconds(SIZE), Time.milliseconds(SLIDE)))
        .apply({
          join(l: Ev, r: Ev, collector: { collect(v: string): void }) {
            if (l.t % 20 === 0) collector.collect(`${l.id}|${r.id}`);
          },
        })
        .collect();
      await env.execute("window-join-sliding");
      assert.deepEqual([...out.values].sort(), expected.sort());
    });
  }
});

describe("window coGroup", () => {
  const left = randomEvents("L", 1000, 6, 31, DISORDER);
  const right = randomEvents("R", 600, 6, 32, DISORDER);

  for (const p of [1, 2]) {
    it(`tumbling: both groups per key and window, either side possibly empty (p=${p})`, async () => {
      const SIZE = 150;
      const groups = new Map<string, { k: number; l: Ev[]; r: Ev[] }>();
      for (const [side, list] of [
        [0, left],
        [1, right],
      ] as const) {
        for (const e of list) {
          const id = `${e.k}@${Math.floor(e.t / SIZE)}`;
          let g = groups.get(id);
          if (g === undefined) groups.set(id, (g = { k: e.k, l: [], r: [] }));
          (side === 0 ? g.l : g.r).push(e);
        }
      }
      const expected = [...groups.values()].map((g) => group(g.k, g.l, g.r)).sort();
      assert.ok(expected.some((g) => g.endsWith("/")) && expected.some((g) => g.includes(":/")));
      const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
      const [a, b] = sources(env, left, right);
      const out = a
        .coGroup(b)
        .where((e) => e.k)
        .equalTo((e) => e.k)
        .window(TumblingEventTimeWindows.of(Time.milliseconds(SIZE)))
        .apply((l, r, collector) => collector.collect(group((l[0] ?? r[0])!.k, [...l], [...r])))
        .collect();
      await env.execute("cogroup-tumbling");
      assert.deepEqual([...out.values].sort(), expected);
    });

    it(`session windows merge across both sides (p=${p})`, async () => {
      const GAP = 25;
      const all = [
        ...left.map((ev) => ({ ev, side: 0 as const })),
        ...right.map((ev) => ({ ev, side: 1 as const })),
      ];
      const expected = sessions(all, GAP)
        .map((s) =>
          group(
            s[0]!.ev.k,
            s.filter((e) => e.side === 0).map((e) => e.ev),
            s.filter((e) => e.side === 1).map((e) => e.ev),
          ),
        )
        .sort();
      const env = new StreamExecutionEnvironment({ parallelism: p, autoWatermarkInterval: 1 });
      const [a, b] = sources(env, left, right);
      const out = a
        .coGroup(b)
        .where((e) => e.k)
        .equalTo((e) => e.k)
        .window(EventTimeSessionWindows.withGap(Time.milliseconds(GAP)))
        .apply({
          coGroup(l: readonly Ev[], r: readonly Ev[], collector: { collect(v: string): void }) {
            collector.collect(group((l[0] ?? r[0])!.k, [...l], [...r]));
          },
        })
        .collect();
      await env.execute("cogroup-sessions");
      assert.deepEqual([...out.values].sort(), expected);
    });
  }

  it("refuses a missing key selector or function when the job is built", () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    const a = env.fromCollection([1]);
    const b = env.fromCollection([2]);
    assert.throws(() => a.join(b).where("k" as never), /key selector function/);
    assert.throws(
      () =>
        a
          .coGroup(b)
          .where((x) => x)
          .equalTo((x) => x)
          .window(TumblingEventTimeWindows.of(Time.milliseconds(10)))
          .apply({} as never),
      /CoGroupFunction/,
    );
    assert.throws(() => a.join(undefined as never), /DataStream of the same environment/);
  });
});
