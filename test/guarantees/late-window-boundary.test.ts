// The late-window boundary, exactly (Flink's WindowOperator): a window is late once its cleanup
// time (maxTimestamp + allowed lateness) is at or behind the watermark, so an element whose
// window's cleanup time equals the watermark is late, and one whose cleanup time is 1 ms ahead of
// it is not. Watermarks are punctuated (emitted right after each event, = max timestamp − 1), so
// which element is late does not depend on timing.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputTag, StreamExecutionEnvironment, TumblingEventTimeWindows } from "../../src/index.ts";
import { type Ev, ev, punctuated } from "../windowing/helpers.ts";

async function run(events: Ev[], allowedLateness: number) {
  const env = new StreamExecutionEnvironment({ parallelism: 1, bufferTimeout: 0 });
  const late = new OutputTag<Ev>("late");
  const windows = env
    .fromCollection(events)
    .assignTimestampsAndWatermarks(punctuated<Ev>(0))
    .keyBy((x) => x.k)
    .window(TumblingEventTimeWindows.of(10_000))
    .allowedLateness(allowedLateness)
    .sideOutputLateData(late)
    .reduce((a: Ev, b: Ev) => ({ k: a.k, t: a.t, v: a.v + b.v }), {
      process: (k, ctx, s, o) => o.collect(`${String(k)}|${ctx.window.start}=${s[0]!.v}`),
    });
  const out = windows.collect();
  const side = windows
    .getSideOutput(late)
    .map((x) => `${x.k}@${x.t}`)
    .collect();
  await env.execute();
  return { out: out.values, side: side.values };
}

describe("late-window boundary", () => {
  it("cleanup time == watermark: late; 1 ms before the watermark reaches it: not late", async () => {
    // Window [0, 10000) of key a: maxTimestamp 9999 = its cleanup time (no allowed lateness).
    const r = await run(
      [
        ev("a", 1000, 1),
        ev("a", 9999, 2), // watermark 9998: the window is not late yet, and has not fired
        ev("a", 9999, 4), // still watermark 9998: joins the window
        ev("b", 10_000, 0), // watermark 9999 = the window's cleanup time: it fires
        ev("a", 9999, 8), // late: its window's cleanup time equals the watermark
        ev("a", 20_000, 0),
      ],
      0,
    );
    assert.deepEqual(r.side, ["a@9999"]);
    assert.deepEqual(r.out, ["a|0=7", "b|10000=0", "a|20000=0"]);
  });

  it("with allowed lateness: cleanup time = maxTimestamp + lateness, same boundary", async () => {
    // Window [0, 10000) with 1000 ms lateness: cleanup at 10999.
    const r = await run(
      [
        ev("a", 1000, 1),
        ev("b", 10_999, 0), // watermark 10998: fired once, still within lateness
        ev("a", 5000, 2), // not late: a late firing
        ev("b", 11_000, 0), // watermark 10999 = cleanup time
        ev("a", 5000, 4), // late
      ],
      1000,
    );
    assert.deepEqual(r.side, ["a@5000"]);
    assert.deepEqual(r.out, ["a|0=1", "a|0=3", "b|10000=0"]);
  });
});
