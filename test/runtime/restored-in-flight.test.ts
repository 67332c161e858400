// A task and the in-flight data of unaligned checkpoints, driven step by step:
// - restored records (of edges restored at another parallelism) are processed before any new
//   input, and before the task's next snapshot, which therefore covers them;
// - an unaligned barrier that split an element (its start sent before the barrier, its rest
//   overtaken) leaves that start in the checkpoint, also when the task was aligning (aligned
//   timeout) and had already read past the barrier: restored, the element is whole again.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamOperator } from "../../src/runtime/operators/stream-operator.ts";
import type { OperatorRestore, OperatorSnapshot, RestoredInFlight } from "../../src/runtime/snapshot.ts";
import { restoreOf, runToEnd, type TaskHarness, taskHarness } from "../harness/task-harness.ts";

const BUFFER_SIZE = 256;
const UID = "keep";

/** Keeps every record (that list is its state). */
class Keep extends StreamOperator {
  seen: string[] = [];
  constructor() {
    super(undefined);
  }
  processElement(value: unknown): void {
    this.seen.push(value as string);
  }
  override snapshotState(): OperatorSnapshot {
    return { custom: [...this.seen] };
  }
  override initializeState(restore: OperatorRestore): void {
    this.seen = [...((restore.custom[0] as string[] | undefined) ?? [])];
  }
}

/** One task reading `channels` producers; `credits` per channel; restored from `restore`. */
function harness(
  channels: number,
  credits: number,
  alignedTimeout: number,
  restore?: { custom: string[]; inFlight?: RestoredInFlight },
): TaskHarness<Keep> {
  return taskHarness(new Keep(), UID, {
    channels,
    credits,
    bufferSize: BUFFER_SIZE,
    poolBuffers: 256,
    alignedTimeout,
    restore: restore === undefined ? undefined : restoreOf(UID, restore.custom, restore.inFlight),
  });
}

describe("restored records", () => {
  const restored = Array.from({ length: 500 }, (_, i) => `restored ${i}`);
  const inFlight = (): RestoredInFlight => ({
    inputs: [],
    outputs: [],
    records: [
      { member: 0, inputIndex: 0, values: [...restored], timestamps: restored.map(() => Number.NaN) },
    ],
  });

  it("are processed before any new input", async () => {
    const h = harness(1, 100, 0, { custom: ["old"], inFlight: inFlight() });
    await h.task.open();
    for (let i = 0; i < 50; i++) h.writers[0]!.emit(`new ${i}`, Number.NaN);
    h.writers[0]!.finish();
    await runToEnd(h);
    assert.deepEqual(h.op.seen, ["old", ...restored, ...Array.from({ length: 50 }, (_, i) => `new ${i}`)]);
  });

  it("are all processed before the task's next snapshot, which covers them", async () => {
    const h = harness(1, 100, 0, { custom: [], inFlight: inFlight() });
    await h.task.open();
    // The barrier's announcement runs first in the next step: the snapshot comes before any slice of the restored records would.
    h.writers[0]!.broadcastUnalignedBarrier(2);
    h.task.step();
    assert.equal(h.acks.length, 1);
    assert.deepEqual(h.acks[0]!.snapshot.operators[UID]!.custom, restored);
    h.writers[0]!.finish();
    await runToEnd(h);
    assert.deepEqual(h.op.seen, restored);
  });
});

describe("an unaligned barrier that splits an element", () => {
  const long = (c: number) => `${c}:long:${"z".repeat(BUFFER_SIZE + 40)}`;
  const before = (c: number) => [`${c}:a`, `${c}:b`, long(c)];
  const after = (c: number) => [`${c}:c`, `${c}:d`];

  for (const alignedTimeout of [0, 60_000]) {
    it(`keeps the element's start in the checkpoint (aligned timeout ${alignedTimeout} ms)`, async () => {
      // One credit: the long element's first buffer is sent, its rest waits; the barrier overtakes it.
      const a = harness(2, 1, alignedTimeout);
      await a.task.open();
      const overtaken: Uint8Array[][] = [];
      for (const c of [0, 1]) {
        for (const v of before(c)) a.writers[c]!.emit(v, Number.NaN);
        a.writers[c]!.flushAll();
      }
      // Channel 0's barrier comes now; the task reads the first buffer (the credit goes back), then
      // — aligned — reads on past the barrier; channel 1's barrier comes later.
      overtaken[0] = a.writers[0]!.broadcastUnalignedBarrier(1)[0]!;
      assert.ok(overtaken[0].length > 0, "the barrier overtook the rest of the long element");
      for (let s = 0; s < 3 && a.acks.length === 0; s++) a.task.step();
      overtaken[1] = a.writers[1]!.broadcastUnalignedBarrier(1)[0]!;
      for (const c of [0, 1]) {
        for (const v of after(c)) a.writers[c]!.emit(v, Number.NaN);
        a.writers[c]!.finish();
      }
      await runToEnd(a);
      assert.equal(a.acks.length, 1, "checkpoint 1 completed");
      const snapshot = a.acks[0]!.snapshot;
      assert.ok(snapshot.channels !== undefined, "the checkpoint holds in-flight data");

      // Restore: the input part in front of each channel, then the producers send their output
      // part (what the barrier overtook) and what came after the barrier.
      const b = harness(2, 100, alignedTimeout, {
        custom: snapshot.operators[UID]!.custom as string[],
        inFlight: { inputs: snapshot.channels.inputs, outputs: [], records: [] },
      });
      await b.task.open();
      for (const c of [0, 1]) {
        b.subpartitions[c]!.addRestoredData(overtaken[c]!);
        for (const v of after(c)) b.writers[c]!.emit(v, Number.NaN);
        b.writers[c]!.finish();
      }
      await runToEnd(b);
      for (const c of [0, 1]) {
        assert.deepEqual(
          b.op.seen.filter((v) => v.startsWith(`${c}:`)),
          [...before(c), ...after(c)],
          `channel ${c}: every record once, whole`,
        );
      }
    });
  }
});
