// The Nexmark generator's event rate and per-instance timelines (config.firstEventRate, timelines):
// event times follow the rate; with T timelines each starts at the base time and the stream keeps
// its rate overall; only the event times change; the source gives reader k timeline k alone, so a
// windowed count over every event loses none as late, and every event is read exactly once.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  NEXMARK_BASE_TIME,
  NexmarkConfigError,
  type NexmarkEvent,
  eventToJson,
  generateRange,
  nexmarkConfig,
  timelineOf,
} from "../../src/connectors/nexmark/index.ts";
import { NexmarkSource } from "../../src/connectors/nexmark/source.ts";
import { nexmarkWatermarks } from "../../src/connectors/nexmark/watermarks.ts";
import {
  type Collector,
  type ProcessContext,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
} from "../../src/index.ts";

const N = 12_000;

/** The event without its times (dateTime, expires), which are all a timeline changes. */
function timeless(e: NexmarkEvent): string {
  const json = JSON.parse(eventToJson(e)) as Record<string, unknown>;
  delete json.dateTime;
  delete json.expires;
  return JSON.stringify(json);
}

describe("nexmark generator: rate and timelines", () => {
  it("--rate sets the events per second of event time", () => {
    for (const rate of [1_000, 10_000, 1_000_000]) {
      const config = nexmarkConfig({ numEvents: N, firstEventRate: rate });
      const events = [...generateRange(config, 0, N)];
      assert.equal(events[0]!.timestamp, NEXMARK_BASE_TIME);
      assert.equal(events[N - 1]!.timestamp, NEXMARK_BASE_TIME + Math.floor(((N - 1) * 1000) / rate));
    }
  });

  it("T timelines: each starts at the base time, in order, and the stream keeps its rate; only times change", () => {
    const T = 3;
    const one = [...generateRange(nexmarkConfig({ numEvents: N }), 0, N)];
    const config = nexmarkConfig({ numEvents: N, timelines: T });
    const several = [...generateRange(config, 0, N)];
    const perTimeline = N / T;
    for (let k = 0; k < T; k++) {
      const first = several[k * perTimeline]!;
      const last = several[(k + 1) * perTimeline - 1]!;
      assert.equal(timelineOf(config, k * perTimeline), k);
      assert.equal(first.timestamp, NEXMARK_BASE_TIME, `timeline ${k} starts at the base time`);
      // perTimeline events at rate / T: the same event-time span as the whole stream on one timeline.
      assert.equal(last.timestamp, one[N - T]!.timestamp);
      for (let i = k * perTimeline + 1; i < (k + 1) * perTimeline; i++) {
        assert.ok(several[i]!.timestamp >= several[i - 1]!.timestamp, `timeline ${k} is in order at ${i}`);
      }
    }
    for (let i = 0; i < N; i++) assert.equal(timeless(several[i]!), timeless(one[i]!));
    // Auctions expire within their own timeline's horizon, after they start.
    for (const e of several) if (e.type === "auction") assert.ok(e.auction.expires > e.auction.dateTime);
  });

  it("rejects settings it cannot honour, naming them", () => {
    assert.throws(() => nexmarkConfig({ timelines: 2, outOfOrderGroupSize: 10 }), NexmarkConfigError);
    assert.throws(() => nexmarkConfig({ timelines: 0 }), /timelines/);
    assert.throws(() => new NexmarkSource({ numEvents: 0, timelines: 2 }), /bounded stream only/);
  });

  for (const p of [2, 3]) {
    it(`one timeline per reader at p=${p}: every event once, each reader on its own timeline, in order`, async () => {
      const config = { numEvents: N, timelines: p, firstEventRate: 200 };
      const env = new StreamExecutionEnvironment({ parallelism: p });
      const events = env.fromSource(new NexmarkSource(config), nexmarkWatermarks(), "Nexmark");
      const all = events.map((e) => eventToJson(e)).collect();
      // Chained to its reader: subtask k sees what reader k emits, in order.
      const seen = events
        .process<string>({
          processElement(e: NexmarkEvent, ctx: ProcessContext, out: Collector<string>) {
            out.collect(`${ctx.runtime.indexOfThisSubtask}|${ctx.timestamp()}|${eventToJson(e)}`);
          },
        })
        .collect();
      // A 1 s window over 60 s timelines (N events at 200/s over p timelines of 200/p per s), far
      // beyond the 4 s watermark lag: no event is late.
      const counted = events
        .keyBy(() => 0)
        .window(TumblingEventTimeWindows.of(1000))
        .aggregate({
          createAccumulator: () => 0,
          add: (_e: NexmarkEvent, a: number) => a + 1,
          getResult: (a: number) => a,
        })
        .collect();
      await env.execute(`timelines p=${p}`);
      const cfg = nexmarkConfig(config);
      const generated = [...generateRange(cfg, 0, N)];
      assert.deepEqual(all.values.sort(), generated.map((e) => eventToJson(e)).sort());
      const byJson = new Map(generated.map((e, n) => [eventToJson(e), n]));
      const last = new Map<number, number>();
      for (const line of seen.values) {
        const [subtask, ts, json] = line.split("|", 3) as [string, string, string];
        const n = byJson.get(line.slice(subtask.length + ts.length + 2))!;
        assert.ok(json !== undefined && n !== undefined);
        assert.equal(timelineOf(cfg, n), Number(subtask), `event ${n} read by reader ${subtask}`);
        assert.ok(Number(ts) >= (last.get(Number(subtask)) ?? 0), `reader ${subtask} went back in time`);
        last.set(Number(subtask), Number(ts));
      }
      assert.equal(
        counted.values.reduce((a, b) => a + b, 0),
        N,
      );
    });
  }

  it("more timelines than readers is refused with what to do", async () => {
    const env = new StreamExecutionEnvironment({ parallelism: 1 });
    env.fromSource(new NexmarkSource({ numEvents: N, timelines: 2 }), "Nexmark").print();
    await assert.rejects(env.execute(), /2 timelines needs a source parallelism of at least 2/);
  });
});
