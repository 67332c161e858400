// A task reading a buffer in slices lets an unaligned barrier's announcement (a mailbox action) run
// between two slices of one buffer. The checkpoint taken then must hold as in-flight input exactly
// the records not processed yet — the unread rest of the half-read buffer included — so that a task
// restored from it processes every record exactly once.
//
// The task is driven step by step; its head operator stalls on the first record of a step until
// the step's time budget has passed (a condition on the clock, not a duration asserted), which
// makes the step stop inside a buffer.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import type { OperatorRestore, OperatorSnapshot, TaskRestore } from "../../src/runtime/snapshot.ts";
import { STEP_BUDGET_MS } from "../../src/runtime/stream-task.ts";
import { restoreOf, runToEnd, type TaskHarness, taskHarness } from "../harness/task-harness.ts";

const BUFFER_SIZE = 1024;
const CHANNELS = 2;
const UID = "collect";
/** Records per channel in all. */
const TOTAL = 500;
/** The record each channel's barrier goes in front of (channel 1's behind more data). */
const BARRIER_AT = [250, 300];
/** Records per channel sent before the checkpoint's steps. */
const SENT_FIRST = 250;

/** Keeps every record it gets (that list is its state); stalls when told to. */
class Collect extends StreamOperator {
  seen: string[] = [];
  stallOnNext = false;

  constructor() {
    super(undefined);
  }

  processElement(value: unknown): void {
    if (this.stallOnNext) {
      this.stallOnNext = false;
      // Past the step's deadline, whatever the machine's speed.
      const until = performance.now() + STEP_BUDGET_MS + 0.5;
      while (performance.now() < until) {}
    }
    this.seen.push(value as string);
  }

  override snapshotState(): OperatorSnapshot {
    return { custom: [...this.seen] };
  }

  override initializeState(restore: OperatorRestore): void {
    this.seen = [...(restore.custom[0] as string[])];
  }
}

/** Record `i` of channel `c`; every 40th is longer than a buffer. */
function record(c: number, i: number): string {
  return i % 40 === 39 ? `${c}:${i}:${"x".repeat(BUFFER_SIZE + 100 + (i % 3) * 700)}` : `${c}:${i}`;
}

function expected(c: number): string[] {
  return Array.from({ length: TOTAL }, (_, i) => record(c, i));
}

type Harness = TaskHarness<Collect>;

/** One task reading CHANNELS producers; credits enough for everything: all data is queued at the consumer. */
function harness(restore?: () => Promise<TaskRestore>): Harness {
  return taskHarness(new Collect(), UID, {
    channels: CHANNELS,
    credits: 1000,
    bufferSize: BUFFER_SIZE,
    poolBuffers: 64,
    restore,
  });
}

/** Records `from` until `to` of channel `c`, flushed. */
function emit(h: Harness, c: number, from: number, to: number): void {
  for (let i = from; i < to; i++) h.writers[c]!.emit(record(c, i), Number.NaN);
  h.writers[c]!.flushAll();
}

function assertExactlyOnce(seen: string[], what: string): void {
  assert.equal(seen.length, CHANNELS * TOTAL, `${what}: ${seen.length} records, not ${CHANNELS * TOTAL}`);
  for (let c = 0; c < CHANNELS; c++) {
    const mine = seen.filter((r) => r.startsWith(`${c}:`));
    assert.deepEqual(mine, expected(c), `${what}: channel ${c}'s records, each once and in order`);
  }
}

/**
 * Take `stalls` steps that each stop inside a buffer, then let unaligned barrier 1 arrive (on
 * channel 0 right away, on channel 1 behind more data); the next step runs its announcement.
 * Then run the task to the end, and restore a second task from the checkpoint.
 */
async function checkpointWhileReading(stalls: number): Promise<{ partlyRead: boolean }> {
  const a = harness();
  await a.task.open();
  for (let c = 0; c < CHANNELS; c++) emit(a, c, 0, SENT_FIRST);
  for (let s = 0; s < stalls; s++) {
    a.op.stallOnNext = true;
    a.task.step();
  }
  const partlyRead = a.channels.some((c) => c.partlyRead);
  for (let c = 0; c < CHANNELS; c++) {
    emit(a, c, SENT_FIRST, BARRIER_AT[c]!);
    a.writers[c]!.broadcastUnalignedBarrier(1);
    emit(a, c, BARRIER_AT[c]!, TOTAL);
    a.writers[c]!.finish();
  }
  const processedAtCheckpoint = a.op.seen.length;
  a.task.step();
  assert.equal(a.acks.length, 1, "the checkpoint completed in the step that ran the announcement");
  const ack = a.acks[0]!;
  assert.equal(ack.id, 1);
  assert.deepEqual(ack.snapshot.operators[UID]!.custom, a.op.seen.slice(0, processedAtCheckpoint));
  await runToEnd(a);
  assertExactlyOnce(a.op.seen, `stalls=${stalls}: the checkpointed task itself`);

  // Restore: operator state and in-flight input from the checkpoint; the producers send again
  // what came after their barriers.
  const channelState = ack.snapshot.channels!;
  const custom = ack.snapshot.operators[UID]!.custom;
  const b = harness(restoreOf(UID, custom, { inputs: channelState.inputs, outputs: [], records: [] }));
  await b.task.open();
  for (let c = 0; c < CHANNELS; c++) {
    emit(b, c, BARRIER_AT[c]!, TOTAL);
    b.writers[c]!.finish();
  }
  await runToEnd(b);
  assertExactlyOnce(b.op.seen, `stalls=${stalls} (a buffer partly read at the checkpoint: ${partlyRead})`);
  assert.equal(b.pool.stats().inUse, 0, "every buffer went back to the pool");
  return { partlyRead };
}

describe("unaligned checkpoint while a buffer is half read", () => {
  it("the announcement runs between two slices of a buffer; the restored task sees every record once", async () => {
    let partly = 0;
    for (const stalls of [1, 2, 3, 4, 6, 9, 13]) {
      const r = await checkpointWhileReading(stalls);
      if (r.partlyRead) partly++;
    }
    assert.ok(partly > 0, "at least one checkpoint was taken with a buffer read in part");
  });
});
