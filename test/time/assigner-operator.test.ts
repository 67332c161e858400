// assignTimestampsAndWatermarks as one operator in a harness, its output in order: a periodic
// watermark only when it moved, idleness announced once when the idle timeout passed and undone
// once by the next record (before it), upstream watermarks dropped but the end of input passed on.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_WATERMARK, WatermarkStrategy } from "../../src/core/watermark.ts";
import { OneInputHarness } from "../../src/testing/harnesses.ts";

describe("timestamps and watermarks operator", () => {
  it("emits a watermark when it moves, goes idle once, and comes back once", async () => {
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>()
      .withTimestampAssigner((x) => x)
      .withIdleness(400);
    const h = OneInputHarness.of<number, number>((s) => s.assignTimestampsAndWatermarks(strategy));
    await h.open();
    h.processElement(1000);
    h.advanceProcessingTime(200);
    h.advanceProcessingTime(200); // 400 ms after the record, the idle timeout: idle
    assert.deepEqual(h.events().at(-1), { kind: "watermarkStatus", idle: true });
    h.processWatermark(5000); // an upstream watermark is dropped
    h.advanceProcessingTime(200); // still idle: said once; no new record: no watermark again
    h.processElement(1500);
    h.processElement(1600); // active: said once
    h.advanceProcessingTime(200);
    h.processWatermark(MAX_WATERMARK); // the end of input is passed on
    assert.deepEqual(h.events(), [
      { kind: "record", value: 1000, timestamp: 1000 },
      { kind: "watermark", watermark: 999 },
      { kind: "watermarkStatus", idle: true },
      { kind: "watermarkStatus", idle: false },
      { kind: "record", value: 1500, timestamp: 1500 },
      { kind: "record", value: 1600, timestamp: 1600 },
      { kind: "watermark", watermark: 1599 },
      { kind: "watermark", watermark: MAX_WATERMARK },
    ]);
  });

  it("without idleness it never goes idle", async () => {
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x);
    const h = OneInputHarness.of<number, number>((s) => s.assignTimestampsAndWatermarks(strategy));
    await h.open();
    h.processElement(10);
    h.processElement(20);
    h.advanceProcessingTime(60_000);
    assert.deepEqual(
      h.events().filter((e) => e.kind !== "record"),
      [{ kind: "watermark", watermark: 19 }],
    );
  });

  it("the assigner gets the record's own timestamp, or undefined when it has none", async () => {
    const seen: Array<number | undefined> = [];
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x, ts) => {
      seen.push(ts);
      return ts ?? x;
    });
    const h = OneInputHarness.of<number, number>((s) => s.assignTimestampsAndWatermarks(strategy));
    await h.open();
    h.processElement(5, 42);
    h.processElement(7);
    assert.deepEqual(seen, [42, undefined]);
    assert.deepEqual(h.records(), [
      { value: 5, timestamp: 42 },
      { value: 7, timestamp: 7 },
    ]);
  });

  it("records arriving more often than the idle timeout keep it active", async () => {
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>()
      .withTimestampAssigner((x) => x)
      .withIdleness(400);
    const h = OneInputHarness.of<number, number>((s) => s.assignTimestampsAndWatermarks(strategy));
    await h.open();
    for (let i = 1; i <= 5; i++) {
      h.advanceProcessingTime(300);
      h.processElement(i * 10);
    }
    h.advanceProcessingTime(300);
    assert.ok(
      h.events().every((e) => e.kind !== "watermarkStatus"),
      "a record came within every 400 ms: never idle",
    );
    h.advanceProcessingTime(200);
    assert.deepEqual(h.events().at(-1), { kind: "watermarkStatus", idle: true });
  });
});
