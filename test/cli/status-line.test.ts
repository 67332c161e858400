// The live status line's text (src/cli/status-line.ts): rates of the sources and sinks, the
// sinks' watermark, the last checkpoint and its age, restarts and backpressure.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskMetricsSnapshot } from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import { type StatusSnapshot, formatElapsed, statusLine } from "../../src/cli/status-line.ts";

const NOW = Date.UTC(2026, 11, 6, 15, 0, 0);

function task(
  vertexId: number,
  subtask: number,
  metrics: Record<string, number>,
  sink: Record<string, number> = {},
): TaskMetricsSnapshot {
  return {
    vertexId,
    subtask,
    attempt: 0,
    taskName: `task ${vertexId}`,
    state: "RUNNING",
    timestamp: NOW,
    metrics,
    operators: [{ uid: `op-${vertexId}`, name: `op ${vertexId}`, metrics: sink, user: [] }],
  };
}

/** Source vertex 1 (two subtasks) feeding sink vertex 2 (two subtasks). */
function snapshot(over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    elapsedMs: 65_400,
    nowMs: NOW,
    tasks: [
      task(1, 0, { numRecordsInPerSecond: 1000, isBackPressured: 0 }),
      task(1, 1, { numRecordsInPerSecond: 1500, isBackPressured: 0 }),
      task(
        2,
        0,
        { numRecordsInPerSecond: 9 },
        { numRecordsInPerSecond: 1200, currentInputWatermark: NOW - 1500 },
      ),
      task(
        2,
        1,
        { numRecordsInPerSecond: 9 },
        { numRecordsInPerSecond: 1290, currentInputWatermark: NOW - 2500 },
      ),
    ],
    job: { numRestarts: 2, lastCompletedCheckpointId: 7 },
    lastCheckpointAt: NOW - 3_200,
    sourceVertices: new Set([1]),
    sinkVertices: new Set([2]),
    vertexNames: new Map([
      [1, "Source: Numbers"],
      [2, "Sink: Print"],
    ]),
    ...over,
  };
}

describe("status line", () => {
  it("sums the sources' input and the sinks' input rates; the sinks' lowest watermark and its lag", () => {
    assert.equal(
      statusLine(snapshot()),
      "weir: 1m05s | in 2,500/s | out 2,490/s | watermark 14:59:57Z (lag 2.5s) | checkpoint 7 (3s ago) | restarts 2 | no backpressure",
    );
  });

  it("says 'no watermark' while any sink subtask has none, and shows a non-time watermark as a number", () => {
    const tasks = snapshot().tasks.map((t) =>
      t.vertexId === 2 && t.subtask === 1
        ? {
            ...t,
            operators: [{ ...t.operators[0]!, metrics: { currentInputWatermark: Number.NEGATIVE_INFINITY } }],
          }
        : t,
    );
    assert.match(statusLine(snapshot({ tasks })), /\| no watermark \|/);
    const small = snapshot().tasks.map((t) =>
      t.vertexId === 2
        ? { ...t, operators: [{ ...t.operators[0]!, metrics: { currentInputWatermark: 12345 } }] }
        : t,
    );
    assert.match(statusLine(snapshot({ tasks: small })), /\| watermark 12,345 \|/);
  });

  it("names the backpressured vertices once each", () => {
    const tasks = snapshot().tasks.map((t) =>
      t.vertexId === 1 ? { ...t, metrics: { ...t.metrics, isBackPressured: 1 } } : t,
    );
    assert.match(statusLine(snapshot({ tasks })), /\| backpressured: Source: Numbers$/);
  });

  it("tells a job without checkpoints from one whose first checkpoint has not completed", () => {
    assert.match(statusLine(snapshot({ job: { numRestarts: 0 } })), /\| checkpoints off \| restarts 0 \|/);
    assert.match(
      statusLine(
        snapshot({ job: { numRestarts: 0, lastCompletedCheckpointId: -1 }, lastCheckpointAt: undefined }),
      ),
      /\| no checkpoint yet \|/,
    );
  });

  it("before any task has reported, says it is starting them", () => {
    assert.equal(
      statusLine(snapshot({ tasks: [], elapsedMs: 800, job: { numRestarts: 0 } })),
      "weir: 0s | starting tasks | checkpoints off | restarts 0 | no backpressure",
    );
  });

  it("formats elapsed time compactly", () => {
    assert.equal(formatElapsed(9_999), "9s");
    assert.equal(formatElapsed(185_000), "3m05s");
    assert.equal(formatElapsed(7_440_000), "2h04m");
  });
});
