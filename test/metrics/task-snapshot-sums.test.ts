// A task's metrics snapshot over a task object of its own (no job): bytes and pool usage summed
// over its writers' subpartitions and its input channels (0 without any), back pressure only
// while running, the alignment time in ns, and a source split's event-time lag only once the
// split emitted a record with a timestamp; a task without a source has no splits.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TaskMetricGroup } from "../../src/runtime/metrics/task-metric-group.ts";
import { snapshotTask } from "../../src/runtime/metrics/task-metrics-snapshot.ts";
import type { StreamTask } from "../../src/runtime/stream-task.ts";

const scope = {
  jobId: "j",
  jobName: "job",
  taskName: "Source -> Sink",
  vertexId: 1,
  subtaskIndex: 0,
  attempt: 0,
};

interface Shape {
  writers?: Array<{
    recordsOut: number;
    bytesOut: number;
    subpartitions: Array<{ outstanding: number; initialCredits: number }>;
  }>;
  channels?: Array<{ bytesIn: number; queued: number }>;
  splits?: Array<{ splitId: string; lastTimestamp: number; idle?: boolean }>;
  state?: string;
  backPressured?: boolean;
  /** A chained operator after the source: its own input count, watermark and latency. */
  operator?: {
    numRecordsIn: number;
    inputWatermark: number;
    latency?: { snapshot(): unknown };
    numTimers?: (domain: string) => number;
  };
}

function task(shape: Shape): StreamTask {
  const metrics = new TaskMetricGroup(scope, 4);
  metrics.backPressured = shape.backPressured ?? false;
  const splits = (shape.splits ?? []).map((s) => ({ watermark: 0, records: 1, ...s, idle: s.idle ?? false }));
  const sourceOutput =
    shape.splits === undefined
      ? undefined
      : {
          splitStates: () => splits,
          watermarkInputs: () => splits,
          watermarking: { eventTime: true, idleTimeoutMs: undefined },
        };
  const gate =
    shape.channels === undefined
      ? undefined
      : {
          channels: shape.channels.map((c) => ({
            bytesIn: c.bytesIn,
            queue: new Array(c.queued).fill(0),
            watermark: 0,
            idle: false,
            endOfPartition: false,
          })),
        };
  return {
    setup: {
      chain: [
        {
          operator: undefined,
          info: { uid: "src", name: "Source" },
          output: { numRecordsOut: 0, lastWatermark: Number.NEGATIVE_INFINITY },
        },
        ...(shape.operator === undefined
          ? []
          : [
              {
                operator: shape.operator,
                info: { uid: "sink", name: "Sink" },
                output: { numRecordsOut: 0, lastWatermark: 7 },
              },
            ]),
      ],
      writers: shape.writers ?? [],
      gate,
      sourceOutput,
      accumulators: new Map(),
      vertexId: 1,
      identity: { subtaskIndex: 0, attemptNumber: 0 },
    },
    metrics,
    numRecordsIn: 11,
    mailboxSize: 0,
    lastAlignmentMs: 2.5,
    inputWatermark: Number.NEGATIVE_INFINITY,
    state: shape.state ?? "running",
  } as unknown as StreamTask;
}

describe("a task's metrics snapshot, summed", () => {
  it("bytes and pool usage over every writer's subpartitions and every input channel", () => {
    const s = snapshotTask(
      task({
        writers: [
          {
            recordsOut: 5,
            bytesOut: 100,
            subpartitions: [
              { outstanding: 3, initialCredits: 2 },
              { outstanding: 1, initialCredits: 2 },
            ],
          },
          { recordsOut: 2, bytesOut: 50, subpartitions: [{ outstanding: 0, initialCredits: 4 }] },
        ],
        channels: [
          { bytesIn: 10, queued: 2 },
          { bytesIn: 20, queued: 1 },
        ],
      }),
      0,
    );
    const m = s.metrics;
    assert.deepEqual(
      [m.numRecordsOut, m.numBytesOut, m.numBytesIn, m.outPoolUsage, m.inPoolUsage],
      // Out: 4 outstanding of (2 + 2) + (2 + 2) + (4 + 2) buffers; in: 3 queued of 2 channels × 4 credits.
      [7, 150, 30, 4 / 14, 3 / 8],
    );
    assert.equal(m.checkpointAlignmentTime, 2_500_000);
  });

  it("without writers or channels the pool usages are 0", () => {
    const m = snapshotTask(task({ channels: [] }), 0).metrics;
    assert.deepEqual([m.outPoolUsage, m.inPoolUsage, m.numBytesIn, m.numBytesOut], [0, 0, 0, 0]);
  });

  it("back pressure counts only while the task runs", () => {
    const at = (state: string, backPressured: boolean) =>
      snapshotTask(task({ state, backPressured }), 0).metrics.isBackPressured;
    assert.deepEqual(
      [at("running", true), at("running", false), at("finished", true), at("finished", false)],
      [1, 0, 0, 0],
    );
  });

  it("a split's event-time lag once it emitted a timestamped record; no splits without a source", () => {
    const before = Date.now();
    const s = snapshotTask(
      task({
        splits: [
          { splitId: "fresh", lastTimestamp: Number.NaN },
          { splitId: "old", lastTimestamp: before - 60_000, idle: true },
        ],
      }),
      0,
    );
    const splits = s.operators[0]!.splits!;
    assert.deepEqual(
      splits.map((x) => x.splitId),
      ["fresh", "old"],
    );
    assert.equal("currentEmitEventTimeLag" in splits[0]!.metrics, false);
    assert.deepEqual(
      splits.map((x) => x.metrics.isIdle),
      [0, 1],
    );
    const lag = splits[1]!.metrics.currentEmitEventTimeLag!;
    assert.ok(lag >= 60_000 && lag <= Date.now() - before + 60_000, `lag ${lag}`);
    assert.equal(snapshotTask(task({}), 0).operators[0]!.splits, undefined);
  });

  it("each operator's input count and watermark are its own; latency only where the operator keeps it", () => {
    const latency = [{ sourceUid: "src", p50: 1 }];
    const s = snapshotTask(
      task({ operator: { numRecordsIn: 3, inputWatermark: 5, latency: { snapshot: () => latency } } }),
      0,
    );
    const [source, sink] = s.operators;
    assert.deepEqual(
      [source!.metrics.numRecordsIn, source!.metrics.currentInputWatermark],
      [11, Number.NEGATIVE_INFINITY],
      "the head without an operator object: the task's",
    );
    assert.deepEqual([sink!.metrics.numRecordsIn, sink!.metrics.currentInputWatermark], [3, 5]);
    assert.equal(sink!.latency, latency);
    assert.equal("latency" in source!, false);
    const without = snapshotTask(task({ operator: { numRecordsIn: 3, inputWatermark: 5 } }), 0);
    assert.equal("latency" in without.operators[1]!, false);
    assert.deepEqual(without.watermarks!.pendingTimers, [], "an operator without timers is not listed");
  });

  it("the operators holding event-time timers are listed with their count", () => {
    const op = { numRecordsIn: 0, inputWatermark: 0, numTimers: (d: string) => (d === "event" ? 4 : 9) };
    const s = snapshotTask(task({ operator: op }), 0);
    assert.deepEqual(s.watermarks!.pendingTimers, [{ uid: "sink", name: "Sink", eventTimeTimers: 4 }]);
  });
});
