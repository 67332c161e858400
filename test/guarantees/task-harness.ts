// One task with a network input gate, driven step by step for the guarantee tests: producers
// write into its channels with real record writers and subpartitions; its head operator keeps a
// log of what it saw (records, watermarks, idleness), and that log is its checkpointed state.

import assert from "node:assert/strict";
import type { Accumulator } from "../../src/core/functions.ts";
import { Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { InputChannel, InputGate } from "../../src/network/input-gate.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { RoutingOutput } from "../../src/runtime/outputs.ts";
import type {
  OperatorRestore,
  OperatorSnapshot,
  TaskRestore,
  TaskSnapshot,
} from "../../src/runtime/snapshot.ts";
import { StreamTask } from "../../src/runtime/stream-task.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

export const UID = "log";
const BUFFER_SIZE = 256;

/** Logs every record and idleness change (`idle`/`active`) it sees, and every watermark; forwards nothing. */
export class LogOperator extends StreamOperator {
  seen: string[] = [];
  watermarks: number[] = [];
  constructor() {
    super(undefined);
  }
  processElement(value: unknown): void {
    this.seen.push(value as string);
  }
  override processWatermark(watermark: number): void {
    this.watermarks.push(watermark);
  }
  override processWatermarkStatus(idle: boolean): void {
    this.seen.push(idle ? "idle" : "active");
  }
  override snapshotState(): OperatorSnapshot {
    return { custom: [...this.seen] };
  }
  override initializeState(restore: OperatorRestore): void {
    this.seen = [...((restore.custom[0] as string[] | undefined) ?? [])];
  }
}

export interface TaskHarness {
  task: StreamTask;
  op: LogOperator;
  channels: InputChannel[];
  writers: RecordWriter<string>[];
  acks: Array<{ id: number; snapshot: TaskSnapshot }>;
}

export interface TaskHarnessOptions {
  channels: number;
  exactlyOnce?: boolean;
  unaligned?: boolean;
  restore?: () => Promise<TaskRestore>;
}

export function taskHarness(o: TaskHarnessOptions): TaskHarness {
  const pool = new NetworkBufferPool(BUFFER_SIZE, 256);
  const serializer = Types.STRING.createSerializer();
  const channels: InputChannel[] = [];
  const writers: RecordWriter<string>[] = [];
  for (let c = 0; c < o.channels; c++) {
    // Credits enough for everything the tests send: all data is queued at the consumer.
    const sp = new ResultSubpartition(pool, 100, () => {});
    const ch = new InputChannel(c, 0, serializer, `producer ${c} -> log`, () => {});
    sp.receiver = ch;
    ch.returner = sp;
    channels.push(ch);
    writers.push(
      new RecordWriter([sp], { selectChannel: () => 0 }, serializer, BUFFER_SIZE, `edge ${c}`, -1),
    );
  }
  const op = new LogOperator();
  const acks: TaskHarness["acks"] = [];
  const task = new StreamTask(
    {
      name: "log (1/1)",
      vertexId: 2,
      identity: {
        jobId: "test",
        jobName: "test",
        subtaskIndex: 0,
        parallelism: 1,
        maxParallelism: 128,
        attemptNumber: 0,
        attemptTag: "test-0",
      },
      chain: [{ info: { name: "log", uid: UID }, operator: op, output: new RoutingOutput([], new Map()) }],
      element: { timestamp: Number.NaN },
      gate: new InputGate(channels),
      reader: undefined,
      writers: [],
      accumulators: new Map<string, Accumulator<unknown>>(),
      numInputs: 1,
      processingTime: new ProcessingTimeService(new ManualClock(0)),
      sourceOutput: undefined,
      autoWatermarkInterval: 200,
      receivedSplitIds: new Set(),
      restore: o.restore,
      disposables: [],
      checkpointing: {
        exactlyOnce: o.exactlyOnce ?? true,
        unaligned: o.unaligned ?? false,
        alignedTimeout: 0,
        responder: {
          acknowledge: (id, snapshot) => acks.push({ id, snapshot }),
          decline: (id, reason) => assert.fail(`checkpoint ${id} declined: ${reason}`),
          finished: () => {},
        },
      },
    },
    () => {},
  );
  return { task, op, channels, writers, acks };
}

/** Producer `c` sends these records (and flushes them to the channel). */
export function send(h: TaskHarness, c: number, ...records: string[]): void {
  for (const r of records) h.writers[c]!.emit(r, Number.NaN);
  h.writers[c]!.flushAll();
}

/** Step the task until a step does nothing more (bounded). */
export function drain(h: TaskHarness): void {
  for (let guard = 0; guard < 10_000; guard++) if (!h.task.step()) return;
  assert.fail("the task never ran out of work");
}

export async function runToEnd(h: TaskHarness): Promise<void> {
  for (let guard = 0; h.task.state === "running"; guard++) {
    assert.ok(guard < 100_000, "the task does not finish");
    h.task.step();
  }
  await h.task.finish();
}
