// The watermark doctor's frontier (the furthest watermark the job reached) counts watermarks that
// operators assign, not only the source's own: with assignTimestampsAndWatermarks chained after a
// source without a WatermarkStrategy, the source has none, but the job has one (the dashboard's
// graph shows it), and the doctor must not say "none yet".

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskMetricsSnapshot } from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import { diagnoseWatermarks } from "../../src/runtime/metrics/watermark-doctor.ts";

const NONE = Number.NEGATIVE_INFINITY;

function task(
  vertexId: number,
  name: string,
  metrics: Record<string, number>,
  operators: Array<{ uid: string; out: number }>,
  watermarks: TaskMetricsSnapshot["watermarks"],
): TaskMetricsSnapshot {
  return {
    vertexId,
    subtask: 0,
    attempt: 0,
    taskName: name,
    state: "running",
    timestamp: Date.now(),
    metrics,
    operators: operators.map((o) => ({
      uid: o.uid,
      name: o.uid,
      metrics: { currentOutputWatermark: o.out },
      user: [],
    })),
    watermarks,
  };
}

describe("watermark doctor frontier", () => {
  const vertices = [
    { id: 0, name: "Source -> Timestamps", parallelism: 1, operators: [] },
    { id: 1, name: "Windows", parallelism: 1, operators: [], inputs: [{ id: 0, shipStrategy: "HASH" }] },
  ];

  it("counts a watermark assigned by an operator chained after the source", () => {
    const source = task(
      0,
      "Source -> Timestamps",
      { currentInputWatermark: NONE, currentOutputWatermark: 50_000 },
      [
        { uid: "source", out: NONE },
        { uid: "timestamps", out: 50_000 },
      ],
      {
        pendingTimers: [],
        source: {
          eventTime: false,
          idleTimeoutMs: null,
          splits: [{ splitId: "s0", watermark: NONE, idle: false, records: 10, recordsPerSecond: 1 }],
        },
      },
    );
    const windows = task(
      1,
      "Windows",
      { currentInputWatermark: 10_000, currentOutputWatermark: 10_000 },
      [{ uid: "windows", out: 10_000 }],
      {
        pendingTimers: [{ uid: "windows", name: "Windows", eventTimeTimers: 2 }],
        channels: [{ producerVertexId: 0, producerSubtask: 0, watermark: 10_000, idle: false, ended: false }],
      },
    );
    const d = diagnoseWatermarks(vertices, [source, windows], { minLagMs: 1000 });
    assert.equal(d.frontier, 50_000);
    const f = d.findings.find((x) => x.vertexId === 1);
    assert.ok(f !== undefined, JSON.stringify(d));
    assert.equal(f.lagMs, 40_000);
  });

  it("is none when no task has a watermark, and ignores the end of time of a finished input", () => {
    const source = task(
      0,
      "Source -> Timestamps",
      { currentInputWatermark: NONE, currentOutputWatermark: Number.POSITIVE_INFINITY },
      [{ uid: "source", out: Number.POSITIVE_INFINITY }],
      { pendingTimers: [], source: { eventTime: true, idleTimeoutMs: null, splits: [] } },
    );
    assert.equal(diagnoseWatermarks(vertices, [source]).frontier, null);
  });
});
