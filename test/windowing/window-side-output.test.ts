// Side outputs of a window function (ProcessWindowFunction's context.output), beside the late-data
// side output: what the function sends to a tag reaches that tag's stream only, with the window's
// timestamp, in the harness and in a job. And a custom merging assigner whose merge makes a window
// end before the watermark (event time, with and without lateness) or before the processing time
// is refused with an error naming the operator, the boundary itself included.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataStream,
  EventTimeTrigger,
  MergingWindowAssigner,
  OutputTag,
  type ProcessWindowFunction,
  ProcessingTimeTrigger,
  StreamExecutionEnvironment,
  TimeWindow,
  type Trigger,
  TumblingEventTimeWindows,
} from "../../src/index.ts";
import { KeyedOneInputHarness } from "../../src/testing/index.ts";
import { type Ev, ev, punctuated } from "./helpers.ts";

const BIG = new OutputTag<string>("big");
const LATE = new OutputTag<Ev>("late");
const UNUSED = new OutputTag<string>("nobody-reads-this");

/** Main output: the window's count; side output BIG: every element of value ≥ 10. */
const countAndFlagBig: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
  process(key, ctx, elements, out) {
    for (const e of elements) if (e.v >= 10) ctx.output(BIG, `${key}:${e.v}@${e.t}`);
    ctx.output(UNUSED, "dropped");
    out.collect(`${key} [${ctx.window.start},${ctx.window.end}) n=${elements.length}`);
  },
};

describe("window function side outputs", () => {
  it("reach the tag's output only, stamped with the window's max timestamp (harness)", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1000))
        .sideOutputLateData(LATE)
        .process(countAndFlagBig),
    );
    await h.open();
    h.processElement(ev("a", 100, 1), 100);
    h.processElement(ev("a", 200, 10), 200);
    h.processElement(ev("b", 300, 30), 300);
    h.processElement(ev("a", 1500, 50), 1500);
    h.processWatermark(998);
    assert.deepEqual(h.sideOutput(BIG), []);
    h.processWatermark(999);
    assert.deepEqual(
      h.sideOutput(BIG).sort((x, y) => x.value.localeCompare(y.value)),
      [
        { value: "a:10@200", timestamp: 999 },
        { value: "b:30@300", timestamp: 999 },
      ],
    );
    assert.deepEqual(h.values().sort(), ["a [0,1000) n=2", "b [0,1000) n=1"]);
    assert.deepEqual(h.sideOutputValues(LATE), [], "the function's side output is not the late one");
    h.clearOutput();
    h.processElement(ev("a", 5, 99), 5); // late: the late-data tag, not the function's
    assert.deepEqual(h.sideOutputValues(LATE), [ev("a", 5, 99)]);
    assert.deepEqual(h.sideOutputValues(BIG), []);
    h.processWatermark(1999);
    assert.deepEqual(h.sideOutput(BIG), [{ value: "a:50@1500", timestamp: 1999 }]);
    await h.close();
  });

  it("a window function's context tells the processing time and the watermark", async () => {
    const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
      s
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1000))
        .process<string>({
          process: (k, ctx, _els, out) =>
            out.collect(`${k} pt=${ctx.currentProcessingTime()} wm=${ctx.currentWatermark()}`),
        }),
    );
    await h.open();
    h.setProcessingTime(4321);
    h.processElement(ev("a", 1), 1);
    h.processWatermark(1500);
    assert.deepEqual(h.values(), ["a pt=4321 wm=1500"]);
  });

  it("reach the side stream of a job, apart from the main and late streams", async () => {
    const e = new StreamExecutionEnvironment({ parallelism: 2, bufferTimeout: 0 });
    const events = [ev("a", 100, 1), ev("a", 200, 10), ev("b", 300, 30), ev("a", 2500, 50), ev("b", 50, 70)];
    const main = e
      .fromCollection(events)
      .assignTimestampsAndWatermarks(punctuated<Ev>(0))
      .setParallelism(1)
      .keyBy((x) => x.k)
      .window(TumblingEventTimeWindows.of(1000))
      .sideOutputLateData(LATE)
      .process(countAndFlagBig);
    const out = main.collect();
    const big = main.getSideOutput(BIG).collect();
    const late = main
      .getSideOutput(LATE)
      .map((x) => `${x.k}@${x.t}`)
      .collect();
    await e.execute();
    assert.deepEqual(out.values.slice().sort(), ["a [0,1000) n=2", "a [2000,3000) n=1", "b [0,1000) n=1"]);
    assert.deepEqual(big.values.slice().sort(), ["a:10@200", "a:50@2500", "b:30@300"]);
    assert.deepEqual(late.values, ["b@50"]);
  });
});

/**
 * Windows of `gap` from each element; overlapping windows merge into `shrinkTo(merged)`, which the
 * test chooses to end before the current time.
 */
class ShrinkingAssigner extends MergingWindowAssigner<Ev> {
  constructor(
    private readonly eventTime: boolean,
    private readonly shrinkTo: (windows: TimeWindow[]) => TimeWindow,
  ) {
    super();
  }
  assignWindows(_e: Ev, timestamp: number, ctx: { getCurrentProcessingTime(): number }): TimeWindow[] {
    const start = this.eventTime ? timestamp : ctx.getCurrentProcessingTime();
    return [new TimeWindow(start, start + 100)];
  }
  getDefaultTrigger(): Trigger<Ev, TimeWindow> {
    return (this.eventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create()) as Trigger<
      Ev,
      TimeWindow
    >;
  }
  isEventTime(): boolean {
    return this.eventTime;
  }
  mergeWindows(windows: readonly TimeWindow[], merge: (w: TimeWindow[], r: TimeWindow) => void): void {
    if (windows.length < 2) return;
    const sorted = [...windows].sort((x, y) => x.start - y.start);
    merge(sorted, this.shrinkTo(sorted));
  }
}

async function shrinkingHarness(
  eventTime: boolean,
  lateness: number,
  shrinkTo: (w: TimeWindow[]) => TimeWindow,
) {
  const h = KeyedOneInputHarness.of((s: DataStream<Ev>) =>
    s
      .keyBy((e) => e.k)
      .window(new ShrinkingAssigner(eventTime, shrinkTo))
      .allowedLateness(lateness)
      .process<string>({
        process: (k, ctx, els, out) =>
          out.collect(`${k} ${ctx.window.start}-${ctx.window.end} ${els.length}`),
      }),
  );
  await h.open();
  return h;
}

describe("a merging assigner must not shrink windows", () => {
  it("event time: a merged window ending at or before the watermark is refused", async () => {
    // Watermark 1000; the merge of [1100,1200) and [1150,1250) becomes [900, end).
    for (const [end, refused] of [
      [1001, true], // max timestamp 1000 = the watermark: late, refused
      [1002, false], // max timestamp 1001: still open
    ] as const) {
      const h = await shrinkingHarness(true, 0, () => new TimeWindow(900, end));
      h.processWatermark(1000);
      h.processElement(ev("a", 1100), 1100);
      const second = () => h.processElement(ev("a", 1150), 1150);
      if (refused)
        assert.throws(
          second,
          /window operator 'Window\(ShrinkingAssigner.*' \(uid .*\): merging made window TimeWindow\{start=900, end=1001\} end before the current watermark 1000; a merging assigner must not shrink windows$/,
          `end ${end}`,
        );
      else {
        second();
        h.processWatermark(1001);
        assert.deepEqual(h.values(), [`a 900-${end} 2`]);
      }
    }
  });

  it("event time with lateness: the boundary moves by the lateness", async () => {
    for (const [end, refused] of [
      [951, true], // max 950 + lateness 50 = 1000 = the watermark
      [952, false],
    ] as const) {
      const h = await shrinkingHarness(true, 50, () => new TimeWindow(900, end));
      h.processWatermark(1000);
      h.processElement(ev("a", 1100), 1100);
      const second = () => h.processElement(ev("a", 1150), 1150);
      if (refused) assert.throws(second, /must not shrink windows/, `end ${end}`);
      else assert.doesNotThrow(second, `end ${end}`);
    }
  });

  it("processing time: a merged window ending at or before now is refused", async () => {
    for (const [end, refused] of [
      [1001, true], // max timestamp 1000 = now
      [1002, false],
    ] as const) {
      const h = await shrinkingHarness(false, 0, () => new TimeWindow(900, end));
      h.setProcessingTime(1000);
      h.processElement(ev("a", 0));
      const second = () => h.processElement(ev("a", 0));
      if (refused) assert.throws(second, /processing-time window .* before the current processing time/);
      else {
        second();
        h.setProcessingTime(1001);
        assert.deepEqual(h.values(), [`a 900-${end} 2`]);
      }
    }
  });

  it("a processing-time window is not judged by the watermark", async () => {
    const h = await shrinkingHarness(false, 0, () => new TimeWindow(900, 2000));
    h.setProcessingTime(1000);
    h.processWatermark(5000);
    h.processElement(ev("a", 0));
    assert.doesNotThrow(() => h.processElement(ev("a", 0)));
  });
});
