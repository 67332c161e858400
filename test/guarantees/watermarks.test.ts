// Watermark values and source idleness, exactly:
// - bounded out-of-orderness emits max timestamp − bound − 1 (monotonous: max − 1), as Flink;
// - a WatermarkGenerator that calls markIdle() inside a source marks the split idle downstream,
//   also without withIdleness() (Flink forwards it always), so it stops holding watermarks back.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InputStatus,
  ManualClock,
  type Source,
  StreamExecutionEnvironment,
  type WatermarkGenerator,
  type WatermarkOutput,
  WatermarkStrategy,
} from "../../src/index.ts";
import type { Output } from "../../src/runtime/operators/stream-operator.ts";
import { SourceOutput } from "../../src/runtime/source-output.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

function capture(): { out: WatermarkOutput; watermarks: number[] } {
  const watermarks: number[] = [];
  return { out: { emitWatermark: (w) => watermarks.push(w), markIdle() {}, markActive() {} }, watermarks };
}

describe("bounded out-of-orderness watermark", () => {
  it("is the highest timestamp seen minus the bound minus 1", () => {
    const gen = WatermarkStrategy.forBoundedOutOfOrderness<number>(50).createGenerator!();
    const { out, watermarks } = capture();
    gen.onPeriodicEmit(out);
    assert.deepEqual(watermarks, [], "no watermark before the first event");
    gen.onEvent(0, 1000, out);
    gen.onEvent(0, 900, out);
    gen.onPeriodicEmit(out);
    gen.onEvent(0, 1200, out);
    gen.onPeriodicEmit(out);
    assert.deepEqual(watermarks, [949, 1149]);
  });

  it("monotonous timestamps: the highest timestamp minus 1", () => {
    const gen = WatermarkStrategy.forMonotonousTimestamps<number>().createGenerator!();
    const { out, watermarks } = capture();
    gen.onEvent(0, 7, out);
    gen.onPeriodicEmit(out);
    assert.deepEqual(watermarks, [6]);
  });
});

/** A generator that marks its output idle at every periodic emission without events since the last. */
function idleWhenSilent(): WatermarkGenerator<number> {
  let max = Number.NEGATIVE_INFINITY;
  let events = 0;
  return {
    onEvent: (_e, ts) => {
      events++;
      max = Math.max(max, ts);
    },
    onPeriodicEmit: (out) => {
      if (events === 0) out.markIdle();
      else if (max > Number.NEGATIVE_INFINITY) out.emitWatermark(max);
      events = 0;
    },
  };
}

describe("a generator's markIdle() in a source (no withIdleness)", () => {
  it("reaches downstream as idleness, and the next record makes the source active again", () => {
    const clock = new ManualClock(0);
    const pts = new ProcessingTimeService(clock);
    const seen: string[] = [];
    const downstream: Output = {
      collect: (v) => seen.push(`record ${String(v)}`),
      collectSide: () => {},
      emitWatermark: (w) => seen.push(`wm ${w}`),
      emitWatermarkStatus: (idle) => seen.push(idle ? "idle" : "active"),
    };
    const output = new SourceOutput<number>(
      WatermarkStrategy.forGenerator(idleWhenSilent),
      downstream,
      { timestamp: Number.NaN },
      pts,
      "test source",
    );
    output.start(10);
    const split = output.createOutputForSplit("split-0");
    split.collect(1, 100);
    clock.advance(10);
    pts.fireDue();
    clock.advance(10);
    pts.fireDue(); // no event since the last emission: the generator marks the split idle
    split.collect(2, 200);
    assert.deepEqual(seen, ["record 1", "wm 100", "idle", "active", "record 2"]);
  });

  it("lets a job's event-time timer fire although one source reader never emits", async () => {
    const clock = new ManualClock(0);
    const env = new StreamExecutionEnvironment({ parallelism: 2, clock, autoWatermarkInterval: 10 });
    const counts = { periodic: 0, fired: 0, records: 0 };
    const strategy = WatermarkStrategy.forGenerator<number>(() => {
      const g = idleWhenSilent();
      return {
        onEvent: g.onEvent,
        onPeriodicEmit: (out) => {
          counts.periodic++;
          g.onPeriodicEmit(out);
        },
      };
    });
    env
      .fromSource(oneActiveReader(), strategy, "one active reader")
      .keyBy(() => "all")
      .process<number>({
        processElement(_n, ctx) {
          counts.records++;
          ctx.timerService().registerEventTimeTimer(150);
        },
        onTimer(_ts, _ctx, out) {
          counts.fired++;
          out.collect(1);
        },
      })
      .sinkTo({ createWriter: () => ({ write() {} }) });
    const client = await env.executeAsync();
    try {
      await waitFor(() => counts.records === 200, "all records processed");
      // The active reader emits watermark 199 and then marks itself idle; the silent one marks
      // itself idle at its first emission. Either way the timer at 150 must fire.
      for (let i = 0; i < 20 && counts.fired === 0; i++) {
        const before = counts.periodic;
        clock.advance(10);
        await waitFor(() => counts.periodic >= before + 2, "a periodic emission of both readers");
      }
      await waitFor(() => counts.fired === 1, "the timer fires once the silent reader is idle", 10_000);
    } finally {
      await client.cancel();
    }
  });
});

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Unbounded: reader 1 emits 0..199 (timestamps = values), reader 0 nothing. */
function oneActiveReader(): Source<number, number> {
  return {
    boundedness: "unbounded",
    createEnumerator: () => ({ start() {}, handleSplitRequest() {}, addReader() {}, close() {} }),
    createReader(ctx) {
      let next = 0;
      const limit = ctx.subtaskIndex === 1 ? 200 : 0;
      return {
        start() {},
        pollNext(out) {
          while (next < limit) out.collect(next, next++);
          return InputStatus.NOTHING_AVAILABLE;
        },
        isAvailable: () => new Promise<void>(() => {}),
        addSplits() {},
        notifyNoMoreSplits() {},
        snapshotState: () => [],
        close() {},
      };
    },
  };
}
