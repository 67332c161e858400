// One StreamTask with one operator, reading from producers over real channels (a buffer pool,
// subpartitions with credits, input channels, record writers), driven step by step: the test
// writes records, barriers and ends of partition, steps the task, and reads its checkpoint
// acknowledgements. For what an operator harness (src/testing) cannot express because the task
// and the network do it: buffers read in slices, unaligned barriers, in-flight data.

import assert from "node:assert/strict";
import type { Accumulator } from "../../src/core/functions.ts";
import { Types } from "../../src/index.ts";
import { NetworkBufferPool } from "../../src/network/buffer-pool.ts";
import { InputChannel, InputGate } from "../../src/network/input-gate.ts";
import { RecordWriter } from "../../src/network/record-writer.ts";
import { ResultSubpartition } from "../../src/network/result-subpartition.ts";
import type { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import { RoutingOutput } from "../../src/runtime/outputs.ts";
import type { RestoredInFlight, TaskRestore, TaskSnapshot } from "../../src/runtime/snapshot.ts";
import { StreamTask } from "../../src/runtime/stream-task.ts";
import { ManualClock } from "../../src/runtime/time/clock.ts";
import { ProcessingTimeService } from "../../src/runtime/time/processing-time-service.ts";

export interface TaskHarnessOptions {
  /** Producers, one channel each. */
  channels: number;
  /** Credits per channel. */
  credits: number;
  bufferSize: number;
  /** Buffers of the pool the producers write into. */
  poolBuffers: number;
  /** Unaligned checkpoints start aligned for this long (0: unaligned at once). */
  alignedTimeout?: number;
  restore?: () => Promise<TaskRestore>;
}

export interface TaskHarness<OP extends StreamOperator> {
  task: StreamTask;
  op: OP;
  channels: InputChannel[];
  subpartitions: ResultSubpartition[];
  /** One writer per producer: emit strings, barriers, finish(). */
  writers: RecordWriter<string>[];
  pool: NetworkBufferPool;
  acks: Array<{ id: number; snapshot: TaskSnapshot }>;
}

/** A task of operator `op` (uid `uid`) reading string records, with unaligned exactly-once checkpoints. */
export function taskHarness<OP extends StreamOperator>(
  op: OP,
  uid: string,
  options: TaskHarnessOptions,
): TaskHarness<OP> {
  const pool = new NetworkBufferPool(options.bufferSize, options.poolBuffers);
  const serializer = Types.STRING.createSerializer();
  const channels: InputChannel[] = [];
  const subpartitions: ResultSubpartition[] = [];
  const writers: RecordWriter<string>[] = [];
  for (let c = 0; c < options.channels; c++) {
    const sp = new ResultSubpartition(pool, options.credits, () => {});
    const ch = new InputChannel(c, 0, serializer, `producer ${c} -> ${uid}`, () => {});
    sp.receiver = ch;
    ch.returner = sp;
    channels.push(ch);
    subpartitions.push(sp);
    writers.push(
      new RecordWriter([sp], { selectChannel: () => 0 }, serializer, options.bufferSize, `edge ${c}`, -1),
    );
  }
  const acks: TaskHarness<OP>["acks"] = [];
  const task = new StreamTask(
    {
      name: `${uid} (1/1)`,
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
      chain: [{ info: { name: uid, uid }, operator: op, output: new RoutingOutput([], new Map()) }],
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
      restore: options.restore,
      disposables: [],
      checkpointing: {
        exactlyOnce: true,
        unaligned: true,
        alignedTimeout: options.alignedTimeout ?? 0,
        responder: {
          acknowledge: (id, snapshot) => acks.push({ id, snapshot }),
          decline: (id, reason) => assert.fail(`checkpoint ${id} declined: ${reason}`),
          finished: () => {},
        },
      },
    },
    () => {},
  );
  return { task, op, channels, subpartitions, writers, pool, acks };
}

/** A restore of operator `uid` with `custom` as its one old subtask's custom state, and in-flight data. */
export function restoreOf(
  uid: string,
  custom: unknown,
  inFlight?: RestoredInFlight,
): () => Promise<TaskRestore> {
  return async () => ({
    operators: new Map([[uid, { keyGroups: [], operatorState: {}, custom: [custom], checkpointId: 1 }]]),
    inFlight,
  });
}

/** Step the task until its input has ended, then finish it. */
export async function runToEnd(h: TaskHarness<StreamOperator>): Promise<void> {
  for (let guard = 0; h.task.state === "running"; guard++) {
    assert.ok(guard < 100_000, "the task does not finish");
    h.task.step();
  }
  assert.equal(h.task.state, "finishing");
  await h.task.finish();
}
