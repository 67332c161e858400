// A source reader's watermark status and final watermark, as downstream sees them: a status is
// sent only when it changes (idle once, active once); a split assigned to an idle reader makes it
// active before its first record; an idle reader reaching the end of its input says it is active
// before the final watermark (an idle channel's watermark would not count); a released split's
// last records still advance the reader's watermark, and its release lets the others' through at
// once, while a reader left without splits is not idle (more may come). Also the records the
// source counts (the task's numRecordsIn), the timestamp assigner, and the record shown in the
// error for a record without a timestamp. Found by mutation testing of source-output.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError, WatermarkStrategy } from "../../src/index.ts";
import type { Output } from "../../src/runtime/operators/stream-operator.ts";
import { SourceOutput } from "../../src/runtime/source-output.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

const INTERVAL = 10;

/** A source output over `strategy` whose downstream logs what it receives (records with their timestamp). */
function sourceOutput<T>(strategy: WatermarkStrategy<T>) {
  const clock = new ManualClock(0);
  const events: string[] = [];
  const element = { timestamp: Number.NaN };
  const downstream: Output = {
    collect: (v) => events.push(`record ${v}@${element.timestamp}`),
    collectSide: () => {},
    emitWatermark: (w) => events.push(`watermark ${w}`),
    emitWatermarkStatus: (idle) => events.push(idle ? "idle" : "active"),
  };
  const pts = new ProcessingTimeService(clock);
  const output = new SourceOutput<T>(strategy, downstream, element, pts, "test source");
  output.start(INTERVAL);
  /** Moves the clock to `t` and runs the periodic emits and idleness checks due. */
  const at = (t: number) => {
    clock.setTime(t);
    pts.fireDue();
  };
  return { output, events, at };
}

type Split = { emitWatermark(w: number): void; markIdle(): void; markActive(): void };

describe("a source reader's watermark status", () => {
  it("is sent only when it changes: idle once, active once", () => {
    const { output, events, at } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(50),
    );
    const a = output.createOutputForSplit("a");
    const b = output.createOutputForSplit("b");
    a.collect(1, 100);
    b.collect(2, 200);
    at(10);
    // Nothing more for both: idle together at the first check 50 ms after their records.
    for (let t = 20; t <= 100; t += INTERVAL) at(t);
    // a goes idle first (b alone holds the watermark then), then b.
    assert.deepEqual(events, ["record 1@100", "record 2@200", "watermark 99", "watermark 199", "idle"]);
    // One of the idle splits is released: the reader stays idle, and says nothing.
    output.releaseOutputForSplit("b");
    assert.equal(events.at(-1), "idle");
    assert.equal(events.filter((e) => e === "idle").length, 1);
    // a has data again: active once, its records and watermark, no second "active".
    at(110);
    a.collect(3, 300);
    a.collect(4, 400);
    at(120);
    at(130);
    assert.deepEqual(events.slice(5), ["active", "record 3@300", "record 4@400", "watermark 399"]);
  });

  it("a split assigned to an idle reader makes it active before its first record", () => {
    const { output, events, at } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(50),
    );
    const a = output.createOutputForSplit("a");
    a.collect(1, 100);
    for (let t = 10; t <= 60; t += INTERVAL) at(t);
    assert.deepEqual(events, ["record 1@100", "watermark 99", "idle"]);
    const b = output.createOutputForSplit("b"); // e.g. a file discovered later
    assert.equal(events.at(-1), "active", "downstream waits for the new split's watermark again");
    b.collect(2, 150);
    assert.deepEqual(events.slice(3), ["active", "record 2@150"]);
    at(70);
    assert.deepEqual(events.slice(5), ["watermark 149"], "a is idle: its watermark (99) no longer counts");
    assert.equal(output.createOutputForSplit("b"), b, "asking again changes nothing");
    assert.equal(events.length, 6);
  });

  it("a split's generator may go idle and come back itself", () => {
    const { output, events } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    const a = output.createOutputForSplit("a") as unknown as Split;
    a.emitWatermark(10);
    a.markIdle();
    a.markIdle();
    a.markActive();
    a.markActive();
    a.emitWatermark(20);
    a.emitWatermark(20);
    assert.deepEqual(events, ["watermark 10", "idle", "active", "watermark 20"]);
  });

  it("a watermark ends a split's idleness, as Flink's WatermarkOutput says; an equal one too", () => {
    const { output, events } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    const a = output.createOutputForSplit("a") as unknown as Split;
    a.emitWatermark(10);
    a.markIdle();
    a.emitWatermark(30);
    a.markIdle();
    a.emitWatermark(30); // not higher, and still ends the idleness
    assert.deepEqual(events, ["watermark 10", "idle", "active", "watermark 30", "idle", "active"]);
  });

  it("an output idle by the timeout does not ask its generator; its next event does", () => {
    let periodic = 0;
    const { output, events, at } = sourceOutput(
      WatermarkStrategy.forGenerator<number>(() => ({
        onEvent() {},
        onPeriodicEmit(out) {
          periodic++;
          out.emitWatermark(5); // the same watermark every time: it must not undo the timeout
        },
      })).withIdleness(30),
    );
    const a = output.createOutputForSplit("a");
    a.collect(1, 1);
    for (let t = 10; t <= 100; t += INTERVAL) at(t);
    assert.equal(events.filter((e) => e === "idle").length, 1, "idle once, and stays so");
    const asked = periodic;
    at(110);
    assert.equal(periodic, asked, "not asked while idle");
    a.collect(2, 2);
    at(120);
    assert.ok(periodic > asked, "asked again after its event");
    assert.equal(events.at(-1), "record 2@2");
    assert.equal(events.filter((e) => e === "active").length, 1);
  });

  it("an idle reader at the end of its input is active again before the final watermark", () => {
    const { output, events, at } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(50),
    );
    output.createOutputForSplit("a").collect(1, 100);
    for (let t = 10; t <= 60; t += INTERVAL) at(t);
    assert.deepEqual(events, ["record 1@100", "watermark 99", "idle"]);
    output.endOfInput();
    assert.deepEqual(events.slice(3), ["active", "watermark Infinity"]);
  });

  it("an active reader at the end of its input sends only the final watermark", () => {
    const { output, events } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    output.createOutputForSplit("a").collect(1, 100);
    output.endOfInput();
    assert.deepEqual(events, ["record 1@100", "watermark Infinity"]);
  });
});

describe("a source reader's released splits", () => {
  it("a split released before the next periodic emit still advances the watermark to its last records", () => {
    const { output, events, at } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    const a = output.createOutputForSplit("a");
    a.collect(1, 100);
    at(10);
    a.collect(2, 300); // the split's last record: then it is read to the end
    output.releaseOutputForSplit("a");
    assert.deepEqual(events, ["record 1@100", "watermark 99", "record 2@300", "watermark 299"]);
  });

  it("a released split lets the others' watermark through at once", () => {
    const { output, events, at } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    output.createOutputForSplit("slow").collect(1, 100);
    output.createOutputForSplit("fast").collect(2, 500);
    at(10);
    assert.deepEqual(events.slice(2), ["watermark 99"]);
    output.releaseOutputForSplit("slow");
    assert.deepEqual(events.slice(3), ["watermark 499"]);
  });

  it("a reader whose last split is released is not idle: it waits for more splits", () => {
    const { output, events, at } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    output.createOutputForSplit("a").collect(1, 100);
    at(10);
    output.releaseOutputForSplit("a");
    at(20);
    assert.deepEqual(events, ["record 1@100", "watermark 99"]);
    assert.deepEqual(output.splitStates(), []);
  });

  it("releasing a split the reader does not have (or no longer has) changes nothing", () => {
    const { output, events, at } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    output.createOutputForSplit("a").collect(1, 100);
    at(10);
    output.releaseOutputForSplit("a");
    output.releaseOutputForSplit("a");
    output.releaseOutputForSplit("never-assigned");
    assert.deepEqual(events, ["record 1@100", "watermark 99"]);
  });

  it("a split's output creates and releases other splits' outputs of the same reader", () => {
    const { output, events, at } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    const a = output.createOutputForSplit("a");
    const b = a.createOutputForSplit("b");
    assert.equal(b, output.createOutputForSplit("b"));
    a.collect(1, 500);
    b.collect(2, 100);
    at(10);
    assert.deepEqual(events.at(-1), "watermark 99");
    a.releaseOutputForSplit("b");
    assert.deepEqual(
      output.splitStates().map((s) => s.splitId),
      ["a"],
    );
    assert.deepEqual(events.at(-1), "watermark 499");
  });
});

describe("a source reader's records", () => {
  it("counts every record it emits, with or without a split (the task's numRecordsIn)", () => {
    const { output } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<number>());
    const a = output.createOutputForSplit("a");
    a.collect(1, 1);
    a.collect(2, 2);
    output.collect(3, 3);
    assert.equal(output.numRecords, 3);
    const { output: plain } = sourceOutput(WatermarkStrategy.noWatermarks<number>());
    plain.collect(1);
    plain.createOutputForSplit("a").collect(2);
    assert.equal(plain.numRecords, 2);
  });

  it("takes the timestamp from the strategy's assigner, given the record's own", () => {
    const seen: Array<number | undefined> = [];
    const { output, events } = sourceOutput(
      WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((seconds, recordTs) => {
        seen.push(recordTs);
        return seconds * 1_000;
      }),
    );
    output.createOutputForSplit("a").collect(3, 7);
    output.collect(4);
    assert.deepEqual(events, ["record 3@3000", "record 4@4000"]);
    assert.deepEqual(seen, [7, undefined]);
  });

  it("a record without a usable timestamp under event time: the error shows it, cut after 120 characters", () => {
    const { output } = sourceOutput(WatermarkStrategy.forMonotonousTimestamps<string>());
    const fits = "x".repeat(118); // 120 characters as JSON
    assert.throws(
      () => output.collect(fits),
      (e: Error) =>
        e instanceof InvalidArgumentError && e.message.includes(`(undefined): ${JSON.stringify(fits)}; give`),
    );
    const long = "y".repeat(200);
    assert.throws(
      () => output.createOutputForSplit("a").collect(long, Number.NaN),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        e.message.includes(
          `source 'test source' produced a record without a usable timestamp (NaN): ${JSON.stringify(long).slice(0, 120)}...; give`,
        ),
    );
    assert.equal(output.numRecords, 0, "neither was emitted");
  });
});
