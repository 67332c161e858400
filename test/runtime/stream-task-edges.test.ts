// StreamTask edges found by mutation testing of stream-task.ts, beside stream-task-unit.test.ts
// (same approach: stand-ins that record what the task asks, no clock): restored records of a
// chained operator followed by the head's, all processed before a checkpoint's barrier and in
// one slice; a step's time budget at its exact boundary while restored records are processed.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Accumulator } from "../../src/core/functions.ts";
import { InputStatus, type SourceReader } from "../../src/core/source.ts";
import type { InputChannel, InputGate } from "../../src/network/input-gate.ts";
import type { RecordWriter } from "../../src/network/record-writer.ts";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import type { RoutingOutput } from "../../src/runtime/outputs.ts";
import type { RestoredRecords, TaskRestore, TaskSnapshot } from "../../src/runtime/snapshot.ts";
import type { SourceOutput } from "../../src/runtime/source-output.ts";
import { StreamTask } from "../../src/runtime/stream-task.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

let perfNow = 0;
const realPerformanceNow = performance.now.bind(performance);
before(() => {
  performance.now = () => perfNow;
});
after(() => {
  performance.now = realPerformanceNow;
});

/** A task of two chained operators ("head", "tail") over two stand-in channels, restoring `records`. */
async function restoredTask(records: RestoredRecords[]) {
  const log: string[] = [];
  const op = (name: string) =>
    ({
      numRecordsIn: 0,
      processElement: (v: unknown) => log.push(`${name} ${String(v)}`),
      processWatermark: (w: number) => log.push(`${name} watermark ${w}`),
      processWatermarkStatus: () => {},
      snapshotState: (id: number) => {
        log.push(`${name} snapshot ${id}`);
        return undefined;
      },
      initializeState: () => {},
      open: async () => {},
      isInputAvailable: () => true,
      notifyCheckpointComplete: () => {},
      notifyCheckpointAborted: () => {},
    }) as unknown as StreamOperator;
  const channel = (index: number) => ({
    index,
    inputIndex: 0,
    endOfPartition: false,
    blocked: false,
    partialElement: () => undefined,
  });
  const channels = [channel(0), channel(1)];
  const gate = { channels, pollChannel: () => undefined, release: () => {} };
  const writer = {
    isAvailable: () => true,
    broadcastBarrier: (id: number) => log.push(`barrier ${id}`),
    release: () => {},
  };
  const acks: Array<{ id: number; snapshot: TaskSnapshot }> = [];
  const member = (name: string) => ({
    info: { name, uid: name },
    operator: op(name),
    output: {} as RoutingOutput,
  });
  const restore = async (): Promise<TaskRestore> => ({
    operators: new Map(),
    inFlight: { inputs: [], outputs: [], records },
  });
  const task = new StreamTask(
    {
      name: "t",
      vertexId: 1,
      identity: {
        jobId: "j",
        jobName: "j",
        subtaskIndex: 0,
        parallelism: 1,
        maxParallelism: 8,
        attemptNumber: 0,
        attemptTag: "j-0",
      },
      chain: [member("head"), member("tail")],
      element: { timestamp: Number.NaN },
      gate: gate as unknown as InputGate,
      reader: undefined,
      writers: [writer] as unknown as RecordWriter<unknown>[],
      accumulators: new Map<string, Accumulator<unknown>>(),
      numInputs: 1,
      processingTime: new ProcessingTimeService(new ManualClock(0)),
      sourceOutput: undefined,
      autoWatermarkInterval: 200,
      receivedSplitIds: new Set(),
      restore,
      disposables: [],
      checkpointing: {
        exactlyOnce: true,
        unaligned: false,
        alignedTimeout: 0,
        responder: {
          acknowledge: (id, snapshot) => acks.push({ id, snapshot }),
          decline: () => assert.fail("declined"),
          finished: () => {},
        },
      },
    },
    () => {},
  );
  await task.open();
  const barrier = (id: number) => {
    for (const c of channels) task.processBarrier(id, c as unknown as InputChannel, false, 0);
  };
  return { task, log, acks, barrier };
}

describe("stream task: restored records of a chained operator", () => {
  const records = (): RestoredRecords[] => [
    { member: 1, inputIndex: 0, values: ["t1"], timestamps: [1] },
    { member: 0, inputIndex: 0, values: ["h1", "h2"], timestamps: [2, 3] },
  ];

  it("a chained operator's record does not end the slice: the head's next ones follow in the same step", async () => {
    const t = await restoredTask(records());
    t.task.step();
    assert.deepEqual(t.log, ["tail t1", "head h1", "head h2"]);
  });

  it("every restored record, the chained operator's and then the head's, comes before the snapshot", async () => {
    const t = await restoredTask(records());
    t.barrier(1);
    assert.deepEqual(t.log, [
      "tail t1",
      "head h1",
      "head h2",
      "head snapshot 1",
      "tail snapshot 1",
      "barrier 1",
    ]);
    assert.equal(t.acks.length, 1);
  });
});

describe("stream task: checkpoint statistics", () => {
  it("the synchronous part's duration is the time the snapshot took", async () => {
    const t = await restoredTask([]);
    const head = t.task.setup.chain[0]!.operator as unknown as { snapshotState(id: number): undefined };
    head.snapshotState = () => {
      perfNow += 5;
      return undefined;
    };
    perfNow = 1000;
    t.barrier(3);
    const stats = t.task.metrics.checkpoints.recent();
    assert.deepEqual(
      stats.map((s) => [s.id, s.syncMs, s.unaligned]),
      [[3, 5, false]],
    );
  });
});

/** A source task (no operator after the source node) with unaligned checkpoints from the start. */
async function unalignedSource() {
  const reader = {
    start: () => {},
    pollNext: () => InputStatus.NOTHING_AVAILABLE,
    isAvailable: () => new Promise<void>(() => {}),
    addSplits: () => {},
    notifyNoMoreSplits: () => {},
    snapshotState: () => ["split@1"],
    close: () => {},
  } satisfies SourceReader<unknown, unknown>;
  const writer = { isAvailable: () => true, broadcastUnalignedBarrier: () => [] };
  const acks: number[] = [];
  const task = new StreamTask(
    {
      name: "s",
      vertexId: 1,
      identity: {
        jobId: "j",
        jobName: "j",
        subtaskIndex: 0,
        parallelism: 1,
        maxParallelism: 8,
        attemptNumber: 0,
        attemptTag: "j-0",
      },
      chain: [{ info: { name: "src", uid: "src" }, operator: undefined, output: {} as RoutingOutput }],
      element: { timestamp: Number.NaN },
      gate: undefined,
      reader,
      writers: [writer] as unknown as RecordWriter<unknown>[],
      accumulators: new Map<string, Accumulator<unknown>>(),
      numInputs: 0,
      processingTime: new ProcessingTimeService(new ManualClock(0)),
      sourceOutput: { start: () => {}, numRecords: 0 } as unknown as SourceOutput<unknown>,
      autoWatermarkInterval: 200,
      receivedSplitIds: new Set(),
      restore: undefined,
      disposables: [],
      checkpointing: {
        exactlyOnce: true,
        unaligned: true,
        alignedTimeout: 0,
        responder: {
          acknowledge: (id) => acks.push(id),
          decline: () => assert.fail("declined"),
          finished: () => {},
        },
      },
    },
    () => {},
  );
  await task.open();
  return { task, acks };
}

describe("stream task: a channel's watermark going backwards", () => {
  it("is ignored: it does not hold back the task's watermark when the other channel advances", async () => {
    const t = await restoredTask([]);
    const [a, b] = (
      t.task.setup.gate as unknown as { channels: Array<InputChannel & { watermark: number; idle: boolean }> }
    ).channels;
    a!.watermark = Number.NEGATIVE_INFINITY;
    b!.watermark = Number.NEGATIVE_INFINITY;
    a!.idle = false;
    b!.idle = false;
    t.task.processWatermark(10, a!);
    t.task.processWatermark(20, b!);
    assert.deepEqual(t.log, ["head watermark 10"]);
    t.task.processWatermark(5, b!);
    assert.equal(b!.watermark, 20);
    t.task.processWatermark(30, a!);
    assert.deepEqual(t.log, ["head watermark 10", "head watermark 20"]);
  });
});

describe("stream task: watermarks while every channel is idle", () => {
  it("a watermark on an idle channel moves nothing while every channel is idle", async () => {
    const t = await restoredTask([]);
    const [a, b] = (
      t.task.setup.gate as unknown as { channels: Array<InputChannel & { watermark: number; idle: boolean }> }
    ).channels;
    for (const c of [a!, b!]) {
      c.watermark = Number.NEGATIVE_INFINITY;
      c.idle = false;
      c.endOfPartition = false;
    }
    t.task.processWatermark(10, a!);
    t.task.processWatermark(10, b!);
    t.task.processWatermarkStatus(true, a!);
    t.task.processWatermarkStatus(true, b!);
    t.log.length = 0;
    t.task.processWatermark(50, a!);
    assert.deepEqual(t.log, [], "no watermark from idle channels (in particular not +Infinity)");
    assert.equal(t.task.inputWatermark, 10);
  });
});

describe("stream task: closed once", () => {
  it("after an abort, completing the task neither commits nor closes again", async () => {
    const t = await restoredTask([]);
    const calls: string[] = [];
    const head = t.task.setup.chain[0]!.operator as unknown as {
      close(): Promise<void>;
      notifyCheckpointComplete(id: number): void;
    };
    head.close = async () => {
      calls.push("close");
    };
    head.notifyCheckpointComplete = () => {
      calls.push("commit");
    };
    await t.task.abort("cancelled");
    assert.deepEqual(calls, ["close"]);
    await t.task.complete();
    assert.deepEqual(calls, ["close"]);
  });
});

describe("stream task: alignment time", () => {
  it("an aligned checkpoint records how long its barriers took to align", async () => {
    const t = await restoredTask([]);
    const channels = (t.task.setup.gate as unknown as { channels: InputChannel[] }).channels;
    perfNow = 100;
    t.task.processBarrier(4, channels[0]!, false, 0);
    perfNow = 130;
    t.task.processBarrier(4, channels[1]!, false, 0);
    assert.equal(t.task.lastAlignmentMs, 30);
    assert.deepEqual(
      t.task.metrics.checkpoints.recent().map((s) => [s.id, s.alignmentMs]),
      [[4, 30]],
    );
  });
});

describe("stream task: checkpoint statistics of a source", () => {
  it("an unaligned checkpoint of a source is acknowledged at once and recorded as unaligned", async () => {
    const s = await unalignedSource();
    perfNow = 50;
    s.task.triggerCheckpoint(2, false, 1234);
    s.task.step();
    assert.deepEqual(s.acks, [2]);
    assert.deepEqual(
      s.task.metrics.checkpoints.recent().map((r) => [r.id, r.unaligned, r.alignmentMs, r.triggerTimestamp]),
      [[2, true, 0, 1234]],
    );
  });
});

describe("stream task: the time budget of a step of restored records", () => {
  it("exactly at the budget a slice goes on; only past it does it end (checked every 32 records)", async () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    const t = await restoredTask([{ member: 0, inputIndex: 0, values, timestamps: [] }]);
    let first = true;
    t.log.length = 0;
    const head = t.task.setup.chain[0]!.operator as unknown as { processElement(v: unknown): void };
    head.processElement = (v) => {
      t.log.push(String(v));
      if (first) perfNow += 2; // now = the deadline, not past it
      first = false;
    };
    t.task.step();
    assert.equal(t.log.length, 100, "at the deadline: not past the budget");
  });
});
